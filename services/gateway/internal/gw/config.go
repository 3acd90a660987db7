// Package gw is the REST gateway: grpc-gateway's mux over the tracker's
// AgentService and DatasetService, the receipts service's ReceiptService
// and the chainwriter's ChainwriterService, with one error shape, limits,
// the client's address passed on to the backends, CORS, gzip, access logs
// without secrets, the merged OpenAPI document, health endpoints, live
// events as Server-Sent Events, the seed's paths and the dashboard's files.
package gw

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/pbts/pbts/server"
)

// Config is the gateway's configuration; every flag defaults from its
// PBTS_* variable (server.ParseFlags).
type Config struct {
	HTTPAddr        string
	TrackerAddr     string
	ReceiptsAddr    string
	ChainwriterAddr string
	BodyLimit       int64
	Timeout         time.Duration
	CORSOrigins     string
	TrustedProxies  string
	StaticDir       string
	PublicRPCURL    string
	MaxSubscribers  int
	EventsBuffer    int
	Heartbeat       time.Duration
	PollInterval    time.Duration
	// TLS is how the backends are called (the shared --tls-cert, --tls-key
	// and --tls-ca; Setup copies it from the server): an address with
	// grpcs://, https:// or tls:// is called over TLS, so is a bare one when
	// a CA is set, verified against it; the certificate, if any, is
	// presented for backends that require one.
	TLS server.TLSFiles `json:"-"`

	origins map[string]bool
	proxies []netip.Prefix
}

// RegisterFlags defines the gateway's flags.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.HTTPAddr, "http-addr", "127.0.0.1:8080", "REST listen address")
	fs.StringVar(&c.TrackerAddr, "tracker-addr", "127.0.0.1:7001", "tracker gRPC address (AgentService, DatasetService); grpcs://host:port calls it over TLS (so does any address under -tls-ca)")
	fs.StringVar(&c.ReceiptsAddr, "receipts-addr", "127.0.0.1:7002", "receipts service gRPC address")
	fs.StringVar(&c.ChainwriterAddr, "chainwriter-addr", "127.0.0.1:7003", "chainwriter gRPC address")
	fs.Int64Var(&c.BodyLimit, "body-limit", 1<<20, "largest request body accepted, bytes")
	fs.DurationVar(&c.Timeout, "timeout", 15*time.Second, "deadline of one REST call (streams excepted)")
	fs.StringVar(&c.CORSOrigins, "cors-origins", "", "comma-separated origins browsers may call from (* for any; empty: none)")
	fs.StringVar(&c.TrustedProxies, "http-trusted-proxies", "", "comma-separated CIDRs of HTTP proxies (an ingress) whose X-Forwarded-For is believed")
	fs.StringVar(&c.StaticDir, "static-dir", "", "directory served at / (the dashboard's build; empty: none)")
	fs.StringVar(&c.PublicRPCURL, "public-rpc-url", "", "chain JSON-RPC URL that browsers may read from (the dashboard's on-chain checks; every visitor sees it: never one with an API key)")
	fs.IntVar(&c.MaxSubscribers, "max-subscribers", 256, "most concurrent /v1/events streams")
	fs.IntVar(&c.EventsBuffer, "events-buffer", 1024, "recent events kept for Last-Event-ID resumption")
	fs.DurationVar(&c.Heartbeat, "heartbeat", 15*time.Second, "interval of the comment lines that keep idle event streams open")
	fs.DurationVar(&c.PollInterval, "poll-interval", time.Second, "how often settled batches and new agents are looked for")
}

// Validate checks the settings, naming a bad one by its variable.
func (c *Config) Validate() error {
	bad := func(name string, err error) error { return fmt.Errorf("invalid %s: %w", server.EnvName(name), err) }
	for name, v := range map[string]string{"http-addr": c.HTTPAddr, "tracker-addr": c.TrackerAddr,
		"receipts-addr": c.ReceiptsAddr, "chainwriter-addr": c.ChainwriterAddr} {
		if name != "http-addr" {
			v, _, _ = server.SplitScheme(v) // grpcs://host:port and the like
		}
		if _, _, err := net.SplitHostPort(v); err != nil {
			return bad(name, err)
		}
	}
	switch {
	case c.BodyLimit < 1024 || c.BodyLimit > 64<<20:
		return bad("body-limit", fmt.Errorf("%d: want 1 KiB..64 MiB", c.BodyLimit))
	case c.Timeout < 100*time.Millisecond || c.Timeout > 10*time.Minute:
		return bad("timeout", fmt.Errorf("%v: want 100ms..10m", c.Timeout))
	case c.MaxSubscribers < 1 || c.MaxSubscribers > 100_000:
		return bad("max-subscribers", fmt.Errorf("%d: want 1..100000", c.MaxSubscribers))
	case c.EventsBuffer < 16 || c.EventsBuffer > 1<<20:
		return bad("events-buffer", fmt.Errorf("%d: want 16..1048576", c.EventsBuffer))
	case c.Heartbeat < 10*time.Millisecond:
		return bad("heartbeat", errors.New("too short"))
	case c.PollInterval < 10*time.Millisecond:
		return bad("poll-interval", errors.New("too short"))
	}
	c.origins = map[string]bool{}
	for _, o := range strings.Split(c.CORSOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.origins[o] = true
		}
	}
	proxies, err := server.ParsePrefixes(c.TrustedProxies)
	if err != nil {
		return bad("http-trusted-proxies", err)
	}
	c.proxies = proxies
	if c.PublicRPCURL != "" {
		u, err := url.Parse(c.PublicRPCURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return bad("public-rpc-url", errors.New("want an http(s) JSON-RPC URL without credentials"))
		}
	}
	if c.StaticDir != "" {
		if fi, err := os.Stat(c.StaticDir); err != nil || !fi.IsDir() {
			return bad("static-dir", fmt.Errorf("%q is not a directory", c.StaticDir))
		}
	}
	return nil
}

// LogValue shows the settings (none is secret).
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("http_addr", c.HTTPAddr), slog.String("tracker_addr", c.TrackerAddr),
		slog.String("receipts_addr", c.ReceiptsAddr), slog.String("chainwriter_addr", c.ChainwriterAddr),
		slog.Int64("body_limit", c.BodyLimit), slog.Duration("timeout", c.Timeout),
		slog.String("cors_origins", c.CORSOrigins), slog.String("http_trusted_proxies", c.TrustedProxies),
		slog.String("static_dir", c.StaticDir), slog.String("public_rpc_url", c.PublicRPCURL), slog.Int("max_subscribers", c.MaxSubscribers),
	)
}
