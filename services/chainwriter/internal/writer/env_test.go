package writer_test

import (
	"context"
	"crypto/ecdsa"
	"io"
	"log/slog"
	"math/big"
	"os"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pbts/pbts/chain"
	"github.com/pbts/pbts/chain/anviltest"
	"github.com/pbts/pbts/contracts/bindings"
	"github.com/pbts/pbts/database/dbtest"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/services/chainwriter/internal/seed"
	"github.com/pbts/pbts/services/chainwriter/internal/store"
	"github.com/pbts/pbts/services/chainwriter/internal/writer"
)

const credit = 1 << 30

// env is a chain with a deployed tracker and a migrated database.
type env struct {
	t      *testing.T
	chain  *anviltest.Chain
	pool   *pgxpool.Pool
	st     *store.Store
	dep    chain.Deployment
	key    *ecdsa.PrivateKey
	domain receipt.Domain
	log    *slog.Logger
}

func newEnv(t *testing.T, anvilArgs ...string) *env {
	t.Helper()
	c := anviltest.Start(t, anvilArgs...)
	db := dbtest.New(t)
	key := anviltest.Key(0)
	ctx := context.Background()
	e := &env{t: t, chain: c, pool: db.Pool, st: store.New(db), key: key, log: testLogger()}
	if hasArg(anvilArgs, "--no-mining") {
		// Deploy needs its transactions mined.
		stop := e.autoMine()
		defer stop()
	}
	dep, err := chain.Deploy(ctx, c.Client, key, chain.DeployParams{InitialCredit: credit})
	if err != nil {
		t.Fatal(err)
	}
	e.dep = dep
	e.domain = receipt.Domain{ChainID: dep.ChainID, Tracker: dep.Tracker}
	return e
}

func hasArg(args []string, a string) bool {
	for _, x := range args {
		if x == a {
			return true
		}
	}
	return false
}

// autoMine mines a block every 50ms until stopped.
func (e *env) autoMine() (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
				e.chain.Client.Client().Call(nil, "evm_mine")
			}
		}
	}()
	return func() { close(done); <-finished }
}

func testLogger() *slog.Logger {
	if os.Getenv("PBTS_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (e *env) config() writer.Config {
	c := writer.Default()
	c.Contract = e.dep.Tracker
	c.PollInterval = 20 * time.Millisecond
	c.MaxBackoff = 200 * time.Millisecond
	c.BatchMaxAge = 50 * time.Millisecond
	return c
}

func (e *env) writer(c writer.Config) *writer.Writer {
	e.t.Helper()
	w, err := writer.New(c, e.st, e.chain.Client, e.key, nil, e.log, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	w.Begin(held{})
	e.t.Cleanup(w.End)
	return w
}

// held is a lease that is always held (the writer tests run one writer at a
// time; the election is internal/leader's, with real locks).
type held struct{}

func (held) Check(context.Context) error { return nil }

// stepUntil runs the writer's loop by hand until cond holds.
func (e *env) stepUntil(w *writer.Writer, what string, timeout time.Duration, cond func() bool) {
	e.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s (last step error: %v; status %+v)", what, lastErr, w.Status())
		}
		if err := w.Step(ctx); err != nil {
			lastErr = err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// agents makes n keys and inserts them as pending agents.
func (e *env) agents(n int) []*ecdsa.PrivateKey {
	e.t.Helper()
	keys := make([]*ecdsa.PrivateKey, n)
	for i := range keys {
		k, err := crypto.GenerateKey()
		if err != nil {
			e.t.Fatal(err)
		}
		keys[i] = k
		if err := seed.Agents(context.Background(), e.pool, crypto.PubkeyToAddress(k.PublicKey)); err != nil {
			e.t.Fatal(err)
		}
	}
	return keys
}

func addr(k *ecdsa.PrivateKey) common.Address { return crypto.PubkeyToAddress(k.PublicKey) }

// exchange inserts n receipts of sender uploading to receiver.
func (e *env) exchange(sender, receiver *ecdsa.PrivateKey, first, n int, size uint32) {
	e.t.Helper()
	ih := [32]byte{byte(first), 0xab}
	rs, err := seed.Transfer(e.domain, ih, addr(sender), receiver, first, n, size)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := seed.Insert(context.Background(), e.pool, rs); err != nil {
		e.t.Fatal(err)
	}
}

// checkTotals compares every agent's on-chain figures with the initial
// credit plus its accepted receipts, and the batches with the chain.
func (e *env) checkTotals() {
	e.t.Helper()
	ctx := context.Background()
	totals, err := seed.AcceptedTotals(ctx, e.pool)
	if err != nil {
		e.t.Fatal(err)
	}
	for a, tot := range totals {
		rep, err := chain.ReadReputation(ctx, e.chain.Client, e.dep.Tracker, a)
		if err != nil {
			e.t.Fatal(err)
		}
		if rep.Upload != credit+tot.Upload || rep.Download != tot.Download {
			e.t.Errorf("agent %s on chain up %d down %d; want %d + %d, %d", a, rep.Upload, rep.Download, credit, tot.Upload, tot.Download)
		}
		// The database's standing (migration 00005) agrees with the chain:
		// base + settled receipts, for agents whose base is recorded.
		var confirmed bool
		var up, down int64
		err = e.pool.QueryRow(ctx, `SELECT a.base_confirmed, COALESCE(a.base_upload, 0) + COALESCE(s.upload_bytes, 0),
			COALESCE(a.base_download, 0) + COALESCE(s.download_bytes, 0)
			FROM agents a LEFT JOIN settled_totals s ON s.agent = a.address WHERE a.address = $1`, a[:]).Scan(&confirmed, &up, &down)
		if err != nil {
			e.t.Fatal(err)
		}
		if confirmed && (uint64(up) != rep.Upload || uint64(down) != rep.Download) {
			e.t.Errorf("agent %s: database base + settled %d/%d, chain %d/%d", a, up, down, rep.Upload, rep.Download)
		}
	}
	rt := bindings.NewReputationTracker()
	inst := rt.Instance(e.chain.Client, e.dep.Tracker)
	last, err := bind.Call(inst, nil, rt.PackLastBatchId(), rt.UnpackLastBatchId)
	if err != nil {
		e.t.Fatal(err)
	}
	if n := e.count(`SELECT count(*) FROM receipt_batches WHERE settled_at IS NOT NULL`); last.Cmp(big.NewInt(int64(n))) != 0 {
		e.t.Errorf("lastBatchId %s, %d batches settled in the database", last, n)
	}
	rows, err := e.pool.Query(ctx, `SELECT id, root FROM receipt_batches`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id   int64
			root []byte
		)
		rows.Scan(&id, &root)
		onChain, err := bind.Call(inst, nil, rt.PackBatchRoot(big.NewInt(id)), rt.UnpackBatchRoot)
		if err != nil || common.Hash(onChain) != common.BytesToHash(root) {
			e.t.Errorf("batch %d root on chain %x (%v), database %x", id, onChain, err, root)
		}
	}
}

// rpc calls an anvil method.
func (e *env) rpc(result any, method string, args ...any) {
	e.t.Helper()
	if err := e.chain.Client.Client().Call(result, method, args...); err != nil {
		e.t.Fatalf("%s: %v", method, err)
	}
}

func (e *env) mine() { e.rpc(nil, "evm_mine") }

// stepMining is stepUntil with a block mined before every step.
func (e *env) stepMining(w *writer.Writer, what string, timeout time.Duration, cond func() bool) {
	e.t.Helper()
	e.stepUntil(w, what, timeout, func() bool {
		if cond() {
			return true
		}
		e.mine()
		return false
	})
}

// registerOnChain registers agents directly (as the writer would) and marks
// them confirmed in the database.
func (e *env) registerOnChain(keys ...*ecdsa.PrivateKey) {
	e.t.Helper()
	var addrs []common.Address
	for _, k := range keys {
		addrs = append(addrs, addr(k))
	}
	rt := bindings.NewReputationTracker()
	opts := bind.NewKeyedTransactor(e.key, big.NewInt(int64(e.dep.ChainID)))
	tx, err := bind.Transact(rt.Instance(e.chain.Client, e.dep.Tracker), opts, rt.PackRegisterBatch(addrs))
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := bind.WaitMined(context.Background(), e.chain.Client, tx.Hash()); err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.ConfirmAgents(context.Background(), addrs); err != nil {
		e.t.Fatal(err)
	}
}

type attemptRow struct {
	hash      common.Hash
	tip, cap  *big.Int
	nonce     uint64
	txState   string
	minedHash common.Hash
}

func (e *env) attempts(kind string) []attemptRow {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT a.hash, a.gas_tip_cap::text, a.gas_fee_cap::text, t.nonce, t.state, t.mined_hash
		FROM chainwriter_tx_attempts a JOIN chainwriter_txs t ON t.id = a.tx_id WHERE t.kind = $1 ORDER BY t.nonce, a.signed_at`, kind)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []attemptRow
	for rows.Next() {
		var (
			r         attemptRow
			h, mh     []byte
			tip, fcap string
			nonce     int64
		)
		if err := rows.Scan(&h, &tip, &fcap, &nonce, &r.txState, &mh); err != nil {
			e.t.Fatal(err)
		}
		r.hash, r.minedHash, r.nonce = common.BytesToHash(h), common.BytesToHash(mh), uint64(nonce)
		r.tip, _ = new(big.Int).SetString(tip, 10)
		r.cap, _ = new(big.Int).SetString(fcap, 10)
		out = append(out, r)
	}
	return out
}
