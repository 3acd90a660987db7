package writer_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/pbts/pbts/services/chainwriter/internal/writer"
)

type gasRow struct {
	kind        string
	limit, used uint64
}

// txGas lists the confirmed transactions' gas limits and gas used, in nonce order.
func (e *env) txGas() []gasRow {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(),
		`SELECT kind, gas_limit, gas_used FROM chainwriter_txs WHERE state = 'confirmed' ORDER BY nonce`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []gasRow
	for rows.Next() {
		var r gasRow
		var limit, used int64
		if err := rows.Scan(&r.kind, &limit, &used); err != nil {
			e.t.Fatal(err)
		}
		r.limit, r.used = uint64(limit), uint64(used)
		out = append(out, r)
	}
	return out
}

// TestGasLimitsEstimated: registerBatch and settle get the node's estimate
// plus the margin (not the computed bound): at least used × 1.2 + the fixed
// margin (an estimate is never below what the call uses), and close to it.
func TestGasLimitsEstimated(t *testing.T) {
	e := newEnv(t)
	keys := e.agents(2)
	w := e.writer(e.config())
	e.stepUntil(w, "registrations", 10*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM agents WHERE chain_state = 'confirmed'`) == 2
	})
	e.exchange(keys[0], keys[1], 0, 20, 1<<18)
	e.stepUntil(w, "settlement", 10*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM receipt_batches WHERE settled_at IS NOT NULL`) == 1
	})
	rows := e.txGas()
	kinds := map[string]int{}
	for _, r := range rows {
		kinds[r.kind]++
		t.Logf("%s: gas limit %d, used %d", r.kind, r.limit, r.used)
		lo := r.used + (r.used*20+99)/100 + writer.GasMarginFixed
		// The estimate may exceed what is used by the EIP-150 reserve and
		// refunds; a constant bound would be far above (settle of 2
		// agents: 148k against ~70k used).
		hi := r.used*13/10 + writer.GasMarginFixed + 5_000
		if r.limit < lo || r.limit > hi {
			t.Errorf("%s: gas limit %d for %d used; want the estimate plus 20%% plus %d, in [%d, %d]",
				r.kind, r.limit, r.used, writer.GasMarginFixed, lo, hi)
		}
	}
	if kinds["register"] != 1 || kinds["settle"] != 1 {
		t.Fatalf("confirmed transactions %v, want one register and one settle", kinds)
	}
	e.checkTotals()
}

// noEstimate is a node without a working eth_estimateGas (it answers with an
// error that is no revert).
type noEstimate struct {
	*ethclient.Client
	calls atomic.Int32
}

type methodNotFound struct{}

func (methodNotFound) Error() string {
	return "the method eth_estimateGas does not exist/is not available"
}
func (methodNotFound) ErrorCode() int { return -32601 }

func (n *noEstimate) EstimateGas(context.Context, ethereum.CallMsg) (uint64, error) {
	n.calls.Add(1)
	return 0, methodNotFound{}
}

// TestGasBoundWhenNodeCannotEstimate: a node that cannot estimate (no
// revert in its answer) gets the computed bound, and everything settles.
func TestGasBoundWhenNodeCannotEstimate(t *testing.T) {
	e := newEnv(t)
	keys := e.agents(2)
	be := &noEstimate{Client: e.chain.Client}
	w, err := writer.New(e.config(), e.st, be, e.key, nil, e.log, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Begin(held{})
	t.Cleanup(w.End)
	e.stepUntil(w, "registrations", 10*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM agents WHERE chain_state = 'confirmed'`) == 2
	})
	e.exchange(keys[0], keys[1], 0, 20, 1<<18)
	e.stepUntil(w, "settlement", 10*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM receipt_batches WHERE settled_at IS NOT NULL`) == 1
	})
	if be.calls.Load() < 2 {
		t.Errorf("eth_estimateGas asked %d times, want once per transaction", be.calls.Load())
	}
	for _, r := range e.txGas() {
		// The bounds: register 21000 + 16/byte + 30000 + 45000/agent, settle
		// 21000 + 16/byte + 40000 + 40000/agent: above the estimate's figure.
		if r.limit < r.used*13/10+writer.GasMarginFixed+5_000 {
			t.Errorf("%s: gas limit %d for %d used: not the computed bound", r.kind, r.limit, r.used)
		}
	}
	e.checkTotals()
}
