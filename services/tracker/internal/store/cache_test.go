package store

import (
	"testing"
	"time"
)

func TestCacheBoundTTLAndGeneration(t *testing.T) {
	now := time.Unix(0, 0)
	c := newCache[int, string](3, time.Minute, func() time.Time { return now })
	for i := range 10 {
		c.put(i, "v")
		if c.len() > 3 {
			t.Fatalf("cache grew to %d, bound 3", c.len())
		}
	}
	c.put(100, "a")
	if v, ok := c.get(100); !ok || v != "a" {
		t.Fatalf("get = %q, %v", v, ok)
	}
	now = now.Add(time.Minute)
	if _, ok := c.get(100); ok {
		t.Errorf("entry outlived its TTL")
	}
	gen := c.generation()
	c.invalidate(5)
	c.putIf(gen, 7, "stale")
	if _, ok := c.get(7); ok {
		t.Errorf("putIf after an invalidation stored a stale value")
	}
	c.putIf(c.generation(), 7, "fresh")
	if v, ok := c.get(7); !ok || v != "fresh" {
		t.Errorf("putIf = %q, %v", v, ok)
	}

	forever := newCache[int, int](2, 0, func() time.Time { return now })
	forever.put(1, 1)
	now = now.Add(1000 * time.Hour)
	if _, ok := forever.get(1); !ok {
		t.Errorf("ttl 0 expired")
	}
}
