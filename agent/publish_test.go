package agent_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pbts/pbts/agent"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

// PublishDataset checks the publication's signature as the tracker does
// and lists the dataset.
func (f *fakeTracker) PublishDataset(_ context.Context, req *pbtsv1.PublishDatasetRequest) (*pbtsv1.PublishDatasetResponse, error) {
	pub, _ := receipt.ParseAddress(req.GetPublisher())
	f.mu.Lock()
	_, registered := f.registered[pub]
	f.mu.Unlock()
	if !registered {
		return nil, status.Error(codes.FailedPrecondition, "publisher not registered")
	}
	mi, err := metainfo.Load(bytes.NewReader(req.GetTorrent()))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if mi.Announce != "" {
		return nil, status.Error(codes.InvalidArgument, "the catalog's torrent must not carry a passkey")
	}
	mod := map[pbtsv1.Modality]string{pbtsv1.Modality_MODALITY_VIDEO: "video", pbtsv1.Modality_MODALITY_AUDIO: "audio"}[req.GetModality()]
	sig, _ := receipt.ParseSignature(req.GetSignature())
	if err := receipt.VerifyPublication(testDomain, pub, [20]byte(mi.HashInfoBytes()), receipt.PiecesDigest(req.GetPieceSha256()),
		receipt.MetadataDigest(req.GetName(), req.GetDescription(), mod, req.GetTags(), req.GetLicense()), req.GetTimestamp(), sig[:], time.Now(), time.Minute); err != nil {
		return nil, status.Error(codes.Unauthenticated, err.Error())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ih := "0x" + mi.HashInfoBytes().HexString()
	for _, d := range f.datasets {
		if d.GetInfoHash() == ih {
			return &pbtsv1.PublishDatasetResponse{AlreadyPublished: true}, nil
		}
	}
	f.datasets = append(f.datasets, &pbtsv1.Dataset{InfoHash: ih, Name: req.GetName(), Modality: req.GetModality(), Publisher: pub.Hex()})
	return &pbtsv1.PublishDatasetResponse{}, nil
}

func TestPublishRecordsWhatSeedServes(t *testing.T) {
	f, addr := startTracker(t)
	key, _ := crypto.GenerateKey()
	home := t.TempDir()
	a := open(t, agent.Config{Home: home, Key: key, Tracker: addr, Domain: testDomain})
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "tone.wav")
	os.WriteFile(data, bytes.Repeat([]byte("pbts audio "), 100_000), 0o644)
	req := agent.PublishRequest{Path: data, Name: "tone", Modality: "Audio", Tags: []string{"tone"}, License: "CC0-1.0"}

	if _, err := a.Publish(ctx, req); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("publish before registering: %v", err)
	}
	reg, err := a.Register(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := a.Publish(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	catalog := f.datasets
	f.mu.Unlock()
	if pub.AlreadyPublished || !pub.Announced || pub.Modality != "audio" || pub.TotalBytes != 1_100_000 || pub.PieceCount == 0 ||
		len(catalog) != 1 || catalog[0].GetInfoHash() != pub.InfoHash {
		t.Fatalf("publication %+v; catalog %v", pub, catalog)
	}
	// The local torrent carries the agent's announce URL; the catalog's did not.
	mi, err := metainfo.LoadFromFile(pub.TorrentFile)
	if err != nil || mi.Announce != reg.AnnounceURL {
		t.Fatalf("local torrent announce %q, want %q (%v)", mi.Announce, reg.AnnounceURL, err)
	}
	want := agent.SeedItem{InfoHash: pub.InfoHash, TorrentFile: pub.TorrentFile, BaseDir: filepath.Dir(data), Source: "published"}
	if pub.Seed != want {
		t.Fatalf("seed item %+v, want %+v", pub.Seed, want)
	}
	if again, err := a.Publish(ctx, req); err != nil || !again.AlreadyPublished {
		t.Fatalf("publishing again: %+v %v", again, err)
	}
	items, err := agent.Seedable(home, addr)
	if err != nil || len(items) != 1 || items[0] != want {
		t.Fatalf("Seedable: %+v %v (published twice, listed once)", items, err)
	}
	if items, err := agent.Seedable(home, "elsewhere:1"); err != nil || len(items) != 0 {
		t.Fatalf("Seedable for another tracker: %+v %v", items, err)
	}
	for _, bad := range []agent.PublishRequest{{Path: data, Modality: "audio"}, {Path: data, Name: "x"}, {Path: data, Name: "x", Modality: "text"}} {
		if _, err := a.Publish(ctx, bad); err == nil {
			t.Fatalf("Publish(%+v) accepted", bad)
		}
	}
}

func TestGetAndSeedSayWhatIsMissing(t *testing.T) {
	f, addr := startTracker(t)
	key, _ := crypto.GenerateKey()
	home := t.TempDir()
	a := open(t, agent.Config{Home: home, Key: key, Tracker: addr, Domain: testDomain})
	ctx := context.Background()
	if _, err := a.Get(ctx, "tone", agent.GetOptions{Out: t.TempDir()}); !errors.Is(err, agent.ErrNotRegistered) {
		t.Fatalf("Get before registering: %v", err)
	}
	if _, err := a.Seed(ctx, agent.SeedOptions{}); !errors.Is(err, agent.ErrNothingToSeed) {
		t.Fatalf("Seed with nothing: %v", err)
	}
	if _, err := a.Seed(ctx, agent.SeedOptions{Items: []agent.SeedItem{{InfoHash: "0x01"}}}); !errors.Is(err, agent.ErrNotRegistered) {
		t.Fatalf("Seed before registering: %v", err)
	}
	if _, err := a.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, "tone", agent.GetOptions{}); err == nil {
		t.Fatal("Get without an output directory")
	}
	var ne *agent.NameError
	if _, err := a.Get(ctx, "tone", agent.GetOptions{Out: t.TempDir()}); !errors.As(err, &ne) || len(ne.InfoHashes) != 0 {
		t.Fatalf("Get of an unknown name: %v", err)
	}
	f.mu.Lock()
	f.datasets = []*pbtsv1.Dataset{{InfoHash: "0x" + strings.Repeat("1", 40), Name: "Tone"}, {InfoHash: "0x" + strings.Repeat("2", 40), Name: "tone"}}
	f.mu.Unlock()
	if _, err := a.Get(ctx, "tone", agent.GetOptions{Out: t.TempDir()}); !errors.As(err, &ne) || len(ne.InfoHashes) != 2 {
		t.Fatalf("Get of an ambiguous name: %v", err)
	}
	// A name that is one dataset's goes to the tracker for its torrent (the
	// fake has none to give).
	f.mu.Lock()
	f.datasets = f.datasets[:1]
	f.mu.Unlock()
	if _, err := a.Get(ctx, "tone", agent.GetOptions{Out: t.TempDir()}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("Get of a known name: %v", err)
	}
}
