// Command gateway is the PBTS grpc-gateway REST front with OpenAPI, the public HTTP API besides /announce and /scrape.
package main

import "github.com/pbts/pbts/server"

func main() {
	server.Main(server.Service{
		Name:        "gateway",
		GRPCAddr:    "127.0.0.1:7004",
		MetricsAddr: "127.0.0.1:9104",
	})
}
