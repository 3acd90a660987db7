package verifier

import (
	"context"
	"sync"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pbts/pbts/services/receipts/internal/ledger"
)

// Source answers catalog questions from the database (*ledger.Store).
type Source interface {
	Registered(ctx context.Context, addrs []common.Address) ([]common.Address, error)
	Datasets(ctx context.Context, ihs [][20]byte) (map[[20]byte]*ledger.Dataset, error)
	Members(ctx context.Context, ms []ledger.Member) ([]ledger.Member, error)
}

// CacheLimits bound the catalog cache.
type CacheLimits struct {
	Agents, Members int
	// DatasetBytes bounds the cached piece hashes (32 bytes per piece).
	DatasetBytes int64
}

// Cache remembers positive catalog answers only: registrations and datasets
// never change and swarm membership only grows, so a positive answer stays
// true, while a negative one may not (an agent registers, a torrent is
// published, a peer announces) and is asked of the database again every
// time. When a map is full an arbitrary eighth of it is forgotten.
type Cache struct {
	lim CacheLimits

	mu       sync.RWMutex
	agents   map[common.Address]struct{}
	members  map[ledger.Member]struct{}
	datasets map[[20]byte]*ledger.Dataset
	dsBytes  int64
}

// NewCache returns an empty cache.
func NewCache(lim CacheLimits) *Cache {
	return &Cache{
		lim:      lim,
		agents:   make(map[common.Address]struct{}),
		members:  make(map[ledger.Member]struct{}),
		datasets: make(map[[20]byte]*ledger.Dataset),
	}
}

func shrink[K comparable, V any](m map[K]V, limit int) {
	if len(m) < limit {
		return
	}
	drop := max(len(m)/8, 1)
	for k := range m {
		delete(m, k)
		if drop--; drop == 0 {
			return
		}
	}
}

// lookupAgents answers, for each address of need (whose values are
// ignored), whether it is a registered agent.
func (c *Cache) lookupAgents(ctx context.Context, src Source, need map[common.Address]bool) error {
	return lookupSet(c, c.agents, c.lim.Agents, need, func(miss []common.Address) ([]common.Address, error) {
		return src.Registered(ctx, miss)
	})
}

// datasets fills need with the catalog's datasets (nil: not published).
func (c *Cache) lookupDatasets(ctx context.Context, src Source, need map[[20]byte]*ledger.Dataset) error {
	var miss [][20]byte
	c.mu.RLock()
	for ih := range need {
		d := c.datasets[ih]
		need[ih] = d
		if d == nil {
			miss = append(miss, ih)
		}
	}
	c.mu.RUnlock()
	if len(miss) == 0 {
		return nil
	}
	found, err := src.Datasets(ctx, miss)
	if err != nil {
		return err
	}
	if len(found) == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for ih, d := range found {
		need[ih] = d
		size := int64(len(d.PieceSHA256))
		if size > c.lim.DatasetBytes {
			continue
		}
		for c.dsBytes+size > c.lim.DatasetBytes {
			for k, old := range c.datasets {
				delete(c.datasets, k)
				c.dsBytes -= int64(len(old.PieceSHA256))
				break
			}
		}
		if _, dup := c.datasets[ih]; !dup {
			c.datasets[ih] = d
			c.dsBytes += size
		}
	}
	return nil
}

// lookupMembers answers, for each membership of need, whether it holds.
func (c *Cache) lookupMembers(ctx context.Context, src Source, need map[ledger.Member]bool) error {
	return lookupSet(c, c.members, c.lim.Members, need, func(miss []ledger.Member) ([]ledger.Member, error) {
		return src.Members(ctx, miss)
	})
}

// lookupSet answers need from set, a cache of positive answers only (facts
// that never stop holding), and asks fetch for the misses: fetch returns
// those that hold, which are cached (set bounded by limit). Negative
// answers are never cached, so they are re-checked next time.
func lookupSet[K comparable](c *Cache, set map[K]struct{}, limit int, need map[K]bool, fetch func([]K) ([]K, error)) error {
	var miss []K
	c.mu.RLock()
	for k := range need {
		_, ok := set[k]
		need[k] = ok
		if !ok {
			miss = append(miss, k)
		}
	}
	c.mu.RUnlock()
	if len(miss) == 0 {
		return nil
	}
	found, err := fetch(miss)
	if err != nil || len(found) == 0 {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range found {
		need[k] = true
		shrink(set, limit)
		set[k] = struct{}{}
	}
	return nil
}
