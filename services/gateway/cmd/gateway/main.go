// Command gateway is the PBTS REST gateway (grpc-gateway with OpenAPI): the
// public HTTP API besides /announce and /scrape, over the tracker, the
// receipts service and the chainwriter, with live events for browsers.
//
// Every flag defaults from its PBTS_* environment variable (-http-addr from
// PBTS_HTTP_ADDR, -tracker-addr from PBTS_TRACKER_ADDR, ...); -h lists them.
package main

import (
	"github.com/pbts/pbts/server"
	"github.com/pbts/pbts/services/gateway/internal/gw"
)

func main() {
	var cfg gw.Config
	server.Main(server.Service{
		Name:        "gateway",
		GRPCAddr:    "127.0.0.1:7004",
		MetricsAddr: "127.0.0.1:9104",
		Flags:       cfg.RegisterFlags,
		Setup:       cfg.Setup,
	})
}
