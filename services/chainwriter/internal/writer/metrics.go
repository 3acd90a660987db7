package writer

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the writer's Prometheus collectors.
type Metrics struct {
	up, leader, balance, head           prometheus.Gauge
	lastBatchOnChain                    prometheus.Gauge
	inFlight, nonceLag, batchable       prometheus.Gauge
	pendingReceipts, oldestPending      prometheus.Gauge
	pendingRegistrations                prometheus.Gauge
	batchesCreated, batchesSent         prometheus.Counter
	batchesSettled, feeBumps, reorgs    prometheus.Counter
	feeCapReached                       prometheus.Counter
	txSent, confirmed, reverts, gasUsed *prometheus.CounterVec
	txErrors                            *prometheus.CounterVec
	gasLimits                           *prometheus.CounterVec
}

// NewMetrics creates the collectors and registers them on reg (nil: none).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	g := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: "pbts_chainwriter_" + name, Help: help})
	}
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "pbts_chainwriter_" + name, Help: help})
	}
	cv := func(name, help, label string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pbts_chainwriter_" + name, Help: help}, []string{label})
	}
	m := &Metrics{
		up:                   g("settling", "1 while the writer is settling, 0 while it cannot (chain or database down, misconfigured, no funds, not the leader)."),
		leader:               g("leader", "1 while this process holds the writer lock (the one active chainwriter of its deployment), 0 while it stands by."),
		balance:              g("signer_balance_ether", "Balance of the signer, in ether."),
		head:                 g("head_block", "Latest block number seen."),
		lastBatchOnChain:     g("last_batch_id_on_chain", "lastBatchId() of the contract."),
		inFlight:             g("txs_in_flight", "Transactions signed and not yet final."),
		nonceLag:             g("nonce_lag", "Next nonce of the writer minus the signer's nonce in the latest block."),
		batchable:            g("batchable_receipts", "Receipts ready for the next batch (capped at the batch size)."),
		pendingReceipts:      g("pending_receipts", "Verified receipts not yet in a batch."),
		oldestPending:        g("oldest_pending_receipt_seconds", "Age of the oldest receipt not yet in a batch."),
		pendingRegistrations: g("pending_registrations", "Agents waiting for their on-chain registration."),
		batchesCreated:       c("batches_created_total", "Batches recorded in the database."),
		batchesSent:          c("batches_sent_total", "settle() transactions signed (a batch re-sent after a failure counts again)."),
		batchesSettled:       c("batches_settled_total", "Batches recorded as settled on chain."),
		feeBumps:             c("fee_bumps_total", "Replacement versions signed with higher fees."),
		reorgs:               c("reorgs_total", "Included transactions whose block left the canonical chain."),
		feeCapReached:        c("fee_cap_reached_total", "Bumps refused by the max fee per gas setting."),
		txSent:               cv("txs_sent_total", "New transactions signed, by kind.", "kind"),
		confirmed:            cv("txs_confirmed_total", "Transactions confirmed, by kind.", "kind"),
		reverts:              cv("txs_reverted_total", "Transactions included but reverted, by kind.", "kind"),
		gasUsed:              cv("gas_used_total", "Gas used by confirmed transactions, by kind.", "kind"),
		txErrors:             cv("tx_errors_total", "Transaction errors by class (send answers, simulations, used nonces).", "class"),
		gasLimits:            cv("gas_limits_total", "Gas limits of new transactions by source: estimated (eth_estimateGas plus the margin) or bound (computed: a pipelined settle, or the node could not estimate).", "source"),
	}
	if reg != nil {
		reg.MustRegister(m.up, m.leader, m.balance, m.head, m.lastBatchOnChain, m.inFlight, m.nonceLag, m.batchable,
			m.pendingReceipts, m.oldestPending, m.pendingRegistrations, m.batchesCreated, m.batchesSent,
			m.batchesSettled, m.feeBumps, m.reorgs, m.feeCapReached, m.txSent, m.confirmed, m.reverts, m.gasUsed, m.txErrors, m.gasLimits)
	}
	return m
}
