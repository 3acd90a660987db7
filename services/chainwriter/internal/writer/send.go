package writer

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/pbts/pbts/contracts/bindings"
	"github.com/pbts/pbts/database"
	"github.com/pbts/pbts/services/chainwriter/internal/failpoint"
	"github.com/pbts/pbts/services/chainwriter/internal/store"
)

// market returns the price of a new version at the current base fee.
func (w *Writer) market(ctx context.Context) (Fees, error) {
	cctx, cancel := context.WithTimeout(ctx, w.cfg.RPCTimeout)
	defer cancel()
	tip, err := w.be.SuggestGasTipCap(cctx)
	if err != nil {
		return Fees{}, chainErr("suggested tip", err)
	}
	return marketFees(tip, w.obs.baseFee, w.cfg.MinTipCap, w.cfg.MaxFeePerGas), nil
}

// sign signs a version of t at fees f.
func (w *Writer) sign(t *store.Tx, f Fees) (store.Attempt, error) {
	to := t.To
	tx := types.NewTx(&types.DynamicFeeTx{
		ChainID: w.chainID, Nonce: t.Nonce, GasTipCap: f.Tip, GasFeeCap: f.Cap, Gas: t.GasLimit, To: &to, Data: t.Data,
	})
	signed, err := types.SignTx(tx, w.txSigner, w.key)
	if err != nil {
		return store.Attempt{}, fmt.Errorf("sign: %w", err)
	}
	raw, err := signed.MarshalBinary()
	if err != nil {
		return store.Attempt{}, fmt.Errorf("encode: %w", err)
	}
	return store.Attempt{Hash: signed.Hash(), Raw: raw, TipCap: f.Tip, FeeCap: f.Cap, SignedAt: time.Now()}, nil
}

// sendNew gives t the next nonce, signs it, stores it and broadcasts it.
func (w *Writer) sendNew(ctx context.Context, t *store.Tx) error {
	next, err := w.st.NextNonce(ctx, w.signer)
	if err != nil {
		return dbErr(err)
	}
	// Above every nonce we used and every nonce the chain has seen used (the
	// key may have been used elsewhere, e.g. to deploy).
	t.Signer, t.Nonce = w.signer, max(next, w.obs.nonce)
	f, err := w.market(ctx)
	if err != nil {
		return err
	}
	a, err := w.sign(t, f)
	if err != nil {
		return problem("internal error", err)
	}
	id, err := w.st.InsertTx(ctx, t, a)
	if err != nil {
		if database.IsUniqueViolation(err) {
			return problem("internal error", err)
		}
		return dbErr(err)
	}
	t.ID, t.State, t.Attempts = id, store.StatePending, []store.Attempt{a}
	failpoint.Hit(failpoint.AfterSign, string(t.Kind))
	w.m.txSent.WithLabelValues(string(t.Kind)).Inc()
	w.log.Debug("transaction signed", "kind", t.Kind, "nonce", t.Nonce, "batch", t.BatchID, "agents", len(t.Agents),
		"tx", a.Hash, "tip", f.Tip, "fee_cap", f.Cap, "gas", t.GasLimit)
	w.dirty = true
	return w.broadcast(ctx, t, &t.Attempts[0])
}

// broadcast sends a stored version and reacts to the node's answer.
func (w *Writer) broadcast(ctx context.Context, t *store.Tx, a *store.Attempt) error {
	var tx types.Transaction
	if err := tx.UnmarshalBinary(a.Raw); err != nil {
		return problem("internal error", fmt.Errorf("stored tx %s: %w", a.Hash, err))
	}
	// Right before the send: still the leader? This bounds what a writer
	// whose lock session ended under it can still send after a follower
	// took over to the one broadcast already past this check (see
	// internal/leader).
	if err := w.checkLease(ctx); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, w.cfg.RPCTimeout)
	err := w.be.SendTransaction(cctx, &tx)
	cancel()
	class := Classify(err)
	if class != ClassNone {
		w.m.txErrors.WithLabelValues(string(class)).Inc()
	}
	now := time.Now()
	switch class {
	case ClassNone, ClassAlreadyKnown:
		failpoint.Hit(failpoint.AfterBroadcast, string(t.Kind))
		w.sent[a.Hash], w.fundsLow, w.dirty = now, false, true
		if a.SentAt.IsZero() {
			if err := w.st.MarkSent(ctx, a.Hash); err != nil {
				return dbErr(err)
			}
			a.SentAt = now
		}
		return nil
	case ClassNonceTooLow:
		// Included (the next poll finds which version) or used by another
		// transaction (the next polls re-sync and send the work again).
		w.sent[a.Hash], w.dirty = now, true
		return nil
	case ClassUnderpriced, ClassFeeTooLow:
		// Another transaction with this nonce pays more, or the base fee
		// rose above our cap: replace at once.
		w.log.Info("transaction underpriced; replacing", "kind", t.Kind, "nonce", t.Nonce, "tx", a.Hash, "class", class, "err", err)
		w.sent[a.Hash], w.forceBump[t.ID] = now, true
		return nil
	case ClassInsufficientFunds:
		// Keep the transaction; retry with backoff (not recorded as sent).
		w.fundsLow = true
		return problem("insufficient funds", fmt.Errorf("signer %s, nonce %d: %w", w.signer, t.Nonce, err))
	case ClassRejected:
		w.sent[a.Hash] = now
		w.rejected[t.ID]++
		if w.rejected[t.ID] <= maxRejected {
			w.log.Warn("node refuses the transaction; signing a new version with the same nonce", "kind", t.Kind, "nonce", t.Nonce,
				"batch", t.BatchID, "tx", a.Hash, "err", err)
			w.resign[t.ID] = true
			return nil
		}
		w.log.Error("node refuses the transaction", "kind", t.Kind, "nonce", t.Nonce, "tx", a.Hash, "err", err)
		return problem(fmt.Sprintf("node refuses transaction nonce %d", t.Nonce), err)
	case ClassUnavailable:
		return chainErr("send transaction", err)
	default:
		w.log.Warn("send failed; will retry", "kind", t.Kind, "nonce", t.Nonce, "tx", a.Hash, "err", err)
		w.sent[a.Hash] = now
		return nil
	}
}

// bump replaces a stuck transaction: same nonce, higher fees.
func (w *Writer) bump(ctx context.Context, t *store.Tx) error {
	market, err := w.market(ctx)
	if err != nil {
		return err
	}
	old := t.Latest()
	f, ok := bumpFees(Fees{Tip: old.TipCap, Cap: old.FeeCap}, market, w.cfg.FeeBumpPercent, w.cfg.MaxFeePerGas)
	delete(w.forceBump, t.ID)
	if !ok {
		// At the configured cap: keep the current version going.
		w.noBumpUntil[t.ID] = time.Now().Add(w.cfg.ResubmitTimeout)
		w.m.feeCapReached.Inc()
		w.log.Warn("transaction stuck at the fee cap", "kind", t.Kind, "nonce", t.Nonce, "tx", old.Hash,
			"fee_cap", old.FeeCap, "max_fee_per_gas", w.cfg.MaxFeePerGas, "market_fee_cap", market.Cap)
		return w.broadcast(ctx, t, old)
	}
	a, err := w.sign(t, f)
	if err != nil {
		return problem("internal error", err)
	}
	if err := w.st.AddAttempt(ctx, t, a); err != nil {
		return dbErr(err)
	}
	t.Attempts = append(t.Attempts, a)
	failpoint.Hit(failpoint.AfterSign, string(t.Kind))
	w.m.feeBumps.Inc()
	w.log.Info("fee bump", "kind", t.Kind, "nonce", t.Nonce, "batch", t.BatchID, "attempt", len(t.Attempts),
		"tx", a.Hash, "replaces", old.Hash, "tip", f.Tip, "fee_cap", f.Cap)
	return w.broadcast(ctx, t, t.Latest())
}

// registrations sends one registerBatch for pending agents no live
// transaction registers, if the window allows.
func (w *Writer) registrations(ctx context.Context, ls liveSet) (liveSet, error) {
	if ls.count >= w.cfg.MaxInFlight {
		return ls, nil
	}
	agents, err := w.st.PendingAgents(ctx, w.cfg.RegisterMaxAgents)
	if err != nil {
		return ls, dbErr(err)
	}
	if len(agents) == 0 || time.Now().Before(w.holdRegister) {
		return ls, nil
	}
	failpoint.Hit(failpoint.BeforeSign, string(store.KindRegister))
	data := w.abi.PackRegisterBatch(agents)
	gas, reverted, err := w.gasLimit(ctx, data, registerGas(len(agents), len(data)))
	if err != nil {
		return ls, err
	}
	if reverted != nil {
		// A registration that cannot succeed is a bug (the contract skips
		// known agents): report it, send nothing, look again later.
		w.m.txErrors.WithLabelValues("would_revert").Inc()
		w.holdRegister = time.Now().Add(10 * time.Second)
		return ls, problem("registration would revert", errors.New(w.describeRevert(reverted)))
	}
	t := &store.Tx{Kind: store.KindRegister, To: w.cfg.Contract, Data: data, GasLimit: gas, Agents: agents}
	if err := w.sendNew(ctx, t); err != nil {
		return ls, err
	}
	ls.count++
	return ls, nil
}

// settlements sends the recorded batches that have no live transaction, in
// id order (a batch waits for every earlier one to have a live transaction,
// so that nonce order is batch order), then cuts a new batch if one is due.
func (w *Writer) settlements(ctx context.Context, ls liveSet) error {
	unsettled, err := w.st.UnsettledBatches(ctx)
	if err != nil {
		return dbErr(err)
	}
	for _, b := range unsettled {
		if b.Live || ls.batches[b.ID] {
			continue
		}
		if w.obs.lastBatch >= b.ID {
			// Settled on chain, but we hold no live transaction for it (a
			// crash after it was included, before it was recorded, or a
			// version we no longer track).
			return w.settledElsewhere(ctx, b.ID, 0)
		}
		if ls.count >= w.cfg.MaxInFlight {
			return nil
		}
		if until, ok := w.hold[b.ID]; ok && time.Now().Before(until) {
			return nil
		}
		sent, err := w.sendBatch(ctx, b.ID)
		if err != nil || !sent {
			return err
		}
		ls.count++
		ls.batches[b.ID], ls.settleWaiting = true, true
	}
	if ls.count >= w.cfg.MaxInFlight {
		return nil
	}
	st, err := w.st.PendingStats(ctx, w.cfg.BatchMaxReceipts)
	if err != nil {
		return dbErr(err)
	}
	w.m.batchable.Set(float64(st.Receipts))
	if st.Receipts == 0 {
		return nil
	}
	full := st.Receipts >= w.cfg.BatchMaxReceipts || st.Agents >= w.cfg.BatchMaxAgents
	if !full && (st.OldestAge < w.cfg.BatchMaxAge || ls.settleWaiting) {
		return nil
	}
	b, err := w.st.CreateBatch(ctx, store.BatchLimits{
		MaxReceipts: w.cfg.BatchMaxReceipts, MaxAgents: w.cfg.BatchMaxAgents, BaseBatchID: w.binding.BaseBatchID,
	})
	if err != nil {
		return dbErr(err)
	}
	if b == nil {
		return nil
	}
	w.m.batchesCreated.Inc()
	w.log.Debug("batch recorded", "batch", b.ID, "receipts", b.ReceiptCount, "agents", b.AgentCount, "bytes", b.TotalBytes, "root", b.Root)
	failpoint.Hit(failpoint.BeforeSign, string(store.KindSettle))
	_, err = w.sendBatch(ctx, b.ID)
	return err
}

// sendBatch sends settle() for a recorded batch. When the batch is next on
// chain its gas is estimated (which simulates it), so a batch that would
// revert is held (and reported) instead of paid for; a batch behind one in
// flight cannot be estimated (BadBatchId until the earlier one is included)
// and gets the computed bound. sent is false when it was not sent.
func (w *Writer) sendBatch(ctx context.Context, id uint64) (sent bool, err error) {
	p, err := w.st.BatchPayload(ctx, id)
	if err != nil {
		return false, dbErr(err)
	}
	data := w.abi.PackSettle(new(big.Int).SetUint64(id), p.Root, p.Agents, p.Up, p.Down)
	gas := settleGas(len(p.Agents), len(data))
	if w.obs.lastBatch+1 == id {
		var reverted error
		gas, reverted, err = w.gasLimit(ctx, data, gas)
		if err != nil {
			return false, err
		}
		if reverted != nil {
			if data, ok := revertData(reverted); ok {
				if e, uerr := w.abi.UnpackError(data); uerr == nil {
					if _, bad := e.(*bindings.ReputationTrackerBadBatchId); bad {
						w.dirty = true // the chain moved on: look again
						return false, nil
					}
				}
			}
			w.m.txErrors.WithLabelValues("would_revert").Inc()
			w.hold[id] = time.Now().Add(10 * time.Second)
			return false, problem(fmt.Sprintf("batch %d would revert", id), errors.New(w.describeRevert(reverted)))
		}
	} else {
		w.m.gasLimits.WithLabelValues("bound").Inc()
	}
	t := &store.Tx{Kind: store.KindSettle, BatchID: id, To: w.cfg.Contract, Data: data, GasLimit: gas}
	if err := w.sendNew(ctx, t); err != nil {
		return false, err
	}
	w.m.batchesSent.Inc()
	delete(w.hold, id)
	return true, nil
}

// gasLimit is the gas limit of a new call of the contract with data: the
// node's estimate (eth_estimateGas at the latest block) plus the margin,
// at most the block's gas limit. reverted is the estimate's error when the
// call would revert (the caller refuses to send it); a node that answers
// with another error (no eth_estimateGas, a cap of its own) gets bound, the
// computed worst case, with a warning.
func (w *Writer) gasLimit(ctx context.Context, data []byte, bound uint64) (gas uint64, reverted, err error) {
	cctx, cancel := context.WithTimeout(ctx, w.cfg.RPCTimeout)
	est, err := w.be.EstimateGas(cctx, ethereum.CallMsg{From: w.signer, To: &w.cfg.Contract, Data: data})
	cancel()
	switch {
	case err == nil:
	case unavailable(err):
		return 0, nil, chainErr("estimate gas", err)
	case isRevert(err):
		return 0, err, nil
	default:
		w.m.gasLimits.WithLabelValues("bound").Inc()
		w.log.Warn("gas estimate failed; using the computed bound", "gas", bound, "err", err)
		return bound, nil, nil
	}
	gas = gasWithMargin(est, w.cfg.GasMarginPercent)
	if lim := w.obs.gasLimit; lim > 0 && gas > lim {
		if est > lim {
			return 0, nil, problem("transaction larger than a block",
				fmt.Errorf("estimated %d gas, the block gas limit is %d", est, lim))
		}
		gas = lim
	}
	w.m.gasLimits.WithLabelValues("estimated").Inc()
	return gas, nil, nil
}

// isRevert tells whether an error of eth_call/eth_estimateGas says the call
// reverts (as opposed to a node that cannot answer).
func isRevert(err error) bool {
	if _, ok := revertData(err); ok {
		return true
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "revert")
}
