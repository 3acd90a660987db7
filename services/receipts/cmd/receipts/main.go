// Command receipts is the PBTS receipt verifier (DESIGN.md step 6): it checks
// each piece receipt's EIP-191 signature and piece against the catalog and
// the swarm, and persists it to Postgres exactly once.
//
// Every flag defaults from its PBTS_* environment variable (-database-url from
// PBTS_DATABASE_URL, -tracker-contract from PBTS_TRACKER_CONTRACT, ...); run
// with -h for the list.
package main

import (
	"github.com/pbts/pbts/server"
	"github.com/pbts/pbts/services/receipts/internal/service"
)

func main() {
	var cfg service.Config
	server.Main(server.Service{
		Name:        "receipts",
		GRPCAddr:    "127.0.0.1:7002",
		MetricsAddr: "127.0.0.1:9102",
		Flags:       cfg.RegisterFlags,
		Setup:       service.Setup(&cfg),
	})
}
