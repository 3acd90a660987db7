#!/usr/bin/env bash
# figures gateway_rps, gateway_grpc_direct_rps, gateway_overhead_pct: the same
# read (GetAgent of one of five registered agents) through the REST gateway
# and straight over gRPC against the real stack (Postgres, anvil, the four
# services), alternating rounds; overhead is the median direct/REST - 1.
# PBTS_BENCH_GATEWAY_SECONDS, _CONC, _LOG and _PROFILE (a directory for a CPU
# profile of the gateway) tune it. See e2e/gateway_bench_test.go.
set -euo pipefail
cd "$(dirname "$0")/../../.."
PBTS_BENCH=1 go test -count=1 -timeout 10m -run '^TestGatewayBench$' -v ./e2e/ | tee /tmp/pbts-gateway-bench.log | grep '^figure '
