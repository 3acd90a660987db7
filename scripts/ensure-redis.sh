#!/usr/bin/env bash
# Makes sure a Redis server answers PING at 127.0.0.1:6379 (the tracker's
# --swarm-store=redis tests and benchmark use it). On a Debian machine
# without one it installs Debian's redis-server (scripts/ensure-apt.sh) and
# starts it in the background, daemonized, without persistence.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

pong() { # a Redis answers PING
	(
		exec 3<>/dev/tcp/127.0.0.1/6379 || exit 1
		printf 'PING\r\n' >&3
		IFS= read -r -t 3 line <&3 || exit 1
		[[ $line == +PONG* ]]
	) 2>/dev/null
}
listening() { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; }

if pong; then
	exit 0
fi
if listening; then
	echo "ensure-redis: something listens at 127.0.0.1:6379 but does not answer PING like a Redis server" >&2
	exit 1
fi

if ! command -v redis-server >/dev/null 2>&1; then
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "ensure-redis: nothing answers at 127.0.0.1:6379 and apt-get is missing; start a Redis server there" >&2
		exit 1
	fi
	bash "$here/ensure-apt.sh" redis-server=redis-server
fi
# Debian's package may have started its own service already.
if ! pong; then
	dir="${TMPDIR:-/tmp}/pbts-redis"
	mkdir -p "$dir"
	echo "ensure-redis: starting redis-server at 127.0.0.1:6379 (log $dir/redis.log)" >&2
	redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --dir "$dir" \
		--logfile "$dir/redis.log" --pidfile "$dir/redis.pid" --save '' --appendonly no
fi

for _ in $(seq 1 30); do
	pong && exit 0
	sleep 1
done
echo "ensure-redis: Redis did not start answering at 127.0.0.1:6379" >&2
[[ -f "${TMPDIR:-/tmp}/pbts-redis/redis.log" ]] && tail -20 "${TMPDIR:-/tmp}/pbts-redis/redis.log" >&2
exit 1
