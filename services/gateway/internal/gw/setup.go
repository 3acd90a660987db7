package gw

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pbts/pbts/server"
)

// Setup is server.Service.Setup for the gateway command: it opens the REST
// listener (port 0 picks one; it is reported as "http"), dials the backends
// and returns the serving loop.
func (c *Config) Setup(ctx context.Context, srv *server.Server, log *slog.Logger) (func(context.Context) error, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.TLS = srv.TLS()
	log.Info("gateway config", "config", *c)
	g, err := New(ctx, *c, log, newHTTPMetrics(srv.Registry()))
	if err != nil {
		return nil, err
	}
	srv.Registry().MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "pbts_gateway_event_subscribers", Help: "Open /v1/events streams.",
	}, func() float64 { return float64(g.events.subscribers()) }))
	ln, scheme, err := srv.ListenHTTP(c.HTTPAddr)
	if err != nil {
		g.Close()
		return nil, fmt.Errorf("listen %s %s: %w", server.EnvName("http-addr"), c.HTTPAddr, err)
	}
	srv.AddListener("http", ln.Addr())
	log.Info("REST gateway", "url", scheme+"://"+ln.Addr().String())
	return func(ctx context.Context) error {
		defer g.Close()
		return g.Run(ctx, ln, srv.ShutdownTimeout())
	}, nil
}
