#!/usr/bin/env bash
# Prints the gas of ReputationTracker.settle for 2, 16 and 128 agents, one "figure" line each.
#
# The figures come from test/Gas.t.sol, which logs vm.lastCallGas().gasTotalUsed of the settle call:
# the gas used inside the settle call frame for a steady-state batch (agents already registered,
# lastBatchId already non-zero, non-zero deltas, cold agent slots). That equals the transaction's
# gasUsed minus the 21000 intrinsic gas and the calldata gas; the test also logs settle_tx_gas_<n>_agents
# with those added back (checked against real anvil receipts).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
forge="$here/../node_modules/.bin/forge"
cd "$here"
out="$("$forge" test --match-path test/Gas.t.sol --match-test 'test_Gas_Settle_' -vv 2>&1)" || {
  printf '%s\n' "$out" >&2
  exit 1
}
for n in 2 16 128; do
  gas="$(printf '%s\n' "$out" | awk -v k="settle_gas_${n}_agents" '$1 == k { print $2; exit }')"
  if [[ -z "$gas" ]]; then
    echo "bench-gas: no figure for $n agents" >&2
    exit 1
  fi
  echo "figure settle_gas_${n}_agents ${gas} gas"
done
