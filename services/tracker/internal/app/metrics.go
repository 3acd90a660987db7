package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pbts/pbts/services/tracker/internal/announce"
	"github.com/pbts/pbts/services/tracker/internal/bt"
	"github.com/pbts/pbts/services/tracker/internal/swarm"
)

// registerMetrics exposes the frontend's counters and the swarm sizes.
func registerMetrics(reg prometheus.Registerer, h *bt.Handler, trk *announce.Tracker) {
	counter := func(name, help string, f func(bt.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(f(h.Stats())) })
	}
	swarmGauge := func(name, help string, f func(swarm.Stats) int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			st, err := trk.Stats(ctx)
			if err != nil {
				return 0
			}
			return float64(f(st))
		})
	}
	reg.MustRegister(
		counter("pbts_tracker_announces_total", "Announce requests answered.", func(s bt.Stats) uint64 { return s.Announces }),
		counter("pbts_tracker_scrapes_total", "Scrape requests answered.", func(s bt.Stats) uint64 { return s.Scrapes }),
		counter("pbts_tracker_malformed_total", "Malformed announce/scrape requests.", func(s bt.Stats) uint64 { return s.Malformed }),
		counter("pbts_tracker_refused_total", "Announces refused with a failure reason (passkey, torrent, ratio).", func(s bt.Stats) uint64 { return s.Refused }),
		counter("pbts_tracker_rate_limited_total", "Announces and scrapes refused by the per-client rate limit.", func(s bt.Stats) uint64 { return s.RateLimited }),
		counter("pbts_tracker_conns_refused_total", "Announce connections closed as over their client's --max-conns-per-client.", func(s bt.Stats) uint64 { return s.ConnsRefused }),
		counter("pbts_tracker_hints_ignored_total", "BEP 7 ipv4=/ipv6= hints ignored as loopback or private (--allow-private-peer-hints keeps them).", func(s bt.Stats) uint64 { return s.HintsIgnored }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "pbts_tracker_peers_replaced_total",
			Help: "Peers removed from a swarm for a newer peer id of the same agent (--max-peers-per-agent).",
		}, func() float64 { return float64(trk.Replaced()) }),
		counter("pbts_tracker_internal_errors_total", "Announces answered with an internal error.", func(s bt.Stats) uint64 { return s.Internal }),
		swarmGauge("pbts_tracker_torrents", "Torrents with live peers.", func(s swarm.Stats) int { return s.Torrents }),
		swarmGauge("pbts_tracker_seeders", "Live seeders over all swarms.", func(s swarm.Stats) int { return s.Seeders }),
		swarmGauge("pbts_tracker_leechers", "Live leechers over all swarms.", func(s swarm.Stats) int { return s.Leechers }),
	)
}
