package writer

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/pbts/pbts/services/chainwriter/internal/failpoint"
	"github.com/pbts/pbts/services/chainwriter/internal/store"
)

// consumedGrace is how long a nonce may look used without a receipt of ours
// before the transaction is declared dropped: a load-balanced endpoint may
// answer the nonce from a newer node than the receipt.
const consumedGrace = 3 * time.Second

// liveSet summarises the live transactions after monitoring.
type liveSet struct {
	count int
	// settleWaiting: a settle transaction not yet included.
	settleWaiting bool
	// batches with a live transaction.
	batches map[uint64]bool
}

// monitor walks the live transactions by nonce.
func (w *Writer) monitor(ctx context.Context) (liveSet, error) {
	ls := liveSet{batches: map[uint64]bool{}}
	txs, err := w.st.LiveTxs(ctx, w.signer)
	if err != nil {
		return ls, dbErr(err)
	}
	for i := range txs {
		t := &txs[i]
		var err error
		switch t.State {
		case store.StatePending:
			err = w.checkPending(ctx, t)
		case store.StateMined:
			err = w.checkMined(ctx, t)
		}
		if err != nil {
			return ls, err
		}
		if t.State == store.StatePending || t.State == store.StateMined {
			ls.count++
			if t.Kind == store.KindSettle {
				ls.batches[t.BatchID] = true
				if t.State == store.StatePending {
					ls.settleWaiting = true
				}
			}
		}
	}
	w.m.inFlight.Set(float64(ls.count))
	lag := 0.0
	if n := len(txs); n > 0 && txs[n-1].Nonce+1 > w.obs.nonce {
		lag = float64(txs[n-1].Nonce + 1 - w.obs.nonce)
	}
	w.m.nonceLag.Set(lag)
	return ls, nil
}

// findReceipt looks for an included version of t, newest first.
func (w *Writer) findReceipt(ctx context.Context, t *store.Tx) (*types.Receipt, error) {
	for i := len(t.Attempts) - 1; i >= 0; i-- {
		cctx, cancel := context.WithTimeout(ctx, w.cfg.RPCTimeout)
		r, err := w.be.TransactionReceipt(cctx, t.Attempts[i].Hash)
		cancel()
		if errors.Is(err, ethereum.NotFound) || (err == nil && r == nil) {
			continue
		}
		if err != nil {
			return nil, chainErr("receipt", err)
		}
		return r, nil
	}
	return nil, nil
}

func inclusionOf(r *types.Receipt) store.Inclusion {
	return store.Inclusion{Hash: r.TxHash, Block: r.BlockNumber.Uint64(), BlockHash: r.BlockHash, Status: r.Status, GasUsed: r.GasUsed}
}

// deep tells whether a transaction included in block has the configured
// confirmations.
func (w *Writer) deep(block uint64) bool {
	if w.cfg.ConfirmTag != "" && block > w.obs.tagBlock {
		return false
	}
	return w.obs.head+1 >= block+w.cfg.Confirmations
}

// checkPending handles a signed transaction not yet seen included.
func (w *Writer) checkPending(ctx context.Context, t *store.Tx) error {
	r, err := w.findReceipt(ctx, t)
	if err != nil {
		return err
	}
	if r != nil {
		failpoint.Hit(failpoint.AfterMined, string(t.Kind))
		delete(w.consumed, t.ID)
		inc := inclusionOf(r)
		w.dirty = true
		if w.deep(inc.Block) {
			return w.finish(ctx, t, inc)
		}
		if err := w.st.MarkMined(ctx, t.ID, inc); err != nil {
			return dbErr(err)
		}
		t.State, t.Included = store.StateMined, inc
		return nil
	}
	if t.Nonce < w.obs.nonce {
		// The nonce is used, by none of our versions (so far as the
		// endpoint tells).
		first, seen := w.consumed[t.ID]
		if !seen {
			w.consumed[t.ID] = time.Now()
			return nil
		}
		if time.Since(first) < consumedGrace {
			return nil
		}
		return w.resolveConsumed(ctx, t)
	}
	delete(w.consumed, t.ID)
	latest := t.Latest()
	if w.resign[t.ID] && !w.fundsLow {
		// The node refused the version itself: a new one (gas limit
		// estimated again, fees bumped) under the same nonce, so that the
		// nonces after it do not wait for ever.
		return w.replaceRejected(ctx, t)
	}
	gone, err := w.goneFromNode(ctx, t)
	if err != nil {
		return err
	}
	if gone {
		w.m.txErrors.WithLabelValues("gone_from_node").Inc()
		if w.gone[latest.Hash] == 1 || w.fundsLow {
			// Lost once (a node restarted, a pool flushed): the same bytes again.
			w.log.Warn("transaction gone from the node; sending it again", "kind", t.Kind, "nonce", t.Nonce, "batch", t.BatchID, "tx", latest.Hash)
			return w.broadcast(ctx, t, latest)
		}
		// The node dropped this version again (evicted, underpriced): a
		// replacement with the same nonce paying more.
		w.log.Warn("transaction dropped by the node again; replacing it", "kind", t.Kind, "nonce", t.Nonce, "batch", t.BatchID, "tx", latest.Hash)
		return w.bump(ctx, t)
	}
	due := time.Since(latest.SignedAt) >= w.cfg.ResubmitTimeout && time.Now().After(w.noBumpUntil[t.ID])
	if (w.forceBump[t.ID] || due) && !w.fundsLow {
		// (Without funds a dearer version cannot help: keep rebroadcasting.)
		return w.bump(ctx, t)
	}
	if last, ok := w.sent[latest.Hash]; !ok || time.Since(last) >= w.rebroadcastEvery() {
		// Not broadcast by this process yet (a restart), or long ago: the
		// node may have lost it (restarted, evicted). Same bytes, same nonce.
		return w.broadcast(ctx, t, latest)
	}
	return nil
}

// rebroadcastEvery is how often a waiting version is sent again.
func (w *Writer) rebroadcastEvery() time.Duration {
	return min(w.cfg.ResubmitTimeout/2, 10*time.Second)
}

// checkMined handles an included transaction waiting for confirmations: is
// its block still canonical, is it deep enough?
func (w *Writer) checkMined(ctx context.Context, t *store.Tx) error {
	cctx, cancel := context.WithTimeout(ctx, w.cfg.RPCTimeout)
	defer cancel()
	reorged := false
	hdr, err := w.be.HeaderByNumber(cctx, new(big.Int).SetUint64(t.Included.Block))
	switch {
	case errors.Is(err, ethereum.NotFound) || (err == nil && hdr == nil):
		reorged = true
	case err != nil:
		return chainErr("header", err)
	case hdr.Hash() != t.Included.BlockHash:
		reorged = true
	default:
		r, err := w.be.TransactionReceipt(cctx, t.Included.Hash)
		switch {
		case errors.Is(err, ethereum.NotFound) || (err == nil && r == nil):
			reorged = true
		case err != nil:
			return chainErr("receipt", err)
		case r.BlockHash != t.Included.BlockHash:
			reorged = true
		}
	}
	if reorged {
		w.m.reorgs.Inc()
		w.log.Warn("transaction reorged out; sending it again", "nonce", t.Nonce, "kind", t.Kind, "batch", t.BatchID,
			"tx", t.Included.Hash, "block", t.Included.Block)
		if err := w.st.Unmine(ctx, t.ID); err != nil {
			return dbErr(err)
		}
		t.State, w.dirty = store.StatePending, true
		// The included version is valid again (same nonce): send it back.
		a := t.Attempt(t.Included.Hash)
		if a == nil {
			a = t.Latest()
		}
		t.Included = store.Inclusion{}
		return w.broadcast(ctx, t, a)
	}
	if w.deep(t.Included.Block) {
		return w.finish(ctx, t, t.Included)
	}
	return nil
}

// finish records a confirmed transaction.
func (w *Writer) finish(ctx context.Context, t *store.Tx, inc store.Inclusion) error {
	w.dirty = true
	if inc.Status == types.ReceiptStatusSuccessful {
		err := w.st.Confirm(ctx, t, inc, func() { failpoint.Hit(failpoint.BeforeDBUpdate, string(t.Kind)) })
		if err != nil {
			return dbErr(err)
		}
		t.State = store.StateConfirmed
		w.m.gasUsed.WithLabelValues(string(t.Kind)).Add(float64(inc.GasUsed))
		w.m.confirmed.WithLabelValues(string(t.Kind)).Inc()
		w.log.Info("transaction confirmed", "kind", t.Kind, "nonce", t.Nonce, "batch", t.BatchID, "agents", len(t.Agents),
			"tx", inc.Hash, "block", inc.Block, "gas_used", inc.GasUsed)
		if t.Kind == store.KindSettle {
			w.m.batchesSettled.Inc()
		}
		return nil
	}
	// Reverted. For a settle, find out from the contract's state why.
	if t.Kind == store.KindSettle {
		last, err := w.lastBatchID(ctx)
		if err != nil {
			return err
		}
		if last >= t.BatchID {
			// Another transaction settled the batch first: find it, record it.
			if err := w.st.Fail(ctx, t, inc, fmt.Sprintf("reverted: batch %d already settled", t.BatchID)); err != nil {
				return dbErr(err)
			}
			t.State = store.StateFailed
			return w.settledElsewhere(ctx, t.BatchID, 0)
		}
	}
	reason := w.revertReason(ctx, t, inc.Block)
	w.m.reverts.WithLabelValues(string(t.Kind)).Inc()
	w.log.Error("transaction reverted; its work is queued again", "kind", t.Kind, "nonce", t.Nonce, "batch", t.BatchID,
		"tx", inc.Hash, "block", inc.Block, "reason", reason)
	if err := w.st.Fail(ctx, t, inc, "reverted: "+reason); err != nil {
		return dbErr(err)
	}
	t.State = store.StateFailed
	if t.Kind == store.KindSettle {
		// Out of order (an earlier batch was re-sent later) or a real
		// failure: either way wait a little before sending it again.
		w.hold[t.BatchID] = time.Now().Add(w.holdAfterFailure())
	}
	return nil
}

func (w *Writer) holdAfterFailure() time.Duration { return max(2*w.cfg.PollInterval, time.Second) }

// revertReason replays a reverted transaction at the state before its block
// and decodes the contract error.
func (w *Writer) revertReason(ctx context.Context, t *store.Tx, block uint64) string {
	var at *big.Int
	if block > 0 {
		at = new(big.Int).SetUint64(block - 1)
	}
	cctx, cancel := context.WithTimeout(ctx, w.cfg.RPCTimeout)
	defer cancel()
	_, err := w.be.CallContract(cctx, ethereum.CallMsg{From: w.signer, To: &t.To, Data: t.Data, Gas: t.GasLimit}, at)
	if err == nil {
		return "unknown (the call succeeds when replayed: out of gas or state changed within the block)"
	}
	return w.describeRevert(err)
}

// describeRevert decodes a contract error from a call error.
func (w *Writer) describeRevert(err error) string {
	if data, ok := revertData(err); ok {
		if e, uerr := w.abi.UnpackError(data); uerr == nil {
			return fmt.Sprintf("%T%+v", e, e)
		}
	}
	return err.Error()
}

// revertData extracts the revert payload of a JSON-RPC call error.
func revertData(err error) ([]byte, bool) {
	var de interface{ ErrorData() interface{} }
	if !errors.As(err, &de) {
		return nil, false
	}
	s, ok := de.ErrorData().(string)
	if !ok {
		return nil, false
	}
	b, derr := decodeHex(s)
	return b, derr == nil && len(b) >= 4
}

func decodeHex(s string) ([]byte, error) { return hexutil.Decode(s) }

// resolveConsumed handles a transaction whose nonce was used by a
// transaction that is none of its versions.
func (w *Writer) resolveConsumed(ctx context.Context, t *store.Tx) error {
	delete(w.consumed, t.ID)
	w.dirty = true
	w.m.txErrors.WithLabelValues("nonce_consumed").Inc()
	if t.Kind == store.KindSettle {
		last, err := w.lastBatchID(ctx)
		if err != nil {
			return err
		}
		if last >= t.BatchID {
			return w.settledElsewhere(ctx, t.BatchID, t.ID)
		}
	}
	w.log.Warn("nonce used by a transaction that is not ours; sending the work again with a new nonce",
		"nonce", t.Nonce, "kind", t.Kind, "batch", t.BatchID)
	if err := w.st.Drop(ctx, t, fmt.Sprintf("nonce %d used by another transaction", t.Nonce)); err != nil {
		return dbErr(err)
	}
	t.State = store.StateDropped
	return nil
}

// settledElsewhere records a batch that the contract settled by a
// transaction the writer cannot attribute to a live one: it finds the
// BatchSettled event, checks the root and records it (dropping dropTx if
// not 0). A root that differs is a foreign write: the writer stops.
func (w *Writer) settledElsewhere(ctx context.Context, batch uint64, dropTx int64) error {
	p, err := w.st.BatchPayload(ctx, batch)
	if err != nil {
		return dbErr(err)
	}
	out, err := w.call(ctx, w.abi.PackBatchRoot(new(big.Int).SetUint64(batch)))
	if err != nil {
		return chainErr("batchRoot", err)
	}
	onChain, err := w.abi.UnpackBatchRoot(out)
	if err != nil {
		return problem("chain error", fmt.Errorf("batchRoot(%d): %w", batch, err))
	}
	if common.Hash(onChain) != p.Root {
		return problem("misconfigured: a batch on chain differs from the database's",
			fmt.Errorf("batch %d: chain root %x, database root %s", batch, onChain, p.Root))
	}
	ev := w.abi.GetABI().Events["BatchSettled"]
	from := new(big.Int).SetUint64(w.binding.BoundBlock)
	cctx, cancel := context.WithTimeout(ctx, w.cfg.RPCTimeout)
	logs, err := w.be.FilterLogs(cctx, ethereum.FilterQuery{
		FromBlock: from, Addresses: []common.Address{w.cfg.Contract},
		Topics: [][]common.Hash{{ev.ID}, {common.BigToHash(new(big.Int).SetUint64(batch))}},
	})
	cancel()
	if err != nil {
		return chainErr("BatchSettled logs", err)
	}
	var found *types.Log
	for i := range logs {
		if !logs[i].Removed {
			found = &logs[i]
		}
	}
	if found == nil {
		return problem("chain error", fmt.Errorf("batch %d is settled on chain but no BatchSettled event was found", batch))
	}
	settled, err := w.abi.UnpackBatchSettledEvent(found)
	if err != nil {
		return problem("chain error", fmt.Errorf("batch %d event: %w", batch, err))
	}
	if common.Hash(settled.ReceiptsRoot) != p.Root {
		return problem("misconfigured: a batch on chain differs from the database's",
			fmt.Errorf("batch %d: chain root %x, database root %s (tx %s)", batch, settled.ReceiptsRoot, p.Root, found.TxHash))
	}
	if !w.deep(found.BlockNumber) {
		return nil // wait for the confirmations
	}
	inc := store.Inclusion{Hash: found.TxHash, Block: found.BlockNumber, BlockHash: found.BlockHash, Status: 1}
	cctx, cancel = context.WithTimeout(ctx, w.cfg.RPCTimeout)
	if r, err := w.be.TransactionReceipt(cctx, found.TxHash); err == nil && r != nil {
		inc.GasUsed = r.GasUsed
	}
	cancel()
	w.log.Warn("batch found settled by a transaction the writer did not track; recorded", "batch", batch, "tx", found.TxHash, "block", found.BlockNumber)
	if err := w.st.SettleBatchExternally(ctx, batch, inc, dropTx, fmt.Sprintf("batch %d settled by %s", batch, found.TxHash)); err != nil {
		return dbErr(err)
	}
	w.m.batchesSettled.Inc()
	return nil
}

// goneAfter is how long after its last broadcast a version must be in the
// node (pending or included) before its absence counts, and how often the
// node is asked.
func (w *Writer) goneAfter() time.Duration {
	return max(min(time.Second, w.cfg.ResubmitTimeout/4), w.cfg.PollInterval)
}

// goneFromNode tells whether the node has none of t's versions (neither in
// its pool nor included), a while after this process broadcast the latest:
// it was dropped (anvil_dropTransaction, eviction, a restart). It counts
// the times in w.gone.
func (w *Writer) goneFromNode(ctx context.Context, t *store.Tx) (bool, error) {
	latest := t.Latest()
	sentAt, ok := w.sent[latest.Hash]
	if !ok || time.Since(sentAt) < w.goneAfter() || time.Since(w.goneChecked[t.ID]) < w.goneAfter() {
		return false, nil
	}
	w.goneChecked[t.ID] = time.Now()
	for i := len(t.Attempts) - 1; i >= 0; i-- {
		cctx, cancel := context.WithTimeout(ctx, w.cfg.RPCTimeout)
		tx, _, err := w.be.TransactionByHash(cctx, t.Attempts[i].Hash)
		cancel()
		if errors.Is(err, ethereum.NotFound) || (err == nil && tx == nil) {
			continue
		}
		if err != nil {
			return false, chainErr("transaction by hash", err)
		}
		return false, nil
	}
	w.gone[latest.Hash]++
	return true, nil
}

// maxRejected bounds the new versions signed for a transaction the node
// refuses; after that it is rebroadcast as is and reported.
const maxRejected = 3

// replaceRejected signs a new version of a transaction whose latest the
// node refused outright: the gas limit estimated again when the call can
// be (at most the block's), fees bumped.
func (w *Writer) replaceRejected(ctx context.Context, t *store.Tx) error {
	delete(w.resign, t.ID)
	if t.Kind == store.KindRegister || (t.Kind == store.KindSettle && w.obs.lastBatch+1 == t.BatchID) {
		gas, reverted, err := w.gasLimit(ctx, t.Data, t.GasLimit)
		if err != nil {
			return err
		}
		if reverted == nil {
			t.GasLimit = gas
		}
	}
	if lim := w.obs.gasLimit; lim > 0 && t.GasLimit > lim {
		t.GasLimit = lim
	}
	return w.bump(ctx, t)
}

// deepReorgs compares the chain with what was recorded, on every
// observation: a batch recorded settled above the contract's lastBatchId,
// or a confirmed transaction whose nonce the chain no longer counts, was
// taken out by a reorg deeper than the confirmations. Once it has lasted
// consumedGrace (a load-balanced endpoint may answer from a node behind),
// those transactions are reopened (pending again, their batches unsettled,
// their agents pending) and their versions sent again: the same nonce and
// batch id, so the contract still counts each batch once.
func (w *Writer) deepReorgs(ctx context.Context) error {
	settled, err := w.st.MaxSettledBatchID(ctx)
	if err != nil {
		return dbErr(err)
	}
	txs, err := w.st.ConfirmedFrom(ctx, w.signer, w.obs.nonce)
	if err != nil {
		return dbErr(err)
	}
	if settled <= w.obs.lastBatch && len(txs) == 0 {
		w.reorgSeen = time.Time{}
		return nil
	}
	if w.reorgSeen.IsZero() {
		w.reorgSeen = time.Now()
		w.dirty = true
	}
	if time.Since(w.reorgSeen) < consumedGrace {
		return nil
	}
	w.reorgSeen = time.Time{}
	if len(txs) == 0 {
		// Batches settled on chain no longer, by transactions whose nonces
		// stay used: not ours to resend.
		return problem("chain behind the database", fmt.Errorf("contract lastBatchId %d, database settled up to %d", w.obs.lastBatch, settled))
	}
	for i := range txs {
		t := &txs[i]
		w.m.reorgs.Inc()
		w.log.Warn("confirmed transaction reorged out; sending it again", "kind", t.Kind, "nonce", t.Nonce, "batch", t.BatchID,
			"tx", t.Included.Hash, "block", t.Included.Block, "chain_nonce", w.obs.nonce, "last_batch_on_chain", w.obs.lastBatch)
		if err := w.st.Reopen(ctx, t); err != nil {
			return dbErr(err)
		}
		for _, a := range t.Attempts {
			delete(w.sent, a.Hash) // send again at once
		}
	}
	w.dirty = true
	return nil
}
