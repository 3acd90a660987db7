# Sourced by the bench scripts: wait_addrs FILE PID [SECONDS] waits until a
# PBTS service started with PBTS_ADDR_FILE=FILE (listeners on port 0) has
# written the addresses it bound, failing if PID exits first; addr FILE NAME
# prints one of them ("grpc", "metrics", "http", "pprof").
wait_addrs() {
	local file=$1 pid=$2 limit=${3:-120} t0=$SECONDS
	while ((SECONDS - t0 < limit)); do
		[[ -s $file ]] && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			[[ -s $file ]] && return 0
			echo "process $pid exited before writing $file" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "no $file after ${limit}s" >&2
	return 1
}

addr() { jq -er --arg k "$2" '.[$k]' "$1"; }
