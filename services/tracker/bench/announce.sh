#!/usr/bin/env bash
# Announce throughput of the PBTS tracker (private gate on) against Debian's
# opentracker, with the same keep-alive load generator and settings, and the
# tracker's heap cost per peer. Prints:
#   figure announce_rps <int> req/s
#   figure opentracker_rps <int> req/s
#   figure announce_vs_opentracker <ratio> x
#   figure tracker_bytes_per_peer <int> B
# It installs nothing: without opentracker it says so on stderr and skips the
# opentracker figures. The load alternates between the two trackers in
# ROUNDS rounds of ROUND each (5 x 2s: 10s per tracker), after a WARMUP of
# unmeasured load before each round, over WORKERS keep-alive connections.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)" # services/tracker
ROUNDS="${ROUNDS:-5}"
ROUND="${ROUND:-2s}"
WARMUP="${WARMUP:-500ms}"
WORKERS="${WORKERS:-64}"

tmp="$(mktemp -d)"
chmod 755 "$tmp" # opentracker chroots here and drops to nobody
pids=()
cleanup() {
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

bench="$tmp/announce-bench"
(cd "$here" && go build -o "$bench" ./cmd/announce-bench)

load() { # load URL SEED -> prints the measured requests/s
	local out
	out="$("$bench" load -url "$1" -seed "$2" -duration "$ROUND" -warmup "$WARMUP" -workers "$WORKERS")"
	echo "$out" >&2
	sed -E 's/.* rps ([0-9]+) .*/\1/' <<<"$out"
}

median() { # median N... -> the middle value (the lower middle for an even count)
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

bound_port() { # bound_port PID: the TCP port the process listens on (it bound port 0)
	local p
	for _ in $(seq 100); do
		kill -0 "$1" 2>/dev/null || return 1
		p=$(ss -ltnpH 2>/dev/null | awk -v pid="pid=$1," 'index($0, pid) { n = split($4, a, ":"); print a[n]; exit }')
		if [[ -n $p ]]; then
			echo "$p"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# Memory: heap in use per peer for 100,000 peers over 10,000 torrents.
bytes_line="$("$bench" mem)"

# PBTS: the real frontend (bt.Server), logic and store with the in-memory
# directory (10,000 torrents, 100,000 passkeys) and the ratio gate.
"$bench" serve -addr 127.0.0.1:0 -addr-file "$tmp/addr" 2>"$tmp/serve.log" &
pbts_pid=$!
pids+=("$pbts_pid")
for _ in $(seq 300); do
	[[ -s "$tmp/addr" ]] && break
	kill -0 "${pids[-1]}" 2>/dev/null || { cat "$tmp/serve.log" >&2; exit 1; }
	sleep 0.1
done
pbts_url="http://$(cat "$tmp/addr")/announce/{passkey}"
echo "pbts tracker at $pbts_url" >&2

ot_url=""
if command -v opentracker >/dev/null 2>&1; then
	"$bench" hashes >"$tmp/whitelist"
	chmod 644 "$tmp/whitelist"
	# Port 0: opentracker binds one itself (it cannot say which: ss tells).
	if [[ "$(id -u)" == 0 ]]; then
		# opentracker refuses to run as root: it chroots to -d and becomes
		# nobody, so the whitelist path is relative to the chroot.
		opentracker -i 127.0.0.1 -p 0 -P 0 -u nobody -d "$tmp" -w /whitelist >"$tmp/ot.log" 2>&1 &
	else
		opentracker -i 127.0.0.1 -p 0 -P 0 -d "$tmp" -w "$tmp/whitelist" >"$tmp/ot.log" 2>&1 &
	fi
	pids+=($!)
	if ! port=$(bound_port "${pids[-1]}"); then
		echo "opentracker did not start:" >&2
		cat "$tmp/ot.log" >&2
		exit 1
	fi
	ot_url="http://127.0.0.1:$port/announce"
	echo "opentracker at $ot_url (whitelist of 10,000 info hashes)" >&2
else
	echo "opentracker not found (Debian package opentracker): skipping figure opentracker_rps and announce_vs_opentracker" >&2
fi

# Alternate short rounds between the two so that load from elsewhere on
# the machine weighs on both alike; report each one's median round.
pbts_runs=()
ot_runs=()
for round in $(seq "$ROUNDS"); do
	echo "round $round/$ROUNDS" >&2
	# a new seed each round (the same for both): new peers, so every
	# announce takes the full path through the directory and the gate
	pbts_runs+=("$(load "$pbts_url" "$round")")
	if [[ -n "$ot_url" ]]; then
		ot_runs+=("$(load "$ot_url" "$round")")
	fi
done

kill "$pbts_pid"
wait "$pbts_pid" 2>/dev/null || true
cat "$tmp/serve.log" >&2

announce_rps="$(median "${pbts_runs[@]}")"
echo "figure announce_rps $announce_rps req/s"
if [[ -n "$ot_url" ]]; then
	opentracker_rps="$(median "${ot_runs[@]}")"
	echo "figure opentracker_rps $opentracker_rps req/s"
	awk -v a="$announce_rps" -v o="$opentracker_rps" 'BEGIN { printf "figure announce_vs_opentracker %.2f x\n", a / o }'
fi
echo "$bytes_line"
