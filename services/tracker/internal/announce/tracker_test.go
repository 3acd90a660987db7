package announce_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pbts/pbts/services/tracker/internal/announce"
	"github.com/pbts/pbts/services/tracker/internal/announce/announcetest"
	"github.com/pbts/pbts/services/tracker/internal/bt"
	"github.com/pbts/pbts/services/tracker/internal/swarm"
)

func TestAnnounceRefusals(t *testing.T) {
	internal := errors.New("db down")
	tests := []struct {
		name     string
		setup    func(*env)
		req      func() *bt.AnnounceRequest
		want     string // the exact ClientError, or "" for an internal error
		internal error
	}{
		{
			name: "unknown passkey",
			req:  func() *bt.AnnounceRequest { r := req(1, 0, 0); r.Passkey = "nosuchpasskey"; return r },
			want: "unknown passkey: register with `pbts register` and announce with the URL it prints",
		},
		{
			name:  "unregistered agent",
			setup: func(e *env) { e.dir.Unregister(agent(1)) },
			req:   func() *bt.AnnounceRequest { return req(1, 0, 0) },
			want:  "unregistered agent: the agent owning this passkey is not registered (or was revoked); run `pbts register` again",
		},
		{
			name: "unknown torrent",
			req:  func() *bt.AnnounceRequest { r := req(1, 0, 0); r.InfoHash = ih(99); return r },
			want: "torrent not in the PBTS catalog: only published private torrents are tracked (publish it with `pbts publish`)",
		},
		{
			name:  "insufficient ratio",
			setup: func(e *env) { e.gate.Set(agent(1), 1*GiB, 3*GiB) },
			req:   func() *bt.AnnounceRequest { return req(1, 2*GiB, bt.EventStarted) },
			want:  "insufficient ratio: uploaded 1.0 GiB, downloaded 3.0 GiB + 2.0 GiB left; need uploaded/(downloaded+left) >= 0.50; seed to earn credit",
		},
		{
			name:  "insufficient ratio with a fresh agent's credit",
			setup: func(e *env) {},
			req:   func() *bt.AnnounceRequest { return req(1, 3*GiB, bt.EventStarted) },
			want:  "insufficient ratio: uploaded 1.0 GiB, downloaded 0 B + 3.0 GiB left; need uploaded/(downloaded+left) >= 0.50; seed to earn credit",
		},
		{
			name:  "peer id held by another agent",
			setup: func(e *env) { e.mustAnnounce(req(1, 0, 0)) },
			req:   func() *bt.AnnounceRequest { r := req(2, 0, 0); r.PeerID = pid(1); return r },
			want:  "peer id in use by another agent in this swarm: restart the client to get a new peer id",
		},
		{
			name:     "directory failure is internal",
			setup:    func(e *env) { e.dir.Err = internal },
			req:      func() *bt.AnnounceRequest { return req(1, 0, 0) },
			internal: internal,
		},
		{
			name:     "gate failure is internal",
			setup:    func(e *env) { e.gate.Err = internal },
			req:      func() *bt.AnnounceRequest { return req(1, 100, 0) },
			internal: internal,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			if tc.setup != nil {
				tc.setup(e)
			}
			before := e.counts(ih(1))
			_, err := e.announce(tc.req())
			var ce bt.ClientError
			if tc.internal != nil {
				if !errors.Is(err, tc.internal) || errors.As(err, &ce) {
					t.Fatalf("err = %v (%T), want an internal error wrapping %v", err, err, tc.internal)
				}
			} else if !errors.As(err, &ce) || string(ce) != tc.want {
				t.Fatalf("err = %v\nwant ClientError %q", err, tc.want)
			}
			if after := e.counts(ih(1)); after != before {
				t.Errorf("a refused announce changed the swarm: %+v -> %+v", before, after)
			}
		})
	}
}

func TestSeedingIsNeverGated(t *testing.T) {
	e := newEnv(t, nil)
	e.gate.Set(agent(1), 0, 100*GiB) // hopeless ratio
	resp := e.mustAnnounce(req(1, 0, bt.EventStarted))
	if resp.Complete != 1 || e.gate.Calls() != 0 {
		t.Errorf("seeder: complete %d, gate calls %d", resp.Complete, e.gate.Calls())
	}
	if _, err := e.announce(req(1, 1, 0)); err == nil {
		t.Error("the same agent leeching 1 byte was not refused")
	}
}

func TestLeftIsCappedAtTorrentSize(t *testing.T) {
	e := newEnv(t, nil)
	e.gate.Set(agent(1), 5*GiB, 0) // allows leeching up to 10 GiB, the torrent's size
	if _, err := e.announce(req(1, math.MaxUint64, bt.EventStarted)); err != nil {
		t.Fatalf("left beyond the torrent's size was not capped: %v", err)
	}
}

func TestMinIntervalFastPath(t *testing.T) {
	e := newEnv(t, func(c *announce.Config) { c.MinInterval = time.Minute })
	e.mustAnnounce(req(2, 0, bt.EventStarted)) // a seeder to hand out
	e.mustAnnounce(req(1, 100, bt.EventStarted))
	first := e.calls()
	if first.Gate != 1 || first.Joined != 2 {
		t.Fatalf("after the first announces: %+v", first)
	}

	// Inside the min interval: answered from state, nobody asked.
	for i := range 5 {
		e.clock.Advance(10 * time.Second)
		r := req(1, uint64(90-i*10), 0)
		r.Uploaded = uint64(i)
		resp := e.mustAnnounce(r)
		if len(resp.IPv4) != 6 || resp.Complete != 1 || resp.Incomplete != 1 || resp.Interval != e.cfg.Interval {
			t.Fatalf("fast answer %d: %+v", i, resp)
		}
	}
	if got := e.calls(); got != first {
		t.Fatalf("Directory/Gate called inside the min interval: %+v, before %+v", got, first)
	}
	p, err := e.store.Peer(context.Background(), ih(1), pid(1))
	if err != nil || p.Left != 50 || p.Uploaded != 4 {
		t.Errorf("fast path did not record the figures: %+v, %v", p, err)
	}

	// Completing inside the min interval needs no gate either, and counts.
	e.clock.Advance(time.Second)
	if resp := e.mustAnnounce(req(1, 0, 0)); resp.Downloaded != 1 || resp.Complete != 2 {
		t.Errorf("completion on the fast path: %+v", resp)
	}
	if got := e.calls(); got != first {
		t.Fatalf("completion asked Directory/Gate: %+v", got)
	}

	// A seeder turning leecher inside the min interval is gated again.
	e.clock.Advance(time.Second)
	e.mustAnnounce(req(1, 10, 0))
	if got := e.calls(); got.Gate != first.Gate+1 || got.AgentByPasskey != first.AgentByPasskey+1 {
		t.Errorf("seeder->leecher not re-verified: %+v", got)
	}

	// Once the min interval has passed since that verification, an
	// announce is verified again.
	base := e.calls()
	e.clock.Advance(time.Minute)
	e.mustAnnounce(req(1, 5, 0))
	if got := e.calls(); got.AgentByPasskey != base.AgentByPasskey+1 || got.Torrent != base.Torrent+1 || got.Gate != base.Gate+1 || got.Joined != base.Joined {
		t.Errorf("after the min interval: %+v, before %+v", got, base)
	}

	// Asking to leech more than allowed is gated even inside the interval.
	base = e.calls()
	e.clock.Advance(time.Second)
	e.mustAnnounce(req(1, 50, 0))
	if got := e.calls(); got.Gate != base.Gate+1 {
		t.Errorf("left increase not gated: %+v", got)
	}

	// stopped is answered from state when the passkey matches.
	base = e.calls()
	e.clock.Advance(time.Hour)
	e.mustAnnounce(req(1, 50, bt.EventStopped))
	if got := e.calls(); got != base {
		t.Errorf("stopped asked Directory/Gate: %+v", got)
	}
	if c := e.counts(ih(1)); c.Leechers != 0 {
		t.Errorf("stopped peer still counted: %+v", c)
	}
}

func TestFastPathNeedsTheSamePasskey(t *testing.T) {
	e := newEnv(t, nil)
	e.mustAnnounce(req(1, 0, bt.EventStarted))
	base := e.calls()

	// Another passkey with the same peer id, inside the min interval: never
	// answered from state; the Directory decides.
	r := req(1, 0, bt.EventStopped)
	r.Passkey = "stolenpeerid"
	var ce bt.ClientError
	if _, err := e.announce(r); !errors.As(err, &ce) || !strings.HasPrefix(string(ce), "unknown passkey") {
		t.Fatalf("foreign passkey: %v", err)
	}
	r.Passkey = pk(2) // a registered agent, but not the peer's
	if _, err := e.announce(r); !errors.As(err, &ce) || !strings.HasPrefix(string(ce), "peer id in use") {
		t.Fatalf("another agent's passkey: %v", err)
	}
	if got := e.calls(); got.AgentByPasskey != base.AgentByPasskey+2 {
		t.Errorf("Directory not asked: %+v", got)
	}
	if c := e.counts(ih(1)); c.Seeders != 1 {
		t.Errorf("peer removed by a foreign stopped: %+v", c)
	}
}

func TestEventsAndCompletion(t *testing.T) {
	e := newEnv(t, nil)
	// seeder 1, leechers 2 and 3
	e.mustAnnounce(req(1, 0, bt.EventStarted))
	e.mustAnnounce(req(2, 1000, bt.EventStarted))
	resp := e.mustAnnounce(req(3, 1000, bt.EventStarted))
	if resp.Complete != 1 || resp.Incomplete != 2 || resp.Downloaded != 0 {
		t.Fatalf("after started: %+v", resp)
	}
	// 2 completes the standard way
	e.clock.Advance(time.Hour)
	resp = e.mustAnnounce(req(2, 0, bt.EventCompleted))
	if resp.Complete != 2 || resp.Incomplete != 1 || resp.Downloaded != 1 {
		t.Fatalf("after completed: %+v", resp)
	}
	// 3 is aria2: left drops to 0 and it only ever says stopped
	e.clock.Advance(time.Hour)
	resp = e.mustAnnounce(req(3, 0, bt.EventStopped))
	if resp.Complete != 2 || resp.Incomplete != 0 || resp.Downloaded != 2 || len(resp.IPv4) != 0 {
		t.Fatalf("after stopped with left 0: %+v", resp)
	}
	// a late completed from 2 is not counted twice; a plain left 0 from 1 is no completion
	e.mustAnnounce(req(2, 0, bt.EventCompleted))
	e.mustAnnounce(req(1, 0, 0))
	if c := e.counts(ih(1)); c != (announce.Counts{Seeders: 2, Completed: 2}) {
		t.Errorf("counts %+v", c)
	}
	// a leecher whose left reaches 0 without any event
	e.mustAnnounce(req(4, 500, 0))
	e.clock.Advance(time.Hour)
	e.mustAnnounce(req(4, 0, 0))
	if c := e.counts(ih(1)); c != (announce.Counts{Seeders: 3, Completed: 3}) {
		t.Errorf("counts %+v", c)
	}
	// stopped of a peer the tracker does not know is answered with the counts
	resp = e.mustAnnounce(req(9, 0, bt.EventStopped))
	if resp.Complete != 3 {
		t.Errorf("unknown stopped: %+v", resp)
	}
}

func TestExpiry(t *testing.T) {
	e := newEnv(t, func(c *announce.Config) {
		c.Interval, c.MinInterval, c.PeerExpiry = 10*time.Minute, time.Minute, 20*time.Minute
	})
	ctx := context.Background()
	e.mustAnnounce(req(1, 0, bt.EventStarted))
	e.mustAnnounce(req(2, 10, bt.EventStarted))
	e.clock.Advance(15 * time.Minute)
	e.mustAnnounce(req(2, 10, 0)) // 2 keeps announcing, 1 went silent
	if n, err := e.tracker.GC(ctx); err != nil || n != 0 {
		t.Fatalf("GC at 15m = %d, %v", n, err)
	}
	e.clock.Advance(6 * time.Minute)
	if n, err := e.tracker.GC(ctx); err != nil || n != 1 {
		t.Fatalf("GC at 21m = %d, %v; want 1", n, err)
	}
	if c := e.counts(ih(1)); c != (announce.Counts{Leechers: 1}) {
		t.Errorf("after expiry: %+v", c)
	}
	resp := e.mustAnnounce(req(2, 10, 0))
	if len(resp.IPv4) != 0 {
		t.Errorf("expired seeder still handed out")
	}
	joined := e.calls().Joined
	e.mustAnnounce(req(1, 0, 0)) // back after expiry: a new peer record
	if e.calls().Joined != joined+1 {
		t.Error("Joined not told of the returning peer")
	}
}

func TestRunCollects(t *testing.T) {
	e := newEnv(t, func(c *announce.Config) { c.GCInterval = 5 * time.Millisecond })
	e.mustAnnounce(req(1, 0, bt.EventStarted))
	e.clock.Advance(e.cfg.PeerExpiry + time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.tracker.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for e.counts(ih(1)).Seeders != 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not collect the expired peer")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run returned %v on cancel, want nil", err)
	}
}

func TestNumWant(t *testing.T) {
	e := newEnv(t, nil)
	for n := 1; n <= 300; n++ {
		e.mustAnnounce(req(n, 0, bt.EventStarted)) // 300 seeders
	}
	for _, tc := range []struct {
		numWant int
		event   bt.Event
		want    int
	}{
		{-1, 0, 50},   // absent: the default
		{0, 0, 0},     // none wanted
		{10, 0, 10},   //
		{200, 0, 200}, // the maximum
		{1000, 0, 200},
		{1 << 30, 0, 200},
		{50, bt.EventStopped, 0}, // a leaving peer gets none
	} {
		r := req(400, 100, tc.event)
		r.NumWant = tc.numWant
		resp := e.mustAnnounce(r)
		if got := len(resp.IPv4) / 6; got != tc.want {
			t.Errorf("numwant %d (event %q): %d peers, want %d", tc.numWant, tc.event, got, tc.want)
		}
	}
}

func TestPeersHandedOut(t *testing.T) {
	e := newEnv(t, nil)
	r := req(1, 0, bt.EventStarted)
	r.Hint = netipMust("[2001:db8::1]:6001")
	e.mustAnnounce(r)
	resp := e.mustAnnounce(req(2, 10, bt.EventStarted))
	if string(resp.IPv4) != string([]byte{10, 0, 0, 1, 0x17, 0x71}) {
		t.Errorf("peers %x", resp.IPv4)
	}
	if len(resp.IPv6) != 18 {
		t.Errorf("peers6 %x", resp.IPv6)
	}
	r = req(2, 10, 0)
	r.Compact = false
	resp = e.mustAnnounce(r)
	if len(resp.Peers) != 2 || resp.Peers[0].ID != pid(1) {
		t.Errorf("dictionary peers %+v", resp.Peers)
	}
	// a seeder is handed leechers only
	resp = e.mustAnnounce(req(1, 0, 0))
	if string(resp.IPv4) != string([]byte{10, 0, 0, 2, 0x17, 0x72}) || len(resp.IPv6) != 0 {
		t.Errorf("seeder's peers %x / %x", resp.IPv4, resp.IPv6)
	}
}

func TestJoined(t *testing.T) {
	e := newEnv(t, nil)
	r := req(1, 0, bt.EventStarted)
	r.Hint = netipMust("[2001:db8::1]:6001")
	e.mustAnnounce(r)
	e.clock.Advance(time.Hour)
	e.mustAnnounce(req(1, 0, 0))
	r = req(1, 0, 0)
	r.InfoHash = ih(2)
	e.mustAnnounce(r)
	joins := e.dir.Joins()
	want := []announcetest.Join{
		{InfoHash: ih(1), Agent: agent(1), Peer: announce.PeerRef{ID: pid(1), Addr: addr(1), Hint: netipMust("[2001:db8::1]:6001")}},
		{InfoHash: ih(2), Agent: agent(1), Peer: announce.PeerRef{ID: pid(1), Addr: addr(1)}},
	}
	if len(joins) != len(want) {
		t.Fatalf("joins %+v, want %+v", joins, want)
	}
	for i := range want {
		if joins[i] != want[i] {
			t.Errorf("join %d = %+v, want %+v", i, joins[i], want[i])
		}
	}
}

func TestScrapeLogic(t *testing.T) {
	e := newEnv(t, nil)
	e.mustAnnounce(req(1, 0, bt.EventStarted))
	e.mustAnnounce(req(2, 10, bt.EventStarted))
	e.clock.Advance(time.Hour)
	e.mustAnnounce(req(2, 0, 0))
	r := req(3, 0, 0)
	r.InfoHash = ih(2)
	e.mustAnnounce(r)
	ctx := context.Background()
	scrape := func(passkey string, hs ...bt.InfoHash) (*bt.ScrapeResponse, error) {
		resp := &bt.ScrapeResponse{}
		return resp, e.tracker.Scrape(ctx, &bt.ScrapeRequest{Passkey: passkey, InfoHashes: hs}, resp)
	}
	resp, err := scrape(pk(1), ih(1), ih(2), ih(3), ih(99))
	if err != nil {
		t.Fatal(err)
	}
	want := []bt.ScrapeFile{
		{InfoHash: ih(1), Complete: 2, Downloaded: 1},
		{InfoHash: ih(2), Complete: 1},
		{InfoHash: ih(3)},
	}
	if len(resp.Files) != len(want) {
		t.Fatalf("files %+v", resp.Files)
	}
	for i := range want {
		if resp.Files[i] != want[i] {
			t.Errorf("file %d = %+v, want %+v", i, resp.Files[i], want[i])
		}
	}
	var ce bt.ClientError
	if _, err := scrape(pk(1), ih(99)); !errors.As(err, &ce) || !strings.HasPrefix(string(ce), "torrent not in the PBTS catalog") {
		t.Errorf("scrape of an unknown torrent: %v", err)
	}
	if _, err := scrape("nope", ih(1)); !errors.As(err, &ce) || !strings.HasPrefix(string(ce), "unknown passkey") {
		t.Errorf("scrape with an unknown passkey: %v", err)
	}
}

func TestResolveAndListing(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	r := req(1, 0, bt.EventStarted)
	r.PeerID = bt.PeerID([]byte("-qB4520-abcdefghijkl"))
	r.Uploaded = 77
	e.mustAnnounce(r)
	e.mustAnnounce(req(2, 10, bt.EventStarted))

	for _, tc := range []struct {
		name      string
		requester announce.Agent
		id        bt.PeerID
		want      announce.Agent
		err       error
	}{
		{"member resolves a seeder", agent(2), r.PeerID, agent(1), nil},
		{"member resolves itself", agent(2), pid(2), agent(2), nil},
		{"outsider is refused", agent(3), pid(2), announce.Agent{}, announce.ErrNotMember},
		{"unknown peer", agent(2), pid(9), announce.Agent{}, announce.ErrPeerNotFound},
	} {
		got, err := e.tracker.ResolvePeer(ctx, ih(1), tc.requester, tc.id)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("%s: ResolvePeer = %v, %v; want %v, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
	if got, err := e.tracker.ResolveAddr(ctx, ih(1), agent(1), addr(2)); got != agent(2) || err != nil {
		t.Errorf("ResolveAddr = %v, %v", got, err)
	}
	if _, err := e.tracker.ResolveAddr(ctx, ih(2), agent(1), addr(2)); !errors.Is(err, announce.ErrNotMember) {
		t.Errorf("ResolveAddr in another swarm: %v", err)
	}
	if _, err := e.tracker.ResolveAddr(ctx, ih(1), agent(1), addr(3)); !errors.Is(err, announce.ErrPeerNotFound) {
		t.Errorf("ResolveAddr of nobody: %v", err)
	}

	info, err := e.tracker.Swarm(ctx, ih(1), 10)
	if err != nil {
		t.Fatal(err)
	}
	if info.Counts != (announce.Counts{Seeders: 1, Leechers: 1}) || len(info.Peers) != 2 {
		t.Fatalf("swarm %+v", info)
	}
	p := info.Peers[0]
	if p.Agent != agent(1) || !p.Seeder || p.Client != "-qB4520-" || p.Uploaded != 77 || p.Addr != addr(1) || !p.LastSeen.Equal(e.clock.Now()) {
		t.Errorf("seeder listed as %+v", p)
	}
	if q := info.Peers[1]; q.Seeder || q.Left != 10 || q.Agent != agent(2) {
		t.Errorf("leecher listed as %+v", q)
	}
	if st, err := e.tracker.Stats(ctx); err != nil || st != (swarm.Stats{Torrents: 1, Seeders: 1, Leechers: 1}) {
		t.Errorf("Stats = %+v, %v", st, err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := announce.DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mod  func(*announce.Config)
		want string
	}{
		{func(c *announce.Config) { c.Interval = 0 }, "announce interval"},
		{func(c *announce.Config) { c.MinInterval = 0 }, "min announce interval"},
		{func(c *announce.Config) { c.MinInterval = c.Interval + 1 }, "min announce interval"},
		{func(c *announce.Config) { c.NumWantMax = 0 }, "numwant max"},
		{func(c *announce.Config) { c.NumWantMax = 5000 }, "numwant max"},
		{func(c *announce.Config) { c.NumWantDefault = 300 }, "numwant default"},
		{func(c *announce.Config) { c.PeerExpiry = c.Interval }, "peer expiry"},
		{func(c *announce.Config) { c.GCInterval = 0 }, "GC interval"},
		{func(c *announce.Config) { c.MaxPeersPerAgent = 0 }, "max peers per agent 0: want 1..64"},
		{func(c *announce.Config) { c.MaxPeersPerAgent = 65 }, "max peers per agent 65"},
	} {
		c := announce.DefaultConfig()
		tc.mod(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate = %v, want %q", err, tc.want)
		}
		if _, err := announce.New(c, nil, nil, nil, nil); err == nil {
			t.Errorf("New accepted an invalid config (%s)", tc.want)
		}
	}
	store, _ := swarm.NewMemory(0)
	if _, err := announce.New(announce.DefaultConfig(), store, nil, announcetest.NewGate(announce.DefaultRatio, 0), nil); err == nil {
		t.Error("New accepted a nil directory")
	}
}

// TestSharedTagsFastPathAcrossReplicas: two trackers over one store (as
// replicas over one Redis). With per-process tags, a re-announce reaching
// the other replica inside the min interval is verified again (Directory
// and Gate asked); with WithSharedTags it takes the fast path there too,
// and a wrong passkey still does not.
func TestSharedTagsFastPathAcrossReplicas(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			e := newEnv(t, func(c *announce.Config) { c.MinInterval = time.Minute })
			var opts []announce.Option
			if shared {
				opts = append(opts, announce.WithSharedTags())
				// Replica 1 too, else its tags are per-process.
				t1, err := announce.New(e.cfg, e.store, e.dir, e.gate, nil, announce.WithClock(e.clock.Now), announce.WithSharedTags())
				if err != nil {
					t.Fatal(err)
				}
				e.tracker = t1
			}
			replica2, err := announce.New(e.cfg, e.store, e.dir, e.gate, nil, append(opts, announce.WithClock(e.clock.Now))...)
			if err != nil {
				t.Fatal(err)
			}
			e.mustAnnounce(req(1, 100, bt.EventStarted))
			first := e.calls()
			e.clock.Advance(10 * time.Second)
			if err := replica2.Announce(context.Background(), req(1, 90, 0), &bt.AnnounceResponse{}); err != nil {
				t.Fatal(err)
			}
			fast := e.calls() == first
			if fast != shared {
				t.Fatalf("re-announce on the other replica: fast path %v, want %v (calls %+v, before %+v)", fast, shared, e.calls(), first)
			}
			// Another agent's passkey on peer 1's id is never the fast path.
			r := req(1, 80, 0)
			r.Passkey = pk(2)
			before := e.calls()
			replica2.Announce(context.Background(), r, &bt.AnnounceResponse{})
			if e.calls() == before {
				t.Fatalf("a foreign passkey took the fast path")
			}
		})
	}
}
