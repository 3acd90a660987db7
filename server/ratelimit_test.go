package server

import (
	"net/netip"
	"testing"
	"time"
)

func TestIPLimiter(t *testing.T) {
	l := NewIPLimiter(time.Second, 3, 2)
	a, b, c := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("::ffff:10.0.0.2"), netip.MustParseAddr("10.0.0.3")
	t0 := time.Unix(1000, 0)
	for i := range 3 {
		if !l.Allow(a, t0) {
			t.Fatalf("event %d within the burst refused", i)
		}
	}
	if l.Allow(a, t0) {
		t.Fatal("fourth event at once allowed past a burst of 3")
	}
	if !l.Allow(b, t0) {
		t.Fatal("another address is limited by the first one's use")
	}
	if l.Allow(a, t0.Add(500*time.Millisecond)) {
		t.Fatal("allowed after half the refill interval")
	}
	if !l.Allow(a, t0.Add(1100*time.Millisecond)) {
		t.Fatal("refused after a full refill interval")
	}
	// A third address past maxClients forgets others without failing.
	if !l.Allow(c, t0.Add(2*time.Second)) || len(l.buckets) > 2 {
		t.Fatalf("third client: buckets %d, want at most 2", len(l.buckets))
	}
	if !NewIPLimiter(0, 1, 1).Allow(a, t0) || !NewIPLimiter(0, 1, 1).Allow(a, t0) {
		t.Fatal("a disabled limiter refused")
	}
}
