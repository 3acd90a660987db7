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

// One IPv6 /64 is one client: an attacker cannot mint identities by walking
// its 2^64 addresses; IPv4 addresses count one by one.
func TestIPLimiterCountsIPv6By64(t *testing.T) {
	l := NewIPLimiter(time.Hour, 2, 100)
	t0 := time.Unix(1_800_000_000, 0)
	a, b := netip.MustParseAddr("2001:db8:1:2::1"), netip.MustParseAddr("2001:db8:1:2:ffff:aaaa:bbbb:cccc")
	other := netip.MustParseAddr("2001:db8:1:3::1")
	if !l.Allow(a, t0) || !l.Allow(b, t0) {
		t.Fatal("the first two of a /64 refused")
	}
	if l.Allow(netip.MustParseAddr("2001:db8:1:2::99"), t0) {
		t.Error("a third address of the same /64 got a token: the /64 is one client")
	}
	if !l.Allow(other, t0) {
		t.Error("the next /64 shares the bucket")
	}
	if !l.Allow(netip.MustParseAddr("192.0.2.1"), t0) || !l.Allow(netip.MustParseAddr("192.0.2.2"), t0) ||
		!l.Allow(netip.MustParseAddr("::ffff:192.0.2.2"), t0) {
		t.Error("IPv4 addresses (also mapped) are separate clients")
	}
	if l.Allow(netip.MustParseAddr("::ffff:192.0.2.2"), t0) {
		t.Error("a mapped IPv4 address is not its IPv4 address")
	}
}
