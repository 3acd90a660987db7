package bt

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/pbts/pbts/server"
)

// limiterShards spreads the per-client buckets over this many
// server.IPLimiters, each behind its own lock, so that announces from
// different clients do not contend for one.
const limiterShards = 64

// clientLimiter is the announce and scrape rate limit: a token bucket per
// client (server.ClientKey: an IPv4 address, an IPv6 /64), sharded by
// client. Each shard remembers at most its share of the configured clients
// (server.IPLimiter forgets idle clients first), so memory stays bounded
// whatever the number of addresses announcing.
type clientLimiter struct {
	shards [limiterShards]*server.IPLimiter
	exempt []netip.Prefix
	reason ClientError
}

// newClientLimiter returns the limiter of cfg, or nil when it is off.
func newClientLimiter(cfg Config) *clientLimiter {
	if cfg.AnnounceRate <= 0 {
		return nil
	}
	every := time.Duration(float64(time.Second) / cfg.AnnounceRate)
	l := &clientLimiter{
		exempt: cfg.RateLimitExempt,
		reason: ClientError(fmt.Sprintf("too many requests from your address: at most %d at once and %g per second; retry later", cfg.AnnounceBurst, cfg.AnnounceRate)),
	}
	per := max(cfg.RateLimitClients/limiterShards, 1)
	for i := range l.shards {
		l.shards[i] = server.NewIPLimiter(max(every, 1), cfg.AnnounceBurst, per)
	}
	return l
}

// allow takes a token of a's client.
func (l *clientLimiter) allow(a netip.Addr) bool {
	if exempt(l.exempt, a) {
		return true
	}
	k := server.ClientKey(a).As16()
	h := (binary.LittleEndian.Uint64(k[:8]) ^ binary.LittleEndian.Uint64(k[8:])) * 0x9e3779b97f4a7c15
	return l.shards[h>>58].Allow(a, time.Now()) // the top 6 bits: 64 shards
}

// clients is how many clients the limiter remembers.
func (l *clientLimiter) clients() int {
	if l == nil {
		return 0
	}
	n := 0
	for _, s := range l.shards {
		n += s.Clients()
	}
	return n
}

func exempt(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// exempt reports whether the per-client limits leave a uncounted.
func (h *Handler) exempt(a netip.Addr) bool { return exempt(h.cfg.RateLimitExempt, a) }
