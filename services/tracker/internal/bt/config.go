package bt

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
)

// Limits the frontend never lets a setting exceed.
const (
	// MaxPasskeyLength bounds the passkey path segment.
	MaxPasskeyLength = 128
	maxQueryLimit    = 64 << 10
	maxScrapeLimit   = 1000
)

// Config holds the frontend's knobs. The zero value is not valid: start
// from DefaultConfig.
type Config struct {
	// MaxQueryLength is the longest raw query string accepted, in bytes;
	// longer requests are refused with a failure reason. (Requests longer
	// than the HTTP server's header limit are refused by net/http itself.)
	MaxQueryLength int
	// MaxScrapeInfoHashes bounds the info_hash values of one scrape.
	MaxScrapeInfoHashes int
	// RealIPHeader names a header (e.g. X-Real-IP or X-Forwarded-For) that
	// carries the client's address when the connection comes from one of
	// TrustedProxies; its last comma-separated element is used. Empty: the
	// connection's address is always the peer's.
	RealIPHeader   string
	TrustedProxies []netip.Prefix
	// AllowPrivateHints keeps BEP 7 ipv4=/ipv6= hints that name a
	// loopback, private (RFC 1918, RFC 6598 shared, IPv6 unique local)
	// address. By default they are ignored: a hint is unverified, and the
	// tracker would hand other peers an endpoint the announcer chose inside
	// their networks. (Link-local, multicast and unspecified hints are
	// always ignored: nobody else can reach them.)
	AllowPrivateHints bool
	// AnnounceRate is the announces and scrapes one client (an IPv4
	// address or an IPv6 /64) may send per second after AnnounceBurst at
	// once; more are refused with a failure reason. 0 turns the limit off.
	AnnounceRate  float64
	AnnounceBurst int
	// RateLimitClients bounds the clients the limit remembers (idle ones
	// are forgotten first): its memory, about 100 bytes a client.
	RateLimitClients int
	// RateLimitExempt are addresses the limit does not count (by default
	// loopback: a local stack or test whose every agent is 127.0.0.1).
	RateLimitExempt []netip.Prefix
	// AnnounceLogEvery: at info level one announce in this many is logged
	// (0: none); at debug level every one is. The log names the agent,
	// info hash, event, left, client key and outcome, never the passkey.
	AnnounceLogEvery int
}

// DefaultConfig returns the defaults: 4 KiB queries, 50 info hashes per
// scrape, no proxy header; per client 30 announces at once and 5 a second
// after that (a NAT of a hundred clients re-announcing 40 torrents each
// every 15 minutes stays under it), 262,144 clients remembered, loopback
// exempt; one announce in 1,000 logged at info level.
func DefaultConfig() Config {
	return Config{
		MaxQueryLength: 4 << 10, MaxScrapeInfoHashes: 50,
		AnnounceRate: 5, AnnounceBurst: 30, RateLimitClients: 1 << 18, AnnounceLogEvery: 1000,
		RateLimitExempt: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
	}
}

// Validate reports the first bad setting by name.
func (c Config) Validate() error {
	var errs []error
	if c.MaxQueryLength < 256 || c.MaxQueryLength > maxQueryLimit {
		errs = append(errs, fmt.Errorf("max query length %d out of range [256, %d]", c.MaxQueryLength, maxQueryLimit))
	}
	if c.MaxScrapeInfoHashes < 1 || c.MaxScrapeInfoHashes > maxScrapeLimit {
		errs = append(errs, fmt.Errorf("max scrape info hashes %d out of range [1, %d]", c.MaxScrapeInfoHashes, maxScrapeLimit))
	}
	if c.RealIPHeader != "" && len(c.TrustedProxies) == 0 {
		errs = append(errs, errors.New("real IP header set without trusted proxies (it would let any client choose its address)"))
	}
	if c.RealIPHeader == "" && len(c.TrustedProxies) > 0 {
		errs = append(errs, errors.New("trusted proxies set without a real IP header"))
	}
	for _, p := range c.TrustedProxies {
		if !p.IsValid() {
			errs = append(errs, errors.New("invalid trusted proxy prefix"))
		}
	}
	if c.AnnounceRate < 0 || c.AnnounceRate > 1e9 {
		errs = append(errs, fmt.Errorf("announce rate %g per client out of range [0 (off), 1e9]", c.AnnounceRate))
	}
	if c.AnnounceRate > 0 && (c.AnnounceBurst < 1 || c.AnnounceBurst > 1e9) {
		errs = append(errs, fmt.Errorf("announce burst %d per client out of range [1, 1e9]", c.AnnounceBurst))
	}
	if c.AnnounceRate > 0 && (c.RateLimitClients < limiterShards || c.RateLimitClients > 1<<26) {
		errs = append(errs, fmt.Errorf("rate-limited clients %d out of range [%d, %d]", c.RateLimitClients, limiterShards, 1<<26))
	}
	if c.AnnounceLogEvery < 0 {
		errs = append(errs, fmt.Errorf("announce log every %d: want 0 (none at info level) or more", c.AnnounceLogEvery))
	}
	for _, p := range c.RateLimitExempt {
		if !p.IsValid() {
			errs = append(errs, errors.New("invalid rate limit exempt prefix"))
		}
	}
	return errors.Join(errs...)
}

// LogValue implements slog.LogValuer.
func (c Config) LogValue() slog.Value {
	prefixes := func(ps []netip.Prefix) string {
		s := make([]string, len(ps))
		for i, p := range ps {
			s[i] = p.String()
		}
		return strings.Join(s, ",")
	}
	return slog.GroupValue(
		slog.Int("max_query_length", c.MaxQueryLength),
		slog.Int("max_scrape_info_hashes", c.MaxScrapeInfoHashes),
		slog.String("real_ip_header", c.RealIPHeader),
		slog.String("trusted_proxies", prefixes(c.TrustedProxies)),
		slog.Bool("allow_private_hints", c.AllowPrivateHints),
		slog.Float64("announce_rate", c.AnnounceRate), slog.Int("announce_burst", c.AnnounceBurst),
		slog.Int("rate_limit_clients", c.RateLimitClients), slog.String("rate_limit_exempt", prefixes(c.RateLimitExempt)),
		slog.Int("announce_log_every", c.AnnounceLogEvery),
	)
}
