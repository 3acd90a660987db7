#!/usr/bin/env bash
# figure transfer_overhead_pct: a 512 MiB file with 256 KiB pieces over
# loopback, receipts off (stock clients) against receipts on (withholding
# gate, per-peer tally, signed receipts handed over BEP 10, journal): five
# rounds, each a fresh seeder per mode back to back; the figure is the
# median on/off ratio. See agent/transfer_bench_test.go.
set -euo pipefail
cd "$(dirname "$0")/../../.."
PBTS_BENCH=1 go test -count=1 -timeout 20m -run '^TestTransferOverheadBench$' -v ./agent/ | tee /tmp/pbts-transfer-bench.log | grep '^figure '
PBTS_BENCH=1 go test -count=1 -timeout 20m -run '^TestTransferOverheadRTTBench$' -v ./agent/ | tee /tmp/pbts-transfer-rtt-bench.log | { grep '^figure ' || echo "transfer over netns skipped (root, ip netns and tc needed): see /tmp/pbts-transfer-rtt-bench.log"; }
