// Command chainwriter drains verified receipts and pending agent registrations
// into nonce-managed settle and registerBatch transactions on the
// ReputationTracker contract (DESIGN.md step 7). It is the only holder of the
// tracker authority's key.
package main

import (
	"github.com/pbts/pbts/server"
	"github.com/pbts/pbts/services/chainwriter/internal/app"
)

func main() {
	var cfg app.Config
	server.Main(server.Service{
		Name:        "chainwriter",
		GRPCAddr:    "127.0.0.1:7003",
		MetricsAddr: "127.0.0.1:9103",
		Flags:       cfg.RegisterFlags,
		Setup:       cfg.Setup,
	})
}
