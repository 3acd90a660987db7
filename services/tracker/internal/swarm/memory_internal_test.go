package swarm

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/pbts/pbts/services/tracker/internal/bt"
)

// The memory store's per-agent lists (kept while a swarm is indexed) agree
// with its peers after any mix of joins under a bound, leaves, seeder
// moves and expiry, as the swarm grows past the index threshold and
// shrinks below it again.
func TestMemoryAgentListsStayConsistent(t *testing.T) {
	m, err := NewMemory(1)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var ih bt.InfoHash
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Unix(1_800_000_000, 0)
	indexed := false
	for step := range 20_000 {
		var u Update
		n := rng.IntN(120)
		binary.BigEndian.PutUint64(u.PeerID[12:], uint64(n))
		u.Agent[19] = byte(n % 23) // 23 agents, up to 6 peer ids each
		u.Addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(n)}), 1)
		u.Left = uint64(rng.IntN(2))
		u.Now = t0.Add(time.Duration(step/100) * time.Second)
		u.Verified, u.Tag, u.MaxPerAgent = true, 1, 1+rng.IntN(5)
		if step/4000%2 == 1 && rng.IntN(3) > 0 { // shrink for a while
			u.Event = bt.EventStopped
		}
		res, err := m.Announce(ctx, ih, &u, 5, &Selection{Compact: true})
		if err != nil {
			t.Fatal(err)
		}
		if step%1000 == 999 {
			if _, err := m.Collect(ctx, u.Now.Add(-5*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		sw := m.shards[0].swarms[ih]
		if sw == nil {
			continue
		}
		byAgent := map[Agent]map[bt.PeerID]bool{}
		for i := range sw.peers {
			p := &sw.peers[i]
			if byAgent[p.agent] == nil {
				byAgent[p.agent] = map[bt.PeerID]bool{}
			}
			byAgent[p.agent][p.id] = true
		}
		if res.Created && len(byAgent[u.Agent]) > u.MaxPerAgent {
			t.Fatalf("step %d: agent %x holds %d peers after a join bounded to %d", step, u.Agent[19], len(byAgent[u.Agent]), u.MaxPerAgent)
		}
		if sw.agents == nil {
			continue
		}
		indexed = true
		if len(sw.agents) != len(byAgent) {
			t.Fatalf("step %d: %d agents listed, %d in the swarm", step, len(sw.agents), len(byAgent))
		}
		for a, e := range sw.agents {
			if e.len() != len(byAgent[a]) {
				t.Fatalf("step %d: agent %x lists %d peers, holds %d", step, a[19], e.len(), len(byAgent[a]))
			}
			for k := range e.len() {
				if !byAgent[a][e.at(k)] {
					t.Fatalf("step %d: agent %x lists a peer it does not hold", step, a[19])
				}
			}
		}
	}
	if !indexed {
		t.Fatal("the swarm never grew past the index threshold")
	}
}
