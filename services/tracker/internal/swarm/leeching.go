package swarm

import (
	"context"
	"encoding/binary"
	"sync"

	"github.com/pbts/pbts/services/tracker/internal/bt"
)

// leechShards spreads the per-agent index over locks of its own (taken
// after a swarm shard's, never before).
const leechShards = 64

// leeching indexes every leeching peer (left > 0) by its agent, so that the
// gate can count what an agent still wants in all its swarms at once
// (issue 13: an agent that passes for one torrent of size S must not pass
// for ten at once).
type leeching struct {
	shards [leechShards]leechShard
}

type leechShard struct {
	mu sync.Mutex
	m  map[Agent][]leechEntry
}

type leechEntry struct {
	ih   bt.InfoHash
	id   bt.PeerID
	left uint64
}

func (l *leeching) shard(a Agent) *leechShard {
	s := &l.shards[binary.LittleEndian.Uint32(a[:4])%leechShards]
	if s.m == nil {
		s.m = make(map[Agent][]leechEntry)
	}
	return s
}

// set records that peer id of agent a in swarm ih has left bytes left (0:
// it seeds or has gone, and is dropped from the index).
func (l *leeching) set(a Agent, ih bt.InfoHash, id bt.PeerID, left uint64) {
	s := l.shard(a)
	s.mu.Lock()
	defer s.mu.Unlock()
	es := s.m[a]
	for i := range es {
		if es[i].ih == ih && es[i].id == id {
			if left > 0 {
				es[i].left = left
				return
			}
			es[i] = es[len(es)-1]
			es = es[:len(es)-1]
			if len(es) == 0 {
				delete(s.m, a)
			} else {
				s.m[a] = es
			}
			return
		}
	}
	if left > 0 {
		s.m[a] = append(es, leechEntry{ih: ih, id: id, left: left})
	}
}

// total sums, over a's swarms other than except, the most any of its peers
// there has left (two peer ids of one agent in one swarm are one download).
func (l *leeching) total(a Agent, except bt.InfoHash) uint64 {
	s := l.shard(a)
	s.mu.Lock()
	defer s.mu.Unlock()
	es := s.m[a]
	var sum uint64
	for i := range es {
		e := &es[i]
		if e.ih == except {
			continue
		}
		biggest := true
		for j := range es {
			if j != i && es[j].ih == e.ih && (es[j].left > e.left || es[j].left == e.left && j < i) {
				biggest = false
				break
			}
		}
		if biggest {
			if sum+e.left < sum {
				return ^uint64(0)
			}
			sum += e.left
		}
	}
	return sum
}

// AgentLeft implements PeerStore.
func (m *Memory) AgentLeft(ctx context.Context, agent Agent, except bt.InfoHash) (uint64, error) {
	return m.leech.total(agent, except), nil
}
