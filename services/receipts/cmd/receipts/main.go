// Command receipts is the PBTS receipt verifier: checks EIP-191 signatures and pieces, persists receipts to Postgres.
package main

import "github.com/pbts/pbts/server"

func main() {
	server.Main(server.Service{
		Name:        "receipts",
		GRPCAddr:    "127.0.0.1:7002",
		MetricsAddr: "127.0.0.1:9102",
	})
}
