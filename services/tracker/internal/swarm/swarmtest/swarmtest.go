// Package swarmtest is the conformance suite and benchmark set every
// swarm.PeerStore implementation runs (chihaya's storage_tests.go and
// storage_bench.go pattern):
//
//	func TestMemory(t *testing.T) { swarmtest.Run(t, newMemory) }
//	func BenchmarkMemory(b *testing.B) { swarmtest.Bench(b, newMemory) }
package swarmtest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pbts/pbts/services/tracker/internal/bt"
	"github.com/pbts/pbts/services/tracker/internal/swarm"
)

// NewStore returns an empty store for one test.
type NewStore func(tb testing.TB) swarm.PeerStore

var t0 = time.Unix(1_800_000_000, 0)

// IH, PID and AgentN make distinct test values from small numbers.
func IH(n int) (h bt.InfoHash) {
	binary.BigEndian.PutUint64(h[12:], uint64(n))
	h[0] = byte(n) // spread over shards
	return h
}

// PID makes a peer id.
func PID(n int) (p bt.PeerID) {
	copy(p[:], "-PB0001-")
	binary.BigEndian.PutUint64(p[12:], uint64(n))
	return p
}

// AgentN makes an agent address.
func AgentN(n int) (a swarm.Agent) {
	binary.BigEndian.PutUint64(a[12:], uint64(n))
	return a
}

// V4 makes a distinct IPv4 endpoint.
func V4(n int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)}), uint16(6881+n%1000))
}

// V6 makes a distinct IPv6 endpoint.
func V6(n int) netip.AddrPort {
	var b [16]byte
	b[0], b[1] = 0x20, 0x01
	binary.BigEndian.PutUint64(b[8:], uint64(n))
	return netip.AddrPortFrom(netip.AddrFrom16(b), uint16(6881+n%1000))
}

// Verified is a verified update for peer n of agent n with left bytes left.
func Verified(n int, left uint64, now time.Time) *swarm.Update {
	return &swarm.Update{
		PeerID: PID(n), Addr: V4(n), Left: left, Now: now,
		Verified: true, Agent: AgentN(n), Tag: uint64(n) + 1,
	}
}

// Run runs the conformance suite against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, swarm.PeerStore)
	}{
		{"CountsSeedersAndLeechers", testCounts},
		{"LeecherGetsSeedersFirst", testLeecherSelection},
		{"SeederGetsOnlyLeechers", testSeederSelection},
		{"SelectionExcludesSelfAndHonoursNumWant", testNumWant},
		{"CompactEncodings", testCompact},
		{"DictionaryModel", testDictionary},
		{"StoppedRemoves", testStopped},
		{"CompletionFromLeftZeroCountedOnce", testCompletionLeft},
		{"CompletionFromEvent", testCompletionEvent},
		{"StoppedWithLeftZeroCompletes", testStoppedCompletes},
		{"SeederFromStartIsNoCompletion", testSeederNoCompletion},
		{"UnverifiedUpdates", testUnverified},
		{"PeerIDTakenByAnotherAgent", testPeerIDTaken},
		{"Lookups", testLookups},
		{"PeersListing", testPeersListing},
		{"CollectExpires", testCollect},
		{"LargeSwarm", testLargeSwarm},
		{"Stats", testStats},
		{"Concurrent", testConcurrent},
		{"AgentLeftAcrossSwarms", testAgentLeft},
		{"MaxPerAgentKeepsTheNewest", testMaxPerAgentNewest},
		{"MaxPerAgentReplacesTheLeastRecentlySeen", testMaxPerAgentLeastRecent},
		{"MaxPerAgentStoppedAndExpiredLeaveTheList", testMaxPerAgentLeaving},
		{"MaxPerAgentLoweredOrOff", testMaxPerAgentLowered},
		{"MaxPerAgentSybilShowsAtMostN", testMaxPerAgentSybil},
		{"MaxPerAgentConcurrent", testMaxPerAgentConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

func announce(t testing.TB, s swarm.PeerStore, ih bt.InfoHash, u *swarm.Update, want int, sel *swarm.Selection) swarm.Result {
	t.Helper()
	res, err := s.Announce(context.Background(), ih, u, want, sel)
	if err != nil {
		t.Fatalf("Announce(%v, peer %v): %v", ih, u.PeerID, err)
	}
	return res
}

func counts(t testing.TB, s swarm.PeerStore, ih bt.InfoHash) swarm.Counts {
	t.Helper()
	c, err := s.Counts(context.Background(), ih)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantCounts(t testing.TB, got, want swarm.Counts) {
	t.Helper()
	if got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
}

func testCounts(t *testing.T, s swarm.PeerStore) {
	ih := IH(1)
	wantCounts(t, counts(t, s, ih), swarm.Counts{})
	r := announce(t, s, ih, Verified(1, 0, t0), 0, nil)
	if !r.Created || r.Completed || r.Removed {
		t.Errorf("first announce result = %+v", r)
	}
	wantCounts(t, r.Counts, swarm.Counts{Seeders: 1})
	announce(t, s, ih, Verified(2, 100, t0), 0, nil)
	r = announce(t, s, ih, Verified(3, 100, t0), 0, nil)
	wantCounts(t, r.Counts, swarm.Counts{Seeders: 1, Leechers: 2})
	r = announce(t, s, ih, Verified(3, 50, t0), 0, nil)
	if r.Created {
		t.Error("re-announce reported Created")
	}
	wantCounts(t, counts(t, s, ih), swarm.Counts{Seeders: 1, Leechers: 2})
	wantCounts(t, counts(t, s, IH(2)), swarm.Counts{})
}

func endpoints4(b []byte) map[netip.AddrPort]bool {
	out := map[netip.AddrPort]bool{}
	for len(b) >= 6 {
		out[netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[:4])), binary.BigEndian.Uint16(b[4:6]))] = true
		b = b[6:]
	}
	return out
}

func testLeecherSelection(t *testing.T, s swarm.PeerStore) {
	ih := IH(1)
	for n := 1; n <= 3; n++ {
		announce(t, s, ih, Verified(n, 0, t0), 0, nil) // seeders 1..3
	}
	for n := 4; n <= 8; n++ {
		announce(t, s, ih, Verified(n, 10, t0), 0, nil) // leechers 4..8
	}
	for range 20 { // the start is random: check the rule holds every time
		sel := &swarm.Selection{Compact: true}
		announce(t, s, ih, Verified(8, 10, t0), 4, sel)
		got := endpoints4(sel.IPv4)
		if len(got) != 4 {
			t.Fatalf("got %d peers, want 4", len(got))
		}
		for n := 1; n <= 3; n++ {
			if !got[V4(n)] {
				t.Fatalf("leecher's peers %v lack seeder %d", got, n)
			}
		}
		if got[V4(8)] {
			t.Fatal("announcer got itself")
		}
	}
}

func testSeederSelection(t *testing.T, s swarm.PeerStore) {
	ih := IH(1)
	for n := 1; n <= 3; n++ {
		announce(t, s, ih, Verified(n, 0, t0), 0, nil)
	}
	for n := 4; n <= 5; n++ {
		announce(t, s, ih, Verified(n, 10, t0), 0, nil)
	}
	sel := &swarm.Selection{Compact: true}
	announce(t, s, ih, Verified(1, 0, t0), 50, sel)
	got := endpoints4(sel.IPv4)
	if len(got) != 2 || !got[V4(4)] || !got[V4(5)] {
		t.Errorf("seeder's peers = %v, want exactly the leechers 4 and 5", got)
	}
}

func testNumWant(t *testing.T, s swarm.PeerStore) {
	ih := IH(1)
	for n := 1; n <= 10; n++ {
		announce(t, s, ih, Verified(n, 10, t0), 0, nil)
	}
	for _, want := range []int{0, 1, 5, 9, 10, 100} {
		sel := &swarm.Selection{Compact: true}
		announce(t, s, ih, Verified(1, 10, t0), want, sel)
		got := endpoints4(sel.IPv4)
		if exp := min(want, 9); len(got) != exp || len(sel.IPv4) != 6*exp {
			t.Errorf("numwant %d: got %d peers (%d bytes), want %d", want, len(got), len(sel.IPv4), exp)
		}
		if got[V4(1)] {
			t.Errorf("numwant %d: announcer got itself", want)
		}
	}
}

func testCompact(t *testing.T, s swarm.PeerStore) {
	ih := IH(1)
	u := Verified(1, 0, t0)
	u.Addr = netip.MustParseAddrPort("192.0.2.1:6881")
	u.Hint = netip.MustParseAddrPort("[2001:db8::1]:6882")
	announce(t, s, ih, u, 0, nil)
	u = Verified(2, 0, t0)
	u.Addr = netip.MustParseAddrPort("[2001:db8::2]:51413") // an IPv6 connection
	announce(t, s, ih, u, 0, nil)
	u = Verified(4, 0, t0)
	u.Addr = netip.MustParseAddrPort("[2001:db8::4]:1")
	u.Hint = netip.MustParseAddrPort("[2001:db8::5]:1") // a same-family hint is ignored
	announce(t, s, ih, u, 0, nil)
	u.Event = bt.EventStopped
	announce(t, s, ih, u, 0, nil)
	sel := &swarm.Selection{Compact: true}
	announce(t, s, ih, Verified(3, 10, t0), 50, sel)
	if want := []byte{192, 0, 2, 1, 0x1a, 0xe1}; string(sel.IPv4) != string(want) {
		t.Errorf("IPv4 = %x, want %x", sel.IPv4, want)
	}
	if len(sel.IPv6) != 36 {
		t.Fatalf("IPv6 = %x, want two 18-byte entries", sel.IPv6)
	}
	got := map[string]bool{string(sel.IPv6[:18]): true, string(sel.IPv6[18:]): true}
	a1 := netip.MustParseAddr("2001:db8::1").As16()
	a2 := netip.MustParseAddr("2001:db8::2").As16()
	if !got[string(append(a1[:], 0x1a, 0xe2))] || !got[string(append(a2[:], 0xc8, 0xd5))] {
		t.Errorf("IPv6 = %x", sel.IPv6)
	}
	if len(sel.Peers) != 0 {
		t.Errorf("compact selection filled Peers")
	}
}

func testDictionary(t *testing.T, s swarm.PeerStore) {
	ih := IH(1)
	u := Verified(1, 0, t0)
	u.Hint = V6(1)
	announce(t, s, ih, u, 0, nil)
	sel := &swarm.Selection{}
	announce(t, s, ih, Verified(2, 10, t0), 50, sel)
	want := map[bt.Peer]bool{{ID: PID(1), Addr: V4(1)}: true, {ID: PID(1), Addr: V6(1)}: true}
	if len(sel.Peers) != 2 || !want[sel.Peers[0]] || !want[sel.Peers[1]] || sel.Peers[0] == sel.Peers[1] {
		t.Errorf("Peers = %v, want %v", sel.Peers, want)
	}
	if len(sel.IPv4)+len(sel.IPv6) != 0 {
		t.Error("dictionary selection filled compact lists")
	}
}

func testStopped(t *testing.T, s swarm.PeerStore) {
	ih := IH(1)
	announce(t, s, ih, Verified(1, 0, t0), 0, nil)
	announce(t, s, ih, Verified(2, 10, t0), 0, nil)
	u := Verified(2, 10, t0)
	u.Event = bt.EventStopped
	sel := &swarm.Selection{Compact: true}
	r := announce(t, s, ih, u, 50, sel)
	if !r.Removed || len(sel.IPv4) != 0 {
		t.Errorf("stopped: result %+v, %d peer bytes", r, len(sel.IPv4))
	}
	wantCounts(t, r.Counts, swarm.Counts{Seeders: 1})
	if _, err := s.Peer(context.Background(), ih, PID(2)); !errors.Is(err, swarm.ErrNotFound) {
		t.Errorf("stopped peer still found: %v", err)
	}
	// stopping a peer the store does not know changes nothing
	u = Verified(9, 10, t0)
	u.Event = bt.EventStopped
	r = announce(t, s, ih, u, 50, nil)
	if r.Created || r.Removed {
		t.Errorf("unknown stopped: %+v", r)
	}
	wantCounts(t, counts(t, s, ih), swarm.Counts{Seeders: 1})
	u = Verified(1, 0, t0)
	u.Event = bt.EventStopped
	announce(t, s, ih, u, 0, nil)
	wantCounts(t, counts(t, s, ih), swarm.Counts{})
}

func testCompletionLeft(t *testing.T, s swarm.PeerStore) {
	ih := IH(1)
	announce(t, s, ih, Verified(1, 100, t0), 0, nil)
	r := announce(t, s, ih, Verified(1, 0, t0), 0, nil)
	if !r.Completed {
		t.Error("left 100 -> 0 not reported Completed")
	}
	wantCounts(t, r.Counts, swarm.Counts{Seeders: 1, Completed: 1})
	u := Verified(1, 0, t0)
	u.Event = bt.EventCompleted // a client that also sends completed late
	if r := announce(t, s, ih, u, 0, nil); r.Completed {
		t.Error("completion counted twice")
	}
	announce(t, s, ih, Verified(1, 0, t0), 0, nil)
	wantCounts(t, counts(t, s, ih), swarm.Counts{Seeders: 1, Completed: 1})
	// downloading again (data lost) and completing again counts again
	announce(t, s, ih, Verified(1, 10, t0), 0, nil)
	wantCounts(t, counts(t, s, ih), swarm.Counts{Leechers: 1, Completed: 1})
	announce(t, s, ih, Verified(1, 0, t0), 0, nil)
	wantCounts(t, counts(t, s, ih), swarm.Counts{Seeders: 1, Completed: 2})
}

func testCompletionEvent(t *testing.T, s swarm.PeerStore) {
	ih := IH(1)
	announce(t, s, ih, Verified(1, 100, t0), 0, nil)
	u := Verified(1, 0, t0)
	u.Event = bt.EventCompleted
	if r := announce(t, s, ih, u, 0, nil); !r.Completed {
		t.Error("completed event not counted")
	}
	// a peer unknown to the store (e.g. after a restart) announcing completed counts
	u = Verified(2, 0, t0)
	u.Event = bt.EventCompleted
	if r := announce(t, s, ih, u, 0, nil); !r.Completed || !r.Created {
		t.Errorf("completed from a new peer: %+v", r)
	}
	wantCounts(t, counts(t, s, ih), swarm.Counts{Seeders: 2, Completed: 2})
}

func testStoppedCompletes(t *testing.T, s swarm.PeerStore) {
	ih := IH(1)
	announce(t, s, ih, Verified(1, 100, t0), 0, nil)
	u := Verified(1, 0, t0)
	u.Event = bt.EventStopped // aria2: stopped with left=0, never completed
	r := announce(t, s, ih, u, 0, nil)
	if !r.Completed || !r.Removed {
		t.Errorf("stopped with left 0: %+v", r)
	}
	wantCounts(t, counts(t, s, ih), swarm.Counts{Completed: 1})
}

func testSeederNoCompletion(t *testing.T, s swarm.PeerStore) {
	ih := IH(1)
	announce(t, s, ih, Verified(1, 0, t0), 0, nil)
	announce(t, s, ih, Verified(1, 0, t0.Add(time.Minute)), 0, nil)
	u := Verified(1, 0, t0)
	u.Event = bt.EventStopped
	announce(t, s, ih, u, 0, nil)
	wantCounts(t, counts(t, s, ih), swarm.Counts{})
}

func testUnverified(t *testing.T, s swarm.PeerStore) {
	ctx := context.Background()
	ih := IH(1)
	u := Verified(1, 100, t0)
	u.Verified = false
	if _, err := s.Announce(ctx, ih, u, 0, nil); !errors.Is(err, swarm.ErrStale) {
		t.Fatalf("unverified announce of an unknown peer: %v, want ErrStale", err)
	}
	announce(t, s, ih, Verified(1, 100, t0), 0, nil)
	u = Verified(1, 50, t0.Add(time.Second))
	u.Verified, u.Agent = false, swarm.Agent{} // agent is ignored when unverified
	r := announce(t, s, ih, u, 0, nil)
	if r.Created {
		t.Error("unverified update created a peer")
	}
	p, err := s.Peer(ctx, ih, PID(1))
	if err != nil {
		t.Fatal(err)
	}
	if p.Left != 50 || p.Agent != AgentN(1) || !p.LastSeen.Equal(t0.Add(time.Second)) || !p.LastVerified.Equal(t0) {
		t.Errorf("after unverified update: %+v", p)
	}
	u = Verified(1, 0, t0)
	u.Verified, u.Tag = false, 999 // wrong credential
	if _, err := s.Announce(ctx, ih, u, 0, nil); !errors.Is(err, swarm.ErrStale) {
		t.Errorf("unverified announce with another tag: %v, want ErrStale", err)
	}
	if p, _ := s.Peer(ctx, ih, PID(1)); p.Left != 50 {
		t.Errorf("a refused update changed the peer: %+v", p)
	}
}

func testPeerIDTaken(t *testing.T, s swarm.PeerStore) {
	ctx := context.Background()
	ih := IH(1)
	announce(t, s, ih, Verified(1, 100, t0), 0, nil)
	u := Verified(1, 0, t0)
	u.Agent = AgentN(2)
	u.Event = bt.EventStopped
	if _, err := s.Announce(ctx, ih, u, 0, nil); !errors.Is(err, swarm.ErrPeerIDTaken) {
		t.Errorf("another agent's announce with a held peer id: %v, want ErrPeerIDTaken", err)
	}
	if p, err := s.Peer(ctx, ih, PID(1)); err != nil || p.Agent != AgentN(1) || p.Left != 100 {
		t.Errorf("peer after refused takeover: %+v, %v", p, err)
	}
	// the same peer id in another swarm is another peer
	u = Verified(1, 0, t0)
	u.Agent = AgentN(2)
	announce(t, s, IH(2), u, 0, nil)
	// the same agent with a new credential may update its own peer
	u = Verified(1, 100, t0)
	u.Tag = 77
	announce(t, s, ih, u, 0, nil)
	if p, _ := s.Peer(ctx, ih, PID(1)); p.Tag != 77 {
		t.Errorf("tag not updated by a verified announce: %d", p.Tag)
	}
}

func testLookups(t *testing.T, s swarm.PeerStore) {
	ctx := context.Background()
	ih := IH(1)
	u := Verified(1, 100, t0)
	u.Hint, u.Uploaded, u.Downloaded = V6(1), 7, 8
	announce(t, s, ih, u, 0, nil)
	announce(t, s, ih, Verified(2, 0, t0), 0, nil)
	u = Verified(3, 0, t0)
	u.Addr, u.Hint = V6(3), V4(3) // an IPv6 connection with an IPv4 hint
	announce(t, s, ih, u, 0, nil)

	p, err := s.Peer(ctx, ih, PID(1))
	want := swarm.Peer{ID: PID(1), Agent: AgentN(1), Addr: V4(1), Hint: V6(1), Uploaded: 7, Downloaded: 8, Left: 100,
		Tag: 2, LastSeen: t0, LastVerified: t0}
	if err != nil || !equalPeer(p, want) {
		t.Errorf("Peer = %+v, %v; want %+v", p, err, want)
	}
	if _, err := s.Peer(ctx, ih, PID(9)); !errors.Is(err, swarm.ErrNotFound) {
		t.Errorf("Peer(unknown) err = %v", err)
	}
	if _, err := s.Peer(ctx, IH(9), PID(1)); !errors.Is(err, swarm.ErrNotFound) {
		t.Errorf("Peer(unknown swarm) err = %v", err)
	}
	if p, err := s.Peer(ctx, ih, PID(3)); err != nil || p.Addr != V6(3) || p.Hint != V4(3) {
		t.Errorf("IPv6 peer = %+v, %v", p, err)
	}
	for _, tc := range []struct {
		addr netip.AddrPort
		want int // agent; 0: not found
	}{
		{V4(1), 1},
		{netip.AddrPortFrom(netip.AddrFrom16(V4(1).Addr().As16()), V4(1).Port()), 1}, // v4-mapped
		{V4(2), 2},
		{V6(3), 3},
		{V6(1), 0}, // a hint does not identify its peer
		{V4(3), 0},
		{netip.AddrPortFrom(V4(1).Addr(), 1), 0}, // wrong port
	} {
		p, err := s.PeerByAddr(ctx, ih, tc.addr)
		if tc.want == 0 {
			if !errors.Is(err, swarm.ErrNotFound) {
				t.Errorf("PeerByAddr(%v) = %v, %v; want ErrNotFound", tc.addr, p.Agent, err)
			}
		} else if err != nil || p.Agent != AgentN(tc.want) {
			t.Errorf("PeerByAddr(%v) = %v, %v; want agent %d", tc.addr, p.Agent, err, tc.want)
		}
	}
	for _, tc := range []struct {
		ih    bt.InfoHash
		agent swarm.Agent
		want  bool
	}{{ih, AgentN(1), true}, {ih, AgentN(2), true}, {ih, AgentN(9), false}, {IH(2), AgentN(1), false}} {
		if got, err := s.HasAgent(ctx, tc.ih, tc.agent); err != nil || got != tc.want {
			t.Errorf("HasAgent(%v, %v) = %v, %v; want %v", tc.ih, tc.agent, got, err, tc.want)
		}
	}
}

func equalPeer(a, b swarm.Peer) bool {
	return a.ID == b.ID && a.Agent == b.Agent && a.Addr == b.Addr && a.Hint == b.Hint &&
		a.Uploaded == b.Uploaded && a.Downloaded == b.Downloaded && a.Left == b.Left && a.Tag == b.Tag &&
		a.LastSeen.Equal(b.LastSeen) && a.LastVerified.Equal(b.LastVerified)
}

func testPeersListing(t *testing.T, s swarm.PeerStore) {
	ctx := context.Background()
	ih := IH(1)
	for n := 1; n <= 5; n++ {
		announce(t, s, ih, Verified(n, uint64(n%2), t0), 0, nil) // even n: seeders
	}
	ps, err := s.Peers(ctx, ih, 100)
	if err != nil || len(ps) != 5 {
		t.Fatalf("Peers = %d, %v", len(ps), err)
	}
	if !ps[0].Seeder() || !ps[1].Seeder() || ps[2].Seeder() {
		t.Errorf("seeders not listed first: %v %v %v", ps[0].Left, ps[1].Left, ps[2].Left)
	}
	if ps, _ := s.Peers(ctx, ih, 2); len(ps) != 2 {
		t.Errorf("limit 2 gave %d", len(ps))
	}
	if ps, err := s.Peers(ctx, IH(2), 10); err != nil || len(ps) != 0 {
		t.Errorf("unknown swarm: %v, %v", ps, err)
	}
}

func testCollect(t *testing.T, s swarm.PeerStore) {
	ctx := context.Background()
	ih := IH(1)
	announce(t, s, ih, Verified(1, 100, t0), 0, nil)
	announce(t, s, ih, Verified(1, 0, t0), 0, nil) // completed
	announce(t, s, ih, Verified(2, 100, t0.Add(10*time.Minute)), 0, nil)
	announce(t, s, IH(2), Verified(3, 100, t0), 0, nil)
	n, err := s.Collect(ctx, t0.Add(5*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("Collect = %d, %v; want 2", n, err)
	}
	wantCounts(t, counts(t, s, ih), swarm.Counts{Leechers: 1, Completed: 1})
	wantCounts(t, counts(t, s, IH(2)), swarm.Counts{})
	if _, err := s.Peer(ctx, ih, PID(1)); !errors.Is(err, swarm.ErrNotFound) {
		t.Error("expired peer still found")
	}
	if n, _ := s.Collect(ctx, t0.Add(5*time.Minute)); n != 0 {
		t.Errorf("second Collect removed %d", n)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Collect(cctx, t0.Add(time.Hour)); !errors.Is(err, context.Canceled) {
		t.Errorf("Collect with a cancelled context: %v", err)
	}
}

// An agent's left in every swarm at once: per swarm the most left of its
// peers there; seeding, stopped and expired peers count nothing.
func testAgentLeft(t *testing.T, s swarm.PeerStore) {
	ctx := context.Background()
	a := AgentN(7)
	up := func(ih bt.InfoHash, peer int, left uint64, ev bt.Event, now time.Time) {
		t.Helper()
		u := Verified(peer, left, now)
		u.Agent, u.Event = a, ev
		announce(t, s, ih, u, 0, nil)
	}
	left := func(except bt.InfoHash, want uint64) {
		t.Helper()
		if got, err := s.AgentLeft(ctx, a, except); err != nil || got != want {
			t.Fatalf("AgentLeft(except %x) = %d, %v; want %d", except[:2], got, err, want)
		}
	}
	left(IH(99), 0)
	up(IH(1), 1, 100, bt.EventStarted, t0)
	up(IH(2), 2, 50, bt.EventStarted, t0)
	up(IH(2), 3, 70, bt.EventStarted, t0.Add(time.Minute)) // a second peer id in swarm 2
	up(IH(3), 4, 0, bt.EventStarted, t0)                   // seeding
	announce(t, s, IH(1), Verified(5, 1000, t0), 0, nil)   // another agent
	left(IH(99), 170)
	left(IH(1), 70)
	left(IH(2), 100)
	up(IH(1), 1, 40, bt.EventNone, t0) // progress
	left(IH(99), 110)
	up(IH(2), 3, 0, bt.EventCompleted, t0.Add(time.Minute))
	left(IH(99), 90)
	up(IH(1), 1, 40, bt.EventStopped, t0)
	left(IH(99), 50)
	if _, err := s.Collect(ctx, t0.Add(30*time.Second)); err != nil { // peer 2 expires
		t.Fatal(err)
	}
	left(IH(99), 0)
}

func testLargeSwarm(t *testing.T, s swarm.PeerStore) {
	ctx := context.Background()
	ih := IH(1)
	const n = 300
	for i := range n {
		announce(t, s, ih, Verified(i, uint64(i%3), t0), 0, nil) // a third seeds
	}
	wantCounts(t, counts(t, s, ih), swarm.Counts{Seeders: n / 3, Leechers: n - n/3})
	// move some leechers to seeders and remove every other peer
	for i := 1; i < n; i += 3 {
		announce(t, s, ih, Verified(i, 0, t0), 0, nil)
	}
	for i := 0; i < n; i += 2 {
		u := Verified(i, 7, t0) // left > 0: no completion on the way out
		u.Event = bt.EventStopped
		announce(t, s, ih, u, 0, nil)
	}
	seeders, leechers := 0, 0
	for i := 1; i < n; i += 2 {
		p, err := s.Peer(ctx, ih, PID(i))
		if err != nil {
			t.Fatalf("peer %d lost: %v", i, err)
		}
		if p.Seeder() {
			seeders++
		} else {
			leechers++
		}
	}
	wantCounts(t, counts(t, s, ih), swarm.Counts{Seeders: seeders, Leechers: leechers, Completed: n / 3})
	sel := &swarm.Selection{Compact: true}
	announce(t, s, ih, Verified(1, 0, t0), 1000, sel)
	if got := len(endpoints4(sel.IPv4)); got != leechers {
		t.Errorf("seeder got %d peers, want all %d leechers", got, leechers)
	}
	// shrink back to a small swarm and keep working
	for i := 1; i < n-10; i += 2 {
		u := Verified(i, 7, t0)
		u.Event = bt.EventStopped
		announce(t, s, ih, u, 0, nil)
	}
	for i := n - 9; i < n; i += 2 {
		if _, err := s.Peer(ctx, ih, PID(i)); err != nil {
			t.Errorf("peer %d lost after shrinking: %v", i, err)
		}
	}
	if c := counts(t, s, ih); c.Seeders+c.Leechers != 5 {
		t.Errorf("counts after shrinking: %+v", c)
	}
}

func testStats(t *testing.T, s swarm.PeerStore) {
	announce(t, s, IH(1), Verified(1, 0, t0), 0, nil)
	announce(t, s, IH(1), Verified(2, 5, t0), 0, nil)
	announce(t, s, IH(2), Verified(3, 5, t0), 0, nil)
	st, err := s.Stats(context.Background())
	if err != nil || st != (swarm.Stats{Torrents: 2, Seeders: 1, Leechers: 2}) {
		t.Errorf("Stats = %+v, %v", st, err)
	}
}

func testConcurrent(t *testing.T, s swarm.PeerStore) {
	ctx := context.Background()
	const workers, perWorker = 8, 300
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			sel := &swarm.Selection{Compact: true}
			for i := range perWorker {
				n := w*perWorker + i
				ih := IH(n % 7)
				sel.IPv4 = sel.IPv4[:0]
				if _, err := s.Announce(ctx, ih, Verified(n, uint64(n%2)*100, t0), 50, sel); err != nil {
					t.Error(err)
					return
				}
				if i%3 == 0 {
					if _, err := s.Announce(ctx, ih, Verified(n, 0, t0), 50, sel); err != nil {
						t.Error(err)
						return
					}
				}
				if i%10 == 0 {
					_, _ = s.Collect(ctx, t0.Add(-time.Hour))
					_, _ = s.Stats(ctx)
				}
			}
		})
	}
	wg.Wait()
	total := 0
	for k := range 7 {
		c := counts(t, s, IH(k))
		total += c.Seeders + c.Leechers
	}
	if total != workers*perWorker {
		t.Errorf("%d peers stored, want %d", total, workers*perWorker)
	}
}

// MaxPerAgent is the bound the MaxPerAgent cases announce with.
const MaxPerAgent = 4

// agentPeer is an update for peer id n of agent a, bounded by MaxPerAgent.
func agentPeer(a, n int, left uint64, now time.Time) *swarm.Update {
	u := Verified(n, left, now)
	u.Agent, u.MaxPerAgent = AgentN(a), MaxPerAgent
	return u
}

// peersOf lists the swarm and returns the peer ids agent a holds there
// (and checks the listing agrees with Counts).
func peersOf(t testing.TB, s swarm.PeerStore, ih bt.InfoHash, a int) map[bt.PeerID]bool {
	t.Helper()
	ps, err := s.Peers(context.Background(), ih, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	if c := counts(t, s, ih); c.Seeders+c.Leechers != len(ps) {
		t.Errorf("Peers lists %d, Counts says %+v", len(ps), c)
	}
	out := map[bt.PeerID]bool{}
	for _, p := range ps {
		if p.Agent == AgentN(a) {
			out[p.ID] = true
		}
	}
	return out
}

func wantPeersOf(t testing.TB, s swarm.PeerStore, ih bt.InfoHash, a int, ids ...int) {
	t.Helper()
	got := peersOf(t, s, ih, a)
	ok := len(got) == len(ids)
	for _, n := range ids {
		ok = ok && got[PID(n)]
	}
	if !ok {
		var have []uint64
		for id := range got {
			have = append(have, binary.BigEndian.Uint64(id[12:]))
		}
		t.Errorf("agent %d holds peers %v, want %v", a, have, ids)
	}
}

// An agent announcing MaxPerAgent+3 peer ids ends with the newest
// MaxPerAgent in the swarm: each new one past the bound replaces the
// oldest (also within one second: the first to join goes first), never
// refused; its re-announces replace nothing, and other agents' peers stay.
// Small and large swarms (a store may index the latter).
func testMaxPerAgentNewest(t *testing.T, s swarm.PeerStore) {
	ctx := context.Background()
	for k, others := range []int{2, 60} {
		ih := IH(1 + k)
		for n := range others { // agents 100.., one peer each, half seeding
			u := Verified(100+n, uint64(n%2)*10, t0)
			u.MaxPerAgent = MaxPerAgent
			announce(t, s, ih, u, 0, nil)
		}
		const a = 7
		for n := 1; n <= MaxPerAgent+3; n++ {
			now := t0
			if k == 0 {
				now = t0.Add(time.Duration(n) * time.Second)
			}
			r := announce(t, s, ih, agentPeer(a, n, uint64(n%2)*10, now), 0, nil)
			wantReplaced := 0
			if n > MaxPerAgent {
				wantReplaced = 1
			}
			if !r.Created || r.Replaced != wantReplaced {
				t.Errorf("%d others, peer %d: %+v; want created, replacing %d", others, n, r, wantReplaced)
			}
			if c := r.Counts; c.Seeders+c.Leechers != others+min(n, MaxPerAgent) {
				t.Errorf("%d others, peer %d: counts %+v", others, n, c)
			}
			// a re-announce of a held peer replaces nothing
			if r := announce(t, s, ih, agentPeer(a, n, uint64(n%2)*10, now), 0, nil); r.Replaced != 0 || r.Created {
				t.Errorf("re-announce of peer %d: %+v", n, r)
			}
		}
		wantPeersOf(t, s, ih, a, 4, 5, 6, 7)
		for n := 1; n <= 3; n++ {
			if _, err := s.Peer(ctx, ih, PID(n)); !errors.Is(err, swarm.ErrNotFound) {
				t.Errorf("replaced peer %d still found: %v", n, err)
			}
		}
		for n := range others {
			if p, err := s.Peer(ctx, ih, PID(100+n)); err != nil || p.Agent != AgentN(100+n) {
				t.Errorf("%d others: another agent's peer %d: %+v, %v", others, 100+n, p, err)
			}
		}
		wantCounts(t, counts(t, s, ih), swarm.Counts{Seeders: others/2 + 2, Leechers: others - others/2 + 2})
		if ok, err := s.HasAgent(ctx, ih, AgentN(a)); !ok || err != nil {
			t.Errorf("HasAgent = %v, %v", ok, err)
		}
		// replaced leechers count nothing left: peers 5 and 7 leech 10 each
		if left, err := s.AgentLeft(ctx, AgentN(a), IH(99)); err != nil || left != 10*uint64(k+1) {
			t.Errorf("AgentLeft = %d, %v; want %d", left, err, 10*(k+1))
		}
		// a replaced peer id coming back is a new peer and replaces the oldest (4)
		if r := announce(t, s, ih, agentPeer(a, 1, 0, t0.Add(time.Minute)), 0, nil); !r.Created || r.Replaced != 1 {
			t.Errorf("replaced peer back: %+v", r)
		}
		wantPeersOf(t, s, ih, a, 1, 5, 6, 7)
	}
}

// "Oldest" is the peer last seen longest ago: a client that went on
// announcing outlives a newer one that fell silent (the restarted client's
// predecessor goes, not the agent's busy seeders).
func testMaxPerAgentLeastRecent(t *testing.T, s swarm.PeerStore) {
	ih := IH(1)
	const a = 3
	for n := 1; n <= MaxPerAgent; n++ {
		announce(t, s, ih, agentPeer(a, n, 10, t0.Add(time.Duration(n)*time.Second)), 0, nil)
	}
	// peers 1 and 3 go on; 2 and 4 fall silent
	u := agentPeer(a, 1, 5, t0.Add(time.Minute))
	u.Verified = false // the fast path's update counts as seen as well
	announce(t, s, ih, u, 0, nil)
	announce(t, s, ih, agentPeer(a, 3, 5, t0.Add(time.Minute)), 0, nil)
	announce(t, s, ih, agentPeer(a, 5, 10, t0.Add(2*time.Minute)), 0, nil)
	wantPeersOf(t, s, ih, a, 1, 3, 4, 5)
	announce(t, s, ih, agentPeer(a, 6, 10, t0.Add(2*time.Minute)), 0, nil)
	wantPeersOf(t, s, ih, a, 1, 3, 5, 6)
}

// A peer that leaves (stopped, or expired by Collect) leaves the agent's
// list too: the next new peer id takes its place without replacing one.
func testMaxPerAgentLeaving(t *testing.T, s swarm.PeerStore) {
	ctx := context.Background()
	ih := IH(1)
	const a = 5
	for n := 1; n <= MaxPerAgent; n++ {
		announce(t, s, ih, agentPeer(a, n, 10, t0.Add(time.Hour)), 0, nil)
	}
	u := agentPeer(a, 2, 10, t0.Add(time.Hour))
	u.Event = bt.EventStopped
	if r := announce(t, s, ih, u, 0, nil); !r.Removed {
		t.Fatalf("stopped: %+v", r)
	}
	// stopping a peer id the swarm does not hold creates nothing, replaces nothing
	u = agentPeer(a, 9, 10, t0.Add(time.Hour))
	u.Event = bt.EventStopped
	if r := announce(t, s, ih, u, 0, nil); r.Created || r.Replaced != 0 {
		t.Errorf("unknown stopped: %+v", r)
	}
	if r := announce(t, s, ih, agentPeer(a, 5, 10, t0.Add(time.Hour)), 0, nil); r.Replaced != 0 {
		t.Errorf("after a stopped peer: replaced %d, want 0", r.Replaced)
	}
	wantPeersOf(t, s, ih, a, 1, 3, 4, 5)
	// stopping them all empties the list: MaxPerAgent new ones replace nothing
	for _, n := range []int{1, 3, 4, 5} {
		u := agentPeer(a, n, 10, t0.Add(time.Hour))
		u.Event = bt.EventStopped
		announce(t, s, ih, u, 0, nil)
	}
	wantCounts(t, counts(t, s, ih), swarm.Counts{})
	for n := 11; n <= 10+MaxPerAgent; n++ {
		now := t0.Add(time.Hour)
		if n == 11 {
			now = t0 // to expire
		}
		if r := announce(t, s, ih, agentPeer(a, n, 10, now), 0, nil); r.Replaced != 0 {
			t.Errorf("peer %d after all stopped: replaced %d", n, r.Replaced)
		}
	}
	if n, err := s.Collect(ctx, t0.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("Collect = %d, %v; want 1", n, err)
	}
	if r := announce(t, s, ih, agentPeer(a, 20, 10, t0.Add(time.Hour)), 0, nil); r.Replaced != 0 {
		t.Errorf("after an expired peer: replaced %d, want 0", r.Replaced)
	}
	wantPeersOf(t, s, ih, a, 12, 13, 14, 20)
}

// A lowered bound (a tracker restarted with a smaller one) brings the
// agent down to it on its next new peer; zero bounds nothing.
func testMaxPerAgentLowered(t *testing.T, s swarm.PeerStore) {
	ih := IH(1)
	const a = 2
	for n := 1; n <= MaxPerAgent; n++ {
		announce(t, s, ih, agentPeer(a, n, 0, t0.Add(time.Duration(n)*time.Second)), 0, nil)
	}
	u := agentPeer(a, 9, 0, t0.Add(time.Minute))
	u.MaxPerAgent = 2
	if r := announce(t, s, ih, u, 0, nil); r.Replaced != MaxPerAgent-1 {
		t.Errorf("bound lowered to 2: replaced %d, want %d", r.Replaced, MaxPerAgent-1)
	}
	wantPeersOf(t, s, ih, a, 4, 9)
	for n := 100; n < 150; n++ {
		u := agentPeer(a, n, 0, t0.Add(time.Minute))
		u.MaxPerAgent = 0
		if r := announce(t, s, ih, u, 0, nil); r.Replaced != 0 {
			t.Fatalf("no bound: replaced %d", r.Replaced)
		}
	}
	if got := len(peersOf(t, s, ih, a)); got != 52 {
		t.Errorf("no bound: the agent holds %d peers, want 52", got)
	}
}

// What a sybil client gains (issue 19): 50 peer ids of one agent, each
// from its own endpoint, leave every other agent's leecher seeing at most
// MaxPerAgent of its endpoints, while the honest peers are all handed out.
// Without the bound each leecher would get 50 of the sybil's endpoints.
func testMaxPerAgentSybil(t *testing.T, s swarm.PeerStore) {
	ih := IH(1)
	const sybil = 66
	for n := 1; n <= 5; n++ { // honest seeders, agents 1..5
		u := Verified(n, 0, t0)
		u.MaxPerAgent = MaxPerAgent
		announce(t, s, ih, u, 0, nil)
	}
	for n := 1000; n < 1050; n++ {
		announce(t, s, ih, agentPeer(sybil, n, 0, t0), 0, nil)
	}
	for n := 10; n < 20; n++ { // honest leechers, agents 10..19
		for _, compact := range []bool{true, false} {
			u := Verified(n, 100, t0)
			u.MaxPerAgent = MaxPerAgent
			sel := &swarm.Selection{Compact: compact}
			announce(t, s, ih, u, 200, sel)
			got := endpoints4(sel.IPv4)
			for _, p := range sel.Peers {
				got[p.Addr] = true
			}
			mine := 0
			for n := 1000; n < 1050; n++ {
				if got[V4(n)] {
					mine++
				}
			}
			if mine > MaxPerAgent {
				t.Fatalf("leecher %d (compact %v) was handed %d of the sybil's endpoints, want at most %d", n, compact, mine, MaxPerAgent)
			}
			for h := 1; h <= 5; h++ {
				if !got[V4(h)] {
					t.Fatalf("leecher %d lacks honest seeder %d", n, h)
				}
			}
		}
	}
	if got := len(peersOf(t, s, ih, sybil)); got != MaxPerAgent {
		t.Errorf("the sybil holds %d peers, want %d", got, MaxPerAgent)
	}
}

// Concurrent new peer ids of one agent (and of others) never leave it
// above the bound.
func testMaxPerAgentConcurrent(t *testing.T, s swarm.PeerStore) {
	ctx := context.Background()
	ih := IH(1)
	const workers, perWorker, sybil = 8, 40, 9
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				n := 1 + w*perWorker + i
				if _, err := s.Announce(ctx, ih, agentPeer(sybil, n, uint64(i%2), t0), 10, &swarm.Selection{Compact: true}); err != nil {
					t.Error(err)
					return
				}
				u := Verified(10_000+n, 10, t0) // an honest agent of its own
				u.MaxPerAgent = MaxPerAgent
				if _, err := s.Announce(ctx, ih, u, 10, nil); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := len(peersOf(t, s, ih, sybil)); got != MaxPerAgent {
		t.Errorf("the sybil holds %d peers, want %d", got, MaxPerAgent)
	}
	if c := counts(t, s, ih); c.Seeders+c.Leechers != workers*perWorker+MaxPerAgent {
		t.Errorf("counts %+v, want %d peers", c, workers*perWorker+MaxPerAgent)
	}
}

// Bench runs the benchmark set against stores made by newStore.
func Bench(b *testing.B, newStore NewStore) {
	const torrents, peers = 10_000, 100_000
	fill := func(b *testing.B) swarm.PeerStore {
		s := newStore(b)
		for n := range peers {
			if _, err := s.Announce(context.Background(), IH(n%torrents), Verified(n, uint64(n%3), t0), 0, nil); err != nil {
				b.Fatal(err)
			}
		}
		return s
	}
	b.Run("AnnounceNewPeers", func(b *testing.B) {
		s := newStore(b)
		sel := &swarm.Selection{Compact: true}
		n := 0
		for b.Loop() {
			sel.IPv4 = sel.IPv4[:0]
			_, _ = s.Announce(context.Background(), IH(n%torrents), Verified(n, uint64(n%3), t0), 50, sel)
			n++
		}
	})
	b.Run("ReannounceFilled", func(b *testing.B) {
		s := fill(b)
		sel := &swarm.Selection{Compact: true}
		n := 0
		for b.Loop() {
			sel.IPv4 = sel.IPv4[:0]
			k := n % peers
			_, _ = s.Announce(context.Background(), IH(k%torrents), Verified(k, uint64(k%3), t0), 50, sel)
			n++
		}
	})
	b.Run("ReannounceFilledParallel", func(b *testing.B) {
		s := fill(b)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			sel := &swarm.Selection{Compact: true}
			n := int(time.Now().UnixNano() % peers)
			for pb.Next() {
				sel.IPv4 = sel.IPv4[:0]
				k := n % peers
				_, _ = s.Announce(context.Background(), IH(k%torrents), Verified(k, uint64(k%3), t0), 50, sel)
				n += 7919
			}
		})
	})
	b.Run("PeerLookupParallel", func(b *testing.B) {
		s := fill(b)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			n := int(time.Now().UnixNano() % peers)
			for pb.Next() {
				k := n % peers
				_, _ = s.Peer(context.Background(), IH(k%torrents), PID(k))
				n += 7919
			}
		})
	})
	b.Run("Counts", func(b *testing.B) {
		s := fill(b)
		n := 0
		for b.Loop() {
			_, _ = s.Counts(context.Background(), IH(n%torrents))
			n++
		}
	})
	b.Run("CollectNothingExpired", func(b *testing.B) {
		s := fill(b)
		for b.Loop() {
			_, _ = s.Collect(context.Background(), t0.Add(-time.Hour))
		}
	})
	b.Run("CollectAll", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			s := fill(b)
			b.StartTimer()
			if n, _ := s.Collect(context.Background(), t0.Add(time.Hour)); n != peers {
				b.Fatal(fmt.Sprintf("collected %d", n))
			}
		}
	})
}
