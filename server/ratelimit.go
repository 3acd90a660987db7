package server

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	"google.golang.org/grpc/peer"
)

// IPLimiter is a token bucket per client (ClientKey: an IPv4 address, or
// an IPv6 /64, which one subscriber is usually given whole): each may do
// Burst events at once and one more every Every. It remembers at most
// MaxClients clients, forgetting idle ones (full buckets) first.
type IPLimiter struct {
	every      time.Duration
	burst      float64
	maxClients int

	mu      sync.Mutex
	buckets map[netip.Addr]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewIPLimiter returns a limiter; every <= 0 disables it (Allow is always true).
func NewIPLimiter(every time.Duration, burst, maxClients int) *IPLimiter {
	return &IPLimiter{every: every, burst: float64(max(burst, 1)), maxClients: max(maxClients, 1), buckets: make(map[netip.Addr]*bucket)}
}

// ClientKey is what a per-client limit counts: an IPv4 address as it is, an
// IPv6 address by its /64 (an attacker with one IPv6 subscription has 2^64
// addresses, not 2^64 clients).
func ClientKey(ip netip.Addr) netip.Addr {
	ip = ip.Unmap()
	if ip.Is6() {
		p, err := ip.WithZone("").Prefix(64)
		if err == nil {
			return p.Addr()
		}
	}
	return ip
}

// Allow takes a token for ip's client at now and reports whether there was one.
func (l *IPLimiter) Allow(ip netip.Addr, now time.Time) bool {
	if l == nil || l.every <= 0 {
		return true
	}
	ip = ClientKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[ip]
	if !ok {
		if len(l.buckets) >= l.maxClients {
			l.forgetIdle(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[ip] = b
	}
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.last))/float64(l.every))
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// forgetIdle drops buckets that have refilled; if none has, the oldest half.
func (l *IPLimiter) forgetIdle(now time.Time) {
	for ip, b := range l.buckets {
		if b.tokens+float64(now.Sub(b.last))/float64(l.every) >= l.burst {
			delete(l.buckets, ip)
		}
	}
	if len(l.buckets) < l.maxClients {
		return
	}
	n := 0
	for ip := range l.buckets { // map order is random: an arbitrary half
		delete(l.buckets, ip)
		if n++; n >= l.maxClients/2 {
			break
		}
	}
}

// PeerIP is the address of the gRPC client calling ctx, or the zero Addr.
func PeerIP(ctx context.Context) netip.Addr {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return netip.Addr{}
	}
	if ta, ok := p.Addr.(*net.TCPAddr); ok {
		a, _ := netip.AddrFromSlice(ta.IP)
		return a.Unmap()
	}
	ap, err := netip.ParseAddrPort(p.Addr.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
