#!/usr/bin/env bash
# Per-core receipt crypto figures. Runs the package benchmarks on one core
# (-cpu 1, cgo libsecp256k1 as in production) and prints, on stdout:
#
#   figure recover_per_s_core <N> recover/s   (Verify: digest + EIP-191 + ecrecover + compare)
#   figure sign_per_s_core <N> sign/s
#   figure digest_per_s_core <N> digest/s
#   figure merkle_root_4096_us <N> us
#
# The raw `go test -bench` output goes to stderr. BENCHTIME (default 2s) is passed
# to -benchtime.
set -euo pipefail
cd "$(dirname "$0")"
if [ "$(go env CGO_ENABLED)" != "1" ]; then
	echo "bench.sh: warning: CGO_ENABLED=0, ecrecover uses the slow pure-Go path" >&2
fi
out=$(go test -run '^$' -bench '^Benchmark(Digest|Sign|Recover|MerkleRoot4096)$' \
	-benchmem -cpu 1 -count 1 -benchtime "${BENCHTIME:-2s}" .)
printf '%s\n' "$out" >&2
printf '%s\n' "$out" | awk '
	function metric(unit,   i) { for (i = 3; i <= NF; i++) if ($i == unit) return $(i - 1); return "" }
	$1 == "BenchmarkRecover"       { v = metric("recover/s"); if (v != "") printf "figure recover_per_s_core %d recover/s\n", v + 0.5; found++ }
	$1 == "BenchmarkSign"          { v = metric("sign/s");    if (v != "") printf "figure sign_per_s_core %d sign/s\n", v + 0.5; found++ }
	$1 == "BenchmarkDigest"        { v = metric("digest/s");  if (v != "") printf "figure digest_per_s_core %d digest/s\n", v + 0.5 }
	$1 == "BenchmarkMerkleRoot4096" { v = metric("ns/op");    if (v != "") printf "figure merkle_root_4096_us %d us\n", v / 1000 + 0.5 }
	END { if (found < 2) { print "bench.sh: benchmark output not understood" > "/dev/stderr"; exit 1 } }'
