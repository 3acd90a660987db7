package registry_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/services/tracker/internal/registry"
	"github.com/pbts/pbts/torrentfile"
)

var speech = meta{
	name: "Speech commands", description: "One-second spoken words.\nSixteen kHz.", modality: pbtsv1.Modality_MODALITY_AUDIO,
	tags: []string{"speech", "keyword-spotting"}, license: "CC-BY-4.0",
}

func ihHex(ih [20]byte) string { return "0x" + hex.EncodeToString(ih[:]) }

// publicInfo re-encodes b's info dictionary without private=1.
func publicInfo(t *testing.T, b built) []byte {
	t.Helper()
	info, _, err := torrentfile.Parse(b.mi.InfoBytes)
	if err != nil {
		t.Fatal(err)
	}
	info.Private = nil
	out, err := bencode.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPublishDatasetValidation(t *testing.T) {
	e := newEnv(t, func(c *registry.Config) { c.Limits.MaxTorrentBytes = 64 << 10 })
	k, _ := e.register(t)
	stranger := newKey(t)
	b := buildTorrent(t, "data.bin", 70_000, 1) // 5 pieces of 16 KiB
	ts := e.ts()
	valid := func() *pbtsv1.PublishDatasetRequest {
		return publishReq(t, k, domain, b.mi.InfoBytes, b.infoHash, b.pieces(), speech, ts)
	}
	// edit modifies a valid request and signs it again, so only the edited rule can fail.
	edit := func(f func(*pbtsv1.PublishDatasetRequest)) *pbtsv1.PublishDatasetRequest {
		r := valid()
		f(r)
		resign(t, k, domain, r, b.infoHash)
		return r
	}
	// editUnsigned modifies a valid request after signing.
	editUnsigned := func(f func(*pbtsv1.PublishDatasetRequest)) *pbtsv1.PublishDatasetRequest {
		r := valid()
		f(r)
		return r
	}
	pub := publicInfo(t, b)
	pubIH := metainfo.HashBytes(pub)
	tests := []struct {
		name   string
		req    *pbtsv1.PublishDatasetRequest
		code   codes.Code
		substr string
	}{
		{"no publisher", editUnsigned(func(r *pbtsv1.PublishDatasetRequest) { r.Publisher = "" }), codes.InvalidArgument, "publisher: required"},
		{"no torrent", edit(func(r *pbtsv1.PublishDatasetRequest) { r.Torrent = nil }), codes.InvalidArgument, "torrent: required"},
		{"torrent too large", edit(func(r *pbtsv1.PublishDatasetRequest) { r.Torrent = make([]byte, 64<<10+1) }), codes.InvalidArgument, "at most 65536"},
		{"not bencode", edit(func(r *pbtsv1.PublishDatasetRequest) { r.Torrent = []byte("hello") }), codes.InvalidArgument, "torrent"},
		{"bencoded list", edit(func(r *pbtsv1.PublishDatasetRequest) { r.Torrent = []byte("li1ee") }), codes.InvalidArgument, "torrent"},
		{"not an info dict", edit(func(r *pbtsv1.PublishDatasetRequest) { r.Torrent = []byte("d3:foo3:bare") }), codes.InvalidArgument, "torrent"},
		{"public torrent", publishReq(t, k, domain, pub, pubIH, b.pieces(), speech, ts), codes.InvalidArgument, "torrent must be private (BEP 27"},
		{"one piece hash missing", edit(func(r *pbtsv1.PublishDatasetRequest) { r.PieceSha256 = r.PieceSha256[:4*32] }), codes.InvalidArgument, "piece_sha256: 128 bytes for 5 pieces; want 32 bytes per piece = 160"},
		{"piece hash too many", edit(func(r *pbtsv1.PublishDatasetRequest) { r.PieceSha256 = append(r.PieceSha256, make([]byte, 32)...) }), codes.InvalidArgument, "192 bytes for 5 pieces"},
		{"no name", edit(func(r *pbtsv1.PublishDatasetRequest) { r.Name = "  " }), codes.InvalidArgument, "name: required"},
		{"name of 201 characters", edit(func(r *pbtsv1.PublishDatasetRequest) { r.Name = strings.Repeat("é", 201) }), codes.InvalidArgument, "name: 201 characters, at most 200"},
		{"name with newline", edit(func(r *pbtsv1.PublishDatasetRequest) { r.Name = "a\nb" }), codes.InvalidArgument, "name: control character"},
		{"name with a bidi override", edit(func(r *pbtsv1.PublishDatasetRequest) { r.Name = "clips\u202egpj.exe" }), codes.InvalidArgument, "bidirectional"},
		{"name with spaces around", edit(func(r *pbtsv1.PublishDatasetRequest) { r.Name = " a" }), codes.InvalidArgument, "white space"},
		{"name like an info hash", edit(func(r *pbtsv1.PublishDatasetRequest) { r.Name = ihHex(b.infoHash) }), codes.InvalidArgument, "info hash"},
		{"description over 4 KiB", edit(func(r *pbtsv1.PublishDatasetRequest) { r.Description = strings.Repeat("x", 4097) }), codes.InvalidArgument, "description: 4097 bytes, at most 4096"},
		{"NUL in description", edit(func(r *pbtsv1.PublishDatasetRequest) { r.Description = "a\x00b" }), codes.InvalidArgument, "description: control character"},
		{"no modality", edit(func(r *pbtsv1.PublishDatasetRequest) { r.Modality = 0 }), codes.InvalidArgument, "modality"},
		{"unknown modality", edit(func(r *pbtsv1.PublishDatasetRequest) { r.Modality = 7 }), codes.InvalidArgument, "modality"},
		{"17 tags", edit(func(r *pbtsv1.PublishDatasetRequest) {
			r.Tags = nil
			for i := range 17 {
				r.Tags = append(r.Tags, fmt.Sprint("t", i))
			}
		}), codes.InvalidArgument, "tags: 17 tags, at most 16"},
		{"upper-case tag", edit(func(r *pbtsv1.PublishDatasetRequest) { r.Tags = []string{"ok", "Speech"} }), codes.InvalidArgument, "tags[1]"},
		{"33-character tag", edit(func(r *pbtsv1.PublishDatasetRequest) { r.Tags = []string{strings.Repeat("a", 33)} }), codes.InvalidArgument, "tags[0]"},
		{"empty tag", edit(func(r *pbtsv1.PublishDatasetRequest) { r.Tags = []string{""} }), codes.InvalidArgument, "tags[0]"},
		{"duplicate tag", edit(func(r *pbtsv1.PublishDatasetRequest) { r.Tags = []string{"a", "b", "a"} }), codes.InvalidArgument, "tags[2]: duplicate"},
		{"license of 65 characters", edit(func(r *pbtsv1.PublishDatasetRequest) { r.License = strings.Repeat("L", 65) }), codes.InvalidArgument, "license"},
		{"no timestamp", edit(func(r *pbtsv1.PublishDatasetRequest) { r.Timestamp = 0 }), codes.InvalidArgument, "timestamp"},
		{"malformed signature", editUnsigned(func(r *pbtsv1.PublishDatasetRequest) { r.Signature = "0x00" }), codes.InvalidArgument, "signature"},
		{"metadata changed after signing", editUnsigned(func(r *pbtsv1.PublishDatasetRequest) { r.Description = "better" }), codes.Unauthenticated, "does not verify"},
		{"tags reordered after signing", editUnsigned(func(r *pbtsv1.PublishDatasetRequest) { slices.Reverse(r.Tags) }), codes.Unauthenticated, "does not verify"},
		{"piece hashes changed after signing", editUnsigned(func(r *pbtsv1.PublishDatasetRequest) { r.PieceSha256 = bytes.Repeat([]byte{7}, 160) }), codes.Unauthenticated, "does not verify"},
		{"modality changed after signing", editUnsigned(func(r *pbtsv1.PublishDatasetRequest) { r.Modality = pbtsv1.Modality_MODALITY_VIDEO }), codes.Unauthenticated, "does not verify"},
		{"signed by another key", editUnsigned(func(r *pbtsv1.PublishDatasetRequest) {
			r.Signature = publishReq(t, stranger, domain, b.mi.InfoBytes, b.infoHash, b.pieces(), speech, ts).Signature
		}), codes.Unauthenticated, "does not verify"},
		{"wrong chain id", publishReq(t, k, receipt.Domain{ChainID: 11155111, Tracker: domain.Tracker}, b.mi.InfoBytes, b.infoHash, b.pieces(), speech, ts), codes.Unauthenticated, "does not verify"},
		{"expired", publishReq(t, k, domain, b.mi.InfoBytes, b.infoHash, b.pieces(), speech, ts-301), codes.Unauthenticated, "outside the accepted window"},
		{"unregistered publisher", publishReq(t, stranger, domain, b.mi.InfoBytes, b.infoHash, b.pieces(), speech, ts), codes.FailedPrecondition, "is not registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.datasets.PublishDataset(ctx, tt.req)
			wantCode(t, err, tt.code, tt.substr)
		})
	}
	if _, err := e.store.DatasetByInfoHash(ctx, b.infoHash); err == nil {
		t.Fatal("a refused publication was stored")
	}
	if _, err := e.datasets.PublishDataset(ctx, valid()); err != nil {
		t.Fatalf("the valid request is refused: %v", err)
	}
}

func TestPublishDatasetForms(t *testing.T) {
	e := newEnv(t)
	k, _ := e.register(t)
	other, _ := e.register(t)
	b := buildTorrent(t, "clips", 40_000, 2)
	e.swarms.counts[b.infoHash] = [3]uint32{2, 3, 4}

	// A whole .torrent: its info bytes are used verbatim (same info hash).
	resp, err := e.datasets.PublishDataset(ctx, publishReq(t, k, domain, b.whole, b.infoHash, b.pieces(), speech, e.ts()))
	if err != nil {
		t.Fatal(err)
	}
	want := &pbtsv1.Dataset{
		InfoHash: ihHex(b.infoHash), Name: speech.name, Description: speech.description, Modality: speech.modality,
		Tags: speech.tags, License: speech.license, Publisher: k.addr.Hex(),
		TotalBytes: 40_000, PieceLength: 16 << 10, PieceCount: 3, Seeders: 2, Leechers: 3, Completed: 4,
	}
	if diff := cmp.Diff(want, resp.GetDataset(), protocmp.Transform(), protocmp.IgnoreFields(&pbtsv1.Dataset{}, "published_at")); diff != "" || resp.GetAlreadyPublished() {
		t.Errorf("published (-want +got):\n%s", diff)
	}
	info, err := e.store.TorrentInfo(ctx, b.infoHash)
	if err != nil || !bytes.Equal(info, b.mi.InfoBytes) {
		t.Errorf("stored info differs from the torrent's (%v)", err)
	}

	// Again as a bare info dict, with a later signature: already published, unchanged.
	e.now = e.now.Add(time.Minute)
	again, err := e.datasets.PublishDataset(ctx, publishReq(t, k, domain, b.mi.InfoBytes, b.infoHash, b.pieces(), meta{name: "other name", modality: pbtsv1.Modality_MODALITY_VIDEO}, e.ts()))
	if err != nil || !again.GetAlreadyPublished() {
		t.Fatalf("republish = %v, %v", again, err)
	}
	if diff := cmp.Diff(resp.GetDataset(), again.GetDataset(), protocmp.Transform()); diff != "" {
		t.Errorf("republish changed the dataset:\n%s", diff)
	}
	// Another agent with the same torrent: refused.
	_, err = e.datasets.PublishDataset(ctx, publishReq(t, other, domain, b.mi.InfoBytes, b.infoHash, b.pieces(), speech, e.ts()))
	wantCode(t, err, codes.AlreadyExists, "already published by another agent")
}

func TestGetDatasetAndPieceHashes(t *testing.T) {
	e := newEnv(t)
	k, _ := e.register(t)
	b := buildTorrent(t, "x", 20_000, 3)
	if _, err := e.datasets.PublishDataset(ctx, publishReq(t, k, domain, b.mi.InfoBytes, b.infoHash, b.pieces(), speech, e.ts())); err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{ihHex(b.infoHash), strings.ToUpper(ihHex(b.infoHash)[2:]), "0x" + strings.ToUpper(ihHex(b.infoHash)[2:]), speech.name} {
		resp, err := e.datasets.GetDataset(ctx, &pbtsv1.GetDatasetRequest{InfoHash: arg})
		if err != nil || resp.GetDataset().GetInfoHash() != ihHex(b.infoHash) {
			t.Errorf("GetDataset(%q) = %v, %v", arg, resp, err)
		}
	}
	for arg, code := range map[string]codes.Code{
		"":                              codes.InvalidArgument,
		"speech commands":               codes.NotFound,
		"0x" + strings.Repeat("ab", 20): codes.NotFound,
		strings.Repeat("n", 2000):       codes.InvalidArgument,
		"a\x00b":                        codes.InvalidArgument,
	} {
		_, err := e.datasets.GetDataset(ctx, &pbtsv1.GetDatasetRequest{InfoHash: arg})
		wantCode(t, err, code, "")
	}
	ph, err := e.datasets.GetPieceHashes(ctx, &pbtsv1.GetPieceHashesRequest{InfoHash: ihHex(b.infoHash)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&pbtsv1.GetPieceHashesResponse{PieceLength: 16 << 10, TotalBytes: 20_000, PieceSha256: b.pieces()}, ph, protocmp.Transform()); diff != "" {
		t.Errorf("GetPieceHashes (-want +got):\n%s", diff)
	}
	_, err = e.datasets.GetPieceHashes(ctx, &pbtsv1.GetPieceHashesRequest{InfoHash: "0x" + strings.Repeat("00", 20)})
	wantCode(t, err, codes.NotFound, "no dataset")
}

func TestSearchDatasetsValidation(t *testing.T) {
	e := newEnv(t)
	for name, tt := range map[string]struct {
		req    *pbtsv1.SearchDatasetsRequest
		substr string
	}{
		"long query":    {&pbtsv1.SearchDatasetsRequest{Query: strings.Repeat("q", 257)}, "query: 257 characters, at most 256"},
		"NUL in query":  {&pbtsv1.SearchDatasetsRequest{Query: "a\x00"}, "query"},
		"bad modality":  {&pbtsv1.SearchDatasetsRequest{Modality: 9}, "modality"},
		"bad tag":       {&pbtsv1.SearchDatasetsRequest{Tags: []string{"A"}}, "tags[0]"},
		"bad publisher": {&pbtsv1.SearchDatasetsRequest{Publisher: "0x1"}, "publisher"},
		"negative size": {&pbtsv1.SearchDatasetsRequest{PageSize: -5}, "page_size"},
		"foreign token": {&pbtsv1.SearchDatasetsRequest{PageToken: "abc"}, "page_token"},
		"too many tags": {&pbtsv1.SearchDatasetsRequest{Tags: strings.Split("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", ",")}, "tags"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.datasets.SearchDatasets(ctx, tt.req)
			wantCode(t, err, codes.InvalidArgument, tt.substr)
		})
	}
}

func TestGetSwarmAndResolvePeer(t *testing.T) {
	e := newEnv(t)
	pubKey, pubPK := e.register(t)
	member, memberPK := e.register(t)
	outsider, outsiderPK := e.register(t)
	b := buildTorrent(t, "s", 20_000, 4)
	if _, err := e.datasets.PublishDataset(ctx, publishReq(t, pubKey, domain, b.mi.InfoBytes, b.infoHash, b.pieces(), speech, e.ts())); err != nil {
		t.Fatal(err)
	}
	var peerID [20]byte
	copy(peerID[:], "-qB4520-0123456789ab")
	last := time.Unix(1_750_000_100, 0)
	e.swarms.peers[b.infoHash] = []registry.SwarmPeer{
		{Agent: pubKey.addr, PeerID: peerID, Seeder: true, Uploaded: 5, LastAnnounce: last},
		{Agent: member.addr, Downloaded: 7, Left: 9, LastAnnounce: last},
	}
	e.swarms.counts[b.infoHash] = [3]uint32{1, 1, 0}
	e.swarms.byID[string(peerID[:])] = pubKey.addr
	e.swarms.byAddr["192.0.2.7:6881"] = pubKey.addr

	// Swarm privacy (issue 13, attack 8): the counts are public, the peers
	// only for a member's signed request.
	sw, err := e.datasets.GetSwarm(ctx, &pbtsv1.GetSwarmRequest{InfoHash: ihHex(b.infoHash)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&pbtsv1.GetSwarmResponse{Seeders: 1, Leechers: 1, PeersHidden: true}, sw, protocmp.Transform()); diff != "" {
		t.Errorf("GetSwarm without a signature (-want +got):\n%s", diff)
	}
	view := func(k agentKey, ih [20]byte) *pbtsv1.GetSwarmRequest {
		sig, err := receipt.SignSwarmView(domain, ih, e.ts(), k.key)
		if err != nil {
			t.Fatal(err)
		}
		return &pbtsv1.GetSwarmRequest{InfoHash: ihHex(b.infoHash), Agent: k.addr.Hex(), Timestamp: e.ts(), Signature: sig.Hex()}
	}
	_, err = e.datasets.GetSwarm(ctx, view(outsider, b.infoHash))
	wantCode(t, err, codes.PermissionDenied, "no peer in this swarm")
	_, err = e.datasets.GetSwarm(ctx, view(member, [20]byte{1}))
	wantCode(t, err, codes.Unauthenticated, "")
	stolen := view(member, b.infoHash)
	stolen.Agent = outsider.addr.Hex()
	_, err = e.datasets.GetSwarm(ctx, stolen)
	wantCode(t, err, codes.Unauthenticated, "")
	sw, err = e.datasets.GetSwarm(ctx, view(member, b.infoHash))
	if err != nil {
		t.Fatal(err)
	}
	want := &pbtsv1.GetSwarmResponse{
		Peers: []*pbtsv1.SwarmPeer{
			{Agent: pubKey.addr.Hex(), Seeder: true, Uploaded: 5, LastAnnounce: timestamppb.New(last), Client: "-qB4520-"},
			{Agent: member.addr.Hex(), Downloaded: 7, Left: 9, LastAnnounce: timestamppb.New(last)},
		},
		Seeders: 1, Leechers: 1,
	}
	if diff := cmp.Diff(want, sw, protocmp.Transform()); diff != "" {
		t.Errorf("GetSwarm (-want +got):\n%s", diff)
	}
	_, err = e.datasets.GetSwarm(ctx, &pbtsv1.GetSwarmRequest{InfoHash: "0x" + strings.Repeat("11", 20)})
	wantCode(t, err, codes.NotFound, "")

	if err := e.store.RecordMember(ctx, b.infoHash, member.addr); err != nil {
		t.Fatal(err)
	}
	byID := "0x" + hex.EncodeToString(peerID[:])
	tests := []struct {
		name   string
		req    *pbtsv1.ResolvePeerRequest
		code   codes.Code
		substr string
	}{
		{"neither", &pbtsv1.ResolvePeerRequest{InfoHash: ihHex(b.infoHash), Passkey: memberPK}, codes.InvalidArgument, "peer_id"},
		{"both", &pbtsv1.ResolvePeerRequest{InfoHash: ihHex(b.infoHash), Passkey: memberPK, PeerId: byID, Addr: "192.0.2.7:6881"}, codes.InvalidArgument, "not both"},
		{"short peer id", &pbtsv1.ResolvePeerRequest{InfoHash: ihHex(b.infoHash), Passkey: memberPK, PeerId: "0x1234"}, codes.InvalidArgument, "peer_id"},
		{"bad addr", &pbtsv1.ResolvePeerRequest{InfoHash: ihHex(b.infoHash), Passkey: memberPK, Addr: "host:80"}, codes.InvalidArgument, "addr"},
		{"no passkey", &pbtsv1.ResolvePeerRequest{InfoHash: ihHex(b.infoHash), PeerId: byID}, codes.Unauthenticated, "passkey"},
		{"unknown passkey", &pbtsv1.ResolvePeerRequest{InfoHash: ihHex(b.infoHash), Passkey: strings.Repeat("0", 32), PeerId: byID}, codes.Unauthenticated, "unknown passkey"},
		{"non-member", &pbtsv1.ResolvePeerRequest{InfoHash: ihHex(b.infoHash), Passkey: outsiderPK, PeerId: byID}, codes.PermissionDenied, "only members"},
		{"publisher that never announced", &pbtsv1.ResolvePeerRequest{InfoHash: ihHex(b.infoHash), Passkey: pubPK, PeerId: byID}, codes.PermissionDenied, "only members"},
		{"unknown dataset", &pbtsv1.ResolvePeerRequest{InfoHash: "0x" + strings.Repeat("11", 20), Passkey: memberPK, PeerId: byID}, codes.NotFound, ""},
		{"unknown peer", &pbtsv1.ResolvePeerRequest{InfoHash: ihHex(b.infoHash), Passkey: memberPK, Addr: "192.0.2.8:6881"}, codes.NotFound, "no such peer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.datasets.ResolvePeer(ctx, tt.req)
			wantCode(t, err, tt.code, tt.substr)
		})
	}
	for _, req := range []*pbtsv1.ResolvePeerRequest{
		{InfoHash: ihHex(b.infoHash), Passkey: memberPK, PeerId: byID},
		{InfoHash: ihHex(b.infoHash), Passkey: memberPK, Addr: "192.0.2.7:6881"},
		{InfoHash: ihHex(b.infoHash), Passkey: memberPK, Addr: "[::ffff:192.0.2.7]:6881"}, // IPv4-mapped: normalised
		{InfoHash: speech.name, Passkey: memberPK, Addr: "192.0.2.7:6881"},
	} {
		resp, err := e.datasets.ResolvePeer(ctx, req)
		if err != nil || resp.GetAgent() != pubKey.addr.Hex() {
			t.Errorf("ResolvePeer(%v) = %v, %v", req, resp, err)
		}
	}
	if got := e.swarms.asked[len(e.swarms.asked)-2]; got != "addr:192.0.2.7:6881" {
		t.Errorf("mapped address passed as %q", got)
	}
}

// TestInternalErrorsAreOpaque: a database that went away is Unavailable (a
// client retries it), with an opaque message; the cause is logged, never a
// passkey.
func TestInternalErrorsAreOpaque(t *testing.T) {
	e := newEnv(t)
	k, pk := e.register(t)
	e.db.Pool.Close() // the database goes away
	_, err := e.agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: k.addr.Hex()})
	wantCode(t, err, codes.Unavailable, "database is unavailable")
	_, err = e.datasets.GetTorrent(ctx, &pbtsv1.GetTorrentRequest{InfoHash: "0x" + strings.Repeat("11", 20), Passkey: strings.Repeat("a", 32)})
	wantCode(t, err, codes.Unavailable, "database is unavailable")
	if msg := err.Error(); strings.Contains(msg, "pool") || strings.Contains(msg, "closed") {
		t.Errorf("cause leaked to the client: %s", msg)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "database unavailable") || !strings.Contains(logs, "method=GetAgent") {
		t.Errorf("the cause was not logged:\n%s", logs)
	}
	if strings.Contains(logs, pk) || strings.Contains(logs, strings.Repeat("a", 32)) {
		t.Errorf("a passkey was logged:\n%s", logs)
	}
}
