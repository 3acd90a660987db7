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
}

// DefaultConfig returns the defaults: 4 KiB queries, 50 info hashes per
// scrape, no proxy header.
func DefaultConfig() Config {
	return Config{MaxQueryLength: 4 << 10, MaxScrapeInfoHashes: 50}
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
	return errors.Join(errs...)
}

// LogValue implements slog.LogValuer.
func (c Config) LogValue() slog.Value {
	proxies := make([]string, len(c.TrustedProxies))
	for i, p := range c.TrustedProxies {
		proxies[i] = p.String()
	}
	return slog.GroupValue(
		slog.Int("max_query_length", c.MaxQueryLength),
		slog.Int("max_scrape_info_hashes", c.MaxScrapeInfoHashes),
		slog.String("real_ip_header", c.RealIPHeader),
		slog.String("trusted_proxies", strings.Join(proxies, ",")),
		slog.Bool("allow_private_hints", c.AllowPrivateHints),
	)
}
