package swarm

import (
	"context"
	"encoding/binary"
	"sync"
)

// leechShards spreads the per-agent totals over locks of their own (taken
// after a swarm shard's, never before).
const leechShards = 64

// leeching keeps, per agent, the sum of left over its leeching peers in
// every swarm, so that the gate can count what an agent still wants in all
// its swarms at once (issue 13: an agent that passes for one torrent of
// size S must not pass for ten at once). One counter per leeching agent: a
// peer's change adds its difference, a peer leaving takes its left away.
type leeching struct {
	shards [leechShards]leechShard
}

type leechShard struct {
	mu sync.Mutex
	m  map[Agent]uint64
}

func (l *leeching) shard(a Agent) *leechShard {
	return &l.shards[binary.LittleEndian.Uint32(a[:4])%leechShards]
}

// change records that a peer of agent a went from old to now bytes left
// (0 for a seeder, a peer that left or expired).
func (l *leeching) change(a Agent, old, now uint64) {
	if old == now {
		return
	}
	s := l.shard(a)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[Agent]uint64)
	}
	t := s.m[a] - old + now
	if t == 0 {
		delete(s.m, a)
	} else {
		s.m[a] = t
	}
}

func (l *leeching) total(a Agent) uint64 {
	s := l.shard(a)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[a]
}

// AgentLeft implements PeerStore.
func (m *Memory) AgentLeft(ctx context.Context, agent Agent) (uint64, error) {
	return m.leech.total(agent), nil
}
