package verifier

import (
	"context"
	"sync"
	"time"

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
	// Negatives bounds the unknown agents and unknown torrents remembered
	// (each), for NegativeTTL; 0 entries or a TTL of 0 remembers none.
	Negatives   int
	NegativeTTL time.Duration
}

// Cache remembers positive catalog answers: registrations and datasets
// never change and swarm membership only grows, so a positive answer stays
// true. A negative one may not (an agent registers, a torrent is published,
// a peer announces): "no such agent" and "no such torrent" are remembered
// for NegativeTTL only, so that a flood naming the same unknown addresses
// or info hashes costs no database query, while an agent that registers is
// believed at most NegativeTTL later. Swarm membership is asked again every
// time (a peer that just announced must not wait). When a map is full an
// arbitrary eighth of it is forgotten.
type Cache struct {
	lim CacheLimits

	mu       sync.RWMutex
	agents   map[common.Address]struct{}
	members  map[ledger.Member]struct{}
	datasets map[[20]byte]*ledger.Dataset
	dsBytes  int64
	// Negative answers: when each expires.
	noAgent   map[common.Address]time.Time
	noDataset map[[20]byte]time.Time
}

// NewCache returns an empty cache.
func NewCache(lim CacheLimits) *Cache {
	return &Cache{
		lim:       lim,
		agents:    make(map[common.Address]struct{}),
		members:   make(map[ledger.Member]struct{}),
		datasets:  make(map[[20]byte]*ledger.Dataset),
		noAgent:   make(map[common.Address]time.Time),
		noDataset: make(map[[20]byte]time.Time),
	}
}

// negative is a cache of negative answers (c.noAgent or c.noDataset).
type negative[K comparable] struct {
	c   *Cache
	m   map[K]time.Time
	now time.Time
}

// known reports whether k is remembered as absent at now. c.mu is held
// (shared at least).
func (n negative[K]) known(k K) bool {
	exp, ok := n.m[k]
	return ok && n.now.Before(exp)
}

// remember records the keys of miss that fetch did not find. c.mu is held
// exclusively.
func (n negative[K]) remember(miss []K, found func(K) bool) {
	if n.c.lim.Negatives <= 0 || n.c.lim.NegativeTTL <= 0 {
		return
	}
	exp := n.now.Add(n.c.lim.NegativeTTL)
	for _, k := range miss {
		if found(k) {
			continue
		}
		if len(n.m) >= n.c.lim.Negatives {
			for old, e := range n.m { // expired ones first
				if !n.now.Before(e) {
					delete(n.m, old)
				}
			}
			shrink(n.m, n.c.lim.Negatives)
		}
		n.m[k] = exp
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
// ignored), whether it is a registered agent at now.
func (c *Cache) lookupAgents(ctx context.Context, src Source, need map[common.Address]bool, now time.Time) error {
	neg := negative[common.Address]{c, c.noAgent, now}
	return lookupSet(c, c.agents, c.lim.Agents, need, &neg, func(miss []common.Address) ([]common.Address, error) {
		return src.Registered(ctx, miss)
	})
}

// datasets fills need with the catalog's datasets (nil: not published) at now.
func (c *Cache) lookupDatasets(ctx context.Context, src Source, need map[[20]byte]*ledger.Dataset, now time.Time) error {
	neg := negative[[20]byte]{c, c.noDataset, now}
	var miss [][20]byte
	c.mu.RLock()
	for ih := range need {
		d := c.datasets[ih]
		need[ih] = d
		if d == nil && !neg.known(ih) {
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
	c.mu.Lock()
	defer c.mu.Unlock()
	neg.remember(miss, func(ih [20]byte) bool { return found[ih] != nil })
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
	return lookupSet(c, c.members, c.lim.Members, need, nil, func(miss []ledger.Member) ([]ledger.Member, error) {
		return src.Members(ctx, miss)
	})
}

// lookupSet answers need from set, a cache of positive answers (facts
// that never stop holding), and from neg, if not nil, a short-lived cache of
// negative ones; it asks fetch for the rest: fetch returns those that hold,
// which are cached (set bounded by limit), and the others are remembered in
// neg.
func lookupSet[K comparable](c *Cache, set map[K]struct{}, limit int, need map[K]bool, neg *negative[K], fetch func([]K) ([]K, error)) error {
	var miss []K
	c.mu.RLock()
	for k := range need {
		_, ok := set[k]
		need[k] = ok
		if !ok && (neg == nil || !neg.known(k)) {
			miss = append(miss, k)
		}
	}
	c.mu.RUnlock()
	if len(miss) == 0 {
		return nil
	}
	found, err := fetch(miss)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if neg != nil {
		hit := make(map[K]bool, len(found))
		for _, k := range found {
			hit[k] = true
		}
		neg.remember(miss, func(k K) bool { return hit[k] })
	}
	for _, k := range found {
		need[k] = true
		shrink(set, limit)
		set[k] = struct{}{}
	}
	return nil
}
