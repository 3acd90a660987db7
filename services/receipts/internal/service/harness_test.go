package service_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/pbts/pbts/database/dbtest"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/services/receipts/internal/service"
)

var testDomain = receipt.Domain{ChainID: 31337, Tracker: common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3")}

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
func (c *clock) Unix() uint64            { return uint64(c.Now().Unix()) }

// fixture is a migrated test database with tracker rows inserted directly.
type fixture struct {
	t     testing.TB
	url   string
	pool  *pgxpool.Pool
	clock *clock
	seq   atomic.Uint32
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	url := dbtest.NewURL(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return &fixture{t: t, url: url, pool: pool, clock: newClock()}
}

func (f *fixture) exec(sql string, args ...any) {
	f.t.Helper()
	if _, err := f.pool.Exec(context.Background(), sql, args...); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
}

func (f *fixture) count(sql string, args ...any) int64 {
	f.t.Helper()
	var n int64
	if err := f.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// credited is the bytes credited for a piece download (piece_credit's key is
// receipt.Key's first 56 bytes).
func (f *fixture) credited(tr *torrent, receiver agent, piece uint32) int64 {
	f.t.Helper()
	r := receipt.Receipt{InfoHash: tr.ih32(), Receiver: receiver.addr, PieceIndex: piece}
	k := r.Key()
	return f.count(`SELECT coalesce(sum(credited), 0) FROM piece_credit WHERE piece = $1`, k[:56])
}

type agent struct {
	key  *ecdsa.PrivateKey
	addr common.Address
}

// newKey returns a deterministic key (distinct per call within a fixture).
func (f *fixture) newKey() agent {
	n := f.seq.Add(1)
	seed := sha256.Sum256(binary.BigEndian.AppendUint32([]byte("pbts receipts test key"), n))
	k, err := crypto.ToECDSA(seed[:])
	if err != nil {
		f.t.Fatal(err)
	}
	return agent{key: k, addr: crypto.PubkeyToAddress(k.PublicKey)}
}

// agent registers a new agent.
func (f *fixture) agent() agent {
	a := f.newKey()
	f.register(a)
	return a
}

// register stores a as registered with a registration base of 1 TiB of
// upload: a quota no test reaches unless it sets a smaller one (setBase).
func (f *fixture) register(a agent) {
	ph := sha256.Sum256(a.addr[:])
	f.exec(`INSERT INTO agents (address, passkey_hash, reg_timestamp, reg_signature, auth_timestamp, base_upload, base_download)
		VALUES ($1, $2, 1, $3, 1, $4, 0)`, a.addr[:], ph[:], make([]byte, 65), int64(1<<40))
}

// setBase sets what a's registration granted.
func (f *fixture) setBase(a agent, up, down int64) {
	f.exec(`UPDATE agents SET base_upload = $2, base_download = $3 WHERE address = $1`, a.addr[:], up, down)
}

type torrent struct {
	ih       [20]byte
	pieceLen uint32
	total    uint64
	hashes   [][32]byte
}

func (tr *torrent) ih32() [32]byte { return receipt.InfoHashFromV1(tr.ih) }

func (tr *torrent) pieceSize(i uint32) uint32 {
	if int(i) == len(tr.hashes)-1 {
		return uint32(tr.total - uint64(len(tr.hashes)-1)*uint64(tr.pieceLen))
	}
	return tr.pieceLen
}

// torrent publishes a dataset of count pieces of pieceLen bytes, the last
// one short by short bytes.
func (f *fixture) torrent(publisher agent, count int, pieceLen uint32, short uint32) *torrent {
	n := f.seq.Add(1)
	tr := &torrent{pieceLen: pieceLen, total: uint64(count)*uint64(pieceLen) - uint64(short)}
	h := sha256.Sum256(binary.BigEndian.AppendUint32([]byte("torrent"), n))
	copy(tr.ih[:], h[:20])
	all := make([]byte, 0, 32*count)
	for i := range count {
		ph := sha256.Sum256(binary.BigEndian.AppendUint32(tr.ih[:], uint32(i)))
		tr.hashes = append(tr.hashes, ph)
		all = append(all, ph[:]...)
	}
	f.exec(`INSERT INTO datasets (info_hash, publisher, name, modality, info, piece_length, piece_count, total_bytes,
			piece_sha256, publish_timestamp, publish_signature)
		VALUES ($1, $2, 'test', 1, $3, $4, $5, $6, $7, 1, $8)`,
		tr.ih[:], publisher.addr[:], []byte("d4:infoe"), int32(pieceLen), int32(count), int64(tr.total), all, make([]byte, 65))
	return tr
}

func (f *fixture) join(tr *torrent, as ...agent) {
	for _, a := range as {
		f.exec(`INSERT INTO swarm_members (info_hash, agent) VALUES ($1, $2)`, tr.ih[:], a.addr[:])
	}
}

// swarm is a torrent with registered members, all in its swarm.
type swarm struct {
	tr     *torrent
	agents []agent
}

func (f *fixture) swarm(members, pieces int, pieceLen, short uint32) *swarm {
	s := &swarm{}
	for range members {
		s.agents = append(s.agents, f.agent())
	}
	s.tr = f.torrent(s.agents[0], pieces, pieceLen, short)
	f.join(s.tr, s.agents...)
	return s
}

// rc is a receipt with its signer.
type rc struct {
	r   receipt.Receipt
	key *ecdsa.PrivateKey
}

func (f *fixture) receipt(tr *torrent, piece uint32, sender, receiver agent, size uint32) rc {
	return rc{r: receipt.Receipt{
		InfoHash:   tr.ih32(),
		Sender:     sender.addr,
		Receiver:   receiver.addr,
		PieceHash:  tr.hashes[piece],
		PieceIndex: piece,
		PieceSize:  size,
		Timestamp:  f.clock.Unix(),
	}, key: receiver.key}
}

func (x rc) digest() [32]byte { return receipt.Digest(testDomain, x.r) }

func (x rc) sig(t testing.TB) receipt.Signature {
	t.Helper()
	s, err := receipt.Sign(testDomain, x.r, x.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// proto is the receipt as a client sends it (lowercase hex, EIP-55).
func (x rc) proto(t testing.TB) *pbtsv1.Receipt {
	t.Helper()
	return &pbtsv1.Receipt{
		InfoHash:   hexOf(x.r.InfoHash[:]),
		Sender:     x.r.Sender.Hex(),
		Receiver:   x.r.Receiver.Hex(),
		PieceHash:  hexOf(x.r.PieceHash[:]),
		PieceIndex: x.r.PieceIndex,
		PieceSize:  x.r.PieceSize,
		Timestamp:  x.r.Timestamp,
		Signature:  x.sig(t).Hex(),
	}
}

func hexOf(b []byte) string { return "0x" + common.Bytes2Hex(b) }

// harness is a running service with a client.
type harness struct {
	t       testing.TB
	reg     *prometheus.Registry
	svc     *service.Service
	client  pbtsv1.ReceiptServiceClient
	addr    string // the gRPC listener's
	cancel  func()
	stopRun func() // stops Run only (the gRPC server keeps serving)
	done    chan error
	ready   chan struct{}
}

type option func(*serviceConfig)

// negativeTTL is how long the test services remember unknown agents and
// torrents (on the test clock).
const negativeTTL = 5 * time.Second

func baseConfig(url string) service.Config {
	return service.Config{
		DatabaseURL: url, Migrate: true, DBMaxConns: 16, DBWriters: 8, // races in Postgres, not in the semaphore
		ChainID: testDomain.ChainID, TrackerContract: testDomain.Tracker.Hex(),
		TimestampWindow: time.Hour, MaxBatch: 64, MaxPageSize: 50,
		WatchBuffer: 1024, MaxWatchers: 16, MaxWatchersPerAddress: 16, MaxWatchersPerAgent: 16,
		CacheAgents: 1000, CacheMembers: 1000, CacheDatasetMB: 1,
		CacheNegatives: 1000, CacheNegativeTTL: negativeTTL,
		MinRatio: "1/2",
		// Limits no test reaches unless it sets its own.
		SubmitRatePerAddress: 1e6, SubmitBurstPerAddress: 1 << 20,
		SubmitRatePerAgent: 1e6, SubmitBurstPerAgent: 1 << 20,
		RateLimitKeys: 1000,
	}
}

// start runs a service instance on f's database and waits until it is ready.
func (f *fixture) start(opts ...option) *harness {
	f.t.Helper()
	return startService(f.t, f.url, f.clock, true, opts...)
}

func startService(t testing.TB, url string, clk *clock, waitReady bool, opts ...option) *harness {
	t.Helper()
	cfg := baseConfig(url)
	for _, o := range opts {
		o(&cfg)
	}
	h := &harness{t: t, reg: prometheus.NewRegistry(), done: make(chan error, 1), ready: make(chan struct{})}
	var once sync.Once
	svc, err := service.New(cfg, service.Options{
		Log:      slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Registry: h.reg,
		Now:      clk.Now,
		Health: func(ok bool) {
			if ok {
				once.Do(func() { close(h.ready) })
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.svc = svc
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Fixed 64 KiB flow-control windows (no BDP growth), so that a watcher
	// that does not read blocks its stream after about a hundred records.
	gs := grpc.NewServer(grpc.InitialWindowSize(1<<16), grpc.InitialConnWindowSize(1<<16))
	svc.Register(gs)
	go gs.Serve(lis)
	h.addr = lis.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- svc.Run(ctx) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithInitialWindowSize(1<<16), grpc.WithInitialConnWindowSize(1<<16))
	if err != nil {
		t.Fatal(err)
	}
	h.client = pbtsv1.NewReceiptServiceClient(conn)
	var runOnce, stopOnce sync.Once
	h.stopRun = func() {
		runOnce.Do(func() {
			cancel()
			select {
			case err := <-h.done:
				if err != nil && !errors.Is(err, context.Canceled) {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Error("Run did not return within 20s of cancel")
			}
		})
	}
	stop := func() {
		stopOnce.Do(func() {
			h.stopRun()
			gs.Stop()
			conn.Close()
		})
	}
	h.cancel = stop
	t.Cleanup(stop)
	if waitReady {
		select {
		case <-h.ready:
		case err := <-h.done:
			t.Fatalf("service stopped before ready: %v", err)
		case <-time.After(60 * time.Second):
			t.Fatal("service not ready within 60s")
		}
	}
	return h
}

// metric returns the value of the counter or gauge name with these labels
// (0 when absent).
func (h *harness) metric(name string, labels map[string]string) float64 {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

// testWriter sends the service's warnings and errors to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// stop stops the instance (idempotent).
func (h *harness) stop() { h.cancel() }

func (h *harness) submit(t testing.TB, rs ...*pbtsv1.Receipt) *pbtsv1.SubmitReceiptsResponse {
	t.Helper()
	resp, err := h.client.SubmitReceipts(context.Background(), &pbtsv1.SubmitReceiptsRequest{Receipts: rs})
	if err != nil {
		t.Fatalf("SubmitReceipts: %v", err)
	}
	if len(resp.Results) != len(rs) {
		t.Fatalf("SubmitReceipts: %d results for %d receipts", len(resp.Results), len(rs))
	}
	return resp
}

type outcome struct {
	status pbtsv1.ReceiptStatus
	reason pbtsv1.RefusalReason
}

func (o outcome) String() string {
	if o.reason != 0 {
		return o.status.String() + "/" + o.reason.String()
	}
	return o.status.String()
}

func outcomeOf(r *pbtsv1.ReceiptResult) outcome { return outcome{r.Status, r.Reason} }

var (
	accepted  = outcome{status: pbtsv1.ReceiptStatus_RECEIPT_STATUS_ACCEPTED}
	duplicate = outcome{status: pbtsv1.ReceiptStatus_RECEIPT_STATUS_DUPLICATE}
)

func refused(r pbtsv1.RefusalReason) outcome {
	return outcome{status: pbtsv1.ReceiptStatus_RECEIPT_STATUS_REFUSED, reason: r}
}

type serviceConfig = service.Config
