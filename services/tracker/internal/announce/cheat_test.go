package announce_test

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/pbts/pbts/services/tracker/internal/announce"
	"github.com/pbts/pbts/services/tracker/internal/bt"
)

func refusal(t *testing.T, err error) string {
	t.Helper()
	var ce bt.ClientError
	if !errors.As(err, &ce) {
		t.Fatalf("announce error %v, want a refusal", err)
	}
	return string(ce)
}

// Leeching while claiming to seed (issue 13, attack 3): left=0 or left=1
// used to pass the gate (seeding is never gated) and keep that verdict on
// the fast path. The tracker now holds an agent to the larger of its left
// and what no receipt has credited to it on the torrent; only the
// publisher is taken at its word. A liar gets a refusal, not peers.
func TestLeftLiesAreGatedOnWhatIsNotReceipted(t *testing.T) {
	e := newEnv(t, nil)
	e.dir.CreditEverything = false
	liar := 9
	e.gate.Set(agent(liar), 1*GiB, 0) // may leech 2 GiB; the torrent is 10 GiB
	for _, left := range []uint64{0, 1} {
		_, err := e.announce(req(liar, left, bt.EventStarted))
		if msg := refusal(t, err); !strings.Contains(msg, "insufficient ratio") || !strings.Contains(msg, "10.0 GiB left") {
			t.Fatalf("left=%d with nothing receipted: %q; want refused on the 10 GiB not received", left, msg)
		}
	}
	if c := e.counts(ih(1)); c.Seeders+c.Leechers != 0 {
		t.Fatalf("the liar is in the swarm: %+v", c)
	}
	// With 9 GiB receipted to it, what is left is 1 GiB: allowed, and it is
	// a leecher in the swarm (it gets seeders), whatever it says.
	e.dir.SetCredited(ih(1), agent(liar), 9*GiB)
	e.dir.SetCredited(ih(1), agent(1), torrentSize)
	e.mustAnnounce(req(1, 0, bt.EventStarted)) // a seeder with its data receipted (agent 1)
	resp := e.mustAnnounce(req(liar, 0, 0))
	if c := e.counts(ih(1)); c.Leechers != 1 || c.Seeders != 1 || len(resp.IPv4) != 6 {
		t.Fatalf("counts %+v, peers %x; want the liar counted as the leecher it is, handed the seeder", c, resp.IPv4)
	}
	// Its claimed left=0 stays what the gate allowed: within the min
	// interval it cannot come back for more without the gate.
	e.dir.SetCredited(ih(1), agent(liar), 0)
	e.clock.Advance(e.cfg.MinInterval)
	if _, err := e.announce(req(liar, 0, 0)); err == nil {
		t.Fatal("after the min interval, a liar with nothing receipted passed")
	}
	// The publisher holds the data: never gated, with or without receipts.
	e.dir.AddTorrent(announce.Torrent{InfoHash: ih(2), TotalLength: torrentSize, Publisher: agent(liar)})
	r := req(liar, 0, bt.EventStarted)
	r.InfoHash = ih(2)
	e.mustAnnounce(r)
	if c := e.counts(ih(2)); c.Seeders != 1 {
		t.Fatalf("publisher: %+v, want a seeder", c)
	}
}

// Leeching several torrents at once (issue 13, attack 4): each announce
// used to be gated alone, so an agent that passed for one torrent of size S
// passed for ten at once. The gate now counts what the agent still wants in
// every swarm it leeches.
func TestLeftCountsEverySwarmAtOnce(t *testing.T) {
	e := newEnv(t, nil)
	a := 7
	e.gate.Set(agent(a), 5*GiB, 0) // may leech 10 GiB in all
	at := func(n int, left uint64, ev bt.Event) *bt.AnnounceRequest {
		r := req(a, left, ev)
		r.InfoHash = ih(n)
		return r
	}
	e.mustAnnounce(at(1, 6*GiB, bt.EventStarted))
	_, err := e.announce(at(2, 6*GiB, bt.EventStarted))
	if msg := refusal(t, err); !strings.Contains(msg, "12.0 GiB left (6.0 GiB of it in other torrents you are downloading)") {
		t.Fatalf("second torrent: %q", msg)
	}
	e.mustAnnounce(at(2, 4*GiB, bt.EventStarted)) // 6 + 4 = 10: allowed
	if _, err := e.announce(at(3, 1, bt.EventStarted)); err == nil {
		t.Fatal("a third torrent passed with the whole allowance taken by two")
	}
	// Progress frees allowance: the first is half done, then finished.
	e.clock.Advance(e.cfg.MinInterval)
	e.mustAnnounce(at(1, 3*GiB, 0))
	e.mustAnnounce(at(3, 3*GiB, bt.EventStarted))
	e.mustAnnounce(at(1, 0, bt.EventCompleted))
	e.mustAnnounce(at(1, 0, bt.EventStopped))
	if left, err := e.tracker.AgentLeft(t.Context(), agent(a), ih(99)); err != nil || left != 7*GiB {
		t.Fatalf("left in all swarms: %d, %v; want 7 GiB (4 + 3)", left, err)
	}
}

// Receipts lost on a temporary refusal (issue 13, attack 7): the membership
// the receipts service checks was written after the announce was answered,
// so receipts signed at once were refused NOT_IN_SWARM. Now it is written
// before: when the write fails, the announce fails and nothing is stored,
// and the next announce writes it again.
func TestMembershipRecordedBeforeTheAnswer(t *testing.T) {
	e := newEnv(t, nil)
	e.dir.JoinErr = errors.New("database down")
	if _, err := e.announce(req(3, 0, bt.EventStarted)); err == nil {
		t.Fatal("announce answered with the membership unrecorded")
	}
	if c := e.counts(ih(1)); c.Seeders+c.Leechers != 0 {
		t.Fatalf("a peer was stored without its membership: %+v", c)
	}
	e.dir.JoinErr = nil
	e.mustAnnounce(req(3, 0, bt.EventStarted))
	if j := e.dir.Joins(); len(j) != 1 || j[0].Agent != agent(3) {
		t.Fatalf("joins %+v, want agent 3's", j)
	}
}

// Filling a swarm with one agent's peer ids (issue 19): every new peer id
// used to be a new peer, so an agent announcing 50 peer ids (one per
// endpoint it controls) took 50 places in every leecher's peer list, with
// nothing to show for it but the others' connections. Now an agent keeps at
// most --max-peers-per-agent (4) peers in a swarm, each new one past that
// replacing its peer there last seen longest ago: other agents' leechers see
// at most 4 of its endpoints, and the honest peers all.
func TestSybilPeerIDsCannotFillTheSwarm(t *testing.T) {
	e := newEnv(t, nil)
	const sybil, ids = 9, 50
	limit := e.cfg.MaxPeersPerAgent
	sybilAddr := func(k int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(k)}), uint16(30000+k))
	}
	for n := 1; n <= 3; n++ {
		e.mustAnnounce(req(n, 0, bt.EventStarted)) // honest seeders
	}
	for k := range ids {
		r := req(sybil, 0, bt.EventStarted)
		r.PeerID, r.Addr, r.Port = pid(1000+k), sybilAddr(k), sybilAddr(k).Port()
		e.mustAnnounce(r) // never refused
	}
	for n := 10; n < 20; n++ { // honest leechers, each asking for every peer
		r := req(n, 100, bt.EventStarted)
		r.NumWant = 200
		resp := e.mustAnnounce(r)
		got := map[netip.AddrPort]bool{}
		for b := resp.IPv4; len(b) >= 6; b = b[6:] {
			got[netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[:4])), binary.BigEndian.Uint16(b[4:6]))] = true
		}
		mine := 0
		for k := range ids {
			if got[sybilAddr(k)] {
				mine++
			}
		}
		if mine > limit {
			t.Fatalf("leecher %d was handed %d of the sybil's endpoints, want at most %d", n, mine, limit)
		}
		for h := 1; h <= 3; h++ {
			if !got[addr(h)] {
				t.Fatalf("leecher %d lacks honest seeder %d", n, h)
			}
		}
	}
	if c := e.counts(ih(1)); c.Seeders != 3+limit {
		t.Errorf("counts %+v, want %d seeders (3 honest, %d of the sybil's)", c, 3+limit, limit)
	}
}

// An agent running the most clients it may, one of which restarts with a
// new peer id while its old one has not expired yet: the new one is let in
// and replaces the silent old one, not a client that goes on announcing.
func TestRestartedClientReplacesItsSilentPeer(t *testing.T) {
	e := newEnv(t, nil)
	const a = 5
	limit := e.cfg.MaxPeersPerAgent
	client := func(k int) *bt.AnnounceRequest {
		r := req(a, 0, 0)
		r.PeerID, r.Addr = pid(500+k), addr(100+k)
		r.Port = r.Addr.Port()
		return r
	}
	for k := range limit {
		e.mustAnnounce(client(k))
	}
	e.clock.Advance(e.cfg.Interval)
	for k := 1; k < limit; k++ { // clients 1.. go on; client 0 restarts as client 9
		e.mustAnnounce(client(k))
	}
	e.mustAnnounce(client(9))
	sw, err := e.tracker.Swarm(t.Context(), ih(1), 100)
	if err != nil {
		t.Fatal(err)
	}
	have := map[bt.PeerID]bool{}
	for _, p := range sw.Peers {
		have[p.PeerID] = true
	}
	if len(have) != limit || have[pid(500)] || !have[pid(509)] {
		t.Errorf("peers %v; want clients 1..%d and 9, not the restarted client's old peer id", have, limit-1)
	}
	if e.tracker.Replaced() != 1 {
		t.Errorf("Replaced() = %d, want 1", e.tracker.Replaced())
	}
}
