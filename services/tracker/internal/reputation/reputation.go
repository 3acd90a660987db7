// Package reputation gives the tracker an agent's figures as DESIGN.md step
// 4 defines them: settled bytes plus verified but unsettled bytes.
//
// Both come from the suite's database in one snapshot (Standings, migration
// 00005): what registration granted (base), the bytes of settled batches and
// those of pending receipts. A batch settling moves its bytes from pending
// to settled in one database transaction, so the sum never drops while it
// settles. Only for an agent whose base is not recorded (registered while
// the chain was unreachable, or before that migration, until the chainwriter
// fills it in) are the settled figures read from the ReputationTracker
// contract (cached, and kept fresh from the contract's events).
//
// It fails closed: when a figure was never fetched and its source is down,
// Figures returns an error (the gate then refuses with "try again" rather
// than letting an unknown agent leech); a stale cached figure is used while
// its source is down.
package reputation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/pbts/pbts/chain"
	"github.com/pbts/pbts/contracts/bindings"
	"github.com/pbts/pbts/services/tracker/internal/registry"
	"github.com/pbts/pbts/services/tracker/internal/store"
)

// Backend is the chain access Source needs (an *ethclient.Client has it).
type Backend interface {
	bind.ContractBackend
	BlockNumber(ctx context.Context) (uint64, error)
}

// Standings reads and records what the database holds of an agent's
// figures (the tracker's store).
type Standings interface {
	AgentStanding(ctx context.Context, agent common.Address) (store.Standing, error)
	SetExpectedBase(ctx context.Context, agent common.Address, up, down uint64) error
}

// Config tunes the caches.
type Config struct {
	// Tracker is the ReputationTracker contract.
	Tracker common.Address
	// SettledTTL bounds how long a settled figure is trusted without an
	// event (events refresh it sooner).
	SettledTTL time.Duration
	// PendingTTL bounds how stale a standing read from the database may be.
	PendingTTL time.Duration
	// PollInterval is how often contract events are fetched.
	PollInterval time.Duration
	// CallTimeout bounds each chain or receipts call.
	CallTimeout time.Duration
}

func (c *Config) defaults() {
	if c.SettledTTL == 0 {
		c.SettledTTL = time.Minute
	}
	if c.PendingTTL == 0 {
		c.PendingTTL = time.Second
	}
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = 3 * time.Second
	}
}

type settled struct {
	up, down uint64
	known    bool
	at       time.Time
}

type standing struct {
	store.Standing
	at time.Time
}

// Source implements registry.Reputation.
type Source struct {
	cfg     Config
	backend Backend
	db      Standings
	log     *slog.Logger
	now     func() time.Time

	mu      sync.Mutex
	settled map[common.Address]settled
	pending map[common.Address]standing
	credit  *uint64 // the contract's initialCredit, read once
	// lastBlock is the last block whose events were applied.
	lastBlock uint64
}

// New returns a Source. Run keeps its chain cache fed from contract events.
func New(cfg Config, backend Backend, db Standings, log *slog.Logger) *Source {
	cfg.defaults()
	return &Source{
		cfg: cfg, backend: backend, db: db, log: log, now: time.Now,
		settled: make(map[common.Address]settled),
		pending: make(map[common.Address]standing),
	}
}

var _ registry.Reputation = (*Source)(nil)

// ErrUnavailable wraps a source failure with no cached figure to fall back on.
var ErrUnavailable = errors.New("reputation unavailable")

// Figures returns the agent's settled and pending figures. An agent not yet
// known on chain (its registration is queued) is given what registration
// will grant (recorded when it registered; else the contract's initial
// credit, or its figures up the referrer chain) as settled upload.
func (s *Source) Figures(ctx context.Context, agent common.Address) (registry.Figures, error) {
	st, err := s.standing(ctx, agent)
	if err != nil {
		return registry.Figures{}, err
	}
	if st.BaseKnown {
		return registry.Figures{
			SettledUpload:   satAdd(st.BaseUpload, st.SettledUpload),
			SettledDownload: satAdd(st.BaseDownload, st.SettledDownload),
			PendingUpload:   st.PendingUpload, PendingDownload: st.PendingDownload,
			OnChain: st.BaseConfirmed, Earned: satAdd(st.SettledUpload, st.PendingUpload),
		}, nil
	}
	up, down, known, err := s.chainBase(ctx, agent)
	if err != nil {
		return registry.Figures{}, err
	}
	return registry.Figures{SettledUpload: up, SettledDownload: down, PendingUpload: st.PendingUpload,
		PendingDownload: st.PendingDownload, OnChain: known, Earned: satAdd(st.SettledUpload, st.PendingUpload)}, nil
}

// chainBase is the agent's settled figures on chain, or what registration
// grants an agent the chain does not know (the initial credit).
func (s *Source) chainBase(ctx context.Context, agent common.Address) (up, down uint64, known bool, err error) {
	c, err := s.settledFigures(ctx, agent)
	if err != nil {
		return 0, 0, false, err
	}
	if c.known {
		return c.up, c.down, true, nil
	}
	credit, err := s.initialCredit(ctx)
	return credit, 0, false, err
}

// ExpectBase records, for an agent that has just registered, what its
// registration will grant: its figures up the referrer chain if a tracker
// there knows it, else the initial credit. From then on its figures come
// from the database alone (the chainwriter replaces this with what the
// registration did grant once it is confirmed).
func (s *Source) ExpectBase(ctx context.Context, agent common.Address) error {
	up, down, _, err := s.chainBase(ctx, agent)
	if err != nil {
		return err
	}
	if err := s.db.SetExpectedBase(ctx, agent, up, down); err != nil {
		return err
	}
	s.Invalidate(agent)
	return nil
}

func satAdd(a, b uint64) uint64 {
	if a+b < a {
		return ^uint64(0)
	}
	return a + b
}

func (s *Source) settledFigures(ctx context.Context, agent common.Address) (settled, error) {
	now := s.now()
	s.mu.Lock()
	c, ok := s.settled[agent]
	s.mu.Unlock()
	if ok && now.Sub(c.at) < s.cfg.SettledTTL {
		return c, nil
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	r, err := chain.ReadReputation(cctx, s.backend, s.cfg.Tracker, agent)
	if err != nil {
		if ok {
			s.log.Warn("chain read failed; using cached reputation", "agent", agent, "age", now.Sub(c.at), "err", err)
			return c, nil
		}
		return settled{}, fmt.Errorf("%w: settled figures: %v", ErrUnavailable, err)
	}
	c = settled{up: r.Upload, down: r.Download, known: r.Known, at: now}
	s.mu.Lock()
	// An event may have landed meanwhile with newer figures; keep the newer.
	if old, ok := s.settled[agent]; !ok || !old.at.After(now) {
		s.settled[agent] = c
	}
	s.mu.Unlock()
	return c, nil
}

// standing reads the agent's standing from the database (cached for
// PendingTTL; a stale one is used while the database is down).
func (s *Source) standing(ctx context.Context, agent common.Address) (store.Standing, error) {
	now := s.now()
	s.mu.Lock()
	c, ok := s.pending[agent]
	s.mu.Unlock()
	if ok && now.Sub(c.at) < s.cfg.PendingTTL {
		return c.Standing, nil
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	st, err := s.db.AgentStanding(cctx, agent)
	if err != nil {
		if ok {
			s.log.Warn("standing read failed; using cached", "agent", agent, "age", now.Sub(c.at), "err", err)
			return c.Standing, nil
		}
		return store.Standing{}, fmt.Errorf("%w: standing: %v", ErrUnavailable, err)
	}
	s.mu.Lock()
	s.pending[agent] = standing{Standing: st, at: now}
	s.mu.Unlock()
	return st, nil
}

var trackerABI = bindings.NewReputationTracker()

func (s *Source) initialCredit(ctx context.Context) (uint64, error) {
	s.mu.Lock()
	c := s.credit
	s.mu.Unlock()
	if c != nil {
		return *c, nil
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	v, err := bind.Call(trackerABI.Instance(s.backend, s.cfg.Tracker), &bind.CallOpts{Context: cctx},
		trackerABI.PackInitialCredit(), trackerABI.UnpackInitialCredit)
	if err != nil {
		return 0, fmt.Errorf("%w: initialCredit: %v", ErrUnavailable, err)
	}
	if !v.IsUint64() {
		return 0, errors.New("initial credit exceeds 64 bits")
	}
	credit := v.Uint64()
	s.mu.Lock()
	s.credit = &credit
	s.mu.Unlock()
	return credit, nil
}

// Invalidate drops an agent's cached pending figures (e.g. after the
// tracker learns of new receipts) so the next Figures call refetches.
func (s *Source) Invalidate(agent common.Address) {
	s.mu.Lock()
	delete(s.pending, agent)
	s.mu.Unlock()
}

var (
	evReputationUpdated = trackerABI.GetABI().Events[bindings.ReputationTrackerReputationUpdatedEventName].ID
	evAgentRegistered   = trackerABI.GetABI().Events[bindings.ReputationTrackerAgentRegisteredEventName].ID
	evAgentImported     = trackerABI.GetABI().Events[bindings.ReputationTrackerAgentImportedEventName].ID
)

// maxLogRange bounds one eth_getLogs request.
const maxLogRange = 5000

// Run applies the contract's events to the settled cache until ctx ends.
// It starts at the current head (older figures are read on demand) and
// keeps going through chain outages.
func (s *Source) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	started := false
	for {
		if err := s.poll(ctx, &started); err != nil && ctx.Err() == nil {
			s.log.Debug("reputation event poll failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *Source) poll(ctx context.Context, started *bool) error {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	head, err := s.backend.BlockNumber(cctx)
	if err != nil {
		return err
	}
	if !*started {
		s.lastBlock, *started = head, true
		// Figures cached before this point may predate events we skip.
		s.mu.Lock()
		clear(s.settled)
		s.mu.Unlock()
		return nil
	}
	for s.lastBlock < head {
		from, to := s.lastBlock+1, min(head, s.lastBlock+maxLogRange)
		logs, err := s.backend.FilterLogs(cctx, ethereum.FilterQuery{
			FromBlock: new(big.Int).SetUint64(from),
			ToBlock:   new(big.Int).SetUint64(to),
			Addresses: []common.Address{s.cfg.Tracker},
			Topics:    [][]common.Hash{{evReputationUpdated, evAgentRegistered, evAgentImported}},
		})
		if err != nil {
			return err
		}
		s.apply(logs)
		s.lastBlock = to
	}
	return nil
}

// apply writes event figures into the settled cache (logs are in chain
// order, so the last one for an agent wins).
func (s *Source) apply(logs []types.Log) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range logs {
		l := &logs[i]
		if l.Removed || len(l.Topics) == 0 {
			continue
		}
		var agent common.Address
		var up, down *big.Int
		switch l.Topics[0] {
		case evReputationUpdated:
			ev, err := trackerABI.UnpackReputationUpdatedEvent(l)
			if err != nil {
				continue
			}
			agent, up, down = ev.Agent, ev.UploadBytes, ev.DownloadBytes
		case evAgentRegistered:
			ev, err := trackerABI.UnpackAgentRegisteredEvent(l)
			if err != nil {
				continue
			}
			agent, up, down = ev.Agent, ev.InitialCredit, new(big.Int)
		case evAgentImported:
			ev, err := trackerABI.UnpackAgentImportedEvent(l)
			if err != nil {
				continue
			}
			agent, up, down = ev.Agent, ev.UploadBytes, ev.DownloadBytes
		default:
			continue
		}
		if !up.IsUint64() || !down.IsUint64() {
			continue
		}
		s.settled[agent] = settled{up: up.Uint64(), down: down.Uint64(), known: true, at: now}
		// Settlement moved bytes from pending to settled: refetch pending.
		delete(s.pending, agent)
	}
}
