package writer_test

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
)

func (e *env) settledBlock(batch int) (block int64, hash []byte) {
	e.t.Helper()
	e.pool.QueryRow(context.Background(),
		`SELECT COALESCE(b.block_number, 0), t.block_hash FROM receipt_batches b JOIN chainwriter_txs t ON t.batch_id = b.id AND t.kind = 'settle'
		 WHERE b.id = $1`, batch).Scan(&block, &hash)
	return block, hash
}

func (e *env) lastBatchOnChain() uint64 {
	e.t.Helper()
	var out hexutil.Bytes
	e.rpc(&out, "eth_call", map[string]any{"to": e.dep.Tracker, "data": hexutil.Bytes(common.FromHex("0x5b5eee88"))}, "latest")
	return new(big.Int).SetBytes(out).Uint64()
}

// TestSettledBatchReorgedOutIsResent: a batch recorded settled (at the
// configured depth) is taken out of the chain by a deeper reorg
// (anvil_reorg, replacement blocks without it). The writer sees the
// contract's lastBatchId behind the database, reopens the batch (its bytes
// pending again) and sends the same transaction (same nonce, same batch id)
// again; it is settled once, in a new block.
func TestSettledBatchReorgedOutIsResent(t *testing.T) {
	e := newEnv(t)
	keys := e.agents(2)
	e.registerOnChain(keys...)
	w := e.writer(e.config())
	e.exchange(keys[0], keys[1], 0, 20, 1<<18)
	e.stepUntil(w, "the batch settled", 10*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM receipt_batches WHERE settled_at IS NOT NULL`) == 1
	})
	block, oldHash := e.settledBlock(1)
	var head hexutil.Uint64
	e.rpc(&head, "eth_blockNumber")
	e.rpc(nil, "anvil_reorg", uint64(head)-uint64(block)+1, []any{})
	if n := e.lastBatchOnChain(); n != 0 {
		t.Fatalf("lastBatchId %d after the reorg, want 0 (the settle gone)", n)
	}
	e.stepUntil(w, "the batch settled again in a new block", 20*time.Second, func() bool {
		_, h := e.settledBlock(1)
		return e.count(`SELECT count(*) FROM receipt_batches WHERE settled_at IS NOT NULL`) == 1 &&
			len(h) > 0 && common.BytesToHash(h) != common.BytesToHash(oldHash)
	})
	if n := e.lastBatchOnChain(); n != 1 {
		t.Errorf("lastBatchId %d, want 1", n)
	}
	if n := e.count(`SELECT count(*) FROM chainwriter_txs WHERE kind = 'settle'`); n != 1 {
		t.Errorf("%d settle transactions, want the one sent again (same nonce)", n)
	}
	e.checkTotals()
}

// TestConfirmTagWaitsForSafe: with ConfirmTag "safe" a settle is recorded
// only once its block is at or below the chain's safe block (anvil: the
// head less one epoch, 4 slots here), not at depth 1.
func TestConfirmTagWaitsForSafe(t *testing.T) {
	e := newEnv(t, "--slots-in-an-epoch", "4")
	keys := e.agents(2)
	e.registerOnChain(keys...)
	c := e.config()
	c.ConfirmTag = "safe"
	w := e.writer(c)
	e.exchange(keys[0], keys[1], 0, 20, 1<<18)
	e.stepUntil(w, "the settle included", 10*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM chainwriter_txs WHERE kind = 'settle' AND state = 'mined'`) == 1
	})
	e.stepMining(w, "the batch settled", 20*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM receipt_batches WHERE settled_at IS NOT NULL`) == 1
	})
	block, _ := e.settledBlock(1)
	safe, err := e.chain.Client.HeaderByNumber(context.Background(), big.NewInt(int64(rpc.SafeBlockNumber)))
	if err != nil {
		t.Fatal(err)
	}
	var head hexutil.Uint64
	e.rpc(&head, "eth_blockNumber")
	if safe.Number.Int64() < block || uint64(head) < uint64(block)+4 {
		t.Errorf("batch in block %d recorded with safe block %d, head %d: want it at or below the safe block", block, safe.Number, head)
	}
	e.checkTotals()
}
