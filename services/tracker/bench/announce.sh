#!/usr/bin/env bash
# Announce throughput of the PBTS tracker (private gate on) against Debian's
# opentracker, with the same keep-alive load generator and settings, and the
# tracker's heap cost per peer. Prints:
#   figure announce_rps <int> req/s
#   figure announce_rps_redis <int> req/s   (the same with --swarm-store=redis)
#   figure opentracker_rps <int> req/s
#   figure announce_vs_opentracker <ratio> x
#   figure tracker_bytes_per_peer <int> B
# It installs nothing: without opentracker it says so on stderr and skips the
# opentracker figures; without a Redis at REDIS_URL (default
# redis://127.0.0.1:6379/0; make system-deps starts one) it skips
# announce_rps_redis. The Redis tracker's keys get a fresh prefix and are
# deleted when it exits. The load alternates between the trackers in
# ROUNDS rounds of ROUND each (5 x 2s: 10s per tracker), after a WARMUP of
# unmeasured load before each round, over WORKERS keep-alive connections.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)" # services/tracker
ROUNDS="${ROUNDS:-5}"
ROUND="${ROUND:-2s}"
WARMUP="${WARMUP:-500ms}"
WORKERS="${WORKERS:-64}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"

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

serve() { # serve NAME FLAGS...: start announce-bench serve, set serve_pid and serve_url
	local name=$1
	shift
	"$bench" serve -addr 127.0.0.1:0 -addr-file "$tmp/$name.addr" "$@" 2>"$tmp/$name.log" &
	serve_pid=$!
	pids+=("$serve_pid")
	for _ in $(seq 300); do
		[[ -s "$tmp/$name.addr" ]] && break
		kill -0 "$serve_pid" 2>/dev/null || { cat "$tmp/$name.log" >&2; exit 1; }
		sleep 0.1
	done
	serve_url="http://$(cat "$tmp/$name.addr")/announce/{passkey}"
	echo "pbts tracker ($name) at $serve_url" >&2
}

# PBTS: the real frontend (bt.Server), logic and store with the in-memory
# directory (10,000 torrents, 100,000 passkeys) and the ratio gate.
serve pbts
pbts_pid=$serve_pid pbts_url=$serve_url

# The same with the Redis swarm store (what tracker replicas share).
redis_url=""
redis_hostport="${REDIS_URL#*://}"
redis_hostport="${redis_hostport#*@}"
redis_hostport="${redis_hostport%%/*}"
if (exec 3<>"/dev/tcp/${redis_hostport%:*}/${redis_hostport##*:}") 2>/dev/null; then
	serve redis -swarm-store redis -redis-url "$REDIS_URL"
	redis_pid=$serve_pid redis_url=$serve_url
else
	echo "no Redis answers at $redis_hostport: skipping figure announce_rps_redis" >&2
fi

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
redis_runs=()
ot_runs=()
for round in $(seq "$ROUNDS"); do
	echo "round $round/$ROUNDS" >&2
	# a new seed each round (the same for both): new peers, so every
	# announce takes the full path through the directory and the gate
	pbts_runs+=("$(load "$pbts_url" "$round")")
	if [[ -n "$redis_url" ]]; then
		redis_runs+=("$(load "$redis_url" "$round")")
	fi
	if [[ -n "$ot_url" ]]; then
		ot_runs+=("$(load "$ot_url" "$round")")
	fi
done

kill "$pbts_pid"
wait "$pbts_pid" 2>/dev/null || true
cat "$tmp/pbts.log" >&2
if [[ -n "$redis_url" ]]; then
	kill "$redis_pid"
	wait "$redis_pid" 2>/dev/null || true # deletes its Redis keys
	cat "$tmp/redis.log" >&2
fi

announce_rps="$(median "${pbts_runs[@]}")"
echo "figure announce_rps $announce_rps req/s"
if [[ -n "$redis_url" ]]; then
	echo "figure announce_rps_redis $(median "${redis_runs[@]}") req/s"
fi
if [[ -n "$ot_url" ]]; then
	opentracker_rps="$(median "${ot_runs[@]}")"
	echo "figure opentracker_rps $opentracker_rps req/s"
	awk -v a="$announce_rps" -v o="$opentracker_rps" 'BEGIN { printf "figure announce_vs_opentracker %.2f x\n", a / o }'
fi
echo "$bytes_line"
