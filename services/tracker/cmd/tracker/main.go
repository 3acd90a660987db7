// Command tracker is the PBTS private BitTorrent tracker (HTTP announce and
// scrape), agent registry, dataset catalog and ratio gate.
package main

import (
	"github.com/pbts/pbts/server"
	"github.com/pbts/pbts/services/tracker/internal/app"
)

func main() {
	var cfg app.Config
	server.Main(server.Service{
		Name:        "tracker",
		GRPCAddr:    "127.0.0.1:7001",
		MetricsAddr: "127.0.0.1:9101",
		Flags:       cfg.RegisterFlags,
		Setup:       cfg.Setup,
	})
}
