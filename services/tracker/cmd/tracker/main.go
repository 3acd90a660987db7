// Command tracker is the PBTS private BitTorrent tracker (HTTP announce/scrape), agent registry, dataset catalog and ratio gate.
package main

import "github.com/pbts/pbts/server"

func main() {
	server.Main(server.Service{
		Name:        "tracker",
		GRPCAddr:    "127.0.0.1:7001",
		MetricsAddr: "127.0.0.1:9101",
	})
}
