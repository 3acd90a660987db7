// Package writer is the chainwriter's engine: a transaction manager in the
// op-service/txmgr mould whose journal lives in Postgres, and the two
// producers that feed it, registrations (registerBatch) and settlement
// batches (settle).
//
// One loop does everything, in this order each poll:
//
//  1. observe the chain (head, the signer's nonce, lastBatchId, balance);
//  2. monitor every live transaction: find which signed version was included,
//     confirm it at depth (recording its effects in the same database
//     transaction), detect reorgs, bump the fees of a stuck one, rebroadcast
//     ones a node may have lost, and resolve nonces used by something else;
//  3. send pending registrations;
//  4. send recorded batches that have no live transaction (in id order), then
//     cut a new batch when one is due and send it.
//
// Every transaction is signed with a nonce from Postgres and stored (raw)
// before it is broadcast; a restart rebroadcasts the stored versions. A batch
// is recorded (receipts assigned, root fixed) before anything is signed, and
// the contract accepts each batch id once, in order: so each receipt is
// counted once on chain whatever crashes, retries or replacements happen.
package writer

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/pbts/pbts/contracts/bindings"
	"github.com/pbts/pbts/database"
	"github.com/pbts/pbts/services/chainwriter/internal/store"
)

// Backend is the part of an Ethereum JSON-RPC client the writer uses
// (*ethclient.Client implements it).
type Backend interface {
	ChainID(ctx context.Context) (*big.Int, error)
	BlockNumber(ctx context.Context) (uint64, error)
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
	NonceAt(ctx context.Context, account common.Address, blockNumber *big.Int) (uint64, error)
	BalanceAt(ctx context.Context, account common.Address, blockNumber *big.Int) (*big.Int, error)
	SuggestGasTipCap(ctx context.Context) (*big.Int, error)
	SendTransaction(ctx context.Context, tx *types.Transaction) error
	TransactionReceipt(ctx context.Context, txHash common.Hash) (*types.Receipt, error)
	TransactionByHash(ctx context.Context, hash common.Hash) (tx *types.Transaction, isPending bool, err error)
	CallContract(ctx context.Context, call ethereum.CallMsg, blockNumber *big.Int) ([]byte, error)
	EstimateGas(ctx context.Context, call ethereum.CallMsg) (uint64, error)
	FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error)
}

// Lease is the writer lock this process holds for the current term (a
// *store.Lock taken by internal/leader). The writer checks it at the start
// of every poll and right before every broadcast, and stops when it fails.
type Lease interface {
	Check(ctx context.Context) error
}

// ErrLeaseLost is what Run returns when a check of its lease failed.
var ErrLeaseLost = errors.New("writer lock lost")

// Status is the writer's last view of the chain, for GetChainStatus.
type Status struct {
	ChainID          uint64
	Contract, Signer common.Address
	Balance          *big.Int
	// ChainNonce is the signer's nonce in the latest block.
	ChainNonce       uint64
	Head             uint64
	LastBatchOnChain uint64
	Reachable        bool
	ObservedAt       time.Time
	Confirmations    uint64
	// Problem is why the writer is not settling ("" while healthy).
	Problem string
	// Factory is the configured RepFactory (zero when not named).
	Factory common.Address
	// Referrers is the contract's referrer chain, nearest first, and
	// InitialCredit its initialCredit(): both immutable, read once when the
	// writer binds to the contract.
	Referrers     []common.Address
	InitialCredit uint64
}

// Writer drains registrations and receipts onto the chain.
type Writer struct {
	cfg    Config
	st     *store.Store
	be     Backend
	key    *ecdsa.PrivateKey
	signer common.Address
	log    *slog.Logger
	m      *Metrics
	health func(serving bool)
	abi    *bindings.ReputationTracker

	// Loop state, touched by the loop goroutine only (Begin, Run, Step, End
	// and Standby are not called concurrently).
	lease          Lease
	binding        *store.Binding
	chainID        *big.Int
	txSigner       types.Signer
	obs            observation
	dirty          bool                         // refresh the observation next poll
	sent           map[common.Hash]time.Time    // versions this process broadcast, when
	consumed       map[int64]time.Time          // tx id -> when its nonce was first seen used without a receipt of ours
	forceBump      map[int64]bool               // tx id -> replace at once (underpriced, fee too low)
	noBumpUntil    map[int64]time.Time          // tx id -> at the fee cap: no bump before
	goneChecked    map[int64]time.Time          // tx id -> when the node was last asked whether it still has it
	gone           map[common.Hash]int          // version -> times the node was found without it
	rejected       map[int64]int                // tx id -> versions the node refused outright (this term)
	resign         map[int64]bool               // tx id -> the node refused the version: sign a new one
	noBase         map[common.Address]time.Time // agent -> no registration event found; look again after
	hold           map[uint64]time.Time         // batch id -> do not send before
	reorgSeen      time.Time                    // when the chain was first seen behind what was recorded
	holdRegister   time.Time                    // no registerBatch before (its estimate reverted)
	fundsLow       bool
	backlogAt      time.Time
	healthy        *bool
	lastProblem    string
	lastProblemLog time.Time

	mu     sync.Mutex
	status Status
}

type observation struct {
	head      uint64
	nonce     uint64 // the signer's nonce in the latest block
	lastBatch uint64 // lastBatchId()
	balance   *big.Int
	baseFee   *big.Int
	gasLimit  uint64 // the latest block's gas limit
	tagBlock  uint64 // the ConfirmTag block's number (when one is configured)
	at        time.Time
}

// New builds a writer; Run starts it. health is told whether the writer is
// settling (it may be nil).
func New(cfg Config, st *store.Store, be Backend, key *ecdsa.PrivateKey, m *Metrics, log *slog.Logger, health func(bool)) (*Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	if health == nil {
		health = func(bool) {}
	}
	signer := crypto.PubkeyToAddress(key.PublicKey)
	w := &Writer{
		cfg: cfg, st: st, be: be, key: key, signer: signer, log: log, m: m, health: health,
		abi:         bindings.NewReputationTracker(),
		sent:        map[common.Hash]time.Time{},
		consumed:    map[int64]time.Time{},
		forceBump:   map[int64]bool{},
		noBumpUntil: map[int64]time.Time{},
		goneChecked: map[int64]time.Time{},
		gone:        map[common.Hash]int{},
		rejected:    map[int64]int{},
		resign:      map[int64]bool{},
		noBase:      map[common.Address]time.Time{},
		hold:        map[uint64]time.Time{},
	}
	w.status = Status{Contract: cfg.Contract, Factory: cfg.Factory, Signer: signer, Confirmations: cfg.Confirmations, Problem: "starting"}
	return w, nil
}

// Begin starts a term under lease (Run does; tests driving Step call it).
// Everything learnt in an earlier term is forgotten: another writer may have
// acted since, so the writer binds again and rebroadcasts every live
// transaction.
func (w *Writer) Begin(lease Lease) {
	w.lease, w.binding = lease, nil
	w.sent = map[common.Hash]time.Time{}
	w.consumed = map[int64]time.Time{}
	w.forceBump = map[int64]bool{}
	w.noBumpUntil = map[int64]time.Time{}
	w.goneChecked = map[int64]time.Time{}
	w.gone = map[common.Hash]int{}
	w.rejected = map[int64]int{}
	w.resign = map[int64]bool{}
	w.hold = map[uint64]time.Time{}
	w.holdRegister = time.Time{}
	w.fundsLow, w.dirty, w.healthy, w.lastProblem = false, true, nil, "starting" // log the first "settling"
	w.m.leader.Set(1)
}

// End ends the term: the writer forgets its lease (whose holder releases
// it) and does nothing until the next Begin.
func (w *Writer) End() {
	w.lease, w.binding = nil, nil
	w.m.leader.Set(0)
}

// Standby reports, while the writer has no term, why it is not settling
// (another process holds the lock, the database or chain is unreachable):
// the status's problem, and NOT_SERVING.
func (w *Writer) Standby(p string) {
	w.End()
	w.report(p, nil, false)
}

// Signer is the address that signs every transaction.
func (w *Writer) Signer() common.Address { return w.signer }

// Status returns the last observation.
func (w *Writer) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.status
	s.Referrers = slices.Clone(s.Referrers)
	if s.Balance != nil {
		s.Balance = new(big.Int).Set(s.Balance)
	}
	return s
}

// problemError carries the short reason the writer reports while unhealthy.
type problemError struct {
	problem string
	err     error
}

func (e *problemError) Error() string { return e.problem + ": " + e.err.Error() }
func (e *problemError) Unwrap() error { return e.err }

func problem(p string, err error) error {
	if err == nil {
		return nil
	}
	var pe *problemError
	if errors.As(err, &pe) {
		return err
	}
	return &problemError{problem: p, err: err}
}

// ProblemUnreachable is the problem reported while the endpoint does not answer.
const ProblemUnreachable = "chain endpoint unreachable"

// ProblemLeaseLost is the problem reported when a term ends because its
// lease failed a check.
const ProblemLeaseLost = "standby: writer lock lost"

// chainErr tags an error of a chain call.
func chainErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if unavailable(err) {
		return problem(ProblemUnreachable, fmt.Errorf("%s: %w", op, err))
	}
	return problem("chain error", fmt.Errorf("%s: %w", op, err))
}

// dbErr tags an error of the database.
func dbErr(err error) error { return problem("database unavailable", err) }

// Run is one term under lease: it polls until ctx ends (nil) or a check of
// the lease fails (ErrLeaseLost). Other failures are retried with backoff;
// the writer reports itself not serving while it cannot settle and keeps its
// state.
func (w *Writer) Run(ctx context.Context, lease Lease) error {
	w.Begin(lease)
	defer w.End()
	delay := w.cfg.PollInterval
	for {
		err := w.Step(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrLeaseLost) {
			w.report(ProblemLeaseLost, err, true)
			return err
		}
		p := ""
		if err != nil {
			var pe *problemError
			if errors.As(err, &pe) {
				p = pe.problem
			} else {
				p = "internal error"
			}
			delay = min(max(delay*2, w.cfg.PollInterval), w.cfg.MaxBackoff)
		} else {
			delay = w.cfg.PollInterval
		}
		w.report(p, err, true)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
	}
}

// report updates the health and, when logIt, logs a problem when it changes
// (and once a minute while it lasts).
func (w *Writer) report(p string, err error, logIt bool) {
	w.mu.Lock()
	w.status.Problem = p
	if p == ProblemUnreachable {
		w.status.Reachable = false
	}
	w.mu.Unlock()
	if w.healthy == nil || *w.healthy != (p == "") {
		ok := p == ""
		w.healthy = &ok
		w.health(ok)
	}
	w.m.up.Set(boolGauge(p == ""))
	if !logIt {
		w.lastProblem = p
		return
	}
	if p != w.lastProblem || (p != "" && time.Since(w.lastProblemLog) > time.Minute) {
		switch {
		case p == "":
			w.log.Info("settling", "signer", w.signer, "contract", w.cfg.Contract)
		case err != nil:
			w.log.Warn("not settling; retrying", "problem", p, "err", err)
		default:
			w.log.Warn("not settling", "problem", p)
		}
		w.lastProblem, w.lastProblemLog = p, time.Now()
	}
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Step runs one poll (exported for tests).
func (w *Writer) Step(ctx context.Context) error {
	if err := w.checkLease(ctx); err != nil {
		return err
	}
	if w.binding == nil {
		if err := w.bind(ctx); err != nil {
			return err
		}
	}
	if err := w.observe(ctx); err != nil {
		w.setReachable(false)
		return err
	}
	if err := w.deepReorgs(ctx); err != nil {
		return err
	}
	live, err := w.monitor(ctx)
	if err != nil {
		return err
	}
	if live, err = w.registrations(ctx, live); err != nil {
		return err
	}
	if err := w.bases(ctx); err != nil {
		return err
	}
	if err := w.settlements(ctx, live); err != nil {
		return err
	}
	if time.Since(w.backlogAt) >= 2*time.Second {
		b, err := w.st.Backlog(ctx)
		if err != nil {
			return dbErr(err)
		}
		w.backlogAt = time.Now()
		w.m.pendingReceipts.Set(float64(b.PendingReceipts))
		w.m.oldestPending.Set(b.OldestAge.Seconds())
		w.m.pendingRegistrations.Set(float64(b.PendingRegistrations))
	}
	return nil
}

// checkLease makes sure this process still holds the writer lock: a round
// trip on the lock's own session. A failure is final for the term.
func (w *Writer) checkLease(ctx context.Context) error {
	if w.lease == nil {
		return problem("standby: not the leader", errors.New("no writer lock held"))
	}
	cctx, cancel := context.WithTimeout(ctx, w.cfg.RPCTimeout)
	err := w.lease.Check(cctx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		w.lease = nil
		return problem(ProblemLeaseLost, fmt.Errorf("%w: %w", ErrLeaseLost, err))
	}
	return nil
}

// call runs a read-only call of the contract at the latest block.
func (w *Writer) call(ctx context.Context, data []byte) ([]byte, error) {
	return w.callAt(ctx, w.cfg.Contract, data)
}

// callAt runs a read-only call of the contract at addr at the latest block.
func (w *Writer) callAt(ctx context.Context, addr common.Address, data []byte) ([]byte, error) {
	cctx, cancel := context.WithTimeout(ctx, w.cfg.RPCTimeout)
	defer cancel()
	return w.be.CallContract(cctx, ethereum.CallMsg{From: w.signer, To: &addr, Data: data}, nil)
}

func (w *Writer) lastBatchID(ctx context.Context) (uint64, error) {
	out, err := w.call(ctx, w.abi.PackLastBatchId())
	if err != nil {
		return 0, chainErr("lastBatchId", err)
	}
	v, err := w.abi.UnpackLastBatchId(out)
	if err != nil || !v.IsUint64() {
		return 0, problem("misconfigured: no ReputationTracker at the contract address", fmt.Errorf("lastBatchId: %v", err))
	}
	return v.Uint64(), nil
}

// bind checks the endpoint, contract and signer against the configuration
// and the database's binding (recording it on the first start).
func (w *Writer) bind(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, w.cfg.RPCTimeout)
	id, err := w.be.ChainID(cctx)
	cancel()
	if err != nil {
		return chainErr("chain id", err)
	}
	if w.cfg.ChainID != 0 && id.Uint64() != w.cfg.ChainID {
		return problem("misconfigured: wrong chain", fmt.Errorf("endpoint chain id %s, configured %d", id, w.cfg.ChainID))
	}
	out, err := w.call(ctx, w.abi.PackTracker())
	if err != nil {
		return chainErr("tracker()", err)
	}
	authority, err := w.abi.UnpackTracker(out)
	if err != nil {
		return problem("misconfigured: no ReputationTracker at the contract address", fmt.Errorf("tracker(): %v", err))
	}
	if authority != w.signer {
		return problem("misconfigured: the key is not the contract's tracker authority",
			fmt.Errorf("contract %s has authority %s, key is %s", w.cfg.Contract, authority, w.signer))
	}
	last, err := w.lastBatchID(ctx)
	if err != nil {
		return err
	}
	b, err := w.st.Binding(ctx)
	if errors.Is(err, database.ErrNotFound) {
		cctx, cancel := context.WithTimeout(ctx, w.cfg.RPCTimeout)
		head, herr := w.be.BlockNumber(cctx)
		cancel()
		if herr != nil {
			return chainErr("block number", herr)
		}
		b, err = w.st.Bind(ctx, store.Binding{ChainID: id.Uint64(), Contract: w.cfg.Contract, Signer: w.signer, BaseBatchID: last, BoundBlock: head})
		if err == nil {
			w.log.Info("database bound", "chain_id", b.ChainID, "contract", b.Contract, "signer", b.Signer, "base_batch_id", b.BaseBatchID)
		}
	}
	if err != nil {
		return dbErr(err)
	}
	if b.ChainID != id.Uint64() || b.Contract != w.cfg.Contract || b.Signer != w.signer {
		return problem("misconfigured: the database belongs to another chain, contract or signer",
			fmt.Errorf("database bound to chain %d contract %s signer %s; running with chain %s contract %s signer %s",
				b.ChainID, b.Contract, b.Signer, id, w.cfg.Contract, w.signer))
	}
	maxID, err := w.st.MaxBatchID(ctx)
	if err != nil {
		return dbErr(err)
	}
	if last > max(maxID, b.BaseBatchID) {
		// Batches this database never recorded were settled: receipts
		// pending here might be in them (a database restored from an older
		// backup) and must not be counted again. An operator must look.
		return problem("misconfigured: the contract is ahead of the database",
			fmt.Errorf("contract lastBatchId %d, database's newest batch %d (base %d)", last, maxID, b.BaseBatchID))
	}
	refs, credit, err := w.lineage(ctx)
	if err != nil {
		return err
	}
	w.binding = &b
	w.chainID = id
	w.txSigner = types.LatestSignerForChainID(id)
	w.dirty = true
	w.mu.Lock()
	w.status.ChainID = id.Uint64()
	w.status.Referrers, w.status.InitialCredit = refs, credit
	w.mu.Unlock()
	return nil
}

// maxReferrerDepth is the contract's MAX_REFERRER_DEPTH: the generations its
// reputation lookups follow.
const maxReferrerDepth = 8

// lineage reads the contract's initialCredit() and its referrer chain
// (referrer() of each ancestor, nearest first, up to maxReferrerDepth).
func (w *Writer) lineage(ctx context.Context) ([]common.Address, uint64, error) {
	out, err := w.callAt(ctx, w.cfg.Contract, w.abi.PackInitialCredit())
	if err != nil {
		return nil, 0, chainErr("initialCredit", err)
	}
	credit, err := w.abi.UnpackInitialCredit(out)
	if err != nil || !credit.IsUint64() {
		return nil, 0, problem("misconfigured: no ReputationTracker at the contract address", fmt.Errorf("initialCredit: %v", err))
	}
	var refs []common.Address
	at := w.cfg.Contract
	for len(refs) < maxReferrerDepth {
		out, err := w.callAt(ctx, at, w.abi.PackReferrer())
		if err != nil {
			return nil, 0, chainErr("referrer", err)
		}
		ref, err := w.abi.UnpackReferrer(out)
		if err != nil {
			return nil, 0, problem("misconfigured: a referrer is no ReputationTracker", fmt.Errorf("referrer of %s: %v", at, err))
		}
		if ref == (common.Address{}) {
			break
		}
		refs = append(refs, ref)
		at = ref
	}
	return refs, credit.Uint64(), nil
}

// observe refreshes the chain view: the head every poll, the rest when the
// head moved, after the writer acted, or every two seconds.
func (w *Writer) observe(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, w.cfg.RPCTimeout)
	head, err := w.be.BlockNumber(cctx)
	cancel()
	if err != nil {
		return chainErr("block number", err)
	}
	if head == w.obs.head && !w.dirty && time.Since(w.obs.at) < 2*time.Second && w.Status().Reachable {
		return nil
	}
	o := observation{head: head, at: time.Now()}
	cctx, cancel = context.WithTimeout(ctx, w.cfg.RPCTimeout)
	defer cancel()
	if o.nonce, err = w.be.NonceAt(cctx, w.signer, nil); err != nil {
		return chainErr("nonce", err)
	}
	if o.balance, err = w.be.BalanceAt(cctx, w.signer, nil); err != nil {
		return chainErr("balance", err)
	}
	hdr, err := w.be.HeaderByNumber(cctx, nil)
	if err != nil {
		return chainErr("latest header", err)
	}
	o.baseFee, o.gasLimit = hdr.BaseFee, hdr.GasLimit
	if o.baseFee == nil {
		o.baseFee = new(big.Int)
	}
	if hdr.Number.Uint64() > o.head {
		o.head = hdr.Number.Uint64()
	}
	if o.lastBatch, err = w.lastBatchID(ctx); err != nil {
		return err
	}
	if w.cfg.ConfirmTag != "" {
		tag := rpc.SafeBlockNumber
		if w.cfg.ConfirmTag == "finalized" {
			tag = rpc.FinalizedBlockNumber
		}
		th, err := w.be.HeaderByNumber(cctx, big.NewInt(int64(tag)))
		if err != nil {
			return chainErr(w.cfg.ConfirmTag+" header", err)
		}
		o.tagBlock = th.Number.Uint64()
	}
	w.mu.Lock()
	wasDown := !w.status.Reachable
	w.mu.Unlock()
	if wasDown {
		// Back after an outage (or a start): the node may have lost its
		// pool; send every waiting version again.
		w.sent = map[common.Hash]time.Time{}
	}
	w.obs, w.dirty = o, false
	w.m.balance.Set(weiToEther(o.balance))
	w.m.head.Set(float64(o.head))
	w.m.lastBatchOnChain.Set(float64(o.lastBatch))
	w.mu.Lock()
	w.status.Balance, w.status.ChainNonce, w.status.Head = o.balance, o.nonce, o.head
	w.status.LastBatchOnChain, w.status.ObservedAt, w.status.Reachable = o.lastBatch, o.at, true
	w.mu.Unlock()
	return nil
}

func (w *Writer) setReachable(ok bool) {
	w.mu.Lock()
	w.status.Reachable = ok
	w.mu.Unlock()
}

func weiToEther(x *big.Int) float64 {
	f, _ := new(big.Float).Quo(new(big.Float).SetInt(x), big.NewFloat(1e18)).Float64()
	return f
}
