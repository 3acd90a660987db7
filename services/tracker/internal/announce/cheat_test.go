package announce_test

import (
	"errors"
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
