package writer_test

import (
	"context"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/pbts/pbts/services/chainwriter/internal/writer"
)

// inPool tells whether the node has the transaction (pending or included).
func (e *env) inPool(h common.Hash) bool {
	e.t.Helper()
	var tx map[string]any
	e.rpc(&tx, "eth_getTransactionByHash", h)
	return tx != nil
}

func atLeastTenPercentMore(q, p *big.Int) bool {
	return new(big.Int).Mul(q, big.NewInt(10)).Cmp(new(big.Int).Mul(p, big.NewInt(11))) >= 0
}

// TestDroppedSettleReplacedSameNonce: with mining off, the node drops the
// writer's settle (anvil_dropTransaction) long before the resubmit timeout.
// The writer notices it gone and sends the same bytes again; dropped a second
// time, it signs a replacement with the same nonce and batch id paying at
// least 10 % more on tip and fee cap. Once blocks come the batch is settled
// once, by the replacement.
func TestDroppedSettleReplacedSameNonce(t *testing.T) {
	e := newEnv(t, "--no-mining")
	keys := e.agents(2)
	stop := e.autoMine()
	e.registerOnChain(keys...)
	stop()
	c := e.config()
	c.ResubmitTimeout = time.Hour // no bump for being slow: only for being gone
	w := e.writer(c)
	e.exchange(keys[0], keys[1], 0, 20, 1<<18)
	e.stepUntil(w, "a settle sent", 10*time.Second, func() bool {
		a := e.attempts("settle")
		return len(a) == 1 && e.inPool(a[0].hash)
	})
	first := e.attempts("settle")[0]

	e.rpc(nil, "anvil_dropTransaction", first.hash)
	if e.inPool(first.hash) {
		t.Fatal("the node still has the settle after anvil_dropTransaction")
	}
	e.stepUntil(w, "the dropped settle sent again", 10*time.Second, func() bool { return e.inPool(first.hash) })
	if n := len(e.attempts("settle")); n != 1 {
		t.Fatalf("%d versions after the first drop, want the same bytes sent again", n)
	}

	e.rpc(nil, "anvil_dropTransaction", first.hash)
	e.stepUntil(w, "a replacement for the settle dropped twice", 10*time.Second, func() bool {
		a := e.attempts("settle")
		return len(a) == 2 && e.inPool(a[1].hash)
	})
	att := e.attempts("settle")
	second := att[1]
	if second.nonce != first.nonce {
		t.Errorf("replacement nonce %d, want the same nonce %d", second.nonce, first.nonce)
	}
	if !atLeastTenPercentMore(second.tip, first.tip) || !atLeastTenPercentMore(second.cap, first.cap) {
		t.Errorf("replacement tip %s cap %s after tip %s cap %s: want at least +10%% on both", second.tip, second.cap, first.tip, first.cap)
	}
	if n := e.count(`SELECT count(*) FROM chainwriter_txs WHERE kind = 'settle'`); n != 1 {
		t.Errorf("%d settle transactions, want one (same batch, same nonce)", n)
	}

	e.stepMining(w, "the batch settled", 10*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM receipt_batches WHERE settled_at IS NOT NULL`) == 1
	})
	att = e.attempts("settle")
	if att[0].txState != "confirmed" || att[0].minedHash != second.hash {
		t.Errorf("settle %s included %s, want confirmed with the replacement %s", att[0].txState, att[0].minedHash, second.hash)
	}
	if n := e.count(`SELECT count(*) FROM receipt_batches`); n != 1 {
		t.Errorf("%d batches, want 1", n)
	}
	e.checkTotals()
}

// refusing is a node that refuses the first `refuse` transactions outright
// (as one whose block gas limit is below the transaction's would).
type refusing struct {
	*ethclient.Client
	refuse, seen atomic.Int32
}

type nodeErr struct{ msg string }

func (e nodeErr) Error() string  { return e.msg }
func (e nodeErr) ErrorCode() int { return -32000 }

func (r *refusing) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	if r.seen.Add(1) <= r.refuse.Load() {
		return nodeErr{"exceeds block gas limit"}
	}
	return r.Client.SendTransaction(ctx, tx)
}

func (e *env) writerOn(be writer.Backend, c writer.Config) *writer.Writer {
	e.t.Helper()
	w, err := writer.New(c, e.st, be, e.key, nil, e.log, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	w.Begin(held{})
	e.t.Cleanup(w.End)
	return w
}

// TestRejectedTxReplacedSameNonce: a version the node refuses outright no
// longer holds its nonce: the writer signs a new version with the same
// nonce (fees bumped) at once, it is included, and the next transaction
// takes the next nonce.
func TestRejectedTxReplacedSameNonce(t *testing.T) {
	e := newEnv(t)
	e.agents(1)
	be := &refusing{Client: e.chain.Client}
	be.refuse.Store(1)
	c := e.config()
	c.ResubmitTimeout = time.Hour
	w := e.writerOn(be, c)
	e.stepUntil(w, "the registration", 10*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM agents WHERE chain_state = 'confirmed'`) == 1
	})
	att := e.attempts("register")
	if len(att) != 2 || att[1].nonce != att[0].nonce || att[0].txState != "confirmed" || att[0].minedHash != att[1].hash {
		t.Fatalf("versions %+v: want the refused one and a replacement with the same nonce, included", att)
	}
	if !atLeastTenPercentMore(att[1].tip, att[0].tip) || !atLeastTenPercentMore(att[1].cap, att[0].cap) {
		t.Errorf("replacement tip %s cap %s after tip %s cap %s: want at least +10%%", att[1].tip, att[1].cap, att[0].tip, att[0].cap)
	}
	e.agents(1)
	e.stepUntil(w, "the next registration", 10*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM agents WHERE chain_state = 'confirmed'`) == 2
	})
	if att := e.attempts("register"); len(att) != 3 || att[2].nonce != att[0].nonce+1 {
		t.Errorf("versions %+v: want the next registration at nonce %d", att, att[0].nonce+1)
	}
}

// TestRefusedForEverIsReported: a node that refuses every version gets a
// bounded number of new versions, then the writer reports the refusal
// (not settling) instead of signing on.
func TestRefusedForEverIsReported(t *testing.T) {
	e := newEnv(t)
	e.agents(1)
	be := &refusing{Client: e.chain.Client}
	be.refuse.Store(1 << 30)
	c := e.config()
	c.ResubmitTimeout = time.Hour
	w := e.writerOn(be, c)
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err = w.Step(context.Background()); err != nil && strings.Contains(err.Error(), "node refuses transaction") {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), "node refuses transaction") {
		t.Fatalf("Step() = %v, want the refusal reported", err)
	}
	if n := len(e.attempts("register")); n != 4 {
		t.Errorf("%d versions signed, want 4 (the first and 3 replacements)", n)
	}
}
