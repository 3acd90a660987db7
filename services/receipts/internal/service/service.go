// Package service is the receipts service: the ReceiptService gRPC handlers
// over the verifier, the ledger and the watch hub, and its lifecycle (a
// database connection retried in the background, health, metrics, pprof,
// graceful stop).
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/pbts/pbts/database"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/server"
	"github.com/pbts/pbts/services/receipts/internal/ledger"
	"github.com/pbts/pbts/services/receipts/internal/limit"
	"github.com/pbts/pbts/services/receipts/internal/verifier"
	"github.com/pbts/pbts/services/receipts/internal/watch"
)

// HealthName is the health service name whose status follows the database.
var HealthName = pbtsv1.ReceiptService_ServiceDesc.ServiceName

// Service implements pbtsv1.ReceiptServiceServer.
type Service struct {
	pbtsv1.UnimplementedReceiptServiceServer

	cfg    Config
	log    *slog.Logger
	domain receipt.Domain
	ver    *verifier.Verifier
	// SubmitReceipts' token buckets (limitSubmit).
	byAddr  *limit.Keyed[netip.Addr]
	byAgent *limit.Keyed[common.Address]
	hub     *watch.Hub[*pbtsv1.WatchReceiptsResponse]
	met     *metrics
	store   atomic.Pointer[ledger.Store]
	trees   treeCache
	stats   statsCache
	health  func(serving bool)
	now     func() time.Time
}

// Options are the service's collaborators.
type Options struct {
	Log      *slog.Logger
	Registry prometheus.Registerer
	// Health is told whether the service can serve (database reachable).
	Health func(serving bool)
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

// New validates cfg and builds the service; Run connects it.
func New(cfg Config, opt Options) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Health == nil {
		opt.Health = func(bool) {}
	}
	if opt.Registry == nil {
		opt.Registry = prometheus.NewRegistry()
	}
	s := &Service{
		cfg:    cfg,
		log:    opt.Log,
		domain: cfg.Domain(),
		hub: watch.NewHub[*pbtsv1.WatchReceiptsResponse](cfg.WatchBuffer, watch.Limits{
			Total: cfg.MaxWatchers, PerClient: cfg.MaxWatchersPerAddress, PerAgent: cfg.MaxWatchersPerAgent,
		}),
		health:  opt.Health,
		now:     opt.Now,
		byAddr:  limit.New[netip.Addr](cfg.SubmitRatePerAddress, cfg.SubmitBurstPerAddress, cfg.RateLimitKeys),
		byAgent: limit.New[common.Address](cfg.SubmitRatePerAgent, cfg.SubmitBurstPerAgent, cfg.RateLimitKeys),
	}
	s.ver = verifier.New(verifier.Config{
		Domain: s.domain, Window: cfg.TimestampWindow, Workers: cfg.VerifyWorkers, Now: opt.Now,
	}, verifier.NewCache(verifier.CacheLimits{
		Agents: cfg.CacheAgents, Members: cfg.CacheMembers, DatasetBytes: int64(cfg.CacheDatasetMB) << 20,
		Negatives: cfg.CacheNegatives, NegativeTTL: cfg.CacheNegativeTTL,
	}))
	s.met = newMetrics(opt.Registry,
		func() float64 { return float64(s.hub.Subscribers()) },
		func() float64 { return float64(s.hub.Dropped()) },
		func() float64 { return float64(s.ver.Recoveries()) })
	s.health(false)
	return s, nil
}

// Register registers the handlers on srv.
func (s *Service) Register(srv *grpc.Server) { pbtsv1.RegisterReceiptServiceServer(srv, s) }

// Setup is server.Service.Setup for the receipts command.
func Setup(cfg *Config) func(ctx context.Context, srv *server.Server, log *slog.Logger) (func(context.Context) error, error) {
	return func(ctx context.Context, srv *server.Server, log *slog.Logger) (func(context.Context) error, error) {
		s, err := New(*cfg, Options{
			Log:      log,
			Registry: srv.Registry(),
			Health: func(ok bool) {
				st := healthpb.HealthCheckResponse_NOT_SERVING
				if ok {
					st = healthpb.HealthCheckResponse_SERVING
				}
				srv.Health().SetServingStatus(HealthName, st)
			},
		})
		if err != nil {
			return nil, err
		}
		log.Info("receipts configuration", "config", *cfg)
		s.Register(srv.GRPC())
		return s.Run, nil
	}
}

// Run connects to the database (retrying in the background until it
// answers: RPCs answer UNAVAILABLE meanwhile), watches its health, and on
// ctx's end ends the watch streams, waits for in-flight requests and closes
// the pool. It fails only on a setting the database refuses for good (a
// database holding another receipt domain).
func (s *Service) Run(ctx context.Context) error {
	// Watch streams never end on their own: end them first so that the gRPC
	// server's graceful stop does not wait for them.
	defer s.ver.Close()
	defer s.hub.Close()

	pool, err := s.connect(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	s.store.Store(ledger.New(pool, ledger.Options{Writers: s.cfg.DBWriters, Quota: s.cfg.quota}))
	s.met.dbUp.Set(1)
	s.health(true)
	s.log.Info("database ready")

	s.monitor(ctx, pool)

	s.hub.Close()
	s.health(false)
	pool.Close() // waits for the connections in use
	return nil
}

func (s *Service) connect(ctx context.Context) (*pgxpool.Pool, error) {
	backoff := 250 * time.Millisecond
	for {
		pool, err := s.open(ctx)
		if err == nil {
			return pool, nil
		}
		if errors.Is(err, ledger.ErrDomainMismatch) || ctx.Err() != nil {
			return nil, err
		}
		s.log.Warn("database not ready; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 15*time.Second)
	}
}

func (s *Service) open(ctx context.Context) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(s.cfg.DatabaseURL)
	if err != nil {
		return nil, errors.New("database url cannot be parsed")
	}
	pc.MaxConns = int32(s.cfg.DBMaxConns)
	rp := pc.ConnConfig.RuntimeParams
	if _, ok := rp["application_name"]; !ok {
		rp["application_name"] = "pbts-receipts"
	}
	// Batch statements are planned per execution; JIT compiling them costs
	// more than it saves.
	if _, ok := rp["jit"]; !ok {
		rp["jit"] = "off"
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("connect database: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping database %s:%d/%s: %w", pc.ConnConfig.Host, pc.ConnConfig.Port, pc.ConnConfig.Database, err)
	}
	if s.cfg.Migrate {
		if err := database.Migrate(ctx, s.cfg.DatabaseURL, database.Migrations(), s.log); err != nil {
			pool.Close()
			return nil, err
		}
	}
	if err := ledger.New(pool, ledger.Options{}).ClaimDomain(ctx, s.domain); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// monitor pings the database until ctx ends and reports its health.
func (s *Service) monitor(ctx context.Context, pool *pgxpool.Pool) {
	up := true
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := pool.Ping(pctx)
		cancel()
		if ok := err == nil; ok != up && ctx.Err() == nil {
			up = ok
			s.health(ok)
			if ok {
				s.met.dbUp.Set(1)
				s.log.Info("database reachable again")
			} else {
				s.met.dbUp.Set(0)
				s.log.Warn("database unreachable", "err", err)
			}
		}
	}
}

// ledger returns the store, or nil before the database is ready.
func (s *Service) ledger() *ledger.Store { return s.store.Load() }
