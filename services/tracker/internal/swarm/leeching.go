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
// for ten at once). Per swarm the most left of the agent's peers there
// counts: a client restarted with a new peer id while its old peer has not
// expired yet is one download, not two.
type leeching struct {
	shards [leechShards]leechShard
}

type leechShard struct {
	mu sync.Mutex
	m  map[Agent][]leechEntry
}

// leechEntry is one leeching peer: its swarm, the random tail of its peer
// id (the head names the client and repeats) and its left.
type leechEntry struct {
	ih   bt.InfoHash
	id   uint64
	left uint64
}

func idTail(id bt.PeerID) uint64 { return binary.LittleEndian.Uint64(id[12:]) }

func (l *leeching) shard(a Agent) *leechShard {
	return &l.shards[binary.LittleEndian.Uint32(a[:4])%leechShards]
}

// set records that peer id of agent a in swarm ih has left bytes left (0:
// it seeds or has gone, and leaves the index).
func (l *leeching) set(a Agent, ih bt.InfoHash, id bt.PeerID, left uint64) {
	s := l.shard(a)
	t := idTail(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	es := s.m[a]
	for i := range es {
		if es[i].ih != ih || es[i].id != t {
			continue
		}
		if left > 0 {
			es[i].left = left
			return
		}
		es[i] = es[len(es)-1]
		if es = es[:len(es)-1]; len(es) == 0 {
			delete(s.m, a)
		} else {
			s.m[a] = es
		}
		return
	}
	if left > 0 {
		if s.m == nil {
			s.m = make(map[Agent][]leechEntry)
		}
		s.m[a] = append(es, leechEntry{ih: ih, id: t, left: left})
	}
}

// total sums, over a's swarms other than except, the most any of its peers
// there has left.
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
		biggest := true // the first of the largest in its swarm counts
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
