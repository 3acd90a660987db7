package swarm_test

import (
	"testing"

	"github.com/pbts/pbts/services/tracker/internal/swarm"
	"github.com/pbts/pbts/services/tracker/internal/swarm/swarmtest"
)

func newMemory(tb testing.TB) swarm.PeerStore {
	m, err := swarm.NewMemory(0)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func TestMemory(t *testing.T) { swarmtest.Run(t, newMemory) }

// A single shard puts every swarm behind one lock: the suite must still pass.
func TestMemoryOneShard(t *testing.T) {
	swarmtest.Run(t, func(tb testing.TB) swarm.PeerStore {
		m, err := swarm.NewMemory(1)
		if err != nil {
			tb.Fatal(err)
		}
		return m
	})
}

func TestNewMemoryShards(t *testing.T) {
	for _, n := range []int{-1, 3, 100, 1 << 17} {
		if _, err := swarm.NewMemory(n); err == nil {
			t.Errorf("NewMemory(%d) accepted", n)
		}
	}
	for _, n := range []int{0, 1, 2, 256, 1 << 16} {
		if _, err := swarm.NewMemory(n); err != nil {
			t.Errorf("NewMemory(%d): %v", n, err)
		}
	}
}

func BenchmarkMemory(b *testing.B) { swarmtest.Bench(b, newMemory) }
