package registry_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	"google.golang.org/grpc/codes"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/services/tracker/internal/registry"
	"github.com/pbts/pbts/services/tracker/internal/store"
)

// TestFullFlow: register -> publish a torrent built from a file -> search
// finds it -> GetTorrent returns the same info hash with the caller's announce
// URL -> a low ratio is refused with the figures.
func TestFullFlow(t *testing.T) {
	e := newEnv(t)
	seeder, seederPK := e.register(t)
	leecher, leecherPK := e.register(t)
	e.rep.set(leecher.addr, registry.Figures{SettledUpload: GiB, OnChain: true}) // the initial credit

	// Publish: a whole .torrent as a client would produce it.
	e.now = e.now.Add(time.Second)
	b := buildTorrent(t, "birdsong.wav", 150_000, 9)
	clip := meta{
		name: "Dawn chorus recordings", description: "Field recordings of songbirds at dawn.",
		modality: pbtsv1.Modality_MODALITY_AUDIO, tags: []string{"birds", "bioacoustics"}, license: "CC0-1.0",
	}
	pub, err := e.datasets.PublishDataset(ctx, publishReq(t, seeder, domain, b.whole, b.infoHash, b.pieces(), clip, e.ts()))
	if err != nil {
		t.Fatal(err)
	}
	if pub.GetDataset().GetInfoHash() != ihHex(b.infoHash) || pub.GetDataset().GetPieceCount() != uint32(len(b.sums)) {
		t.Fatalf("published %v", pub.GetDataset())
	}
	// Something else in the catalog, to make the searches discriminate.
	other := buildTorrent(t, "traffic.mp4", 30_000, 10)
	if _, err := e.datasets.PublishDataset(ctx, publishReq(t, seeder, domain, other.mi.InfoBytes, other.infoHash, other.pieces(),
		meta{name: "City traffic", modality: pbtsv1.Modality_MODALITY_VIDEO, tags: []string{"driving"}}, e.ts())); err != nil {
		t.Fatal(err)
	}

	// Search finds it by word, tag and modality, and not otherwise.
	found := func(req *pbtsv1.SearchDatasetsRequest) []string {
		t.Helper()
		resp, err := e.datasets.SearchDatasets(ctx, req)
		if err != nil {
			t.Fatalf("SearchDatasets(%v): %v", req, err)
		}
		var out []string
		for _, d := range resp.GetDatasets() {
			out = append(out, d.GetName())
		}
		return out
	}
	for _, req := range []*pbtsv1.SearchDatasetsRequest{
		{Query: "songbirds"},
		{Query: "dawn chorus"},
		{Query: "  Chorus  "},
		{Tags: []string{"birds"}},
		{Tags: []string{"bioacoustics", "birds"}},
		{Modality: pbtsv1.Modality_MODALITY_AUDIO},
		{Query: "recordings", Modality: pbtsv1.Modality_MODALITY_AUDIO, Tags: []string{"birds"}, Publisher: seeder.addr.Hex()},
	} {
		if got := found(req); len(got) != 1 || got[0] != clip.name {
			t.Errorf("SearchDatasets(%v) = %q, want only %q", req, got, clip.name)
		}
	}
	for _, req := range []*pbtsv1.SearchDatasetsRequest{
		{Query: "traffic"},
		{Modality: pbtsv1.Modality_MODALITY_VIDEO},
		{Tags: []string{"birds", "driving"}},
		{Publisher: leecher.addr.Hex()},
	} {
		for _, name := range found(req) {
			if name == clip.name {
				t.Errorf("SearchDatasets(%v) found %q", req, name)
			}
		}
	}
	if got := found(&pbtsv1.SearchDatasetsRequest{}); len(got) != 2 || got[0] != "City traffic" {
		t.Errorf("everything, newest first = %q", got)
	}
	page, err := e.datasets.SearchDatasets(ctx, &pbtsv1.SearchDatasetsRequest{PageSize: 1})
	if err != nil || len(page.GetDatasets()) != 1 || page.GetNextPageToken() == "" {
		t.Fatalf("first page = %v, %v", page, err)
	}
	page, err = e.datasets.SearchDatasets(ctx, &pbtsv1.SearchDatasetsRequest{PageSize: 1, PageToken: page.GetNextPageToken()})
	if err != nil || len(page.GetDatasets()) != 1 || page.GetDatasets()[0].GetName() != clip.name || page.GetNextPageToken() != "" {
		t.Fatalf("second page = %v, %v", page, err)
	}
	_, err = e.datasets.SearchDatasets(ctx, &pbtsv1.SearchDatasetsRequest{PageSize: 1, PageToken: page.GetNextPageToken() + "x", Query: "x"})
	wantCode(t, err, codes.InvalidArgument, "page_token")

	// GetTorrent: the same info hash, the leecher's personal announce URL.
	body, err := e.datasets.GetTorrent(ctx, &pbtsv1.GetTorrentRequest{InfoHash: ihHex(b.infoHash), Passkey: leecherPK})
	if err != nil {
		t.Fatal(err)
	}
	if body.GetContentType() != "application/x-bittorrent" {
		t.Errorf("content type %q", body.GetContentType())
	}
	mi, err := metainfo.Load(bytes.NewReader(body.GetData()))
	if err != nil {
		t.Fatal(err)
	}
	if got := mi.HashInfoBytes(); got != b.infoHash {
		t.Errorf("torrent info hash %s, want the dataset's %x", got, b.infoHash)
	}
	if !bytes.Equal(mi.InfoBytes, b.mi.InfoBytes) {
		t.Errorf("info bytes differ from the published ones")
	}
	if want := announceBase + "/announce/" + leecherPK; mi.Announce != want {
		t.Errorf("announce %q, want %q", mi.Announce, want)
	}
	if mi.CreatedBy == "" || !strings.Contains(mi.Comment, clip.name) || mi.CreationDate == 0 {
		t.Errorf("created by %q, comment %q, date %d", mi.CreatedBy, mi.Comment, mi.CreationDate)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil || info.Private == nil || !*info.Private || info.TotalLength() != 150_000 {
		t.Errorf("info: %+v, %v", info, err)
	}

	// The gate: with 1 GiB up, 2.5 GiB down and this 150,000-byte dataset left,
	// the leecher is refused with its figures.
	e.rep.set(leecher.addr, registry.Figures{SettledUpload: GiB, SettledDownload: 2 * GiB, PendingDownload: GiB / 2})
	_, err = e.datasets.GetTorrent(ctx, &pbtsv1.GetTorrentRequest{InfoHash: ihHex(b.infoHash), Passkey: leecherPK})
	wantCode(t, err, codes.PermissionDenied,
		"insufficient ratio: uploaded 1.0 GiB, downloaded 2.5 GiB + 146.5 KiB left; need uploaded/(downloaded+left) >= 0.50; seed to earn credit")
	// By name too.
	_, err = e.datasets.GetTorrent(ctx, &pbtsv1.GetTorrentRequest{InfoHash: clip.name, Passkey: leecherPK})
	wantCode(t, err, codes.PermissionDenied, "insufficient ratio")
	// GetAgent tells the same story.
	ag, err := e.agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: leecher.addr.Hex()})
	if err != nil || ag.GetAgent().GetCanLeech() || ag.GetAgent().GetRatio() != 0.4 {
		t.Errorf("GetAgent = %v, %v", ag, err)
	}
	// The publisher gets its own torrent whatever its ratio (it seeds).
	e.rep.set(seeder.addr, registry.Figures{SettledDownload: 100 * GiB})
	body, err = e.datasets.GetTorrent(ctx, &pbtsv1.GetTorrentRequest{InfoHash: ihHex(b.infoHash), Passkey: seederPK})
	if err != nil {
		t.Fatalf("publisher's own torrent: %v", err)
	}
	if mi, _ := metainfo.Load(bytes.NewReader(body.GetData())); mi == nil || mi.Announce != announceBase+"/announce/"+seederPK {
		t.Errorf("publisher's torrent announce %v", mi)
	}
	// Unknown, malformed and rotated passkeys.
	unknown, _ := store.NewPasskey()
	for _, pk := range []string{unknown, "not-a-passkey", ""} {
		_, err = e.datasets.GetTorrent(ctx, &pbtsv1.GetTorrentRequest{InfoHash: ihHex(b.infoHash), Passkey: pk})
		wantCode(t, err, codes.Unauthenticated, "passkey")
	}
	e.now = e.now.Add(time.Second)
	if _, err := e.agents.RotatePasskey(ctx, e.rotateReq(t, leecher, domain, e.ts())); err != nil {
		t.Fatal(err)
	}
	_, err = e.datasets.GetTorrent(ctx, &pbtsv1.GetTorrentRequest{InfoHash: ihHex(b.infoHash), Passkey: leecherPK})
	wantCode(t, err, codes.Unauthenticated, "unknown passkey")
	_, err = e.datasets.GetTorrent(ctx, &pbtsv1.GetTorrentRequest{InfoHash: "0x" + strings.Repeat("22", 20), Passkey: seederPK})
	wantCode(t, err, codes.NotFound, "no dataset")
	e.rep.fail(errTest)
	_, err = e.datasets.GetTorrent(ctx, &pbtsv1.GetTorrentRequest{InfoHash: ihHex(b.infoHash), Passkey: func() string {
		_, pk := e.register(t)
		return pk
	}()})
	wantCode(t, err, codes.Unavailable, "reputation")

	// No secret ever reached the log.
	logs := e.logs.String()
	for _, secret := range []string{seederPK, leecherPK} {
		if strings.Contains(logs, secret) {
			t.Errorf("passkey in the log:\n%s", logs)
		}
	}
	if sigRE.MatchString(logs) {
		t.Errorf("signature in the log:\n%s", logs)
	}
}

var (
	errTest = errorString("test: backend down")
	sigRE   = regexp.MustCompile(`(?i)[0-9a-f]{130}`)
)

type errorString string

func (e errorString) Error() string { return string(e) }
