#!/usr/bin/env bash
# Chainwriter gas and latency (issue 5). Builds the chainwriter and
# cmd/chainwriter-bench, which runs anvil with 1 s blocks, deploys the
# contracts, creates (and drops) its own database on the local Postgres,
# registers two agents through the writer and feeds it the 4096 receipts of a
# two-agent exchange of 1 GiB in 256 KiB pieces at a steady rate over 4 s.
# Prints on stdout:
#
#   figure gas_per_receipt <N> gas          (total gas of the settle transactions / receipts)
#   figure settle_latency_p50_ms <N> ms     (receipt accepted_at -> batch settled_at, median)
#
# Details go to stderr. Environment: PBTS_BENCH_ADMIN_URL (default
# postgres://postgres@127.0.0.1:5432/postgres), FEED (4s), KEEP_LOGS=1 prints
# the writer's log.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
admin=${PBTS_BENCH_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/chainwriter" ./services/chainwriter/cmd/chainwriter
go build -o "$tmp/chainwriter-bench" ./services/chainwriter/cmd/chainwriter-bench
keep=()
if [ -n "${KEEP_LOGS:-}" ]; then keep=(-keep-logs); fi
"$tmp/chainwriter-bench" -writer "$tmp/chainwriter" -admin-url "$admin" -feed "${FEED:-4s}" "${keep[@]}"
