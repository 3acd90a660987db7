#!/usr/bin/env bash
# The local PBTS stack in one command (`make up`): Postgres, anvil with a
# persistent state file, the contracts (deployed once, addresses kept),
# receipts, chainwriter, tracker and the REST gateway, each logging to
# $PBTS_UP_DIR/logs.
#
#   scripts/up.sh [up]    run the stack in the foreground; Ctrl-C stops it cleanly
#   scripts/up.sh switch  deploy a new ReputationTracker through the RepFactory with the
#                         current one as referrer and move the running services to it
#   scripts/up.sh stop    stop a stack running in the background (SIGTERM to its supervisor)
#   scripts/up.sh env     print the environment an agent needs for the running stack
#
# Settings (environment):
#   PBTS_UP_DIR             state directory (default <repo>/.pbts): binaries, chain state,
#                           contracts.json, logs, the demo's agents
#   PBTS_UP_PORT_BASE       port base (default 7000): tracker gRPC +1, receipts +2,
#                           chainwriter +3, gateway gRPC +4, announce HTTP +70, REST gateway +1080
#                           (so 8080 by default), metrics +2101..+2104, anvil +1545;
#                           0: every listener binds port 0 and the ports it got are read back
#                           (the services' --addr-file, anvil's "Listening on" line) into
#                           stack.json and env: what the test suite uses, so no port is guessed
#   PBTS_UP_DB              database name of the first tracker (default pbts)
#   PBTS_UP_INITIAL_CREDIT  bytes a new agent may download before uploading (default 16 MiB,
#                           chosen for `make demo`; DESIGN's production default is 1 GiB)
#   PBTS_UP_PG_ADMIN_URL    Postgres admin connection (default postgres://postgres@127.0.0.1:5432/postgres;
#                           its query, e.g. ?host=/run/dir for a Unix socket, is kept for the services)
#   PBTS_UP_TLS             1: every service over TLS, gRPC with mutual TLS, from a local CA kept in
#                           $PBTS_UP_DIR/tls (devcert: certificates for 127.0.0.1; the agents' own
#                           certificate is there too); env and stack.json then say grpcs:// and https://
#                           and name the files (PBTS_TLS_*, CURL_CA_BUNDLE). Default 0: plaintext
#
# The deployer and chainwriter key is anvil's first development key: publicly known,
# funded on every local anvil, for this local chain only. Never use it elsewhere.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
UP_DIR=${PBTS_UP_DIR:-$ROOT/.pbts}
mkdir -p "$UP_DIR"
UP_DIR=$(cd "$UP_DIR" && pwd)
BIN=$UP_DIR/bin
LOGS=$UP_DIR/logs
BASE=${PBTS_UP_PORT_BASE:-7000}
DB_BASE=${PBTS_UP_DB:-pbts}
CREDIT=${PBTS_UP_INITIAL_CREDIT:-16777216}
PG_ADMIN=${PBTS_UP_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
PG_SERVER=${PG_ADMIN%%\?*}
PG_SERVER=${PG_SERVER%/*}
# The admin URL's query (sslmode, or host=/socket/dir for a Unix socket) goes
# to the services' URLs too.
PG_QUERY=sslmode=disable
[[ $PG_ADMIN != *\?* ]] || PG_QUERY=${PG_ADMIN#*\?}

# TLS (PBTS_UP_TLS=1, setup_tls): the schemes the addresses are given with.
TLS=${PBTS_UP_TLS:-0}
WEB=http GRPCS=""
TLS_DIR=$UP_DIR/tls

# port P: BASE + P, or 0 when every listener picks its port (BASE=0).
port() { if ((BASE == 0)); then echo 0; else echo $((BASE + $1)); fi; }
TRACKER_GRPC=127.0.0.1:$(port 1)
RECEIPTS_GRPC=127.0.0.1:$(port 2)
CHAINWRITER_GRPC=127.0.0.1:$(port 3)
ANNOUNCE_HTTP=127.0.0.1:$(port 70)
TRACKER_METRICS=127.0.0.1:$(port 2101)
RECEIPTS_METRICS=127.0.0.1:$(port 2102)
CHAINWRITER_METRICS=127.0.0.1:$(port 2103)
GATEWAY_HTTP=127.0.0.1:$(port 1080)
GATEWAY_GRPC=127.0.0.1:$(port 4)
GATEWAY_METRICS=127.0.0.1:$(port 2104)
ANVIL_PORT=$(port 1545)
RPC_URL=http://127.0.0.1:$ANVIL_PORT
ADDRS=$UP_DIR/addrs
case $(uname -m) in x86_64 | amd64) ARCH=amd64 ;; aarch64 | arm64) ARCH=arm64 ;; *) ARCH=$(uname -m) ;; esac
# The native anvil (not the node wrapper in node_modules/.bin), so that SIGTERM reaches the chain.
ANVIL=$ROOT/node_modules/@foundry-rs/anvil-$(uname -s | tr '[:upper:]' '[:lower:]')-$ARCH/bin/anvil
# anvil's development key 0 (mnemonic "test test ... junk"): public, local chains only.
DEV_KEY=ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80

SUPERVISOR_PID_FILE=$UP_DIR/up.pid
CONTRACTS=$UP_DIR/contracts.json
STACK_JSON=$UP_DIR/stack.json
ENV_FILE=$UP_DIR/env
KEY_FILE=$UP_DIR/dev-key-0.hex

say() { printf '[up] %s\n' "$*" 2>/dev/null || true; }
die() { printf '[up] error: %s\n' "$*" >&2; exit 1; }
rel() { local p=$1; [[ $p == "$ROOT"/* ]] && p=${p#"$ROOT"/}; printf '%s' "$p"; }
human() { awk -v n="$1" 'BEGIN{split("B KiB MiB GiB TiB",u," "); i=1; while (n>=1024 && i<5) {n/=1024; i++} printf (i==1?"%d %s":"%.1f %s"), n, u[i]}'; }

supervisor_pid() {
  local pid
  pid=$(cat "$SUPERVISOR_PID_FILE" 2>/dev/null || true)
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then printf '%s' "$pid"; fi
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------- client commands

cmd_env() {
  [[ -n $(supervisor_pid) && -f $ENV_FILE ]] || die "no stack is running from $(rel "$UP_DIR") (start it with make up)"
  cat "$ENV_FILE"
}

cmd_stop() {
  local pid
  pid=$(supervisor_pid)
  [[ -n $pid ]] || { say "no stack is running from $(rel "$UP_DIR")"; return 0; }
  say "stopping the stack (supervisor pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || { say "stopped"; return 0; }; sleep 0.1; done
  die "the stack did not stop within 60s (pid $pid)"
}

cmd_switch() {
  local pid
  pid=$(supervisor_pid)
  [[ -n $pid ]] || die "no stack is running from $(rel "$UP_DIR") (start it with make up)"
  rm -f "$UP_DIR/switch.done" "$UP_DIR/switch.failed"
  say "asking the stack (pid $pid) to move to a new ReputationTracker"
  kill -USR1 "$pid"
  for _ in $(seq 1 3000); do
    if [[ -f $UP_DIR/switch.done ]]; then cat "$UP_DIR/switch.done"; return 0; fi
    if [[ -f $UP_DIR/switch.failed ]]; then die "switch failed: $(cat "$UP_DIR/switch.failed")"; fi
    kill -0 "$pid" 2>/dev/null || die "the stack stopped during the switch (see $(rel "$LOGS"))"
    sleep 0.1
  done
  die "switch did not finish within 300s"
}

# ---------------------------------------------------------------- supervisor

declare -A PIDS=() STARTED_AT=() RESTART_AT=() BACKOFF=() RESTARTS=()
RESTARTING=""
REQ=""
EXIT_CODE=0
DEPLOYED=""

# reap_stale stops processes a killed supervisor left behind: only the PIDs
# it recorded, and only while they still run the binary it started.
reap_stale() {
  local f pid exe want name
  for f in "$UP_DIR"/pids/*.pid; do
    [[ -e $f ]] || continue
    name=$(basename "$f" .pid)
    pid=$(cat "$f")
    want=$BIN/$name
    [[ $name == anvil ]] && want=$ANVIL
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
    if [[ -n $exe && $exe == "$want" ]]; then
      say "stopping $name (pid $pid) left running by an earlier stack"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
}

# start NAME CMD...: runs CMD in its own session (so the terminal's Ctrl-C
# reaches only this script, which stops everything in order), logging to
# $LOGS/NAME.log.
start() {
  local name=$1
  shift
  printf '\n==== %s start %s\n' "$(date -u +%FT%TZ)" "$name" >>"$LOGS/$name.log"
  rm -f "$ADDRS/$name.json"
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  PIDS[$name]=$!
  STARTED_AT[$name]=$SECONDS
  echo "${PIDS[$name]}" >"$UP_DIR/pids/$name.pid"
}

# stop_one NAME: SIGTERM, then SIGKILL after 20s.
stop_one() {
  local name=$1 pid=${PIDS[$1]:-}
  [[ -n $pid ]] || return 0
  unset "PIDS[$name]" "RESTART_AT[$name]"
  rm -f "$UP_DIR/pids/$name.pid"
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name did not stop within 20s of SIGTERM: killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

tail_log() { { printf -- '---- last lines of %s\n' "$(rel "$LOGS/$1.log")" && tail -n 25 "$LOGS/$1.log"; } >&2 2>/dev/null || true; }

# current NAME: a field of the current deployment.
current() { jq -r ".$1" "$CONTRACTS"; }

# The services' command lines, one function each, so that the supervisor can
# start a service again (restart_one) exactly as it first did.
# Tunables a developer may override through their PBTS_* variables; addresses,
# contract and database are flags (flags win over the environment).
# (Short announce intervals: a local swarm sees a new seeder within seconds.)
export PBTS_ANNOUNCE_INTERVAL=${PBTS_ANNOUNCE_INTERVAL:-10s}
export PBTS_ANNOUNCE_MIN_INTERVAL=${PBTS_ANNOUNCE_MIN_INTERVAL:-2s}
export PBTS_PEER_EXPIRY=${PBTS_PEER_EXPIRY:-2m}
common_flags() {
  COMMON=(--database-url "$PG_SERVER/$(current database)?$PG_QUERY" --chain-id "$(current chainId)"
    --tracker-contract "$(current tracker)")
}
# The gateway calls from loopback and names the client it serves; only it
# (and whatever else runs on this machine: a local stack) is believed.
PROXIED=(--trusted-proxies 127.0.0.1/32)
# Each service writes the addresses it bound to $ADDRS/NAME.json; with
# BASE=0 they are the only way to know them.
start_receipts() {
  common_flags
  start receipts "$BIN/receipts" "${COMMON[@]}" "${PROXIED[@]}" --grpc-addr "$(listen receipts grpc "$RECEIPTS_GRPC")" \
    --metrics-addr "$(listen receipts metrics "$RECEIPTS_METRICS")" --addr-file "$ADDRS/receipts.json"
}
start_chainwriter() {
  common_flags
  start chainwriter "$BIN/chainwriter" "${COMMON[@]}" --rpc-url "$RPC_URL" \
    --grpc-addr "$(listen chainwriter grpc "$CHAINWRITER_GRPC")" --metrics-addr "$(listen chainwriter metrics "$CHAINWRITER_METRICS")" \
    --chainwriter-key-file "$KEY_FILE" --factory "$(current factory)" --addr-file "$ADDRS/chainwriter.json"
}
start_tracker() {
  common_flags
  start tracker "$BIN/tracker" "${COMMON[@]}" "${PROXIED[@]}" --rpc-url "$RPC_URL" --grpc-addr "$(listen tracker grpc "$TRACKER_GRPC")" \
    --metrics-addr "$(listen tracker metrics "$TRACKER_METRICS")" --http-addr "$(listen tracker http "$ANNOUNCE_HTTP")" \
    --addr-file "$ADDRS/tracker.json"
}
start_gateway() {
  # The dashboard's build, when there is one (build_web).
  local static=()
  [[ -f $ROOT/web/dist/index.html ]] && static=(--static-dir "$ROOT/web/dist")
  start gateway "$BIN/gateway" --tracker-addr "$TRACKER_GRPC" --receipts-addr "$RECEIPTS_GRPC" --chainwriter-addr "$CHAINWRITER_GRPC" \
    --http-addr "$(listen gateway http "$GATEWAY_HTTP")" --grpc-addr "$(listen gateway grpc "$GATEWAY_GRPC")" \
    --metrics-addr "$(listen gateway metrics "$GATEWAY_METRICS")" --public-rpc-url "$RPC_URL" \
    "${static[@]}" --addr-file "$ADDRS/gateway.json"
}
start_anvil() {
  local port=$ANVIL_PORT
  # Started again, anvil takes the port it had (agents and services know it).
  [[ -z $RESTARTING ]] || port=${RPC_URL##*:}
  start anvil "$ANVIL" --host 127.0.0.1 --port "$port" --state "$UP_DIR/anvil-state.json" --state-interval 5
}

# setup_tls: with PBTS_UP_TLS=1, the local CA and certificates in $TLS_DIR
# (kept while valid) and the services' PBTS_TLS_* settings, which they and
# pbts-up read from the environment; otherwise plaintext, whatever PBTS_TLS_*
# a shell that sourced a TLS stack's env file still holds.
setup_tls() {
  if [[ $TLS != 1 ]]; then
    unset PBTS_TLS_CA PBTS_TLS_CERT PBTS_TLS_KEY
    return 0
  fi
  "$BIN/pbts-up" dev-tls "$TLS_DIR" service agent >/dev/null || die "could not make the local TLS certificates in $(rel "$TLS_DIR")"
  export PBTS_TLS_CA=$TLS_DIR/ca.crt PBTS_TLS_CERT=$TLS_DIR/service.crt PBTS_TLS_KEY=$TLS_DIR/service.key
  export CURL_CA_BUNDLE=$TLS_DIR/ca.crt
  WEB=https GRPCS=grpcs://
  say "TLS on: gRPC with mutual TLS, https for announces and the gateway; CA $(rel "$TLS_DIR")/ca.crt"
}

start_services() {
  start_receipts
  start_chainwriter
  start_tracker
  wait_addrs receipts && wait_addrs chainwriter && wait_addrs tracker || return 1
  RECEIPTS_GRPC=$(bound receipts grpc) RECEIPTS_METRICS=$(bound receipts metrics)
  CHAINWRITER_GRPC=$(bound chainwriter grpc) CHAINWRITER_METRICS=$(bound chainwriter metrics)
  TRACKER_GRPC=$(bound tracker grpc) TRACKER_METRICS=$(bound tracker metrics) ANNOUNCE_HTTP=$(bound tracker http)
  wait_healthy receipts "$RECEIPTS_GRPC" pbts.v1.ReceiptService &&
    wait_healthy chainwriter "$CHAINWRITER_GRPC" pbts.v1.ChainwriterService &&
    wait_healthy tracker "$TRACKER_GRPC" pbts.v1.AgentService pbts.v1.DatasetService || return 1
  start_gateway
  wait_addrs gateway || return 1
  GATEWAY_HTTP=$(bound gateway http) GATEWAY_GRPC=$(bound gateway grpc) GATEWAY_METRICS=$(bound gateway metrics)
  wait_ready gateway "$WEB://$GATEWAY_HTTP/readyz"
}

# wait_ready NAME URL: until URL answers 200 (two minutes at most), the
# process exits, or a stop is asked for.
wait_ready() {
  local name=$1 url=$2 t0=$SECONDS
  while ((SECONDS - t0 < 120)); do
    [[ $REQ != stop ]] || return 1
    if ! kill -0 "${PIDS[$name]:-0}" 2>/dev/null; then
      say "$name exited at start"
      tail_log "$name"
      return 1
    fi
    curl -fsS -m 2 -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.2
  done
  say "$name not ready after 120s ($url)"
  tail_log "$name"
  return 1
}

# listen NAME LISTENER ADDR: the address to give the service: ADDR, or with
# BASE=0 port 0 (the service picks). A service the supervisor starts again
# after it died (RESTARTING) gets the address it had bound, as a Kubernetes
# Service keeps its address: the others and the agents keep reaching it.
listen() { if ((BASE == 0)) && [[ -z $RESTARTING ]]; then echo 127.0.0.1:0; else echo "$3"; fi; }

# bound NAME LISTENER: the address the service reported for that listener.
bound() { jq -r --arg l "$2" '.[$l]' "$ADDRS/$1.json"; }

# wait_addrs NAME: until the service has written its address file (two
# minutes at most), the process exits, or a stop is asked for.
wait_addrs() {
  local name=$1 t0=$SECONDS
  while ((SECONDS - t0 < 120)); do
    [[ $REQ != stop ]] || return 1
    [[ ! -s $ADDRS/$name.json ]] || return 0
    if ! kill -0 "${PIDS[$name]:-0}" 2>/dev/null; then
      [[ ! -s $ADDRS/$name.json ]] || return 0
      say "$name exited at start"
      tail_log "$name"
      return 1
    fi
    sleep 0.1
  done
  say "$name reported no listening address after 120s"
  tail_log "$name"
  return 1
}

# wait_healthy NAME ADDR HEALTH_NAME...: until the gRPC health services answer
# SERVING (two minutes at most), the process exits, or a stop is asked for.
wait_healthy() {
  local name=$1 addr=$2 t0=$SECONDS
  shift 2
  while ((SECONDS - t0 < 120)); do
    [[ $REQ != stop ]] || return 1
    if ! kill -0 "${PIDS[$name]:-0}" 2>/dev/null; then
      say "$name exited at start"
      tail_log "$name"
      return 1
    fi
    if "$BIN/pbts-up" health -timeout 1s "$addr" "$@" 2>/dev/null; then return 0; fi
  done
  say "$name not healthy after 120s"
  tail_log "$name"
  return 1
}

stop_services() {
  local s
  for s in gateway tracker receipts chainwriter; do stop_one "$s"; done
}

write_env_file() {
  local tracker chain_id
  tracker=$(current tracker)
  chain_id=$(current chainId)
  cat >"$ENV_FILE.tmp" <<EOF
# PBTS local stack: the environment an agent (the pbts command) needs.
export PATH="$BIN:\$PATH"
export PBTS_TRACKER=$GRPCS$TRACKER_GRPC
export PBTS_RECEIPTS=$GRPCS$RECEIPTS_GRPC
export PBTS_TRACKER_CONTRACT=$tracker
export PBTS_CHAIN_ID=$chain_id
# The REST gateway (curl, browsers, agents without gRPC).
export PBTS_GATEWAY=$WEB://$GATEWAY_HTTP
EOF
  if [[ $TLS == 1 ]]; then
    cat >>"$ENV_FILE.tmp" <<EOF
# TLS (PBTS_UP_TLS=1): the local CA, and the agents' client certificate.
export PBTS_TLS_CA=$TLS_DIR/ca.crt
export PBTS_TLS_CERT=$TLS_DIR/agent.crt
export PBTS_TLS_KEY=$TLS_DIR/agent.key
export CURL_CA_BUNDLE=$TLS_DIR/ca.crt
EOF
  fi
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

# write_stack_json: the stack's description for scripts (demo.sh); its
# presence means the stack is up.
write_stack_json() {
  local tls=null
  [[ $TLS != 1 ]] || tls=$(jq -n --arg d "$TLS_DIR" '{ca: "\($d)/ca.crt", cert: "\($d)/agent.crt", key: "\($d)/agent.key"}')
  jq -n --arg dir "$UP_DIR" --arg bin "$BIN" --arg rpc "$RPC_URL" --arg tracker_grpc "$GRPCS$TRACKER_GRPC" \
    --arg receipts_grpc "$GRPCS$RECEIPTS_GRPC" --arg chainwriter_grpc "$GRPCS$CHAINWRITER_GRPC" --arg gateway "$WEB://$GATEWAY_HTTP" \
    --arg announce "$WEB://$ANNOUNCE_HTTP" --arg pg "$PG_SERVER" --argjson pid $$ --argjson tls "$tls" \
    --slurpfile d "$CONTRACTS" \
    '{dir: $dir, bin: $bin, rpc_url: $rpc, tracker_grpc: $tracker_grpc, receipts_grpc: $receipts_grpc,
      chainwriter_grpc: $chainwriter_grpc, gateway: $gateway, announce: $announce, postgres: $pg, supervisor_pid: $pid,
      tls: $tls, deployment: $d[0]}' >"$STACK_JSON.tmp"
  mv "$STACK_JSON.tmp" "$STACK_JSON"
}

banner() {
  local how=$1 tracker factory credit gen db referrer
  tracker=$(current tracker)
  factory=$(current factory)
  credit=$(current initialCredit)
  gen=$(current generation)
  db=$(current database)
  referrer=$(current referrer)
  cat <<EOF

PBTS local stack is up ($how)
  chain        anvil $RPC_URL (chain id $(current chainId)), state $(rel "$UP_DIR")/anvil-state.json
  RepFactory   $factory
  Tracker      $tracker  (ReputationTracker #$gen, initial credit $(human "$credit") = $credit bytes)
EOF
  if [[ $referrer != 0x0000000000000000000000000000000000000000 ]]; then
    echo "  referrer     $referrer  (reputation of agents unknown here reads through from it)"
  fi
  cat <<EOF
  tracker      gRPC $GRPCS$TRACKER_GRPC   announce $WEB://$ANNOUNCE_HTTP/announce/<passkey>   metrics http://$TRACKER_METRICS/metrics
  receipts     gRPC $GRPCS$RECEIPTS_GRPC   metrics http://$RECEIPTS_METRICS/metrics
  chainwriter  gRPC $GRPCS$CHAINWRITER_GRPC   metrics http://$CHAINWRITER_METRICS/metrics   signer = anvil dev key 0 (public, local only)
  gateway      REST $WEB://$GATEWAY_HTTP   (API /v1/..., live events /v1/events, OpenAPI /openapi.json)   metrics http://$GATEWAY_METRICS/metrics
  dashboard    $(if [[ -f $ROOT/web/dist/index.html ]]; then echo "$WEB://$GATEWAY_HTTP/"; else echo "not built (make web; PBTS_UP_WEB=0 skipped it)"; fi)
  database     $PG_SERVER/$db
  logs         $(rel "$LOGS")/{anvil,receipts,chainwriter,tracker,gateway}.log

An agent needs (also in $(rel "$ENV_FILE"); \`source $(rel "$ENV_FILE")\`):
$(grep '^export' "$ENV_FILE" | sed 's/^/  /')
  then: pbts key new && pbts register && pbts publish DIR --name N --modality video (it seeds; pbts get … downloads)
The five-act demo against this stack: make demo (in another terminal).
Stop: Ctrl-C here (or scripts/up.sh stop). Started again it reuses the chain and the database.

EOF
}

# anvil_url: with BASE=0, the address anvil printed ("Listening on
# 127.0.0.1:PORT") after its latest start marker in its log.
anvil_url() {
  local line
  line=$(awk '/^==== .* start anvil$/ {l=""} /^Listening on / {l=$3} END {print l}' "$LOGS/anvil.log")
  [[ -n $line ]] && printf 'http://%s' "$line"
}

wait_rpc() {
  local rc u
  if ((BASE == 0)); then
    RPC_URL=""
    for _ in $(seq 1 600); do
      if u=$(anvil_url); then RPC_URL=$u; break; fi
      kill -0 "${PIDS[anvil]}" 2>/dev/null || { tail_log anvil; die "anvil exited"; }
      sleep 0.1
    done
    [[ -n $RPC_URL ]] || { tail_log anvil; die "anvil printed no listening address within 60s"; }
  fi
  for _ in $(seq 1 300); do
    rc=0
    "$BIN/pbts-up" code "$RPC_URL" 0x0000000000000000000000000000000000000000 2>/dev/null || rc=$?
    [[ $rc != 3 ]] || return 0
    kill -0 "${PIDS[anvil]}" 2>/dev/null || { tail_log anvil; die "anvil exited"; }
    sleep 0.1
  done
  tail_log anvil
  die "anvil did not answer at $RPC_URL within 30s"
}

# set_aside DB: a database that belonged to a chain state that is gone is
# renamed, never dropped.
set_aside() {
  local db=$1 aside r
  aside="${db:0:40}_orphaned_$(date +%s)"
  r=$("$BIN/pbts-up" db-rename "$PG_ADMIN" "$db" "$aside")
  if [[ $r == renamed ]]; then
    say "database $db belonged to a chain state that is gone: renamed to $aside (drop it when you like)"
  fi
}

# deploy_first: RepFactory + the first ReputationTracker.
deploy_first() {
  local out
  out=$("$BIN/deploy" --rpc-url "$RPC_URL" --private-key-file "$KEY_FILE" --initial-credit "$CREDIT") ||
    die "deploy failed"
  set_aside "$DB_BASE"
  jq --arg db "$DB_BASE" '. + {database: $db, generation: 1, previous: []}' <<<"$out" >"$CONTRACTS.tmp"
  mv "$CONTRACTS.tmp" "$CONTRACTS"
  say "deployed RepFactory $(current factory) and ReputationTracker $(current tracker) (initial credit $(human "$CREDIT")); saved in $(rel "$CONTRACTS")"
}

ensure_contracts() {
  if [[ -f $CONTRACTS ]]; then
    local tracker rc=0
    tracker=$(current tracker)
    "$BIN/pbts-up" code "$RPC_URL" "$tracker" || rc=$?
    case $rc in
      0)
        say "reusing ReputationTracker $tracker from $(rel "$CONTRACTS") (chain state $(rel "$UP_DIR")/anvil-state.json)"
        return 0
        ;;
      3)
        say "the chain has no contract at $tracker ($(rel "$CONTRACTS")): the anvil state was lost or reset"
        say "redeploying; reputation recorded on the lost chain is gone"
        local db
        for db in $(jq -r '.database, (.previous[]?.database)' "$CONTRACTS"); do set_aside "$db"; done
        mv "$CONTRACTS" "$CONTRACTS.lost-$(date +%s)"
        ;;
      *) die "cannot read the chain at $RPC_URL" ;;
    esac
  fi
  deploy_first
  DEPLOYED=1
}

# died NAME: a service (or anvil) exited on its own. Say why, with the end
# of its log, and start it again after a backoff that doubles from 1s to
# 30s while it keeps dying within a minute of its start, as Kubernetes
# restarts a crashing container.
died() {
  local name=$1 pid=${PIDS[$1]} status=0 why ran
  wait "$pid" 2>/dev/null || status=$?
  if ((status > 128)); then why="killed by signal $(kill -l $((status - 128)) 2>/dev/null || echo $((status - 128)))"; else why="exit status $status"; fi
  ran=$((SECONDS - ${STARTED_AT[$name]:-$SECONDS}))
  if ((ran >= 60)); then BACKOFF[$name]=1; else BACKOFF[$name]=$((${BACKOFF[$name]:-0} * 2)); fi
  ((BACKOFF[$name] >= 1)) || BACKOFF[$name]=1
  ((BACKOFF[$name] <= 30)) || BACKOFF[$name]=30
  RESTARTS[$name]=$((${RESTARTS[$name]:-0} + 1))
  say "$name (pid $pid) exited unexpectedly ($why) after ${ran}s; restarting it in ${BACKOFF[$name]}s (restart ${RESTARTS[$name]})"
  tail_log "$name"
  rm -f "$UP_DIR/pids/$name.pid"
  RESTART_AT[$name]=$((SECONDS + BACKOFF[$name]))
}

# restart_one NAME: start a service that died again, on the addresses it had.
restart_one() {
  local name=$1
  unset "RESTART_AT[$name]"
  RESTARTING=1
  "start_$name"
  RESTARTING=""
  say "$name restarted (pid ${PIDS[$name]})"
}

fail_switch() {
  echo "$*" >"$UP_DIR/switch.failed.tmp"
  mv "$UP_DIR/switch.failed.tmp" "$UP_DIR/switch.failed"
}

do_switch() {
  local old factory out gen db
  old=$(current tracker)
  factory=$(current factory)
  say "switch: stopping the gateway, the tracker and the receipts service (no new registrations or receipts)"
  stop_one gateway
  stop_one tracker
  stop_one receipts
  say "switch: waiting until the chainwriter has settled everything on $old"
  local drained=""
  for _ in $(seq 1 240); do
    if "$BIN/pbts-up" chain-status "$CHAINWRITER_GRPC" 2>/dev/null | jq -e \
      '(.pending_receipts|tonumber) == 0 and (.pending_registrations|tonumber) == 0 and (.in_flight|length) == 0
       and .last_settled_batch_id == .last_batch_id and .chain_reachable' >/dev/null; then
      drained=1
      break
    fi
    sleep 0.5
  done
  if [[ -z $drained ]]; then
    fail_switch "receipts or registrations were still unsettled on $old after 120s; the stack stays on it"
    say "switch: $(cat "$UP_DIR/switch.failed")"
    stop_services
    start_services || return 1
    write_env_file
    write_stack_json
    return 0
  fi
  stop_one chainwriter
  say "switch: RepFactory($factory).deployNewTracker(referrer=$old)"
  if ! out=$("$BIN/deploy" --rpc-url "$RPC_URL" --private-key-file "$KEY_FILE" --factory "$factory" --referrer "$old" --initial-credit 0); then
    fail_switch "deploy of the new tracker failed; the stack stays on $old"
    start_services || return 1
    write_env_file
    write_stack_json
    return 0
  fi
  gen=$(($(current generation) + 1))
  db="${DB_BASE}_$gen"
  set_aside "$db"
  jq --argjson new "$out" --arg db "$db" --argjson gen "$gen" \
    '(del(.previous)) as $cur | $new + {database: $db, generation: $gen, previous: ([$cur] + .previous)}' \
    "$CONTRACTS" >"$CONTRACTS.tmp"
  mv "$CONTRACTS.tmp" "$CONTRACTS"
  "$BIN/pbts-up" db-ensure "$PG_ADMIN" "$db" >/dev/null
  say "switch: new ReputationTracker $(current tracker) (referrer $old), database $db; starting the services on it"
  start_services || return 1
  write_env_file
  banner "moved to ReputationTracker #$gen"
  write_stack_json
  jq '{tracker, factory, referrer, initialCredit, block, database, generation}' "$CONTRACTS" >"$UP_DIR/switch.done.tmp"
  mv "$UP_DIR/switch.done.tmp" "$UP_DIR/switch.done"
}

# on_exit stops whatever this supervisor started, in order, however it ends.
on_exit() {
  local code=$?
  trap '' INT TERM HUP USR1
  if [[ ${#PIDS[@]} -gt 0 ]]; then
    say "stopping: gateway, tracker, receipts, chainwriter, then anvil (its state is written on SIGTERM)"
    stop_services
    stop_one anvil
    say "stopped; state kept in $(rel "$UP_DIR") (make up again resumes it)"
  fi
  rm -f "$ENV_FILE" "$STACK_JSON" "$SUPERVISOR_PID_FILE"
  exit "$code"
}

cmd_up() {
  local pid
  pid=$(supervisor_pid)
  [[ -z $pid ]] || die "a stack is already running from $(rel "$UP_DIR") (supervisor pid $pid); stop it with Ctrl-C in its terminal or scripts/up.sh stop"
  mkdir -p "$BIN" "$LOGS" "$UP_DIR/pids"
  echo $$ >"$SUPERVISOR_PID_FILE"
  trap on_exit EXIT
  # Ctrl-C also ends a `| tee` reading our output: a write to it must not kill
  # this script before it has stopped what it started.
  trap '' PIPE
  reap_stale
  mkdir -p "$ADDRS"
  local p
  ((BASE == 0)) || for p in "${TRACKER_GRPC##*:}" "${RECEIPTS_GRPC##*:}" "${CHAINWRITER_GRPC##*:}" "${ANNOUNCE_HTTP##*:}" \
    "${TRACKER_METRICS##*:}" "${RECEIPTS_METRICS##*:}" "${CHAINWRITER_METRICS##*:}" "$ANVIL_PORT" \
    "${GATEWAY_HTTP##*:}" "${GATEWAY_GRPC##*:}" "${GATEWAY_METRICS##*:}"; do
    ! port_busy "$p" || die "port $p is in use (another stack?); pick other ports with PBTS_UP_PORT_BASE"
  done

  # What is missing gets installed: npm packages (Foundry), Postgres, jq.
  if [[ ! -x $ANVIL ]]; then
    say "installing the npm packages (Foundry's anvil)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  bash "$ROOT/scripts/ensure-apt.sh" jq=jq curl=curl
  # The dashboard (web/dist, served by the gateway) is built when missing;
  # PBTS_UP_WEB=0 skips it (the test suite's stacks).
  if [[ ! -f $ROOT/web/dist/index.html && ${PBTS_UP_WEB:-1} != 0 ]]; then
    say "building the dashboard into web/dist (make web)"
    (cd "$ROOT/web" && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent) ||
      say "the dashboard did not build; the stack runs without it"
  fi
  bash "$ROOT/scripts/ensure-postgres.sh"
  say "building the services and the pbts command into $(rel "$BIN")"
  (cd "$ROOT" && go build -o "$BIN/" ./services/tracker/cmd/tracker ./services/receipts/cmd/receipts \
    ./services/chainwriter/cmd/chainwriter ./services/gateway/cmd/gateway ./cmd/pbts ./cmd/deploy ./cmd/pbts-up)
  (umask 077 && echo "$DEV_KEY" >"$KEY_FILE")
  setup_tls

  trap 'REQ=stop' INT TERM HUP
  trap 'REQ=switch' USR1

  say "starting anvil on $( ((BASE == 0)) && echo "a port of its choosing" || echo "$RPC_URL") (state $(rel "$UP_DIR")/anvil-state.json, written every 5s and on stop)"
  start_anvil
  wait_rpc
  ensure_contracts
  local how="chain and database reused: reputation kept"
  [[ -z $DEPLOYED ]] || how="contracts deployed"
  local created
  created=$("$BIN/pbts-up" db-ensure "$PG_ADMIN" "$(current database)")
  [[ $created == created ]] && say "created database $(current database)"
  say "starting receipts, chainwriter and tracker (they apply the database migrations), then the REST gateway"
  start_services || die "the services did not become healthy (logs in $(rel "$LOGS"))"
  write_env_file
  banner "$how"
  write_stack_json

  local n tick
  while :; do
    case $REQ in
      stop) break ;;
      switch)
        REQ=""
        rm -f "$UP_DIR/switch.done" "$UP_DIR/switch.failed"
        if ! do_switch; then
          fail_switch "the services did not come up after the switch (see $(rel "$LOGS"))"
          EXIT_CODE=1
          break
        fi
        continue
        ;;
    esac
    # Wake on a child's exit, a trapped signal, or the tick (a signal that came
    # just before `wait` is seen at the next tick).
    sleep 2 &
    tick=$!
    wait -n 2>/dev/null || true
    kill "$tick" 2>/dev/null || true
    wait "$tick" 2>/dev/null || true
    [[ -z $REQ ]] || continue
    for n in "${!PIDS[@]}"; do
      [[ -z ${RESTART_AT[$n]:-} ]] || continue
      kill -0 "${PIDS[$n]}" 2>/dev/null || died "$n"
    done
    for n in "${!RESTART_AT[@]}"; do
      ((SECONDS < RESTART_AT[$n])) || restart_one "$n"
    done
  done
  exit "$EXIT_CODE"
}

case ${1:-up} in
  up) cmd_up ;;
  switch) cmd_switch ;;
  stop) cmd_stop ;;
  env) cmd_env ;;
  -h | --help | help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) die "unknown command ${1} (want up, switch, stop or env)" ;;
esac
