package store

import (
	"sync"
	"time"
)

// cache is a bounded map with an optional time to live. When full, an
// arbitrary entry is evicted (Go's map iteration order is randomised, which is
// good enough for the announce path's hot sets and needs no bookkeeping).
//
// gen counts invalidations, so that a reader that looked a value up in the
// database before an invalidation does not put the stale value back.
type cache[K comparable, V any] struct {
	mu  sync.Mutex
	m   map[K]cacheEntry[V]
	max int
	ttl time.Duration // 0: entries do not expire
	now func() time.Time
	gen uint64
}

type cacheEntry[V any] struct {
	v       V
	expires time.Time
}

func newCache[K comparable, V any](max int, ttl time.Duration, now func() time.Time) *cache[K, V] {
	return &cache[K, V]{m: make(map[K]cacheEntry[V]), max: max, ttl: ttl, now: now}
}

func (c *cache[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if ok && c.ttl > 0 && !c.now().Before(e.expires) {
		delete(c.m, k)
		ok = false
	}
	return e.v, ok
}

// generation returns the invalidation counter, to pass to putIf.
func (c *cache[K, V]) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// putIf stores v unless an invalidation happened since gen was read.
func (c *cache[K, V]) putIf(gen uint64, k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	c.putLocked(k, v)
}

func (c *cache[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, v)
}

func (c *cache[K, V]) putLocked(k K, v V) {
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	e := cacheEntry[V]{v: v}
	if c.ttl > 0 {
		e.expires = c.now().Add(c.ttl)
	}
	c.m[k] = e
}

// invalidate removes k and makes pending putIf calls fail.
func (c *cache[K, V]) invalidate(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
	c.gen++
}

func (c *cache[K, V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
