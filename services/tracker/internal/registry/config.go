package registry

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/torrentfile"
)

// Config configures the registry.
type Config struct {
	// Domain is the chain id and ReputationTracker address that signed
	// messages must name.
	Domain receipt.Domain
	// AnnounceBase is the public base URL of the BitTorrent frontend, e.g.
	// "http://127.0.0.1:7070": an agent's announce URL is
	// AnnounceBase + "/announce/" + passkey.
	AnnounceBase string
	// Window bounds |now - timestamp| of signed messages (default 5 min).
	Window time.Duration
	// MinRatioNum/MinRatioDen is the gate's minimum upload/(download+left)
	// (default 1/2).
	MinRatioNum, MinRatioDen uint64
	// Limits bound the inputs; zero fields take DefaultLimits'.
	Limits Limits
	// SignedEvery and SignedBurst rate-limit RegisterAgent and RotatePasskey
	// per client address: SignedBurst at once, then one per SignedEvery
	// (defaults 20 and 6 s; a negative SignedEvery disables the limit).
	SignedEvery time.Duration
	SignedBurst int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log receives internal errors (default slog.Default()).
	Log *slog.Logger
}

// Limits bound what clients may send.
type Limits struct {
	MaxNameChars        int // 200
	MaxDescriptionBytes int // 4096
	MaxTags             int // 16
	MaxTagChars         int // 32 (tags are [a-z0-9-])
	MaxLicenseChars     int // 64
	MaxTorrentBytes     int // torrentfile.MaxInfoBytes
	DefaultPageSize     int // 20
	MaxPageSize         int // 100
	MaxQueryChars       int // 256
}

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{
		MaxNameChars:        200,
		MaxDescriptionBytes: 4096,
		MaxTags:             16,
		MaxTagChars:         32,
		MaxLicenseChars:     64,
		MaxTorrentBytes:     torrentfile.MaxInfoBytes,
		DefaultPageSize:     20,
		MaxPageSize:         100,
		MaxQueryChars:       256,
	}
}

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	if c.Window == 0 {
		c.Window = 5 * time.Minute
	}
	if c.MinRatioNum == 0 && c.MinRatioDen == 0 {
		c.MinRatioNum, c.MinRatioDen = 1, 2
	}
	if c.SignedEvery == 0 {
		c.SignedEvery = 6 * time.Second
	}
	if c.SignedBurst == 0 {
		c.SignedBurst = 20
	}
	d := DefaultLimits()
	l := &c.Limits
	for _, f := range []struct {
		v   *int
		def int
	}{
		{&l.MaxNameChars, d.MaxNameChars}, {&l.MaxDescriptionBytes, d.MaxDescriptionBytes},
		{&l.MaxTags, d.MaxTags}, {&l.MaxTagChars, d.MaxTagChars}, {&l.MaxLicenseChars, d.MaxLicenseChars},
		{&l.MaxTorrentBytes, d.MaxTorrentBytes}, {&l.DefaultPageSize, d.DefaultPageSize},
		{&l.MaxPageSize, d.MaxPageSize}, {&l.MaxQueryChars, d.MaxQueryChars},
	} {
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	c.AnnounceBase = strings.TrimRight(c.AnnounceBase, "/")
	return c
}

// validate reports the first bad setting.
func (c Config) validate() error {
	if err := c.Domain.Validate(); err != nil {
		return err
	}
	u, err := url.Parse(c.AnnounceBase)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("announce base URL %q: want http(s)://host[:port][/path]", c.AnnounceBase)
	}
	if c.Window <= 0 {
		return fmt.Errorf("signature window %v: must be positive", c.Window)
	}
	if c.MinRatioDen == 0 {
		return errors.New("minimum ratio: denominator is 0")
	}
	l := c.Limits
	if l.MaxNameChars < 0 || l.MaxDescriptionBytes < 0 || l.MaxTags < 0 || l.MaxTagChars < 0 || l.MaxLicenseChars < 0 ||
		l.MaxTorrentBytes < 0 || l.DefaultPageSize < 0 || l.MaxPageSize < 0 || l.MaxQueryChars < 0 {
		return errors.New("limits must not be negative")
	}
	// The schema's CHECKs (migration 00002) hold what the defaults allow; a
	// larger limit needs a migration first.
	if l.MaxNameChars > 200 || l.MaxDescriptionBytes > 4096 || l.MaxTags > 16 || l.MaxTagChars > 32 || l.MaxLicenseChars > 64 {
		return errors.New("metadata limits above the schema's (name 200, description 4096 bytes, 16 tags of 32, license 64)")
	}
	if l.DefaultPageSize > l.MaxPageSize {
		return fmt.Errorf("default page size %d above the maximum %d", l.DefaultPageSize, l.MaxPageSize)
	}
	return nil
}

// LogValue logs the configuration (it holds no secrets).
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Uint64("chain_id", c.Domain.ChainID),
		slog.String("tracker", c.Domain.Tracker.Hex()),
		slog.String("announce_base", c.AnnounceBase),
		slog.Duration("window", c.Window),
		slog.String("min_ratio", fmt.Sprintf("%d/%d", c.MinRatioNum, c.MinRatioDen)),
	)
}
