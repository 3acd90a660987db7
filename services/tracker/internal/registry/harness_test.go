package registry_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/test/bufconn"

	"github.com/pbts/pbts/database"
	"github.com/pbts/pbts/database/dbtest"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/services/tracker/internal/registry"
	"github.com/pbts/pbts/services/tracker/internal/store"
	"github.com/pbts/pbts/torrentfile"
)

var (
	ctx      = context.Background()
	domain   = receipt.Domain{ChainID: 31337, Tracker: common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3")}
	baseTime = time.Unix(1_750_000_000, 0)
)

const announceBase = "http://127.0.0.1:7070"

// fakeReputation returns set figures (zero by default) or an error.
type fakeReputation struct {
	mu   sync.Mutex
	figs map[common.Address]registry.Figures
	err  error
}

func (f *fakeReputation) Figures(_ context.Context, a common.Address) (registry.Figures, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return registry.Figures{}, f.err
	}
	return f.figs[a], nil
}

func (f *fakeReputation) ExpectBase(context.Context, common.Address) error { return nil }

func (f *fakeReputation) set(a common.Address, fig registry.Figures) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.figs[a] = fig
}

func (f *fakeReputation) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// fakeSwarms serves fixed swarm state.
type fakeSwarms struct {
	counts map[[20]byte][3]uint32
	peers  map[[20]byte][]registry.SwarmPeer
	// byID and byAddr resolve peers.
	byID   map[string]common.Address
	byAddr map[string]common.Address
	asked  []string
}

func newFakeSwarms() *fakeSwarms {
	return &fakeSwarms{counts: map[[20]byte][3]uint32{}, peers: map[[20]byte][]registry.SwarmPeer{},
		byID: map[string]common.Address{}, byAddr: map[string]common.Address{}}
}

func (f *fakeSwarms) AgentLeft(context.Context, common.Address, [20]byte) (uint64, error) {
	return 0, nil
}

func (f *fakeSwarms) Totals(context.Context) (swarms, seeders, leechers uint64, err error) {
	for _, c := range f.counts {
		if c[0]+c[1] > 0 {
			swarms++
		}
		seeders += uint64(c[0])
		leechers += uint64(c[1])
	}
	return swarms, seeders, leechers, nil
}

func (f *fakeSwarms) Counts(_ context.Context, ih [20]byte) (uint32, uint32, uint32) {
	c := f.counts[ih]
	return c[0], c[1], c[2]
}

func (f *fakeSwarms) Peers(_ context.Context, ih [20]byte) ([]registry.SwarmPeer, error) {
	return f.peers[ih], nil
}

func (f *fakeSwarms) Resolve(_ context.Context, ih [20]byte, asker common.Address, peerID []byte, addr string) (common.Address, error) {
	if peerID != nil {
		f.asked = append(f.asked, "id:"+string(peerID))
		if a, ok := f.byID[string(peerID)]; ok {
			return a, nil
		}
	} else {
		f.asked = append(f.asked, "addr:"+addr)
		if a, ok := f.byAddr[addr]; ok {
			return a, nil
		}
	}
	return common.Address{}, registry.ErrPeerNotFound
}

// env is one test's tracker: real Postgres, in-process gRPC over bufconn.
type env struct {
	db       *database.DB
	store    *store.Store
	rep      *fakeReputation
	swarms   *fakeSwarms
	agents   pbtsv1.AgentServiceClient
	datasets pbtsv1.DatasetServiceClient
	logs     *syncBuffer
	now      time.Time
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T, mutate ...func(*registry.Config)) *env {
	t.Helper()
	e := &env{db: dbtest.New(t), rep: &fakeReputation{figs: map[common.Address]registry.Figures{}}, swarms: newFakeSwarms(), logs: &syncBuffer{}, now: baseTime}
	e.store = store.New(e.db, store.Options{})
	cfg := registry.Config{
		Domain:       domain,
		AnnounceBase: announceBase + "/",
		Now:          func() time.Time { return e.now },
		Log:          slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	reg, err := registry.New(cfg, e.store, e.rep, e.swarms)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(clientAddrFromMetadata))
	reg.Register(srv)
	lis := bufconn.Listen(1 << 20)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	e.agents = pbtsv1.NewAgentServiceClient(conn)
	e.datasets = pbtsv1.NewDatasetServiceClient(conn)
	return e
}

func (e *env) ts() uint64 { return uint64(e.now.Unix()) }

// clientAddrFromMetadata is a test-only interceptor: bufconn has no client
// address, so a test names one in the "test-client-ip" header.
func clientAddrFromMetadata(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("test-client-ip"); len(v) == 1 {
			ctx = peer.NewContext(ctx, &peer.Peer{Addr: &net.TCPAddr{IP: net.ParseIP(v[0]), Port: 4000}})
		}
	}
	return h(ctx, req)
}

// from is a context whose calls come from ip.
func from(ip string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "test-client-ip", ip)
}

type agentKey struct {
	key  *ecdsa.PrivateKey
	addr common.Address
}

func newKey(t *testing.T) agentKey {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return agentKey{k, crypto.PubkeyToAddress(k.PublicKey)}
}

func (e *env) registerReq(t *testing.T, k agentKey, d receipt.Domain, ts uint64) *pbtsv1.RegisterAgentRequest {
	t.Helper()
	sig, err := receipt.SignRegistration(d, ts, k.key)
	if err != nil {
		t.Fatal(err)
	}
	return &pbtsv1.RegisterAgentRequest{Address: k.addr.Hex(), Timestamp: ts, Signature: sig.Hex()}
}

// register registers a new agent and returns its key and passkey.
func (e *env) register(t *testing.T) (agentKey, string) {
	t.Helper()
	k := newKey(t)
	resp, err := e.agents.RegisterAgent(ctx, e.registerReq(t, k, domain, e.ts()))
	if err != nil || resp.GetPasskey() == "" {
		t.Fatalf("RegisterAgent = %v, %v", resp, err)
	}
	return k, resp.GetPasskey()
}

func (e *env) rotateReq(t *testing.T, k agentKey, d receipt.Domain, ts uint64) *pbtsv1.RotatePasskeyRequest {
	t.Helper()
	sig, err := receipt.SignRotation(d, ts, k.key)
	if err != nil {
		t.Fatal(err)
	}
	return &pbtsv1.RotatePasskeyRequest{Address: k.addr.Hex(), Timestamp: ts, Signature: sig.Hex()}
}

// built is a torrent made with torrentfile.Build.
type built struct {
	mi       *metainfo.MetaInfo
	sums     [][32]byte
	infoHash [20]byte
	whole    []byte // the whole .torrent
}

func (b built) pieces() []byte {
	var out []byte
	for _, s := range b.sums {
		out = append(out, s[:]...)
	}
	return out
}

// buildTorrent builds a private torrent of size random-ish bytes.
func buildTorrent(t *testing.T, name string, size int, seed byte) built {
	t.Helper()
	dir := t.TempDir()
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7) ^ seed
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	mi, sums, err := torrentfile.Build(path, 16<<10)
	if err != nil {
		t.Fatal(err)
	}
	mi.Announce = "http://elsewhere.example/announce"
	mi.Comment = "built for a test"
	whole, err := bencode.Marshal(mi)
	if err != nil {
		t.Fatal(err)
	}
	return built{mi: mi, sums: sums, infoHash: mi.HashInfoBytes(), whole: whole}
}

type meta struct {
	name, description string
	modality          pbtsv1.Modality
	tags              []string
	license           string
}

var modalityName = map[pbtsv1.Modality]string{pbtsv1.Modality_MODALITY_VIDEO: "video", pbtsv1.Modality_MODALITY_AUDIO: "audio"}

// publishReq builds a signed publish request.
func publishReq(t *testing.T, k agentKey, d receipt.Domain, torrent []byte, ih [20]byte, pieces []byte, m meta, ts uint64) *pbtsv1.PublishDatasetRequest {
	t.Helper()
	md := receipt.MetadataDigest(m.name, m.description, modalityName[m.modality], m.tags, m.license)
	sig, err := receipt.SignPublication(d, ih, receipt.PiecesDigest(pieces), md, ts, k.key)
	if err != nil {
		t.Fatal(err)
	}
	return &pbtsv1.PublishDatasetRequest{
		Publisher: k.addr.Hex(), Torrent: torrent, PieceSha256: pieces,
		Name: m.name, Description: m.description, Modality: m.modality, Tags: m.tags, License: m.license,
		Timestamp: ts, Signature: sig.Hex(),
	}
}

// resign replaces the signature of req after it was modified.
func resign(t *testing.T, k agentKey, d receipt.Domain, req *pbtsv1.PublishDatasetRequest, ih [20]byte) {
	t.Helper()
	md := receipt.MetadataDigest(req.Name, req.Description, modalityName[req.Modality], req.Tags, req.License)
	sig, err := receipt.SignPublication(d, ih, receipt.PiecesDigest(req.PieceSha256), md, req.Timestamp, k.key)
	if err != nil {
		t.Fatal(err)
	}
	req.Signature = sig.Hex()
}
