package store_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pbts/pbts/database"
	"github.com/pbts/pbts/database/dbtest"
	"github.com/pbts/pbts/services/tracker/internal/store"
)

func ihN(n int) (ih [20]byte) {
	ih[0] = 0x1b
	ih[19] = byte(n)
	ih[18] = byte(n >> 8)
	return ih
}

func pieces(n int) []byte {
	b := make([]byte, 32*n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func mkDataset(n int, pub common.Address, name string, m store.Modality, tags []string) store.Dataset {
	return store.Dataset{
		InfoHash: ihN(n), Publisher: pub, Name: name, Description: "about " + name, Modality: m, Tags: tags,
		License: "CC-BY-4.0", PieceLength: 16384, PieceCount: 2, TotalBytes: 20000,
		PublishTimestamp: 1_700_000_000, PublishSignature: sigN(n),
	}
}

var ignorePublishedAt = cmpopts.IgnoreFields(store.Dataset{}, "PublishedAt")

func TestPublishDataset(t *testing.T) {
	s, _ := newStore(t)
	pub, _ := mustCreate(t, s, 1)
	other, _ := mustCreate(t, s, 2)
	d := mkDataset(1, pub.Address, "Speech commands", store.ModalityAudio, []string{"speech", "keyword-spotting"})
	info := []byte("d6:lengthi20000e4:name1:x12:piece lengthi16384e6:pieces40:0123456789012345678901234567890123456789ee")
	got, created, err := s.PublishDataset(ctx, d, info, pieces(2))
	if err != nil || !created {
		t.Fatalf("PublishDataset = %v, %v", created, err)
	}
	if diff := cmp.Diff(d, got, ignorePublishedAt); diff != "" || got.PublishedAt.IsZero() {
		t.Errorf("stored dataset (-want +got):\n%s", diff)
	}

	// Same publisher again, even with other metadata: already published, unchanged.
	again := d
	again.Name = "renamed"
	got2, created, err := s.PublishDataset(ctx, again, info, pieces(2))
	if err != nil || created || !cmp.Equal(got, got2) {
		t.Errorf("republish = %+v, %v, %v; want the stored dataset, false, nil", got2, created, err)
	}
	// Another publisher: refused.
	stolen := d
	stolen.Publisher = other.Address
	if _, _, err := s.PublishDataset(ctx, stolen, info, pieces(2)); !errors.Is(err, store.ErrExists) {
		t.Errorf("other publisher: %v, want ErrExists", err)
	}
	// Unregistered publisher.
	if _, _, err := s.PublishDataset(ctx, mkDataset(2, addrN(77), "x", store.ModalityVideo, nil), info, pieces(2)); !errors.Is(err, store.ErrUnknownAgent) {
		t.Errorf("unregistered publisher: %v, want ErrUnknownAgent", err)
	}
	// The schema refuses piece hashes that do not match the piece count.
	if _, _, err := s.PublishDataset(ctx, mkDataset(3, pub.Address, "x", store.ModalityVideo, nil), info, pieces(3)); err == nil || errors.Is(err, store.ErrExists) {
		t.Errorf("wrong piece hash count: %v, want a check violation", err)
	}

	if b, err := s.DatasetByInfoHash(ctx, d.InfoHash); err != nil || !cmp.Equal(b, got) {
		t.Errorf("DatasetByInfoHash = %+v, %v", b, err)
	}
	if _, err := s.DatasetByInfoHash(ctx, ihN(99)); !errors.Is(err, database.ErrNotFound) {
		t.Errorf("DatasetByInfoHash(unknown) = %v", err)
	}
	if b, err := s.TorrentInfo(ctx, d.InfoHash); err != nil || !bytes.Equal(b, info) {
		t.Errorf("TorrentInfo = %q, %v", b, err)
	}
	if _, err := s.TorrentInfo(ctx, ihN(99)); !errors.Is(err, database.ErrNotFound) {
		t.Errorf("TorrentInfo(unknown) = %v", err)
	}
	ph, err := s.PieceHashes(ctx, d.InfoHash)
	if err != nil || !cmp.Equal(ph, store.PieceHashes{PieceLength: 16384, TotalBytes: 20000, SHA256: pieces(2)}) {
		t.Errorf("PieceHashes = %+v, %v", ph, err)
	}
	if _, err := s.PieceHashes(ctx, ihN(99)); !errors.Is(err, database.ErrNotFound) {
		t.Errorf("PieceHashes(unknown) = %v", err)
	}
	if a, _ := s.AgentByAddress(ctx, pub.Address); a.PublishedCount != 1 {
		t.Errorf("PublishedCount = %d, want 1", a.PublishedCount)
	}
	// No tags reads back as an empty list.
	if e, _, err := s.PublishDataset(ctx, mkDataset(4, pub.Address, "bare", store.ModalityVideo, nil), info, pieces(2)); err != nil || e.Tags == nil || len(e.Tags) != 0 {
		t.Errorf("untagged dataset tags = %#v, %v", e.Tags, err)
	}
}

func TestDatasetByNameFirstWins(t *testing.T) {
	s, db := newStore(t)
	a, _ := mustCreate(t, s, 1)
	b, _ := mustCreate(t, s, 2)
	first, _, err := s.PublishDataset(ctx, mkDataset(1, a.Address, "Same name", store.ModalityVideo, nil), []byte("i1e"), pieces(2))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PublishDataset(ctx, mkDataset(2, b.Address, "Same name", store.ModalityVideo, nil), []byte("i2e"), pieces(2)); err != nil {
		t.Fatal(err)
	}
	second := ihN(2)
	if _, err := db.Pool.Exec(ctx, `UPDATE datasets SET published_at = published_at + interval '1 hour' WHERE info_hash = $1`, second[:]); err != nil {
		t.Fatal(err)
	}
	got, err := s.DatasetByName(ctx, "Same name")
	if err != nil || got.InfoHash != first.InfoHash {
		t.Errorf("DatasetByName = %x, %v; want the first published %x", got.InfoHash, err, first.InfoHash)
	}
	for _, name := range []string{"same name", "Same", "Same name "} {
		if _, err := s.DatasetByName(ctx, name); !errors.Is(err, database.ErrNotFound) {
			t.Errorf("DatasetByName(%q) = %v, want ErrNotFound (exact match only)", name, err)
		}
	}
}

func TestTorrentCached(t *testing.T) {
	s, db := newStore(t)
	a, _ := mustCreate(t, s, 1)
	d := mkDataset(1, a.Address, "x", store.ModalityVideo, nil)
	if _, _, err := s.PublishDataset(ctx, d, []byte("i1e"), pieces(2)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.Torrent(ctx, ihN(2)); !errors.Is(err, database.ErrNotFound) {
		t.Errorf("Torrent(unknown) = %v", err)
	}
	total, pl, n, err := s.Torrent(ctx, d.InfoHash)
	if err != nil || total != 20000 || pl != 16384 || n != 2 {
		t.Fatalf("Torrent = %d %d %d %v", total, pl, n, err)
	}
	// Served from the cache: the row is gone behind the store's back.
	if _, err := db.Pool.Exec(ctx, `DELETE FROM datasets`); err != nil {
		t.Fatal(err)
	}
	if total, _, _, err := s.Torrent(ctx, d.InfoHash); err != nil || total != 20000 {
		t.Errorf("cached Torrent = %d, %v", total, err)
	}
	// A torrent published after a miss is found (misses are not cached).
	if _, _, err := s.PublishDataset(ctx, mkDataset(2, a.Address, "y", store.ModalityVideo, nil), []byte("i1e"), pieces(2)); err != nil {
		t.Fatal(err)
	}
	if _, _, n, err := s.Torrent(ctx, ihN(2)); err != nil || n != 2 {
		t.Errorf("Torrent after publish = %d, %v", n, err)
	}
}

// catalog publishes a small catalog and returns it by info-hash index.
func catalog(t *testing.T, s *store.Store) (pubA, pubB common.Address) {
	t.Helper()
	a, _ := mustCreate(t, s, 1)
	b, _ := mustCreate(t, s, 2)
	entries := []struct {
		pub  common.Address
		name string
		m    store.Modality
		tags []string
		desc string
	}{
		{a.Address, "Speech commands", store.ModalityAudio, []string{"speech", "keyword-spotting"}, "one-second spoken words"},
		{a.Address, "Bird songs", store.ModalityAudio, []string{"birds", "classification"}, "field recordings of songbirds"},
		{b.Address, "Street driving", store.ModalityVideo, []string{"driving", "segmentation"}, "dashcam video in cities"},
		{b.Address, "Speech in the wild", store.ModalityVideo, []string{"speech", "lip-reading"}, "talking faces"},
		{a.Address, "Cooking", store.ModalityVideo, []string{"actions"}, "kitchen activities, speech free"},
		{b.Address, "Podcast speech speech", store.ModalityAudio, []string{"speech", "asr"}, "long-form speech"},
		{a.Address, "Traffic sounds", store.ModalityAudio, []string{"driving", "classification"}, "horns and engines"},
	}
	for i, e := range entries {
		d := mkDataset(i, e.pub, e.name, e.m, e.tags)
		d.Description = e.desc
		if _, _, err := s.PublishDataset(ctx, d, []byte("i1e"), pieces(2)); err != nil {
			t.Fatal(err)
		}
	}
	return a.Address, b.Address
}

func names(ds []store.Dataset) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Name)
	}
	return out
}

func TestSearchDatasets(t *testing.T) {
	s, _ := newStore(t)
	pubA, pubB := catalog(t, s)
	sorted := func(ss ...string) []string { slices.Sort(ss); return ss }
	tests := []struct {
		name string
		q    store.Search
		want []string
	}{
		{"everything", store.Search{}, sorted("Speech commands", "Bird songs", "Street driving", "Speech in the wild", "Cooking", "Podcast speech speech", "Traffic sounds")},
		{"word in name, tags or description", store.Search{Text: "speech"}, sorted("Speech commands", "Speech in the wild", "Cooking", "Podcast speech speech")},
		{"word in description only", store.Search{Text: "dashcam"}, []string{"Street driving"}},
		{"hyphenated tag word", store.Search{Text: "keyword"}, []string{"Speech commands"}},
		{"two words", store.Search{Text: "speech wild"}, []string{"Speech in the wild"}},
		{"or", store.Search{Text: "birds or dashcam"}, sorted("Bird songs", "Street driving")},
		{"negation", store.Search{Text: "speech -video -faces -kitchen"}, sorted("Speech commands", "Podcast speech speech")},
		{"case-insensitive", store.Search{Text: "SPEECH Commands"}, []string{"Speech commands"}},
		{"modality", store.Search{Modality: store.ModalityVideo}, sorted("Street driving", "Speech in the wild", "Cooking")},
		{"one tag", store.Search{Tags: []string{"speech"}}, sorted("Speech commands", "Speech in the wild", "Podcast speech speech")},
		{"all tags", store.Search{Tags: []string{"driving", "classification"}}, []string{"Traffic sounds"}},
		{"publisher", store.Search{Publisher: &pubB}, sorted("Street driving", "Speech in the wild", "Podcast speech speech")},
		{"combined", store.Search{Text: "speech", Modality: store.ModalityAudio, Tags: []string{"speech"}, Publisher: &pubA}, []string{"Speech commands"}},
		{"no match", store.Search{Text: "zebra"}, nil},
		{"punctuation only", store.Search{Text: "!!"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, next, err := s.SearchDatasets(ctx, tt.q, "", 100)
			if err != nil || next != "" {
				t.Fatalf("SearchDatasets = %v, %q", err, next)
			}
			if diff := cmp.Diff(tt.want, sorted(names(got)...)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	// Ranked: the name weighs more than the description; more hits rank higher.
	got, _, _ := s.SearchDatasets(ctx, store.Search{Text: "speech"}, "", 100)
	if n := names(got); n[len(n)-1] != "Cooking" {
		t.Errorf("ranked order %q: the description-only match should come last", n)
	}
	// Without text: newest first.
	got, _, _ = s.SearchDatasets(ctx, store.Search{}, "", 100)
	for i := 1; i < len(got); i++ {
		if got[i].PublishedAt.After(got[i-1].PublishedAt) {
			t.Errorf("not newest first: %q", names(got))
		}
	}
}

func TestSearchDatasetsPaging(t *testing.T) {
	s, db := newStore(t)
	pubA, _ := catalog(t, s)
	// Equal publication times: the info hash breaks ties.
	if _, err := db.Pool.Exec(ctx, `UPDATE datasets SET published_at = '2025-01-01T00:00:00Z' WHERE get_byte(info_hash, 19) < 4`); err != nil {
		t.Fatal(err)
	}
	queries := []store.Search{
		{},
		{Text: "speech"},
		{Text: "speech or driving or birds or cooking or traffic"},
		{Modality: store.ModalityAudio},
		{Tags: []string{"classification"}},
		{Publisher: &pubA},
	}
	for qi, q := range queries {
		all, next, err := s.SearchDatasets(ctx, q, "", 100)
		if err != nil || next != "" {
			t.Fatalf("query %d: %v %q", qi, err, next)
		}
		for _, size := range []int{1, 2, 3} {
			var paged []store.Dataset
			token := ""
			for pages := 0; ; pages++ {
				page, nt, err := s.SearchDatasets(ctx, q, token, size)
				if err != nil {
					t.Fatalf("query %d size %d page %d: %v", qi, size, pages, err)
				}
				if len(page) > size || pages > 10 {
					t.Fatalf("query %d: runaway paging", qi)
				}
				paged = append(paged, page...)
				if nt == "" {
					break
				}
				token = nt
			}
			if diff := cmp.Diff(all, paged); diff != "" {
				t.Errorf("query %d size %d: pages differ from one listing (-all +paged):\n%s", qi, size, diff)
			}
		}
	}

	// A token is bound to its query.
	_, tok, err := s.SearchDatasets(ctx, store.Search{Text: "speech"}, "", 1)
	if err != nil || tok == "" {
		t.Fatal(err)
	}
	for i, q := range []store.Search{{}, {Text: "birds"}, {Text: "speech", Modality: store.ModalityAudio}, {Text: "speech", Tags: []string{"x"}}, {Text: "speech", Publisher: &pubA}} {
		if _, _, err := s.SearchDatasets(ctx, q, tok, 1); !errors.Is(err, store.ErrBadPageToken) {
			t.Errorf("token reused with query %d: %v, want ErrBadPageToken", i, err)
		}
	}
	// Tag order does not matter.
	_, tok, _ = s.SearchDatasets(ctx, store.Search{Tags: []string{"driving", "classification"}}, "", 1)
	if tok != "" {
		t.Fatalf("one result expected")
	}
	_, tok, _ = s.SearchDatasets(ctx, store.Search{Tags: []string{"speech"}}, "", 1)
	if _, _, err := s.SearchDatasets(ctx, store.Search{Tags: []string{"speech", "speech"}}, tok, 1); err != nil {
		t.Errorf("same tag set: %v", err)
	}
	for _, bad := range []string{"!", "AAAA", tok[:len(tok)-2]} {
		if _, _, err := s.SearchDatasets(ctx, store.Search{Tags: []string{"speech"}}, bad, 1); !errors.Is(err, store.ErrBadPageToken) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
}

func TestRecordMember(t *testing.T) {
	s, db := newStore(t)
	a, _ := mustCreate(t, s, 1)
	b, _ := mustCreate(t, s, 2)
	d := mkDataset(1, a.Address, "x", store.ModalityVideo, nil)
	if _, _, err := s.PublishDataset(ctx, d, []byte("i1e"), pieces(2)); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.IsMember(ctx, d.InfoHash, b.Address); err != nil || ok {
		t.Fatalf("IsMember before = %v, %v", ok, err)
	}
	if err := s.RecordMember(ctx, d.InfoHash, b.Address); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.IsMember(ctx, d.InfoHash, b.Address); err != nil || !ok {
		t.Errorf("IsMember after = %v, %v", ok, err)
	}
	if ok, _ := s.IsMember(ctx, d.InfoHash, a.Address); ok {
		t.Errorf("the publisher never announced")
	}
	if ok, _ := s.IsMember(ctx, ihN(9), b.Address); ok {
		t.Errorf("member of an unknown torrent")
	}
	lastSeen := func() (first, last string) {
		t.Helper()
		if err := db.Pool.QueryRow(ctx, `SELECT first_seen::text, last_seen::text FROM swarm_members WHERE agent = $1`, b.Address[:]).Scan(&first, &last); err != nil {
			t.Fatal(err)
		}
		return first, last
	}
	f0, l0 := lastSeen()
	// Re-announces within the refresh interval write nothing, from this
	// process (cache) or another one (the SQL guard).
	if err := s.RecordMember(ctx, d.InfoHash, b.Address); err != nil {
		t.Fatal(err)
	}
	if err := store.New(db, store.Options{}).RecordMember(ctx, d.InfoHash, b.Address); err != nil {
		t.Fatal(err)
	}
	if f, l := lastSeen(); f != f0 || l != l0 {
		t.Errorf("last_seen rewritten within the refresh interval: %s -> %s", l0, l)
	}
	// After the interval last_seen moves, first_seen stays.
	if _, err := db.Pool.Exec(ctx, `UPDATE swarm_members SET first_seen = first_seen - interval '1 hour', last_seen = last_seen - interval '1 hour'`); err != nil {
		t.Fatal(err)
	}
	f1, l1 := lastSeen()
	if err := store.New(db, store.Options{}).RecordMember(ctx, d.InfoHash, b.Address); err != nil {
		t.Fatal(err)
	}
	if f, l := lastSeen(); f != f1 || l == l1 {
		t.Errorf("after the interval: first %s -> %s, last %s -> %s; want first kept, last refreshed", f1, f, l1, l)
	}
	if err := s.RecordMember(ctx, ihN(9), b.Address); !errors.Is(err, database.ErrNotFound) {
		t.Errorf("RecordMember(unknown torrent) = %v, want ErrNotFound", err)
	}
	if err := s.RecordMember(ctx, d.InfoHash, addrN(99)); !errors.Is(err, database.ErrNotFound) {
		t.Errorf("RecordMember(unknown agent) = %v, want ErrNotFound", err)
	}
}

func BenchmarkRecordMemberCached(b *testing.B) {
	db := dbtest.New(b)
	s := store.New(db, store.Options{})
	_, h := store.NewPasskey()
	if _, _, err := s.CreateAgent(ctx, store.NewAgent{Address: addrN(1), PasskeyHash: h, Timestamp: 1, Signature: sigN(1)}); err != nil {
		b.Fatal(err)
	}
	if _, _, err := s.PublishDataset(ctx, mkDataset(1, addrN(1), "x", store.ModalityVideo, nil), []byte("i1e"), pieces(2)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := s.RecordMember(ctx, ihN(1), addrN(1)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAgentByPasskeyCached(b *testing.B) {
	db := dbtest.New(b)
	s := store.New(db, store.Options{})
	pk, h := store.NewPasskey()
	if _, _, err := s.CreateAgent(ctx, store.NewAgent{Address: addrN(1), PasskeyHash: h, Timestamp: 1, Signature: sigN(1)}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.AgentByPasskey(ctx, pk); err != nil {
			b.Fatal(err)
		}
	}
}
