package announce_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pbts/pbts/services/tracker/internal/announce"
	"github.com/pbts/pbts/services/tracker/internal/announce/announcetest"
	"github.com/pbts/pbts/services/tracker/internal/bt"
	"github.com/pbts/pbts/services/tracker/internal/swarm"
)

const (
	GiB         = 1 << 30
	torrentSize = 10 * GiB
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is a Tracker over a memory store with test doubles: agents 1..n own
// passkeys pk(1)..pk(n); torrents ih(1)..ih(3) are catalogued.
type env struct {
	t       *testing.T
	cfg     announce.Config
	clock   *clock
	store   *swarm.Memory
	dir     *announcetest.Directory
	gate    *announcetest.Gate
	tracker *announce.Tracker
}

func pk(n int) string { return fmt.Sprintf("passkey%025d", n) }

func agent(n int) announce.Agent {
	var a announce.Agent
	binary.BigEndian.PutUint64(a[12:], uint64(n))
	return a
}

func ih(n int) bt.InfoHash {
	var h bt.InfoHash
	h[0] = byte(n)
	binary.BigEndian.PutUint64(h[12:], uint64(n))
	return h
}

func pid(n int) bt.PeerID {
	var p bt.PeerID
	copy(p[:], "-TE0001-")
	binary.BigEndian.PutUint64(p[12:], uint64(n))
	return p
}

func addr(n int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(n >> 8), byte(n)}), uint16(6000+n))
}

func newEnv(t *testing.T, mod func(*announce.Config)) *env {
	t.Helper()
	cfg := announce.DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	store, err := swarm.NewMemory(0)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{
		t:     t,
		cfg:   cfg,
		clock: &clock{now: time.Unix(1_800_000_000, 0)},
		store: store,
		dir:   announcetest.NewDirectory(),
		gate:  announcetest.NewGate(announce.DefaultRatio, 1*GiB),
	}
	e.dir.CreditEverything = true // the leeching-while-seeding tests set credits themselves
	for n := 1; n <= 500; n++ {
		e.dir.AddAgent(pk(n), agent(n))
	}
	for n := 1; n <= 3; n++ {
		e.dir.AddTorrent(announce.Torrent{InfoHash: ih(n), TotalLength: torrentSize})
	}
	e.tracker, err = announce.New(cfg, store, e.dir, e.gate, nil, announce.WithClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// req is an announce of peer n (agent n, passkey n) in torrent 1.
func req(n int, left uint64, ev bt.Event) *bt.AnnounceRequest {
	return &bt.AnnounceRequest{
		Passkey: pk(n), InfoHash: ih(1), PeerID: pid(n), Port: addr(n).Port(), Addr: addr(n),
		Left: left, Event: ev, NumWant: -1, Compact: true,
	}
}

func (e *env) announce(r *bt.AnnounceRequest) (*bt.AnnounceResponse, error) {
	resp := &bt.AnnounceResponse{Compact: r.Compact}
	err := e.tracker.Announce(context.Background(), r, resp)
	return resp, err
}

func (e *env) mustAnnounce(r *bt.AnnounceRequest) *bt.AnnounceResponse {
	e.t.Helper()
	resp, err := e.announce(r)
	if err != nil {
		e.t.Fatalf("announce of peer %v: %v", r.PeerID, err)
	}
	return resp
}

func (e *env) counts(h bt.InfoHash) announce.Counts {
	e.t.Helper()
	c, err := e.tracker.Counts(context.Background(), h)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

type calls struct {
	announcetest.Calls
	Gate int64
}

func (e *env) calls() calls { return calls{e.dir.Calls(), e.gate.Calls()} }

func netipMust(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
