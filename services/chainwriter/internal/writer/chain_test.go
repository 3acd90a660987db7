package writer_test

import (
	"context"
	"errors"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/pbts/pbts/chain"
	"github.com/pbts/pbts/chain/anviltest"
	"github.com/pbts/pbts/contracts/bindings"
	"github.com/pbts/pbts/database/dbtest"
	"github.com/pbts/pbts/services/chainwriter/internal/store"
	"github.com/pbts/pbts/services/chainwriter/internal/writer"
)

func TestBatchLimits(t *testing.T) {
	e := newEnv(t)
	keys := e.agents(6)
	c := e.config()
	c.BatchMaxReceipts, c.BatchMaxAgents = 40, 4
	w := e.writer(c)
	e.stepUntil(w, "registrations", 10*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM agents WHERE chain_state = 'confirmed'`) == 6
	})
	e.exchange(keys[0], keys[1], 0, 30, 1<<18)
	e.exchange(keys[2], keys[3], 0, 30, 1<<18)
	e.exchange(keys[4], keys[5], 0, 30, 1<<18)
	e.stepUntil(w, "settlement", 10*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM receipts r JOIN receipt_batches b ON b.id = r.batch_id WHERE b.settled_at IS NOT NULL`) == 90
	})
	if n := e.count(`SELECT count(*) FROM receipt_batches WHERE receipt_count > 40 OR agent_count > 4`); n != 0 {
		t.Errorf("%d batches over the limits", n)
	}
	if n := e.count(`SELECT count(*) FROM receipt_batches`); n != 3 {
		t.Errorf("%d batches, want 3 (30+10, 20+20, 10 receipts)", n)
	}
	e.checkTotals()
}

// TestFeeBumpReplacesStuckTx: with mining stopped, the writer replaces its
// transaction (same nonce) every resubmit timeout, each time paying at least
// the bump on both tip and fee cap, until the cap; when a block comes, the
// version the node kept is recognised whichever it is.
func TestFeeBumpReplacesStuckTx(t *testing.T) {
	e := newEnv(t, "--no-mining")
	e.agents(1)
	hdr, err := e.chain.Client.HeaderByNumber(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	initialCap := new(big.Int).Add(big.NewInt(1e9), new(big.Int).Lsh(hdr.BaseFee, 1))
	c := e.config()
	c.ResubmitTimeout = 150 * time.Millisecond
	c.MaxFeePerGas = new(big.Int).Div(new(big.Int).Mul(initialCap, big.NewInt(16)), big.NewInt(10)) // 1.6x
	w := e.writer(c)
	ctx := context.Background()
	capped := func() bool {
		att := e.attempts("register")
		return len(att) > 0 && att[len(att)-1].cap.Cmp(c.MaxFeePerGas) == 0
	}
	e.stepUntil(w, "bumps up to the fee cap", 15*time.Second, capped)
	// At the cap, no further versions.
	n := len(e.attempts("register"))
	for deadline := time.Now().Add(500 * time.Millisecond); time.Now().Before(deadline); {
		w.Step(ctx)
		time.Sleep(20 * time.Millisecond)
	}
	att := e.attempts("register")
	if len(att) != n {
		t.Errorf("%d versions after reaching the cap, then %d: bumping went on past the cap", n, len(att))
	}
	if len(att) < 4 {
		t.Fatalf("%d versions to reach 1.6x at +12.5%% a bump, want at least 4", len(att))
	}
	for i := 1; i < len(att); i++ {
		p, q := att[i-1], att[i]
		if q.nonce != p.nonce {
			t.Fatalf("version %d has nonce %d, want the same nonce %d", i, q.nonce, p.nonce)
		}
		// At least +10% on both (the node's rule); +12.5% unless capped.
		if new(big.Int).Mul(q.tip, big.NewInt(10)).Cmp(new(big.Int).Mul(p.tip, big.NewInt(11))) < 0 ||
			new(big.Int).Mul(q.cap, big.NewInt(10)).Cmp(new(big.Int).Mul(p.cap, big.NewInt(11))) < 0 {
			t.Errorf("version %d: tip %s cap %s after tip %s cap %s: less than +10%%", i, q.tip, q.cap, p.tip, p.cap)
		}
		if q.cap.Cmp(c.MaxFeePerGas) > 0 {
			t.Errorf("version %d: fee cap %s above the max %s", i, q.cap, c.MaxFeePerGas)
		}
	}
	e.stepMining(w, "the registration", 5*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM agents WHERE chain_state = 'confirmed'`) == 1
	})
	att = e.attempts("register")
	if att[0].txState != "confirmed" || att[0].minedHash != att[len(att)-1].hash {
		t.Errorf("tx %s included %s; want confirmed with the newest version %s", att[0].txState, att[0].minedHash, att[len(att)-1].hash)
	}
}

// TestRebroadcastWhenNodeLosesTx: a node that forgets the pending
// transaction (restart, eviction) gets the very same signed bytes again.
func TestRebroadcastWhenNodeLosesTx(t *testing.T) {
	e := newEnv(t, "--no-mining")
	e.agents(1)
	c := e.config()
	c.ResubmitTimeout = 3 * time.Second // rebroadcast every 1.5s, no bump for 3s
	w := e.writer(c)
	ctx := context.Background()
	e.stepUntil(w, "a registration sent", 5*time.Second, func() bool { return len(e.attempts("register")) == 1 })
	h := e.attempts("register")[0].hash
	e.rpc(nil, "anvil_dropAllTransactions")
	var tx map[string]any
	e.rpc(&tx, "eth_getTransactionByHash", h)
	if tx != nil {
		t.Fatal("the node still has the transaction after anvil_dropAllTransactions")
	}
	deadline := time.Now().Add(2800 * time.Millisecond)
	for time.Now().Before(deadline) && tx == nil {
		w.Step(ctx)
		time.Sleep(20 * time.Millisecond)
		e.rpc(&tx, "eth_getTransactionByHash", h)
	}
	if tx == nil {
		t.Fatal("the writer did not send the lost transaction again")
	}
	e.mine()
	e.stepUntil(w, "the registration", 5*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM agents WHERE chain_state = 'confirmed'`) == 1
	})
	if att := e.attempts("register"); len(att) != 1 || att[0].minedHash != h {
		t.Errorf("versions %+v: want the single original version %s included", att, h)
	}
}

// TestReorgedTxIsResent: a settle transaction included but not yet deep
// enough is reorged out; the writer notices, sends it again and records the
// batch once, from its new block.
func TestReorgedTxIsResent(t *testing.T) {
	e := newEnv(t)
	keys := e.agents(2)
	e.registerOnChain(keys...)
	c := e.config()
	c.Confirmations = 3
	w := e.writer(c)
	var snap hexutil.Big
	e.rpc(&snap, "evm_snapshot")
	e.exchange(keys[0], keys[1], 0, 20, 1<<18)
	e.stepUntil(w, "the settle transaction included", 10*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM chainwriter_txs WHERE kind = 'settle' AND state = 'mined'`) == 1
	})
	var firstBlock []byte
	e.pool.QueryRow(context.Background(), `SELECT block_hash FROM chainwriter_txs WHERE kind = 'settle'`).Scan(&firstBlock)
	var ok bool
	e.rpc(&ok, "evm_revert", &snap)
	if !ok {
		t.Fatal("evm_revert failed")
	}
	e.stepMining(w, "the batch settled", 10*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM receipt_batches WHERE settled_at IS NOT NULL`) == 1
	})
	var again []byte
	e.pool.QueryRow(context.Background(), `SELECT block_hash FROM chainwriter_txs WHERE kind = 'settle' AND state = 'confirmed'`).Scan(&again)
	if common.BytesToHash(again) == common.BytesToHash(firstBlock) || len(again) == 0 {
		t.Errorf("settle confirmed in block %x, the reorged block was %x: want a new block", again, firstBlock)
	}
	if n := e.count(`SELECT count(*) FROM chainwriter_txs WHERE kind = 'settle'`); n != 1 {
		t.Errorf("%d settle transactions, want the one resent", n)
	}
	e.checkTotals()
}

// TestNonceUsedElsewhere: another transaction signed with the key takes the
// writer's nonce; the writer notices (nonce used, none of its versions
// included), drops its transaction and sends the work with a new nonce.
func TestNonceUsedElsewhere(t *testing.T) {
	e := newEnv(t, "--no-mining")
	e.agents(1)
	c := e.config()
	c.ResubmitTimeout = time.Hour
	w := e.writer(c)
	e.stepUntil(w, "a registration sent", 5*time.Second, func() bool { return len(e.attempts("register")) == 1 })
	ours := e.attempts("register")[0]
	// A foreign transaction with the same nonce and a much higher price.
	chainID := big.NewInt(int64(e.dep.ChainID))
	foreign, err := types.SignTx(types.NewTx(&types.DynamicFeeTx{ChainID: chainID, Nonce: ours.nonce,
		GasTipCap: new(big.Int).Mul(ours.tip, big.NewInt(3)), GasFeeCap: new(big.Int).Mul(ours.cap, big.NewInt(3)),
		Gas: 21000, To: &common.Address{1}}), types.LatestSignerForChainID(chainID), e.key)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.chain.Client.SendTransaction(context.Background(), foreign); err != nil {
		t.Fatal(err)
	}
	e.mine()
	e.stepMining(w, "the registration", 15*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM agents WHERE chain_state = 'confirmed'`) == 1
	})
	att := e.attempts("register")
	if len(att) != 2 || att[0].txState != "dropped" || att[1].txState != "confirmed" || att[1].nonce != ours.nonce+1 {
		t.Errorf("transactions %+v: want nonce %d dropped, then nonce %d confirmed", att, ours.nonce, ours.nonce+1)
	}
}

// TestBatchSettledByUntrackedTx: a batch recorded in the database is found
// settled on chain by a transaction the writer never stored (the state after
// restoring the journal, or a version signed elsewhere): it is recorded
// settled from its BatchSettled event, never sent again.
func TestBatchSettledByUntrackedTx(t *testing.T) {
	e := newEnv(t)
	keys := e.agents(2)
	e.registerOnChain(keys...)
	e.exchange(keys[0], keys[1], 0, 10, 1<<18)
	ctx := context.Background()
	// A previous life recorded batch 1 ...
	if _, err := e.st.Bind(ctx, store.Binding{ChainID: e.dep.ChainID, Contract: e.dep.Tracker, Signer: addr(e.key)}); err != nil {
		t.Fatal(err)
	}
	if b, err := e.st.CreateBatch(ctx, store.BatchLimits{MaxReceipts: 100, MaxAgents: 256}); err != nil || b == nil {
		t.Fatal(b, err)
	}
	p, err := e.st.BatchPayload(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	// ... and it was settled by a transaction the journal does not hold.
	rt := bindings.NewReputationTracker()
	opts := bind.NewKeyedTransactor(e.key, big.NewInt(int64(e.dep.ChainID)))
	tx, err := bind.Transact(rt.Instance(e.chain.Client, e.dep.Tracker), opts, rt.PackSettle(big.NewInt(1), p.Root, p.Agents, p.Up, p.Down))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bind.WaitMined(ctx, e.chain.Client, tx.Hash()); err != nil {
		t.Fatal(err)
	}
	w := e.writer(e.config())
	e.stepUntil(w, "the batch recorded settled", 5*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM receipt_batches WHERE settled_at IS NOT NULL AND tx_hash = $1 AND gas_used > 0`, tx.Hash().Bytes()) == 1
	})
	if n := e.count(`SELECT count(*) FROM chainwriter_txs WHERE kind = 'settle'`); n != 0 {
		t.Errorf("%d settle transactions sent for a batch already settled", n)
	}
	e.checkTotals()
}

// TestForeignRootStops: the chain has batch 1 with another root than the
// database's: the writer refuses to go on.
func TestForeignRootStops(t *testing.T) {
	e := newEnv(t)
	keys := e.agents(2)
	e.registerOnChain(keys...)
	e.exchange(keys[0], keys[1], 0, 10, 1<<18)
	ctx := context.Background()
	w := e.writer(e.config())
	if _, err := e.st.Bind(ctx, store.Binding{ChainID: e.dep.ChainID, Contract: e.dep.Tracker, Signer: addr(e.key), BoundBlock: 0}); err != nil {
		t.Fatal(err)
	}
	if b, err := e.st.CreateBatch(ctx, store.BatchLimits{MaxReceipts: 100, MaxAgents: 256}); err != nil || b == nil {
		t.Fatal(b, err)
	}
	rt := bindings.NewReputationTracker()
	opts := bind.NewKeyedTransactor(e.key, big.NewInt(int64(e.dep.ChainID)))
	tx, err := bind.Transact(rt.Instance(e.chain.Client, e.dep.Tracker), opts,
		rt.PackSettle(big.NewInt(1), [32]byte{1}, []common.Address{addr(keys[0])}, []*big.Int{big.NewInt(1)}, []*big.Int{big.NewInt(0)}))
	if err != nil {
		t.Fatal(err)
	}
	bind.WaitMined(ctx, e.chain.Client, tx.Hash())
	err = w.Step(ctx)
	if err == nil || !strings.Contains(err.Error(), "differs from the database") {
		t.Fatalf("Step() = %v, want the foreign root refused", err)
	}
	if n := e.count(`SELECT count(*) FROM receipt_batches WHERE settled_at IS NOT NULL`); n != 0 {
		t.Error("a batch with a foreign root on chain was recorded settled")
	}
}

// TestRevertingBatchHeld: a batch naming an agent the contract does not know
// (the database says confirmed) would revert UnknownAgent: it is simulated,
// held and reported, not paid for.
func TestRevertingBatchHeld(t *testing.T) {
	e := newEnv(t)
	keys := e.agents(2)
	var addrs [][]byte
	for _, k := range keys {
		a := addr(k)
		addrs = append(addrs, a[:])
	}
	if _, err := e.pool.Exec(context.Background(), `UPDATE agents SET chain_state = 'confirmed', chain_confirmed_at = now() WHERE address = ANY($1)`, addrs); err != nil {
		t.Fatal(err)
	}
	e.exchange(keys[0], keys[1], 0, 10, 1<<18)
	w := e.writer(e.config())
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for err == nil && time.Now().Before(deadline) {
		err = w.Step(context.Background())
		time.Sleep(20 * time.Millisecond)
	}
	if err == nil || !strings.Contains(err.Error(), "batch 1 would revert") || !strings.Contains(err.Error(), "UnknownAgent") {
		t.Fatalf("Step() = %v, want batch 1 held as it would revert UnknownAgent", err)
	}
	if n := e.count(`SELECT count(*) FROM chainwriter_txs`); n != 0 {
		t.Errorf("%d transactions sent for a batch that would revert", n)
	}
}

// TestRefusesForeignSetup: the key must be the contract's authority, and a
// database bound to one contract is not used with another.
func TestRefusesForeignSetup(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	notAuthority, err := newWriterWithKey(e, e.config(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := notAuthority.Step(ctx); err == nil || !strings.Contains(err.Error(), "not the contract's tracker authority") {
		t.Errorf("Step with another key = %v, want refused", err)
	}
	notAuthority.End()
	w := e.writer(e.config())
	if err := w.Step(ctx); err != nil {
		t.Fatal(err)
	}
	w.End()
	other, err := chain.Deploy(ctx, e.chain.Client, e.key, chain.DeployParams{Factory: e.dep.Factory})
	if err != nil {
		t.Fatal(err)
	}
	c := e.config()
	c.Contract = other.Tracker
	w2 := e.writer(c)
	if err := w2.Step(ctx); err == nil || !strings.Contains(err.Error(), "belongs to another chain, contract or signer") {
		t.Errorf("Step with another contract = %v, want refused", err)
	}
	w2.End()
	c = e.config()
	c.ChainID = 1
	if err := e.writer(c).Step(ctx); err == nil || !strings.Contains(err.Error(), "wrong chain") {
		t.Errorf("Step with chain id 1 = %v, want refused", err)
	}
}

// TestInsufficientFunds: without funds the writer keeps its transaction,
// reports the problem, and sends it once the signer is funded.
func TestInsufficientFunds(t *testing.T) {
	e := newEnv(t)
	e.agents(1)
	e.rpc(nil, "anvil_setBalance", addr(e.key), "0x1000")
	w := e.writer(e.config())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, held{}) }()
	defer func() { cancel(); <-done }()
	waitStatus(t, w, func(s string) bool { return s == "insufficient funds" })
	if n := e.count(`SELECT count(*) FROM chainwriter_txs WHERE state = 'pending'`); n != 1 {
		t.Errorf("%d pending transactions kept, want 1", n)
	}
	e.rpc(nil, "anvil_setBalance", addr(e.key), "0x56BC75E2D63100000") // 100 ether
	waitStatus(t, w, func(s string) bool { return s == "" })
	deadline := time.Now().Add(5 * time.Second)
	for e.count(`SELECT count(*) FROM agents WHERE chain_state = 'confirmed'`) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("registration not confirmed after funding")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := e.count(`SELECT count(*) FROM chainwriter_tx_attempts`); n != 1 {
		t.Errorf("%d versions signed, want 1 (no bump without funds)", n)
	}
}

func waitStatus(t *testing.T, w *writer.Writer, ok func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok(w.Status().Problem) {
		if time.Now().After(deadline) {
			t.Fatalf("status %+v", w.Status())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func newWriterWithKey(e *env, c writer.Config, i int) (*writer.Writer, error) {
	w, err := writer.New(c, e.st, e.chain.Client, anviltest.Key(i), nil, e.log, nil)
	if err == nil {
		w.Begin(held{})
	}
	return w, err
}

// TestWindowKeepsNonceOrder: full batches go out without waiting for
// inclusion, up to the in-flight window, with consecutive nonces in batch
// order; a block includes them all and none reverts.
func TestWindowKeepsNonceOrder(t *testing.T) {
	e := newEnv(t, "--no-mining")
	keys := e.agents(2)
	stop := e.autoMine()
	e.registerOnChain(keys...)
	stop()
	e.exchange(keys[0], keys[1], 0, 60, 1<<18)
	c := e.config()
	c.BatchMaxReceipts, c.MaxInFlight, c.ResubmitTimeout = 10, 3, time.Hour
	w := e.writer(c)
	ctx := context.Background()
	for range 15 {
		w.Step(ctx)
		time.Sleep(10 * time.Millisecond)
	}
	rows, err := e.pool.Query(ctx, `SELECT nonce, batch_id FROM chainwriter_txs WHERE state = 'pending' ORDER BY nonce`)
	if err != nil {
		t.Fatal(err)
	}
	var nonces, batches []int64
	for rows.Next() {
		var n, b int64
		rows.Scan(&n, &b)
		nonces, batches = append(nonces, n), append(batches, b)
	}
	rows.Close()
	if len(nonces) != 3 {
		t.Fatalf("%d transactions in flight, want the window of 3", len(nonces))
	}
	for i := range nonces {
		if nonces[i] != nonces[0]+int64(i) || batches[i] != int64(i+1) {
			t.Errorf("in flight: nonces %v batches %v; want consecutive nonces carrying batches 1, 2, 3", nonces, batches)
			break
		}
	}
	e.stepMining(w, "all batches", 10*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM receipt_batches WHERE settled_at IS NOT NULL`) == 6
	})
	if n := e.count(`SELECT count(*) FROM chainwriter_txs WHERE state <> 'confirmed'`); n != 0 {
		t.Errorf("%d transactions not confirmed: nonce order must be batch order", n)
	}
	e.checkTotals()
}

// TestLeaseCheckedBeforeEverySend: the writer checks its lease at every
// poll and right before every broadcast. A lease lost between the two (the
// lock's session ended while the writer prepared a transaction) stops the
// writer before the node sees anything: the transaction stays stored, unsent,
// and the next term sends that very version.
func TestLeaseCheckedBeforeEverySend(t *testing.T) {
	e := newEnv(t)
	e.agents(1)
	ctx := context.Background()
	w := e.writer(e.config())
	w.End()
	if err := w.Step(ctx); err == nil || !strings.Contains(err.Error(), "standby") {
		t.Fatalf("Step() without a term = %v, want standby", err)
	}
	before, err := e.chain.Client.PendingNonceAt(ctx, addr(e.key))
	if err != nil {
		t.Fatal(err)
	}
	// The poll's check passes, the one before the broadcast fails.
	l := &countedLease{ok: 1}
	w.Begin(l)
	err = w.Step(ctx)
	if !errors.Is(err, writer.ErrLeaseLost) {
		t.Fatalf("Step() with the lease lost before the send = %v, want ErrLeaseLost", err)
	}
	if n := e.count(`SELECT count(*) FROM chainwriter_tx_attempts WHERE sent_at IS NULL`); n != 1 {
		t.Fatalf("%d stored unsent versions, want the registerBatch signed but not sent", n)
	}
	nonce, nerr := e.chain.Client.PendingNonceAt(ctx, addr(e.key))
	if nerr != nil || nonce != before {
		t.Fatalf("signer's pending nonce %d (%v) after the lost send; want %d: nothing may reach the node", nonce, nerr, before)
	}
	// The lease stays lost: no further check, no further send.
	if err := w.Step(ctx); err == nil || !strings.Contains(err.Error(), "standby") {
		t.Fatalf("Step() after the lease was lost = %v, want standby", err)
	}
	if l.calls != 2 {
		t.Errorf("lease checked %d times, want 2 (the poll, the broadcast)", l.calls)
	}
	w.Begin(held{})
	e.stepUntil(w, "registration confirmed", 20*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM agents WHERE chain_state = 'confirmed'`) == 1
	})
	if n := e.count(`SELECT count(*) FROM chainwriter_tx_attempts`); n != 1 {
		t.Errorf("%d versions signed, want 1 (the stored one sent by the next term)", n)
	}
}

// TestRunEndsWhenTheLeaseFails: Run returns ErrLeaseLost as soon as a check
// fails, reporting the writer not settling.
func TestRunEndsWhenTheLeaseFails(t *testing.T) {
	e := newEnv(t)
	w := e.writer(e.config())
	w.End()
	l := &countedLease{ok: 20}
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background(), l) }()
	select {
	case err := <-done:
		if !errors.Is(err, writer.ErrLeaseLost) {
			t.Fatalf("Run() = %v, want ErrLeaseLost", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run still running 20 s after its lease failed")
	}
	if p := w.Status().Problem; p != writer.ProblemLeaseLost {
		t.Errorf("problem %q, want %q", p, writer.ProblemLeaseLost)
	}
}

// countedLease passes its first ok checks and fails every one after.
type countedLease struct {
	mu        sync.Mutex
	ok, calls int
}

func (l *countedLease) Check(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if l.calls > l.ok {
		return errors.New("lock session gone")
	}
	return nil
}

// TestStatusNamesLineage: a tracker two generations after the first one
// reports its referrer chain nearest first, its initial credit and the
// configured factory, read from the chain when the writer binds; the first
// tracker has none.
func TestStatusNamesLineage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first := e.writer(e.config())
	e.stepUntil(first, "bound", 30*time.Second, func() bool { return first.Status().ChainID != 0 })
	if st := first.Status(); len(st.Referrers) != 0 || st.InitialCredit != credit || st.Factory != (common.Address{}) {
		t.Errorf("first tracker: referrers %v, credit %d, factory %s", st.Referrers, st.InitialCredit, st.Factory)
	}
	first.End()

	second, err := chain.Deploy(ctx, e.chain.Client, e.key, chain.DeployParams{Referrer: e.dep.Tracker, Factory: e.dep.Factory})
	if err != nil {
		t.Fatal(err)
	}
	third, err := chain.Deploy(ctx, e.chain.Client, e.key, chain.DeployParams{Referrer: second.Tracker, Factory: e.dep.Factory, InitialCredit: 12345})
	if err != nil {
		t.Fatal(err)
	}
	c := e.config()
	c.Contract, c.Factory = third.Tracker, e.dep.Factory
	w, err := writer.New(c, store.New(dbtest.New(t)), e.chain.Client, e.key, nil, e.log, nil) // a database is bound to one contract
	if err != nil {
		t.Fatal(err)
	}
	w.Begin(held{})
	t.Cleanup(w.End)
	e.stepUntil(w, "bound", 30*time.Second, func() bool { return w.Status().ChainID != 0 })
	st := w.Status()
	if want := []common.Address{second.Tracker, e.dep.Tracker}; !slices.Equal(st.Referrers, want) {
		t.Errorf("referrers %v, want %v", st.Referrers, want)
	}
	if st.InitialCredit != 12345 || st.Factory != e.dep.Factory {
		t.Errorf("initial credit %d, factory %s; want 12345, %s", st.InitialCredit, st.Factory, e.dep.Factory)
	}
}
