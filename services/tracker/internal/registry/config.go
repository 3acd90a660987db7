package registry

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

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
	// RegisterEvery and RegisterBurst bound the new agents registered per
	// client (an IPv4 address or an IPv6 /64): each gets the initial credit
	// and costs the tracker a registration's gas (defaults 5 at once, then
	// one per 10 min; a negative RegisterEvery disables the limit).
	RegisterEvery time.Duration
	RegisterBurst int
	// Policy is who may register: PolicyOpen (anyone, rate-limited) or
	// PolicyInvite (addresses an agent invited, and Bootstrap).
	Policy Policy
	// Bootstrap may register without an invitation under PolicyInvite (the
	// operator's first agents).
	Bootstrap []common.Address
	// InviteMinRatioNum/Den and InviteMinUpload are the standing an inviter
	// needs: its upload / download at least this (default 1/1), and at least
	// InviteMinUpload bytes uploaded to others on this tracker beyond what
	// its registration granted (default 1 GiB): a fresh identity, however
	// clean its ratio, invites nobody, so invitations cannot fan out into a
	// tree of sybils.
	InviteMinRatioNum, InviteMinRatioDen uint64
	InviteMinUpload                      uint64
	// InvitesPerAgent bounds the invitations one agent makes (default 5).
	InvitesPerAgent int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log receives internal errors (default slog.Default()).
	Log *slog.Logger
}

// Policy is a registration policy.
type Policy string

// Registration policies.
const (
	PolicyOpen   Policy = "open"
	PolicyInvite Policy = "invite"
)

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
	if c.RegisterEvery == 0 {
		c.RegisterEvery = 10 * time.Minute
	}
	if c.RegisterBurst == 0 {
		c.RegisterBurst = 5
	}
	if c.Policy == "" {
		c.Policy = PolicyOpen
	}
	if c.InviteMinRatioNum == 0 && c.InviteMinRatioDen == 0 {
		c.InviteMinRatioNum, c.InviteMinRatioDen = 1, 1
	}
	if c.InvitesPerAgent == 0 {
		c.InvitesPerAgent = 5
	}
	if c.InviteMinUpload == 0 {
		c.InviteMinUpload = 1 << 30
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
	if c.Policy != PolicyOpen && c.Policy != PolicyInvite {
		return fmt.Errorf("registration policy %q: want open or invite", c.Policy)
	}
	if c.InviteMinRatioDen == 0 {
		return errors.New("invitation minimum ratio: denominator is 0")
	}
	if c.InvitesPerAgent < 0 || c.InvitesPerAgent > 1000 {
		return fmt.Errorf("invitations per agent %d: want 0..1000", c.InvitesPerAgent)
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
		slog.String("registration", string(c.Policy)),
		slog.Int("bootstrap_agents", len(c.Bootstrap)),
		slog.String("invite_min_ratio", fmt.Sprintf("%d/%d", c.InviteMinRatioNum, c.InviteMinRatioDen)),
		slog.Int("invites_per_agent", c.InvitesPerAgent),
		slog.Uint64("invite_min_upload", c.InviteMinUpload),
	)
}
