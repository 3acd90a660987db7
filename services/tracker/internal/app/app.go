// Package app wires the tracker service: configuration, the Postgres store,
// the chain and receipts clients, the BitTorrent HTTP frontend and the gRPC
// registry. cmd/tracker only calls it.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/pbts/pbts/database"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/server"
	"github.com/pbts/pbts/services/tracker/internal/announce"
	"github.com/pbts/pbts/services/tracker/internal/bt"
	"github.com/pbts/pbts/services/tracker/internal/registry"
	"github.com/pbts/pbts/services/tracker/internal/reputation"
	"github.com/pbts/pbts/services/tracker/internal/store"
	"github.com/pbts/pbts/services/tracker/internal/swarm"
)

// callTimeout bounds one call to a peer service or the database made off
// the request path.
const callTimeout = 5 * time.Second

// Config is the tracker's configuration; every flag defaults from its
// PBTS_* variable (server.ParseFlags).
type Config struct {
	DatabaseURL  string `json:"-"` // may hold a password: never logged
	RPCURL       string
	ChainID      uint64
	Contract     string
	HTTPAddr     string
	AnnounceBase string
	MinRatio     string
	Window       time.Duration
	Announce     announce.Config
	BT           bt.Config
	Server       bt.ServerConfig // the announce port's HTTP server

	// Swarm store: memory (one process) or redis (replicas sharing one Redis).
	SwarmStore  string
	RedisURL    string `json:"-"` // may hold a password: never logged
	RedisPrefix string

	// Registration policy (issue 13, cheap identities).
	Registration    string
	BootstrapAgents string
	InviteMinRatio  string
	InviteMinUpload uint64
	InvitesPerAgent int
	RegisterEvery   time.Duration
	RegisterBurst   int

	// RateLimitExempt is the comma-separated CIDRs the announce rate limit
	// does not count (read into BT.RateLimitExempt).
	RateLimitExempt string
}

// RegisterFlags defines the tracker's flags.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.Announce = announce.DefaultConfig()
	c.BT = bt.DefaultConfig()
	c.Server = bt.DefaultServerConfig()
	fs.StringVar(&c.DatabaseURL, "database-url", "postgres://postgres@127.0.0.1:5432/pbts?sslmode=disable", "Postgres connection string (secret)")
	fs.StringVar(&c.RPCURL, "rpc-url", "http://127.0.0.1:8545", "Ethereum JSON-RPC endpoint")
	fs.Uint64Var(&c.ChainID, "chain-id", 31337, "chain id signed messages must name")
	fs.StringVar(&c.Contract, "tracker-contract", "", "ReputationTracker contract address (required)")
	fs.StringVar(&c.HTTPAddr, "http-addr", "127.0.0.1:7070", "BitTorrent announce/scrape listen address")
	fs.StringVar(&c.AnnounceBase, "announce-base", "", "public base URL of the announce endpoint (default http://<http-addr>, https:// under -tls-cert)")
	fs.StringVar(&c.MinRatio, "min-ratio", "1/2", "minimum upload/(download+left) to leech, as N/D or a decimal")
	fs.DurationVar(&c.Window, "signature-window", 5*time.Minute, "accepted age of signed registration/publish messages")
	fs.DurationVar(&c.Announce.Interval, "announce-interval", c.Announce.Interval, "re-announce interval told to clients")
	fs.DurationVar(&c.Announce.MinInterval, "announce-min-interval", c.Announce.MinInterval, "minimum re-announce interval")
	fs.IntVar(&c.Announce.NumWantDefault, "numwant-default", c.Announce.NumWantDefault, "peers returned when the client does not say")
	fs.IntVar(&c.Announce.NumWantMax, "numwant-max", c.Announce.NumWantMax, "most peers returned")
	fs.DurationVar(&c.Announce.PeerExpiry, "peer-expiry", c.Announce.PeerExpiry, "peers silent this long leave the swarm")
	fs.IntVar(&c.Announce.MaxPeersPerAgent, "max-peers-per-agent", c.Announce.MaxPeersPerAgent, "peer ids one agent keeps in a swarm at most (1..64); a new one past it replaces the agent's peer there last seen longest ago, so one agent's many peer ids cannot fill a swarm and a restarted client is never refused")
	fs.StringVar(&c.SwarmStore, "swarm-store", "memory", "where swarms live: memory (this process only) or redis (shared by every tracker replica on the same Redis and key prefix)")
	fs.StringVar(&c.RedisURL, "redis-url", "redis://127.0.0.1:6379/0", "Redis for -swarm-store=redis: redis://[user:password@]host:port/db, rediss:// or unix:// (secret)")
	fs.StringVar(&c.RedisPrefix, "redis-key-prefix", swarm.DefaultRedisPrefix, "prefix of the swarm store's Redis keys (replicas sharing swarms use the same one)")
	fs.BoolVar(&c.BT.AllowPrivateHints, "allow-private-peer-hints", false, "keep BEP 7 ipv4=/ipv6= hints naming loopback or private addresses (a lab or LAN tracker); by default they are ignored, as they let an announcer aim other peers at endpoints of its choice")
	fs.Float64Var(&c.BT.AnnounceRate, "announce-rate-per-client", c.BT.AnnounceRate, "announces and scrapes per second one client (IPv4 address or IPv6 /64) may send after its burst; more get a failure reason (0: no limit)")
	fs.IntVar(&c.BT.AnnounceBurst, "announce-burst-per-client", c.BT.AnnounceBurst, "announces and scrapes one client may send at once")
	fs.IntVar(&c.BT.RateLimitClients, "announce-rate-clients", c.BT.RateLimitClients, "clients the announce rate limit remembers (about 100 bytes each; idle ones are forgotten first)")
	fs.StringVar(&c.RateLimitExempt, "announce-rate-exempt", "127.0.0.0/8,::1/128", "comma-separated CIDRs the announce rate limit does not count (loopback: a local stack whose agents all announce from 127.0.0.1)")
	fs.IntVar(&c.Server.MaxConns, "max-conns", c.Server.MaxConns, "open announce connections at most (further ones wait in the accept queue)")
	fs.IntVar(&c.Server.MaxConnsPerClient, "max-conns-per-client", c.Server.MaxConnsPerClient, "open announce connections of one client (IPv4 address or IPv6 /64) at most; more are closed at once (0: no bound; --announce-rate-exempt addresses are not counted)")
	fs.IntVar(&c.BT.AnnounceLogEvery, "announce-log-every", c.BT.AnnounceLogEvery, "log one announce in this many at info level (0: none); at --log-level=debug every one is logged (agent, info hash, event, left, client key, outcome; never the passkey)")
	fs.IntVar(&c.BT.MaxQueryLength, "max-query-length", c.BT.MaxQueryLength, "longest announce query accepted, bytes")
	fs.StringVar(&c.Registration, "registration", "open", "who may register: open (rate-limited per client) or invite (addresses a registered agent in good standing invited, and the bootstrap agents)")
	fs.StringVar(&c.BootstrapAgents, "bootstrap-agents", "", "comma-separated addresses that may register without an invitation under -registration=invite")
	fs.StringVar(&c.InviteMinRatio, "invite-min-ratio", "1/1", "upload/download an agent needs to invite, as N/D or a decimal")
	fs.Uint64Var(&c.InviteMinUpload, "invite-min-upload", 1<<30, "bytes an agent must have uploaded to others here (beyond its registration credit) to invite")
	fs.IntVar(&c.InvitesPerAgent, "invites-per-agent", 5, "invitations one agent may make")
	fs.DurationVar(&c.RegisterEvery, "registrations-per-client-every", 10*time.Minute, "one new agent per client (IPv4 address or IPv6 /64) per this, after the burst (negative: no limit)")
	fs.IntVar(&c.RegisterBurst, "registrations-per-client-burst", 5, "new agents a client may register at once")
}

// registryPolicy reads the registration settings.
func (c *Config) registryPolicy(rc *registry.Config) error {
	bad := func(flag string, e error) error { return fmt.Errorf("invalid %s: %w", server.EnvName(flag), e) }
	switch registry.Policy(c.Registration) {
	case registry.PolicyOpen, registry.PolicyInvite:
		rc.Policy = registry.Policy(c.Registration)
	default:
		return bad("registration", fmt.Errorf("want open or invite, got %q", c.Registration))
	}
	for _, a := range strings.Split(c.BootstrapAgents, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		addr, err := receipt.ParseAddress(a)
		if err != nil {
			return bad("bootstrap-agents", err)
		}
		rc.Bootstrap = append(rc.Bootstrap, addr)
	}
	num, den, err := server.ParseRatio(c.InviteMinRatio)
	if err != nil {
		return bad("invite-min-ratio", err)
	}
	if c.InvitesPerAgent < 1 || c.InvitesPerAgent > 1000 {
		return bad("invites-per-agent", fmt.Errorf("want 1..1000, got %d", c.InvitesPerAgent))
	}
	if c.InviteMinUpload < 1 {
		return bad("invite-min-upload", errors.New("want at least 1 byte"))
	}
	if c.RegisterBurst < 1 {
		return bad("registrations-per-client-burst", fmt.Errorf("want at least 1, got %d", c.RegisterBurst))
	}
	rc.InviteMinRatioNum, rc.InviteMinRatioDen, rc.InviteMinUpload = num, den, c.InviteMinUpload
	rc.InvitesPerAgent, rc.RegisterEvery, rc.RegisterBurst = c.InvitesPerAgent, c.RegisterEvery, c.RegisterBurst
	return nil
}

// LogValue shows the settings without secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("rpc_url", server.RedactURL(c.RPCURL)), slog.Uint64("chain_id", c.ChainID),
		slog.String("tracker_contract", c.Contract), slog.String("http_addr", c.HTTPAddr),
		slog.String("announce_base", c.AnnounceBase),
		slog.String("min_ratio", c.MinRatio), slog.Any("announce", c.Announce), slog.Any("bt", c.BT),
		slog.Int("max_conns", c.Server.MaxConns), slog.Int("max_conns_per_client", c.Server.MaxConnsPerClient),
		slog.String("registration", c.Registration), slog.String("bootstrap_agents", c.BootstrapAgents),
		slog.String("invite_min_ratio", c.InviteMinRatio), slog.Uint64("invite_min_upload", c.InviteMinUpload),
		slog.Int("invites_per_agent", c.InvitesPerAgent),
		slog.String("swarm_store", c.SwarmStore), slog.String("redis_url", redactURL(c.RedisURL)),
		slog.String("redis_key_prefix", c.RedisPrefix),
	)
}

// dialChain connects to the JSON-RPC endpoint so that neither the log nor
// an error ever shows more of its URL than scheme and host (hosted RPC URLs
// carry API keys in the path, query or user info).
func dialChain(ctx context.Context, rpcURL string) (*ethclient.Client, error) {
	endpoint, hc := server.SecretURLClient(rpcURL)
	var opts []rpc.ClientOption
	if hc != nil {
		opts = append(opts, rpc.WithHTTPClient(hc))
	}
	rc, err := rpc.DialOptions(ctx, endpoint, opts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %s", server.RedactURL(rpcURL), redactErr(err, rpcURL))
	}
	return ethclient.NewClient(rc), nil
}

// redactErr is err's text without rawURL in it.
func redactErr(err error, rawURL string) string {
	return strings.ReplaceAll(err.Error(), rawURL, server.RedactURL(rawURL))
}

// redactURL is u with its password replaced (and nothing of it when it
// does not parse).
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(invalid, not shown)"
	}
	return p.Redacted()
}

// Swarm stores.
const (
	storeMemory = "memory"
	storeRedis  = "redis"
)

// SwarmHealthName is the health service that reports the swarm store
// (announce, scrape and the swarm queries need it): with the Redis store it
// is NOT_SERVING while Redis does not answer (a readiness probe's name). The
// whole server ("") stays SERVING meanwhile, so that a liveness probe does
// not restart every replica for an outage of Redis.
const SwarmHealthName = "pbts.tracker.SwarmStore"

// redisConfig is the Redis store's configuration: keys outlive the peer
// expiry many times over.
func (c *Config) redisConfig() swarm.RedisConfig {
	return swarm.RedisConfig{Prefix: c.RedisPrefix, TTL: max(swarm.DefaultRedisTTL, 4*c.Announce.PeerExpiry)}
}

func (c *Config) validate() (num, den uint64, contract common.Address, err error) {
	bad := func(flag string, e error) error { return fmt.Errorf("invalid %s: %w", server.EnvName(flag), e) }
	if num, den, err = server.ParseRatio(c.MinRatio); err != nil {
		return 0, 0, contract, bad("min-ratio", err)
	}
	if !common.IsHexAddress(c.Contract) || common.HexToAddress(c.Contract) == (common.Address{}) {
		return 0, 0, contract, bad("tracker-contract", fmt.Errorf("want the ReputationTracker's 0x address, got %q", c.Contract))
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return 0, 0, contract, bad("http-addr", err)
	}
	if c.ChainID == 0 {
		return 0, 0, contract, bad("chain-id", errors.New("must be positive"))
	}
	if err := c.Announce.Validate(); err != nil {
		return 0, 0, contract, fmt.Errorf("invalid announce settings: %w", err)
	}
	if c.BT.RateLimitExempt, err = server.ParsePrefixes(c.RateLimitExempt); err != nil {
		return 0, 0, contract, bad("announce-rate-exempt", err)
	}
	if err := c.BT.Validate(); err != nil {
		return 0, 0, contract, fmt.Errorf("invalid announce settings: %w", err)
	}
	if _, err := pgxpool.ParseConfig(c.DatabaseURL); err != nil {
		return 0, 0, contract, bad("database-url", errors.New("not a valid connection string (not shown)"))
	}
	switch c.SwarmStore {
	case storeMemory:
	case storeRedis:
		if _, err := swarm.RedisOptions(c.RedisURL, c.redisConfig()); err != nil {
			if errors.Is(err, swarm.ErrRedisURL) {
				return 0, 0, contract, bad("redis-url", err)
			}
			return 0, 0, contract, bad("redis-key-prefix", err)
		}
	default:
		return 0, 0, contract, bad("swarm-store", fmt.Errorf("want memory or redis, got %q", c.SwarmStore))
	}
	return num, den, common.HexToAddress(c.Contract), nil
}

// Setup builds the tracker on srv and returns its background work: the
// HTTP frontend, swarm GC, contract-event polling and migrations. It starts
// (and reports health) even while Postgres, the chain or the receipts
// service are down; requests that need them fail until they answer.
func (c *Config) Setup(ctx context.Context, srv *server.Server, log *slog.Logger) (func(context.Context) error, error) {
	num, den, contract, err := c.validate()
	if err != nil {
		return nil, err
	}
	log.Info("tracker config", "config", *c)

	// pgxpool connects lazily, so a down database does not stop the start.
	pool, err := pgxpool.New(ctx, c.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	db := &database.DB{Pool: pool}
	st := store.New(db, store.Options{})

	eth, err := dialChain(ctx, c.RPCURL)
	if err != nil {
		return nil, fmt.Errorf("invalid %s: %w", server.EnvName("rpc-url"), err)
	}
	rep := reputation.New(reputation.Config{Tracker: contract}, eth, st, log)

	var peers swarm.PeerStore
	var rds *swarm.Redis
	if c.SwarmStore == storeRedis {
		// The client connects lazily: a down Redis does not stop the start.
		if rds, err = swarm.DialRedis(c.RedisURL, c.redisConfig()); err != nil {
			return nil, fmt.Errorf("invalid %s: %w", server.EnvName("redis-url"), err)
		}
		peers = rds
		srv.Health().SetServingStatus(SwarmHealthName, healthpb.HealthCheckResponse_NOT_SERVING)
	} else {
		if peers, err = swarm.NewMemory(0); err != nil {
			return nil, err
		}
		srv.Health().SetServingStatus(SwarmHealthName, healthpb.HealthCheckResponse_SERVING)
	}
	closeStore := func() {
		if rds != nil {
			rds.Close()
		}
	}
	var trkOpts []announce.Option
	if rds != nil {
		trkOpts = append(trkOpts, announce.WithSharedTags()) // replicas share the peers, so the tags
	}
	trk, err := announce.New(c.Announce, peers, newDirectory(st, log), gate{rep: rep, num: num, den: den}, log, trkOpts...)
	if err != nil {
		closeStore()
		return nil, err
	}
	handler, err := bt.NewHandler(trk, c.BT, log)
	if err != nil {
		closeStore()
		return nil, err
	}
	btServer, err := bt.NewServer(handler, c.Server)
	if err != nil {
		closeStore()
		return nil, fmt.Errorf("invalid announce server settings: %w", err)
	}
	// TLS with the server's --tls-cert and --tls-key (no client
	// certificates: BitTorrent clients have none); then the announce URLs
	// handed out are https, and passkeys never travel in clear.
	ln, scheme, err := srv.ListenHTTP(c.HTTPAddr)
	if err != nil {
		closeStore()
		return nil, fmt.Errorf("listen %s %s: %w", server.EnvName("http-addr"), c.HTTPAddr, err)
	}
	base := c.AnnounceBase
	if base == "" {
		base = scheme + "://" + ln.Addr().String()
	}
	rc := registry.Config{
		Domain:       receipt.Domain{ChainID: c.ChainID, Tracker: contract},
		AnnounceBase: base, Window: c.Window, MinRatioNum: num, MinRatioDen: den, Log: log,
	}
	if err := c.registryPolicy(&rc); err != nil {
		ln.Close()
		closeStore()
		return nil, err
	}
	reg, err := registry.New(rc, st, rep, swarms{trk})
	if err != nil {
		ln.Close()
		closeStore()
		return nil, err
	}
	reg.Register(srv.GRPC())
	srv.AddListener("http", ln.Addr())
	registerMetrics(srv.Registry(), handler, trk)
	// The registry needs the database: report it not serving until migrated.
	for _, name := range registryHealthNames {
		srv.Health().SetServingStatus(name, healthpb.HealthCheckResponse_NOT_SERVING)
	}
	log.Info("announce endpoint", "addr", ln.Addr().String(), "base", base)

	return func(ctx context.Context) error {
		defer pool.Close()
		defer eth.Close()
		defer closeStore()
		g, ctx := errgroup.WithContext(ctx)
		g.Go(func() error { return btServer.Serve(ctx, ln) })
		if rds != nil {
			g.Go(func() error {
				watchHealth(ctx, rds.Ping, srv, log, "swarm store (announces fail meanwhile)", SwarmHealthName)
				return nil
			})
		}
		g.Go(func() error { return trk.Run(ctx) })
		g.Go(func() error { return rep.Run(ctx) })
		g.Go(func() error {
			database.MigrateUntilDone(ctx, c.DatabaseURL, log)
			if ctx.Err() == nil {
				// Migrated: the registry serves while the database answers.
				watchHealth(ctx, pool.Ping, srv, log, "database (registration and publishing fail meanwhile)", registryHealthNames...)
			}
			return nil
		})
		return g.Wait()
	}, nil
}

// healthEvery is how often the tracker checks that Redis and Postgres answer.
const healthEvery = 2 * time.Second

// registryHealthNames are the gRPC services that need the database.
var registryHealthNames = []string{"pbts.v1.AgentService", "pbts.v1.DatasetService"}

// watchHealth calls ping every healthEvery until ctx ends and reports the
// answer as the health of names, logging each change (what names the
// dependency and the consequence).
func watchHealth(ctx context.Context, ping func(context.Context) error, srv *server.Server, log *slog.Logger, what string, names ...string) {
	tick := time.NewTicker(healthEvery)
	defer tick.Stop()
	up := true // as the server starts: the first failure is logged
	for {
		pctx, cancel := context.WithTimeout(ctx, healthEvery)
		err := ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		st := healthpb.HealthCheckResponse_SERVING
		if err != nil {
			st = healthpb.HealthCheckResponse_NOT_SERVING
		}
		for _, n := range names {
			srv.Health().SetServingStatus(n, st)
		}
		switch {
		case err != nil && up:
			log.Error(what+" unreachable: health is NOT_SERVING until it answers", "err", err, "services", names)
		case err == nil && !up:
			log.Info(what + " answers again")
		}
		up = err == nil
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
