package service

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
)

type metrics struct {
	// results[reason] for refusals; accepted and duplicate apart.
	accepted, duplicate prometheus.Counter
	refused             map[pbtsv1.RefusalReason]prometheus.Counter
	batchSize           prometheus.Histogram
	verify, commit      prometheus.Histogram
	retries             prometheus.Counter
	dbUp                prometheus.Gauge
	// limited[scope] counts requests refused by a rate limit.
	limited map[string]prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, watchers, dropped, recoveries func() float64) *metrics {
	results := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pbts_receipts_total",
		Help: "Submitted receipts by outcome: status accepted, duplicate or refused (with the refusal reason).",
	}, []string{"status", "reason"})
	m := &metrics{
		accepted:  results.WithLabelValues("accepted", ""),
		duplicate: results.WithLabelValues("duplicate", ""),
		refused:   make(map[pbtsv1.RefusalReason]prometheus.Counter),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pbts_receipts_batch_size",
			Help:    "Receipts per SubmitReceipts request.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		verify: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pbts_receipts_verify_seconds",
			Help:    "Time to parse and check one request's receipts (signatures, catalog), before the ledger.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pbts_receipts_commit_seconds",
			Help:    "Time to commit one request's receipts to the ledger (all attempts).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pbts_receipts_commit_retries_total",
			Help: "Ledger transactions retried after a deadlock or serialization failure.",
		}),
		dbUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pbts_receipts_database_up",
			Help: "1 while the database answers, else 0.",
		}),
	}
	limited := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pbts_receipts_rate_limited_total",
		Help: "Requests refused RESOURCE_EXHAUSTED by a limit, by scope: submit_address, submit_agent, watch_address, watch_agent, watch_total; watch_displaced counts watches ended to give their slot to a client holding fewer.",
	}, []string{"scope"})
	m.limited = make(map[string]prometheus.Counter)
	for _, scope := range []string{"submit_address", "submit_agent", "watch_address", "watch_agent", "watch_total", "watch_displaced"} {
		m.limited[scope] = limited.WithLabelValues(scope)
	}
	for v, name := range pbtsv1.RefusalReason_name {
		if v == 0 {
			continue
		}
		r := pbtsv1.RefusalReason(v)
		m.refused[r] = results.WithLabelValues("refused", strings.ToLower(strings.TrimPrefix(name, "REFUSAL_REASON_")))
	}
	reg.MustRegister(results, m.batchSize, m.verify, m.commit, m.retries, m.dbUp, limited,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "pbts_receipts_signature_recoveries_total",
			Help: "EIP-191 signatures recovered (ecrecover calls): the costly check, run only on receipts that passed the cheap ones.",
		}, recoveries),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "pbts_receipts_watchers",
			Help: "WatchReceipts subscribers.",
		}, watchers),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "pbts_receipts_watchers_dropped_total",
			Help: "WatchReceipts subscribers dropped for falling behind.",
		}, dropped))
	return m
}
