// Command chainwriter is the PBTS drains verified receipts into nonce-managed settle transactions on the ReputationTracker contract.
package main

import "github.com/pbts/pbts/server"

func main() {
	server.Main(server.Service{
		Name:        "chainwriter",
		GRPCAddr:    "127.0.0.1:7003",
		MetricsAddr: "127.0.0.1:9103",
	})
}
