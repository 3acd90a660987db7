#!/usr/bin/env bash
# Receipts service throughput (issue 4). Builds the service and the load
# generator, creates a fresh database on the local Postgres, starts the real
# service on it, and runs services/receipts/cmd/receipts-bench against it:
# N pre-signed receipts submitted over gRPC in batches, then the single-core
# ecrecover rate measured in the same run. Prints on stdout:
#
#   figure receipts_per_s <N> receipts/s
#   figure recover_per_s_core_same_run <N> recover/s
#   figure receipts_vs_recover_limit <R, 2 decimals>
#
# Everything else (CPU by process during the load, the top of the service's
# CPU profile) goes to stderr. Fails unless every receipt was accepted.
#
# Environment: PBTS_BENCH_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres),
# N (200000), BATCH (2048), CONCURRENCY (4), PROFILE_OUT (keep the CPU profile
# there), BENCH_TIMEOUT (seconds, 900), SUBMIT_RATE_PER_ADDRESS /
# SUBMIT_BURST_PER_ADDRESS (1000000: the load comes from one address, faster
# than the service's default per-address limit lets one client go; the
# limiter still runs, and the per-agent limits keep their defaults).
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"

admin=${PBTS_BENCH_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
n=${N:-200000}
batch=${BATCH:-2048}
conc=${CONCURRENCY:-4}
limit=${BENCH_TIMEOUT:-900}

if [ "$(go env CGO_ENABLED)" != "1" ]; then
	echo "receipts.sh: warning: CGO_ENABLED=0, ecrecover uses the slow pure-Go path" >&2
fi

tmp=$(mktemp -d)
db="pbts_bench_receipts_$$"
svc_pid=""
cleanup() {
	if [ -n "$svc_pid" ]; then
		kill -TERM "$svc_pid" 2>/dev/null || true
		wait "$svc_pid" 2>/dev/null || true
	fi
	if [ -x "$tmp/receipts-bench" ]; then
		"$tmp/receipts-bench" -admin-url "$admin" -drop-db "$db" >&2 || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "receipts.sh: building" >&2
timeout "$limit" go build -o "$tmp/receipts" ./services/receipts/cmd/receipts
timeout "$limit" go build -o "$tmp/receipts-bench" ./services/receipts/cmd/receipts-bench
bench="$tmp/receipts-bench"

"$bench" -admin-url "$admin" -create-db "$db"
db_url=$(printf '%s' "$admin" | sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/$db#")
. scripts/addrs.sh

tracker=0x5FbDB2315678afecb367f032d93F642f64180aa3
PBTS_DATABASE_URL="$db_url" \
PBTS_TRACKER_CONTRACT="$tracker" \
PBTS_CHAIN_ID=31337 \
PBTS_GRPC_ADDR=127.0.0.1:0 \
PBTS_METRICS_ADDR=127.0.0.1:0 \
PBTS_PPROF_ADDR=127.0.0.1:0 \
PBTS_ADDR_FILE="$tmp/addrs.json" \
PBTS_MAX_BATCH=4096 \
PBTS_SUBMIT_RATE_PER_ADDRESS=${SUBMIT_RATE_PER_ADDRESS:-1000000} \
PBTS_SUBMIT_BURST_PER_ADDRESS=${SUBMIT_BURST_PER_ADDRESS:-1000000} \
PBTS_VERIFY_WORKERS=${VERIFY_WORKERS:-0} \
PBTS_LOG_LEVEL=warn \
	"$tmp/receipts" 2>"$tmp/service.log" &
svc_pid=$!
wait_addrs "$tmp/addrs.json" "$svc_pid" || { tail -n 30 "$tmp/service.log" >&2; exit 1; }

profile=${PROFILE_OUT:-$tmp/cpu.pprof}
status=0
timeout "$limit" "$bench" \
	-addr "$(addr "$tmp/addrs.json" grpc)" -database-url "$db_url" \
	-chain-id 31337 -tracker-contract "$tracker" \
	-n "$n" -batch "$batch" -concurrency "$conc" \
	-pprof-url "http://$(addr "$tmp/addrs.json" pprof)" -profile-out "$profile" -profile-time 5s \
	-service-pid "$svc_pid" || status=$?

if [ -s "$profile" ]; then
	echo "receipts.sh: top of the service's CPU profile during the load:" >&2
	go tool pprof -top -nodecount=35 "$tmp/receipts" "$profile" 2>/dev/null | sed -n '1,45p' >&2 || true
fi
if [ "$status" -ne 0 ]; then
	echo "receipts.sh: load failed (exit $status); service log:" >&2
	tail -n 30 "$tmp/service.log" >&2 || true
fi
exit "$status"
