// Package app wires the chainwriter: configuration (flags defaulting from
// PBTS_* variables, the key from a file or PBTS_CHAINWRITER_KEY), the
// Postgres store, the chain client, the writer loop and the gRPC service.
// cmd/chainwriter only calls it.
package app

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/big"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/jackc/pgx/v5/pgxpool"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/pbts/pbts/database"
	"github.com/pbts/pbts/server"
	"github.com/pbts/pbts/services/chainwriter/internal/leader"
	"github.com/pbts/pbts/services/chainwriter/internal/service"
	"github.com/pbts/pbts/services/chainwriter/internal/store"
	"github.com/pbts/pbts/services/chainwriter/internal/writer"
)

// KeyEnv holds the signer's hex private key when no key file is given. It is
// read once and removed from the environment; it is never a flag (flag
// values show in process listings).
const KeyEnv = "PBTS_CHAINWRITER_KEY"

// Config is the chainwriter's configuration.
type Config struct {
	DatabaseURL string `json:"-"` // may hold a password: never logged
	RPCURL      string `json:"-"` // may hold an API key: logged as scheme://host only
	Contract    string
	Factory     string
	ChainID     uint64
	KeyFile     string

	BatchMaxReceipts int
	BatchMaxAge      time.Duration
	BatchMaxAgents   int
	Confirmations    uint64
	ConfirmTag       string
	PollInterval     time.Duration
	MaxBackoff       time.Duration
	RPCTimeout       time.Duration
	MaxInFlight      int
	ResubmitTimeout  time.Duration
	FeeBumpPercent   float64
	MaxFeePerGas     string
	MinTip           string
	GasMarginPercent float64
	LeaderRetry      time.Duration
}

// flagOf maps writer.Config fields to the flags that set them.
var flagOf = map[string]string{
	"Contract": "tracker-contract", "BatchMaxReceipts": "batch-max-receipts", "BatchMaxAge": "batch-max-age",
	"BatchMaxAgents": "batch-max-agents", "RegisterMaxAgents": "batch-max-agents", "Confirmations": "confirmations", "ConfirmTag": "confirm-tag",
	"PollInterval": "poll-interval", "MaxBackoff": "max-backoff", "RPCTimeout": "rpc-timeout",
	"MaxInFlight": "max-in-flight", "ResubmitTimeout": "resubmit-timeout", "FeeBumpPercent": "fee-bump-percent",
	"MaxFeePerGas": "max-fee-per-gas", "MinTipCap": "min-tip", "GasMarginPercent": "gas-margin-percent",
}

// RegisterFlags defines the chainwriter's flags.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	d := writer.Default()
	fs.StringVar(&c.DatabaseURL, "database-url", "postgres://postgres@127.0.0.1:5432/pbts?sslmode=disable", "Postgres connection string (secret)")
	fs.StringVar(&c.RPCURL, "rpc-url", "http://127.0.0.1:8545", "Ethereum JSON-RPC endpoint, http(s) (may embed an API key: not logged)")
	fs.StringVar(&c.Contract, "tracker-contract", "", "ReputationTracker contract address (required)")
	fs.StringVar(&c.Factory, "factory", "", "the RepFactory that deployed the contract, shown in the chain status (optional)")
	fs.Uint64Var(&c.ChainID, "chain-id", 0, "expected chain id of the endpoint (0: accept the endpoint's)")
	fs.StringVar(&c.KeyFile, "chainwriter-key-file", "", "file holding the tracker authority's hex private key (else $"+KeyEnv+")")
	fs.IntVar(&c.BatchMaxReceipts, "batch-max-receipts", d.BatchMaxReceipts, "most receipts in one settle batch")
	fs.DurationVar(&c.BatchMaxAge, "batch-max-age", d.BatchMaxAge, "a partial batch is cut once its oldest receipt waited this long")
	fs.IntVar(&c.BatchMaxAgents, "batch-max-agents", d.BatchMaxAgents, "most agents in one settle or registerBatch call (contract limit 256)")
	fs.Uint64Var(&c.Confirmations, "confirmations", d.Confirmations, "blocks (including the one that includes it) before a transaction's effects are recorded")
	fs.StringVar(&c.ConfirmTag, "confirm-tag", d.ConfirmTag, "also wait until the block is at or below the chain's safe or finalized block (\"\": depth only; use on chains that have the tags)")
	fs.DurationVar(&c.PollInterval, "poll-interval", d.PollInterval, "period of the writer loop")
	fs.DurationVar(&c.MaxBackoff, "max-backoff", d.MaxBackoff, "longest retry delay while the chain or database is down")
	fs.DurationVar(&c.RPCTimeout, "rpc-timeout", d.RPCTimeout, "timeout of each chain call")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", d.MaxInFlight, "transactions signed and not yet final at most (consecutive nonces)")
	fs.DurationVar(&c.ResubmitTimeout, "resubmit-timeout", d.ResubmitTimeout, "a transaction not included after this long is replaced with higher fees")
	fs.Float64Var(&c.FeeBumpPercent, "fee-bump-percent", d.FeeBumpPercent, "fee increase of a replacement, percent (at least 10)")
	fs.StringVar(&c.MaxFeePerGas, "max-fee-per-gas", "500gwei", "cap on the fee per gas a transaction may offer (wei, or with a gwei/ether suffix)")
	fs.StringVar(&c.MinTip, "min-tip", "1wei", "least priority fee per gas offered (wei, or with a gwei/ether suffix)")
	fs.Float64Var(&c.GasMarginPercent, "gas-margin-percent", d.GasMarginPercent, fmt.Sprintf("gas limit = eth_estimateGas's answer plus this percentage plus %d (only gas used is paid)", writer.GasMarginFixed))
	fs.DurationVar(&c.LeaderRetry, "leader-retry", time.Second, "one chainwriter per contract and chain writes, elected by a Postgres advisory lock: "+
		"a standby tries to take the lock this often, the leader checks it as often (a standby reports NOT_SERVING, its read-only RPCs still answer)")
}

// LogValue shows the settings without secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("rpc_url", redactURL(c.RPCURL)), slog.String("tracker_contract", c.Contract), slog.String("factory", c.Factory),
		slog.Uint64("chain_id", c.ChainID), slog.String("chainwriter_key_file", c.KeyFile),
		slog.Int("batch_max_receipts", c.BatchMaxReceipts), slog.Duration("batch_max_age", c.BatchMaxAge),
		slog.Int("batch_max_agents", c.BatchMaxAgents), slog.Uint64("confirmations", c.Confirmations), slog.String("confirm_tag", c.ConfirmTag),
		slog.Duration("poll_interval", c.PollInterval), slog.Duration("max_backoff", c.MaxBackoff),
		slog.Duration("rpc_timeout", c.RPCTimeout), slog.Int("max_in_flight", c.MaxInFlight),
		slog.Duration("resubmit_timeout", c.ResubmitTimeout), slog.Float64("fee_bump_percent", c.FeeBumpPercent),
		slog.String("max_fee_per_gas", c.MaxFeePerGas), slog.String("min_tip", c.MinTip),
		slog.Float64("gas_margin_percent", c.GasMarginPercent),
		slog.Duration("leader_retry", c.LeaderRetry),
	)
}

// redactURL keeps scheme and host: paths and queries often carry API keys.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "(unparsable)"
	}
	return u.Scheme + "://" + u.Host
}

// ParseWei reads an amount: an integer number of wei, or a decimal followed
// by wei, gwei or ether.
func ParseWei(s string) (*big.Int, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	unit := big.NewRat(1, 1)
	for _, u := range []struct {
		suffix string
		exp    int64
	}{{"gwei", 9}, {"ether", 18}, {"wei", 0}} {
		if strings.HasSuffix(s, u.suffix) {
			s = strings.TrimSpace(strings.TrimSuffix(s, u.suffix))
			unit.SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(u.exp), nil))
			break
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || r.Sign() < 0 || s == "" {
		return nil, fmt.Errorf("want a non-negative amount such as 500gwei, got %q", s)
	}
	r.Mul(r, unit)
	if !r.IsInt() {
		return nil, fmt.Errorf("%q is not a whole number of wei", s)
	}
	return new(big.Int).Set(r.Num()), nil
}

// bad names the setting's environment variable.
func bad(flagName string, err error) error {
	return fmt.Errorf("invalid %s: %w", server.EnvName(flagName), err)
}

// writerConfig validates the settings and builds the writer's.
func (c *Config) writerConfig() (writer.Config, error) {
	w := writer.Default()
	if !common.IsHexAddress(c.Contract) || common.HexToAddress(c.Contract) == (common.Address{}) {
		return w, bad("tracker-contract", fmt.Errorf("want the ReputationTracker's 0x address, got %q", c.Contract))
	}
	if c.Factory != "" {
		if !common.IsHexAddress(c.Factory) || common.HexToAddress(c.Factory) == (common.Address{}) {
			return w, bad("factory", fmt.Errorf("want the RepFactory's 0x address, got %q", c.Factory))
		}
		w.Factory = common.HexToAddress(c.Factory)
	}
	u, err := url.Parse(c.RPCURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return w, bad("rpc-url", errors.New("want an http(s) JSON-RPC URL (not shown: it may hold an API key)"))
	}
	if _, err := pgxpool.ParseConfig(c.DatabaseURL); err != nil {
		return w, bad("database-url", errors.New("not a valid connection string (not shown)"))
	}
	if c.LeaderRetry < 10*time.Millisecond || c.LeaderRetry > time.Minute {
		return w, bad("leader-retry", fmt.Errorf("want 10ms to 1m, got %v", c.LeaderRetry))
	}
	maxFee, err := ParseWei(c.MaxFeePerGas)
	if err != nil {
		return w, bad("max-fee-per-gas", err)
	}
	minTip, err := ParseWei(c.MinTip)
	if err != nil {
		return w, bad("min-tip", err)
	}
	w.Contract, w.ChainID = common.HexToAddress(c.Contract), c.ChainID
	w.BatchMaxReceipts, w.BatchMaxAge = c.BatchMaxReceipts, c.BatchMaxAge
	w.BatchMaxAgents, w.RegisterMaxAgents = c.BatchMaxAgents, c.BatchMaxAgents
	w.ConfirmTag = c.ConfirmTag
	w.Confirmations, w.PollInterval, w.MaxBackoff, w.RPCTimeout = c.Confirmations, c.PollInterval, c.MaxBackoff, c.RPCTimeout
	w.MaxInFlight, w.ResubmitTimeout, w.FeeBumpPercent = c.MaxInFlight, c.ResubmitTimeout, c.FeeBumpPercent
	w.MaxFeePerGas, w.MinTipCap, w.GasMarginPercent = maxFee, minTip, c.GasMarginPercent
	if err := w.Validate(); err != nil {
		var fe *writer.FieldError
		if errors.As(err, &fe) {
			return w, bad(flagOf[fe.Field], fe.Err)
		}
		return w, err
	}
	return w, nil
}

// LoadKey reads the signer's key from the file, else from KeyEnv (which it
// then removes from the environment). Errors never quote the key.
func LoadKey(file string) (*ecdsa.PrivateKey, []string, error) {
	envKey, envSet := os.LookupEnv(KeyEnv)
	os.Unsetenv(KeyEnv)
	var (
		hexKey   string
		source   string
		warnings []string
	)
	switch {
	case file != "" && envSet:
		return nil, nil, fmt.Errorf("set only one of %s and %s", server.EnvName("chainwriter-key-file"), KeyEnv)
	case file != "":
		st, err := os.Stat(file)
		if err != nil {
			return nil, nil, bad("chainwriter-key-file", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			warnings = append(warnings, fmt.Sprintf("key file %s is readable by group or others (mode %v)", file, st.Mode().Perm()))
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, nil, bad("chainwriter-key-file", err)
		}
		hexKey, source = string(b), server.EnvName("chainwriter-key-file")
	case envSet:
		hexKey, source = envKey, KeyEnv
	default:
		return nil, nil, fmt.Errorf("no signing key: set %s (a file holding the hex private key) or %s",
			server.EnvName("chainwriter-key-file"), KeyEnv)
	}
	hexKey = strings.TrimPrefix(strings.TrimSpace(hexKey), "0x")
	key, err := crypto.HexToECDSA(hexKey)
	if err != nil {
		return nil, nil, fmt.Errorf("invalid %s: not a 32-byte hex secp256k1 private key (not shown)", source)
	}
	return key, warnings, nil
}

// Setup validates the configuration, builds the writer and its gRPC service
// on srv, and returns the background work: migrations (retried while the
// database is down), then the leader election (internal/leader), which runs
// the writer loop while this process holds the writer lock. The service
// reports NOT_SERVING under its name until the writer settles, and whenever
// it cannot, including while another chainwriter leads. The read-only RPCs
// (GetChainStatus, ListBatches) answer on a standby too: from the database,
// with the chain figures of its last term and the standby as the problem.
func (c *Config) Setup(ctx context.Context, srv *server.Server, log *slog.Logger) (func(context.Context) error, error) {
	wcfg, err := c.writerConfig()
	if err != nil {
		return nil, err
	}
	key, warnings, err := LoadKey(c.KeyFile)
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		log.Warn(w)
	}
	log.Info("chainwriter config", "config", *c, "signer", crypto.PubkeyToAddress(key.PublicKey))

	pool, err := pgxpool.New(ctx, c.DatabaseURL) // connects lazily
	if err != nil {
		return nil, bad("database-url", errors.New("not usable (not shown)"))
	}
	eth, err := ethclient.DialContext(ctx, c.RPCURL) // http: no connection yet
	if err != nil {
		pool.Close()
		return nil, bad("rpc-url", errors.New("cannot create a client (not shown)"))
	}
	st := store.New(&database.DB{Pool: pool})
	health := srv.Health()
	health.SetServingStatus(service.Name, healthpb.HealthCheckResponse_NOT_SERVING)
	setHealth := func(ok bool) {
		s := healthpb.HealthCheckResponse_NOT_SERVING
		if ok {
			s = healthpb.HealthCheckResponse_SERVING
		}
		health.SetServingStatus(service.Name, s)
	}
	w, err := writer.New(wcfg, st, eth, key, writer.NewMetrics(srv.Registry()), log, setHealth)
	if err != nil {
		pool.Close()
		eth.Close()
		return nil, err
	}
	service.New(st, w, log).Register(srv.GRPC())

	return func(ctx context.Context) error {
		defer pool.Close()
		defer eth.Close()
		database.MigrateUntilDone(ctx, c.DatabaseURL, log)
		if ctx.Err() != nil {
			return nil
		}
		key, ok := c.lockKey(ctx, wcfg.Contract, eth, w, log)
		if !ok {
			return nil
		}
		log.Info("leader: campaigning", "lock_key", fmt.Sprintf("%#016x", uint64(key)), "retry", c.LeaderRetry)
		leader.Run(ctx, leader.Config{
			Retry: c.LeaderRetry, Timeout: wcfg.RPCTimeout, Log: log,
			Acquire: func(ctx context.Context) (leader.Lease, error) {
				l, err := st.TryLock(ctx, key)
				if errors.Is(err, store.ErrLocked) {
					return nil, fmt.Errorf("%w: %w", leader.ErrHeld, err)
				}
				if err != nil {
					return nil, err
				}
				log.Debug("writer lock taken", "lock_key", fmt.Sprintf("%#016x", uint64(key)), "session_pid", l.PID())
				return l, nil
			},
			Lead: func(ctx context.Context, l leader.Lease) {
				if err := w.Run(ctx, l); err != nil {
					log.Warn("writer stopped", "err", err)
				}
			},
			Follow: w.Standby,
		})
		return nil
	}, nil
}

// lockKey is the writer lock's key, store.LockKey(chain id, contract). The
// chain id is --chain-id, or when that is 0 the endpoint's, asked for (every
// --leader-retry) until it answers: replicas configured with and without
// --chain-id must take the same lock. ok is false when ctx ended first.
func (c *Config) lockKey(ctx context.Context, contract common.Address, eth *ethclient.Client, w *writer.Writer, log *slog.Logger) (key int64, ok bool) {
	id := c.ChainID
	for logged := false; id == 0; {
		cctx, cancel := context.WithTimeout(ctx, c.RPCTimeout)
		got, err := eth.ChainID(cctx)
		cancel()
		if err == nil && got.IsUint64() && got.Uint64() != 0 {
			id = got.Uint64()
			break
		}
		if ctx.Err() != nil {
			return 0, false
		}
		if !logged {
			log.Warn("leader: waiting for the chain endpoint (its chain id names the writer lock; set --chain-id to skip)", "err", err)
			logged = true
		}
		w.Standby(writer.ProblemUnreachable)
		select {
		case <-ctx.Done():
			return 0, false
		case <-time.After(c.LeaderRetry):
		}
	}
	return store.LockKey(id, contract), true
}
