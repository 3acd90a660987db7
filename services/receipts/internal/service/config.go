package service

import (
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/server"
	"github.com/pbts/pbts/services/receipts/internal/ledger"
)

// Config is the receipts service's own configuration (the listeners, logs and
// shutdown deadline are server.Config's). Every field is a flag defaulting
// from its PBTS_* variable.
type Config struct {
	// DatabaseURL is a secret (it may hold a password): never logged.
	DatabaseURL string `json:"-"`
	// Migrate applies the suite's migrations at start (under an advisory lock).
	Migrate bool
	// DBMaxConns bounds the pool.
	DBMaxConns int
	// DBWriters bounds the SubmitReceipts transactions run at once.
	DBWriters int

	// ChainID and TrackerContract are the receipt Domain.
	ChainID         uint64
	TrackerContract string

	TimestampWindow time.Duration
	MaxBatch        int
	MaxPageSize     int
	// VerifyWorkers is the number of signature-recovery goroutines (0:
	// GOMAXPROCS).
	VerifyWorkers int

	WatchBuffer int
	MaxWatchers int
	// MaxWatchersPerAddress and MaxWatchersPerAgent bound the WatchReceipts
	// subscriptions of a client address and those naming one agent (watch.Limits).
	MaxWatchersPerAddress int
	MaxWatchersPerAgent   int

	CacheAgents    int
	CacheMembers   int
	CacheDatasetMB int
	// CacheNegatives unknown agents and unknown torrents are remembered
	// (each) for CacheNegativeTTL.
	CacheNegatives   int
	CacheNegativeTTL time.Duration

	// SubmitRate* are token buckets on SubmitReceipts, in receipts a second
	// (a request costs at least minRequestCost): per client address (IPv4,
	// or IPv6 /64) and per receiver. A rate of 0 disables the bucket.
	SubmitRatePerAddress  float64
	SubmitBurstPerAddress int
	SubmitRatePerAgent    float64
	SubmitBurstPerAgent   int
	// RateLimitKeys bounds the buckets each limiter remembers.
	RateLimitKeys int

	// MinRatio is the tracker's minimum upload/download ratio; a receipt
	// that would take its receiver below it is refused (ledger.Quota). "0"
	// disables the quota.
	MinRatio string

	domain receipt.Domain
	quota  ledger.Quota
}

// Defaults.
const (
	DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/pbts?sslmode=disable"
	DefaultPageSize    = 100
	// maxBatchLimit keeps a full batch (about 420 bytes per receipt) under
	// the gRPC server's 4 MiB message limit.
	maxBatchLimit = 8192
)

// RegisterFlags defines the flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DatabaseURL, "database-url", DefaultDatabaseURL, "Postgres connection URL (secret: never logged)")
	fs.BoolVar(&c.Migrate, "migrate", true, "apply the database migrations at start")
	fs.IntVar(&c.DBMaxConns, "db-max-conns", 16, "maximum Postgres connections")
	fs.IntVar(&c.DBWriters, "db-writers", 1, "SubmitReceipts transactions committed at once (verification runs in parallel regardless)")
	fs.Uint64Var(&c.ChainID, "chain-id", 31337, "EIP-155 chain id of the receipt domain")
	fs.StringVar(&c.TrackerContract, "tracker-contract", "", "ReputationTracker contract address of the receipt domain (required)")
	fs.DurationVar(&c.TimestampWindow, "timestamp-window", time.Hour, "largest accepted distance between a receipt's timestamp and the server clock")
	fs.IntVar(&c.MaxBatch, "max-batch", 4096, fmt.Sprintf("most receipts per SubmitReceipts request (1..%d)", maxBatchLimit))
	fs.IntVar(&c.MaxPageSize, "max-page-size", 1000, "most records per ListReceipts page")
	fs.IntVar(&c.VerifyWorkers, "verify-workers", 0, "signature recovery goroutines (0: one per core, GOMAXPROCS)")
	fs.IntVar(&c.WatchBuffer, "watch-buffer", 8192, "receipts buffered per WatchReceipts subscriber before it is dropped")
	fs.IntVar(&c.MaxWatchers, "max-watchers", 1024, "most concurrent WatchReceipts subscribers")
	fs.IntVar(&c.MaxWatchersPerAddress, "max-watchers-per-address", 64, "most concurrent WatchReceipts subscribers per client address (IPv4, or IPv6 /64)")
	fs.IntVar(&c.MaxWatchersPerAgent, "max-watchers-per-agent", 64, "most concurrent WatchReceipts subscribers naming one agent (their sender, else receiver filter)")
	fs.IntVar(&c.CacheAgents, "cache-agents", 1_000_000, "registered agents cached")
	fs.IntVar(&c.CacheMembers, "cache-members", 4_000_000, "swarm memberships cached")
	fs.IntVar(&c.CacheDatasetMB, "cache-dataset-mb", 256, "MiB of dataset piece hashes cached")
	fs.IntVar(&c.CacheNegatives, "cache-negatives", 65536, "unknown agents and unknown torrents remembered (each), so that garbage naming them costs no query (0: none)")
	fs.DurationVar(&c.CacheNegativeTTL, "cache-negative-ttl", 5*time.Second, "how long an unknown agent or torrent is remembered as unknown (an agent that registers is believed this much later at most)")
	fs.Float64Var(&c.SubmitRatePerAddress, "submit-rate-per-address", 8192, "SubmitReceipts receipts a second per client address (IPv4, or IPv6 /64); a request counts at least 8 (0: no limit)")
	fs.IntVar(&c.SubmitBurstPerAddress, "submit-burst-per-address", 32768, "SubmitReceipts receipts a client address may send at once (at least -max-batch)")
	fs.Float64Var(&c.SubmitRatePerAgent, "submit-rate-per-agent", 2048, "SubmitReceipts receipts a second per receiver (the signing agent) (0: no limit)")
	fs.IntVar(&c.SubmitBurstPerAgent, "submit-burst-per-agent", 16384, "SubmitReceipts receipts a receiver may have submitted at once (at least -max-batch)")
	fs.IntVar(&c.RateLimitKeys, "rate-limit-keys", 100000, "client addresses and agents each rate limiter remembers (idle ones forgotten first)")
	fs.StringVar(&c.MinRatio, "min-ratio", "1/2", "the tracker's minimum upload/(download+left) ratio, as N/D or a decimal: no receiver is credited downloads beyond its upload over it (0 disables)")
}

func bad(name string, format string, args ...any) error {
	return fmt.Errorf("invalid %s: %s", server.EnvName(name), fmt.Sprintf(format, args...))
}

// Validate checks every setting and names the first bad one by its
// environment variable.
func (c *Config) Validate() error {
	if c.DatabaseURL == "" {
		return bad("database-url", "required")
	}
	if _, err := pgxpool.ParseConfig(c.DatabaseURL); err != nil {
		return bad("database-url", "cannot be parsed (value not shown: it may hold a password)")
	}
	if c.DBMaxConns < 2 || c.DBMaxConns > 1000 {
		return bad("db-max-conns", "%d: want 2..1000", c.DBMaxConns)
	}
	if c.DBWriters < 1 || c.DBWriters > c.DBMaxConns {
		return bad("db-writers", "%d: want 1..%s (%d)", c.DBWriters, server.EnvName("db-max-conns"), c.DBMaxConns)
	}
	if c.ChainID == 0 {
		return bad("chain-id", "must not be 0")
	}
	if c.TrackerContract == "" {
		return bad("tracker-contract", "required (the ReputationTracker contract address)")
	}
	tracker, err := receipt.ParseAddress(c.TrackerContract)
	if err != nil {
		return bad("tracker-contract", "%q: %v", c.TrackerContract, err)
	}
	c.domain = receipt.Domain{ChainID: c.ChainID, Tracker: tracker}
	if err := c.domain.Validate(); err != nil {
		return bad("tracker-contract", "%v", err)
	}
	switch {
	case c.TimestampWindow < time.Second || c.TimestampWindow > 7*24*time.Hour:
		return bad("timestamp-window", "%v: want 1s..168h", c.TimestampWindow)
	case c.MaxBatch < 1 || c.MaxBatch > maxBatchLimit:
		return bad("max-batch", "%d: want 1..%d", c.MaxBatch, maxBatchLimit)
	case c.MaxPageSize < 1 || c.MaxPageSize > 10000:
		return bad("max-page-size", "%d: want 1..10000", c.MaxPageSize)
	case c.VerifyWorkers < 0 || c.VerifyWorkers > 256:
		return bad("verify-workers", "%d: want 0..256", c.VerifyWorkers)
	case c.WatchBuffer < 1 || c.WatchBuffer > 1<<20:
		return bad("watch-buffer", "%d: want 1..1048576", c.WatchBuffer)
	case c.MaxWatchers < 1 || c.MaxWatchers > 100000:
		return bad("max-watchers", "%d: want 1..100000", c.MaxWatchers)
	case c.MaxWatchersPerAddress < 1 || c.MaxWatchersPerAddress > c.MaxWatchers:
		return bad("max-watchers-per-address", "%d: want 1..%s (%d)", c.MaxWatchersPerAddress, server.EnvName("max-watchers"), c.MaxWatchers)
	case c.MaxWatchersPerAgent < 1 || c.MaxWatchersPerAgent > c.MaxWatchers:
		return bad("max-watchers-per-agent", "%d: want 1..%s (%d)", c.MaxWatchersPerAgent, server.EnvName("max-watchers"), c.MaxWatchers)
	case c.CacheAgents < 1:
		return bad("cache-agents", "%d: want at least 1", c.CacheAgents)
	case c.CacheMembers < 1:
		return bad("cache-members", "%d: want at least 1", c.CacheMembers)
	case c.CacheDatasetMB < 1:
		return bad("cache-dataset-mb", "%d: want at least 1", c.CacheDatasetMB)
	case c.CacheNegatives < 0 || c.CacheNegatives > 1<<24:
		return bad("cache-negatives", "%d: want 0..16777216", c.CacheNegatives)
	case c.CacheNegativeTTL < 0 || c.CacheNegativeTTL > time.Hour:
		return bad("cache-negative-ttl", "%v: want 0..1h", c.CacheNegativeTTL)
	case c.SubmitRatePerAddress < 0 || c.SubmitRatePerAddress != c.SubmitRatePerAddress:
		return bad("submit-rate-per-address", "%v: want at least 0", c.SubmitRatePerAddress)
	case c.SubmitRatePerAddress > 0 && (c.SubmitBurstPerAddress < c.MaxBatch || c.SubmitBurstPerAddress > 1<<30):
		return bad("submit-burst-per-address", "%d: want %s (%d)..1073741824, or a full batch could never pass", c.SubmitBurstPerAddress, server.EnvName("max-batch"), c.MaxBatch)
	case c.SubmitRatePerAgent < 0 || c.SubmitRatePerAgent != c.SubmitRatePerAgent:
		return bad("submit-rate-per-agent", "%v: want at least 0", c.SubmitRatePerAgent)
	case c.SubmitRatePerAgent > 0 && (c.SubmitBurstPerAgent < c.MaxBatch || c.SubmitBurstPerAgent > 1<<30):
		return bad("submit-burst-per-agent", "%d: want %s (%d)..1073741824, or a full batch could never pass", c.SubmitBurstPerAgent, server.EnvName("max-batch"), c.MaxBatch)
	case c.RateLimitKeys < 1 || c.RateLimitKeys > 1<<24:
		return bad("rate-limit-keys", "%d: want 1..16777216", c.RateLimitKeys)
	}
	num, den, err := server.ParseRatio(c.MinRatio)
	if err != nil {
		return bad("min-ratio", "%v", err)
	}
	c.quota = ledger.Quota{}
	if num != 0 {
		c.quota = ledger.Quota{MinRatioNum: num, MinRatioDen: den}
	}
	return nil
}

// Domain is the receipt domain (valid after Validate).
func (c *Config) Domain() receipt.Domain { return c.domain }

// LogValue logs the configuration without the database URL's secrets.
func (c Config) LogValue() slog.Value {
	db := "unparseable"
	if pc, err := pgxpool.ParseConfig(c.DatabaseURL); err == nil {
		db = fmt.Sprintf("%s:%d/%s", pc.ConnConfig.Host, pc.ConnConfig.Port, pc.ConnConfig.Database)
	}
	return slog.GroupValue(
		slog.String("database", db),
		slog.Bool("migrate", c.Migrate),
		slog.Int("db_max_conns", c.DBMaxConns),
		slog.Int("db_writers", c.DBWriters),
		slog.Uint64("chain_id", c.ChainID),
		slog.String("tracker_contract", c.TrackerContract),
		slog.Duration("timestamp_window", c.TimestampWindow),
		slog.Int("max_batch", c.MaxBatch),
		slog.Int("max_page_size", c.MaxPageSize),
		slog.Int("verify_workers", c.VerifyWorkers),
		slog.Int("watch_buffer", c.WatchBuffer),
		slog.Int("max_watchers", c.MaxWatchers),
		slog.Int("max_watchers_per_address", c.MaxWatchersPerAddress),
		slog.Int("max_watchers_per_agent", c.MaxWatchersPerAgent),
		slog.Int("cache_negatives", c.CacheNegatives),
		slog.Duration("cache_negative_ttl", c.CacheNegativeTTL),
		slog.Float64("submit_rate_per_address", c.SubmitRatePerAddress),
		slog.Int("submit_burst_per_address", c.SubmitBurstPerAddress),
		slog.Float64("submit_rate_per_agent", c.SubmitRatePerAgent),
		slog.Int("submit_burst_per_agent", c.SubmitBurstPerAgent),
		slog.Int("rate_limit_keys", c.RateLimitKeys),
		slog.String("min_ratio", c.MinRatio),
	)
}
