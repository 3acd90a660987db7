#!/usr/bin/env bash
# The five-act PBTS demo (`make demo`), scripted against the local stack of
# scripts/up.sh. It uses the running stack when one answers (its reputation
# persists across demos); otherwise it starts one for the demo and stops it
# at the end.
#
#   1. Alpha (video) and Beta (audio) register: registration transactions and the initial credit.
#   2. Alpha publishes an MP4 bundle (ffmpeg: moving test pattern + sine audio), Beta speech WAVs
#      (espeak-ng); both seed.
#   3. Alpha downloads Beta's audio, Beta downloads Alpha's video: progress, receipts,
#      settlements on chain, ratios moving; SHA-256 of every received file equals the source.
#   4. Gamma registers with nothing to offer: refused for the video with the figures; it
#      publishes sound recordings, Alpha downloads them, they settle, and Gamma is let in.
#   5. A new ReputationTracker through RepFactory.deployNewTracker(referrer = the old one); the
#      services move to it; every agent's reputation reads through unchanged; the free-rider
#      Delta is still refused, while a newcomer with a clean record is served.
#
# Dataset sizes follow the tracker's initial credit C (16 MiB from make up): video 2.5 C,
# speech 0.75 C, Gamma's recordings 1.5 C, so that the ratio gate (upload / (download + size)
# >= 1/2) refuses and admits exactly as the acts say; the script prints the arithmetic.
#
# Environment: PBTS_UP_DIR, PBTS_UP_PORT_BASE, PBTS_UP_DB as for scripts/up.sh;
# PBTS_DEMO_SMALL=1 for small media (the test suite's run, with a small initial credit).
# Every agent's state stays in $PBTS_UP_DIR/demo/run-*/agents/NAME (PBTS_HOME for pbts);
# the run's figures are written to $PBTS_UP_DIR/demo/run-*/results.json.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
UP_DIR=${PBTS_UP_DIR:-$ROOT/.pbts}
mkdir -p "$UP_DIR"
UP_DIR=$(cd "$UP_DIR" && pwd)
SMALL=${PBTS_DEMO_SMALL:-}
PW="demo-only-password"

# ---------------------------------------------------------------- output

if [[ -t 1 ]]; then BOLD=$'\e[1m' GREEN=$'\e[32m' RED=$'\e[31m' DIM=$'\e[2m' PLAIN=$'\e[0m'; else BOLD="" GREEN="" RED="" DIM="" PLAIN=""; fi
act() {
  printf '\n%s══════ Act %s — %s %s\n' "$BOLD" "$1" "$2" "$PLAIN"
  printf '%s%s%s\n' "$DIM" "$3" "$PLAIN"
}
say() { printf '  %s\n' "$*"; }
see() { printf '  → %s\n' "$*"; }
ok() { printf '  %s✔%s %s\n' "$GREEN" "$PLAIN" "$*"; }
cmdline() { printf '  %s$ %s%s\n' "$DIM" "$*" "$PLAIN"; }
fail() {
  printf '\n%sDEMO FAILED: %s%s\n' "$RED" "$*" "$PLAIN" >&2
  printf 'service logs: %s/logs; this run: %s\n' "$UP_DIR" "${RUN:-}" >&2
  exit 1
}
on_err() { trap 'fail "line $LINENO: $BASH_COMMAND exited with $?"' ERR; }
on_err
human() { awk -v n="$1" 'BEGIN{split("B KiB MiB GiB TiB",u," "); i=1; while (n>=1024 && i<5) {n/=1024; i++} printf (i==1?"%d %s":"%.1f %s"), n, u[i]}'; }

# ---------------------------------------------------------------- prerequisites and the stack

bash "$ROOT/scripts/ensure-apt.sh" jq=jq ffmpeg=ffmpeg espeak-ng=espeak-ng

UP_PID=""
declare -A SEED_PID=()
cleanup() {
  local code=$? p
  trap '' INT TERM
  for p in "${SEED_PID[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${SEED_PID[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ -n $UP_PID ]]; then
    say "stopping the stack this demo started"
    bash "$ROOT/scripts/up.sh" stop >/dev/null 2>&1 || kill -TERM "$UP_PID" 2>/dev/null || true
    wait "$UP_PID" 2>/dev/null || true
  fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stack_running() {
  local pid
  pid=$(cat "$UP_DIR/up.pid" 2>/dev/null || true)
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && [[ -f $UP_DIR/stack.json ]]
}

if stack_running; then
  say "using the stack running from $UP_DIR (supervisor pid $(cat "$UP_DIR/up.pid"))"
else
  mkdir -p "$UP_DIR/logs"
  say "no stack runs from $UP_DIR: starting one for this demo (log $UP_DIR/logs/up.log); it stops when the demo ends"
  bash "$ROOT/scripts/up.sh" up >"$UP_DIR/logs/up.log" 2>&1 &
  UP_PID=$!
  until stack_running; do
    if ! kill -0 "$UP_PID" 2>/dev/null; then
      tail -n 30 "$UP_DIR/logs/up.log" >&2
      UP_PID=""
      fail "the stack did not start (see $UP_DIR/logs/up.log)"
    fi
    sleep 0.5
  done
fi

stack() { jq -r "$1" "$UP_DIR/stack.json"; }
# load_stack: the stack's endpoints (again after a switch: with
# PBTS_UP_PORT_BASE=0 the restarted services listen on new ports).
load_stack() {
  RPC=$(stack .rpc_url)
  TRACKER_GRPC=$(stack .tracker_grpc)
  RECEIPTS_GRPC=$(stack .receipts_grpc)
  CHAINWRITER_GRPC=$(stack .chainwriter_grpc)
  GATEWAY=$(stack .gateway)
  # A stack over TLS (PBTS_UP_TLS=1) names its CA and the agents' client
  # certificate: pbts, pbts-up and curl use them.
  if [[ -n $(stack '.tls // empty') ]]; then
    export PBTS_TLS_CA=$(stack .tls.ca) PBTS_TLS_CERT=$(stack .tls.cert) PBTS_TLS_KEY=$(stack .tls.key)
    export CURL_CA_BUNDLE=$PBTS_TLS_CA
  fi
}
BIN=$(stack .bin)
load_stack
CHAIN_ID=$(stack .deployment.chainId)
TRACKER=$(stack .deployment.tracker)
FACTORY=$(stack .deployment.factory)
UPX=$BIN/pbts-up
# publish would seed in the foreground; the demo seeds with `pbts seed` in the background.
NO_SEED=(--no-seed)

RUN=$UP_DIR/demo/run-$(date +%Y%m%d-%H%M%S)
RUN_ID=$(basename "$RUN")
mkdir -p "$RUN/agents" "$RUN/data" "$RUN/downloads" "$RUN/logs" "$RUN/json"
# Older runs keep their agents (their reputation is on chain) but not their media.
for old in "$UP_DIR"/demo/run-*; do
  [[ $old == "$RUN" ]] || rm -rf "$old/data" "$old/downloads"
done
RESULTS=$RUN/results.json
echo '{}' >"$RESULTS"
rec() { jq --arg k "$1" --arg v "$2" 'setpath($k | split("."); $v)' "$RESULTS" >"$RESULTS.tmp" && mv "$RESULTS.tmp" "$RESULTS"; }
recj() { jq --arg k "$1" --argjson v "$2" 'setpath($k | split("."); $v)' "$RESULTS" >"$RESULTS.tmp" && mv "$RESULTS.tmp" "$RESULTS"; }

# expect JSON JQ-EXPRESSION MESSAGE: the check passes when the expression is true.
expect() {
  if jq -e "$2" <<<"$1" >/dev/null; then ok "$3"; else
    printf '%s\n' "$1" >&2
    fail "$3"
  fi
}

# ---------------------------------------------------------------- agents

declare -A ADDR=()
# agent_env AGENT: the environment of the pbts command as that agent (its
# own PBTS_HOME) against the stack.
agent_env() {
  export PBTS_HOME="$RUN/agents/$1" PBTS_KEY_PASSWORD="$PW" PBTS_TRACKER="$TRACKER_GRPC" PBTS_RECEIPTS="$RECEIPTS_GRPC" \
    PBTS_TRACKER_CONTRACT="$TRACKER" PBTS_CHAIN_ID="$CHAIN_ID"
}
# pb AGENT ARGS...: the pbts command as that agent.
pb() { (
  agent_env "$1"
  shift
  exec "$BIN/pbts" "$@"
); }
status_json() { pb "$1" status --json; }

new_agent() {
  mkdir -p "$RUN/agents/$1"
  ADDR[$1]=$(pb "$1" key new --light --json | jq -r .address)
}

# register AGENT: signs the registration for the current tracker contract, waits
# until the chainwriter has it on chain, and leaves its event in REG.
REG=""
register() {
  local who=$1 out st=""
  cmdline "PBTS_HOME=agents/$who pbts register"
  out=$(pb "$who" register --json)
  jq -e .passkey_stored <<<"$out" >/dev/null || fail "$who: register gave $out"
  for _ in $(seq 1 120); do
    st=$(status_json "$who" || true)
    jq -e '.chain_registration == "confirmed"' <<<"$st" >/dev/null 2>&1 && break
    sleep 0.5
  done
  jq -e '.chain_registration == "confirmed"' <<<"$st" >/dev/null 2>&1 || fail "$who's registration was not confirmed on chain within 60s"
  REG=$("$UPX" events "$RPC" "$TRACKER" | jq -c --arg a "${ADDR[$who]}" \
    '[.[] | select((.event == "AgentRegistered" or .event == "AgentImported") and (.agent | ascii_downcase) == ($a | ascii_downcase))] | last')
  [[ $REG != null ]] || fail "no registration event of $who on $TRACKER"
}

status_line() {
  local who=$1 st
  st=$(status_json "$who")
  jq -r --arg w "$who" --argjson h "$(humans "$st")" \
    '"  \($w | .[0:8] | . + " " * (8 - length)) up \($h[0])  down \($h[1])  pending +\($h[2]) / -\($h[3])  ratio \(if .ratio_infinite then "∞" else (.ratio * 1000 | round / 1000 | tostring) end)  leech \(if .can_leech then "allowed" else "refused" end)"' <<<"$st"
}
humans() {
  local st=$1 f hs=()
  for f in settled_upload_bytes settled_download_bytes pending_upload_bytes pending_download_bytes; do
    hs+=("$(human "$(jq -r ".$f" <<<"$st")")")
  done
  printf '%s\n' "${hs[@]}" | jq -R . | jq -cs .
}

# wait_settled AGENT...: until the chainwriter has settled everything it was
# given (as it reports after this call began) and the tracker shows the
# agents' settled figures as the contract has them, with nothing pending.
wait_settled() {
  local who all st rep t0
  t0=$(date +%s)
  for _ in $(seq 1 240); do
    if "$UPX" chain-status "$CHAINWRITER_GRPC" 2>/dev/null | jq -e --argjson t0 "$t0" \
      '(.observed_at | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) > $t0 and (.pending_receipts | tonumber) == 0
       and (.pending_registrations | tonumber) == 0 and (.in_flight | length) == 0 and .last_settled_batch_id == .last_batch_id' \
      >/dev/null; then
      break
    fi
    sleep 0.5
  done
  for _ in $(seq 1 240); do
    all=1
    for who in "$@"; do
      st=$(status_json "$who")
      rep=$("$UPX" reputation "$RPC" "$TRACKER" "${ADDR[$who]}")
      jq -e --argjson r "$rep" '.pending_upload_bytes == 0 and .pending_download_bytes == 0 and
        .settled_upload_bytes == $r[0].upload and .settled_download_bytes == $r[0].download' <<<"$st" >/dev/null || all=""
    done
    [[ -n $all ]] && return 0
    sleep 0.5
  done
  fail "receipts of $* still unsettled after 120s (chainwriter: $("$UPX" chain-status "$CHAINWRITER_GRPC" | jq -c '{pending_receipts, last_batch_id, last_settled_batch_id, problem}'))"
}

# show_pending AGENT...: their status lines once pending receipts show (or
# after 3s: a batch may settle sooner than that).
show_pending() {
  local who
  for _ in $(seq 1 10); do
    for who in "$@"; do
      status_json "$who" | jq -e '.pending_upload_bytes + .pending_download_bytes > 0' >/dev/null && break 2
    done
    sleep 0.3
  done
  for who in "$@"; do status_line "$who"; done
}

LAST_BATCH=0
# show_batches: the BatchSettled events since the last call, with their transactions.
show_batches() {
  local evs
  evs=$("$UPX" events "$RPC" "$TRACKER" | jq -c --argjson last "$LAST_BATCH" '[.[] | select(.event == "BatchSettled" and .batchId > $last)]')
  jq -r '.[] | "  → settled batch \(.batchId): tx \(.tx) (block \(.block)), \(.agentCount) agents, \(.totalUpload) bytes moved, receipts root \(.root[0:18])…"' <<<"$evs"
  LAST_BATCH=$(jq --argjson last "$LAST_BATCH" '[.[].batchId] + [$last] | max' <<<"$evs")
}

# seed AGENT: (re)starts `pbts seed` for the agent in the background (the
# process itself, so that stop_seed and the exit trap stop it).
seed() {
  local who=$1
  stop_seed "$who"
  cmdline "PBTS_HOME=agents/$who pbts seed &"
  (
    trap - ERR
    agent_env "$who"
    exec "$BIN/pbts" seed --listen 127.0.0.1:0 --json
  ) >"$RUN/logs/$who-seed.log" 2>&1 &
  SEED_PID[$who]=$!
}
stop_seed() {
  local p=${SEED_PID[$1]:-}
  [[ -n $p ]] || return 0
  kill -TERM "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  unset "SEED_PID[$1]"
}
# wait_seeding AGENT INFOHASH PUBLISHER MIN: until the agent's seeder serves the
# dataset and the tracker counts at least MIN seeders; leaves the count in SEEDERS.
SEEDERS=0
wait_seeding() {
  local who=$1 ih=$2 publisher=$3 min=$4
  for _ in $(seq 1 240); do
    grep -qi "\"info_hash\":\"$ih\"" "$RUN/logs/$who-seed.log" 2>/dev/null && break
    kill -0 "${SEED_PID[$who]}" 2>/dev/null || { cat "$RUN/logs/$who-seed.log" >&2; fail "pbts seed of $who exited"; }
    sleep 0.5
  done
  for _ in $(seq 1 240); do
    SEEDERS=$(pb "$who" search --json --publisher "${ADDR[$publisher]}" |
      jq --arg ih "$ih" '[.datasets[] | select((.info_hash | ascii_downcase) == ($ih | ascii_downcase))][0].seeders // 0')
    ((SEEDERS >= min)) && return 0
    sleep 0.5
  done
  cat "$RUN/logs/$who-seed.log" >&2
  fail "the tracker counts $SEEDERS seeders of $ih after 2 minutes, want $min"
}

# publish AGENT PATH NAME MODALITY TAGS DESC: leaves the publish JSON in PUB.
# (--no-seed: `pbts seed` serves it.)
PUB=""
publish() {
  local who=$1 path=$2 name=$3 mod=$4 tags=$5 desc=$6
  cmdline "PBTS_HOME=agents/$who pbts publish ${path#"$RUN"/} --name \"$name\" --modality $mod --tags $tags --license CC0-1.0 ${NO_SEED[*]}"
  PUB=$(pb "$who" publish "$path" --name "$name" --modality "$mod" --tags "$tags" --desc "$desc" --license CC0-1.0 "${NO_SEED[@]}" --json)
}

# progress shows pbts get's progress lines (JSON ones made readable).
progress() {
  local line
  while IFS= read -r line; do
    if [[ $line == '{"progress"'* ]]; then
      line=$(jq -r 'def h: if . >= 1048576 then "\(. / 1048576 * 10 | round / 10) MiB" elif . >= 1024 then "\(. / 1024 | round) KiB" else "\(.) B" end;
        .progress | "progress \(.pieces)/\(.total_pieces) pieces  \(.bytes | h) of \(.total_bytes | h)  \(.bytes_per_second | h)/s  peers \(.peers)  receipts accepted \(.receipts_accepted)"' \
        <<<"$line" 2>/dev/null || printf '%s' "$line")
    fi
    printf '    │ %s\n' "$line"
  done
  return 0
}

# download AGENT INFOHASH LABEL: pbts get with its progress shown; the summary
# JSON is left in GOT (and $RUN/json/get-AGENT-LABEL.json). Fails the demo if pbts does.
GOT=""
download() {
  local who=$1 ih=$2 label=$3 rc
  local out=$RUN/json/get-$who-$label.json
  cmdline "PBTS_HOME=agents/$who pbts get $ih --out downloads/$who"
  trap - ERR
  set +e
  pb "$who" get "$ih" --out "$RUN/downloads/$who" --listen 127.0.0.1:0 --json 2>&1 >"$out" | progress
  rc=${PIPESTATUS[0]}
  set -e
  on_err
  GOT=$(cat "$out")
  if [[ $rc -ne 0 ]]; then
    printf '%s\n' "$GOT" >&2
    fail "$who's download of $ih (exit $rc)"
  fi
  see "$(jq -r '"verified \(.verified): \(.pieces) pieces in \(.seconds * 10 | round / 10)s; receipts signed \(.receipts_signed): accepted \(.receipts_accepted) + \(.receipts_duplicate) the sender had already submitted (handed over in the BitTorrent session), refused \(.receipts_refused)"' <<<"$GOT")"
}

# PAID: a single-sender download whose every piece has one receipt the
# receipts service holds (accepted from the downloader, or already from the
# sender, to whom the downloader hands its receipts during the transfer).
PAID='.verified and .receipts_signed == .pieces and .receipts_accepted + .receipts_duplicate == .receipts_signed
  and .receipts_refused == 0 and .receipts_unsent == 0'

# refused AGENT INFOHASH: asks for the dataset expecting a refusal; leaves the
# error JSON in REFUSAL.
REFUSAL=""
refused() {
  local who=$1 ih=$2
  cmdline "PBTS_HOME=agents/$who pbts get $ih --out downloads/$who"
  REFUSAL=$(pb "$who" get "$ih" --out "$RUN/downloads/$who" --listen 127.0.0.1:0 --json 2>/dev/null || true)
  see "$(jq -r '.error.message // "(no refusal)"' <<<"$REFUSAL")"
}

# same_files SRC DSTDIR: every file under SRC has the same SHA-256 under DSTDIR.
same_files() {
  local src=$1 dst=$2 f a b n=0
  while IFS= read -r f; do
    a=$(sha256sum "$src/$f" | cut -c1-64)
    b=$( (sha256sum "$dst/$f" 2>/dev/null || true) | cut -c1-64)
    [[ $a == "$b" ]] || fail "SHA-256 of $f differs: source $a, received ${b:-nothing}"
    n=$((n + 1))
    printf '    sha256 %s…  %s\n' "${a:0:24}" "$f"
  done < <(cd "$src" && find . -type f -printf '%P\n' | sort)
  ok "$n files received, each with the SHA-256 of its source"
}

size_of() { du -sb --apparent-size "$1" | cut -f1; }

# ---------------------------------------------------------------- media

# make_video DIR TARGET_BYTES: MP4 clips (H.264 test pattern with noise so the
# bitrate holds, AAC sine tone) adding up to about TARGET_BYTES.
make_video() {
  local dir=$1 target=$2 size=1280x720 kbps=8000 clips=4 secs i
  [[ -z $SMALL ]] || { size=640x360 kbps=2000 clips=2; }
  mkdir -p "$dir"
  secs=$(((target * 8 / ((kbps + 130) * 1000) + clips - 1) / clips))
  for i in $(seq 1 "$clips"); do
    ffmpeg -nostdin -hide_banner -loglevel error -y \
      -f lavfi -i "testsrc2=size=$size:rate=25,noise=alls=12:allf=t+u,hue=H=$i*0.8" \
      -f lavfi -i "sine=frequency=$((220 * i)):sample_rate=48000" -t "$secs" \
      -c:v libx264 -preset ultrafast -b:v "${kbps}k" -maxrate "${kbps}k" -bufsize "$((kbps / 2))k" -pix_fmt yuv420p \
      -c:a aac -b:a 128k -movflags +faststart "$dir/street-scene-$i.mp4"
  done
  printf '{"dataset": "synthetic street scenes", "run": "%s", "generator": "ffmpeg testsrc2 + sine", "clips": %d, "seconds_each": %d}\n' \
    "$(basename "$RUN")" "$clips" "$secs" >"$dir/manifest.json"
}

SENTENCES=(
  "The tracker counts every verified piece."
  "Receipts are signed by the agent that received the bytes."
  "Seeding earns upload credit, leeching spends it."
  "A batch of receipts settles in one transaction."
  "The quick brown fox jumps over the lazy dog."
  "Reputation lives on chain and survives a restart."
  "Please read the numbers slowly: seven, three, nine, one."
  "An agent with a low ratio must seed before it may download."
  "Every batch commits to the Merkle root of its receipts."
  "She sells sea shells by the sea shore."
  "A new tracker inherits the reputation of the old one."
  "Speech recognition needs many voices and many accents."
)
VOICES=(en-us en-gb en-gb-scotland en-029 en-gb-x-rp en-gb-x-gbcwmd)

# make_speech DIR TARGET_BYTES: espeak-ng utterances (22 kHz mono WAV) until TARGET_BYTES.
make_speech() {
  local dir=$1 target=$2 total=0 i=0 text j per=4
  [[ -z $SMALL ]] || per=2
  mkdir -p "$dir"
  while ((total < target)); do
    i=$((i + 1))
    text="Utterance $i of the PBTS speech set."
    for ((j = 0; j < per; j++)); do text+=" ${SENTENCES[$(((i * 5 + j) % ${#SENTENCES[@]}))]}"; done
    espeak-ng -v "${VOICES[$((i % ${#VOICES[@]}))]}" -s $((135 + (i * 7) % 40)) -w "$dir/utterance-$(printf %02d "$i").wav" "$text"
    total=$((total + $(stat -c %s "$dir/utterance-$(printf %02d "$i").wav")))
  done
  printf '{"dataset": "english read speech", "run": "%s", "generator": "espeak-ng", "utterances": %d}\n' \
    "$(basename "$RUN")" "$i" >"$dir/manifest.json"
}

# make_sounds DIR TARGET_BYTES: 48 kHz stereo WAV recordings (noise beds with tones).
make_sounds() {
  local dir=$1 target=$2 clips=3 secs i colors=(pink brown white)
  mkdir -p "$dir"
  secs=$(((target / 192000 + clips - 1) / clips))
  for i in $(seq 1 "$clips"); do
    ffmpeg -nostdin -hide_banner -loglevel error -y \
      -f lavfi -i "anoisesrc=color=${colors[$((i - 1))]}:sample_rate=48000:amplitude=0.2" \
      -f lavfi -i "sine=frequency=$((330 * i)):sample_rate=48000:beep_factor=4" \
      -filter_complex "[0][1]amix=inputs=2,aformat=channel_layouts=stereo" -t "$secs" -c:a pcm_s16le "$dir/ambience-$i.wav"
  done
  printf '{"dataset": "ambient sound events", "run": "%s", "generator": "ffmpeg anoisesrc + sine", "clips": %d}\n' \
    "$(basename "$RUN")" "$clips" >"$dir/manifest.json"
}

# ---------------------------------------------------------------- prologue

CREDIT=$("$UPX" tracker-info "$RPC" "$TRACKER" | jq -r .initialCredit)
if ((CREDIT > 64 * 1024 * 1024)); then
  fail "this stack's initial credit is $(human "$CREDIT"); the demo sizes its datasets from it (the video is 2.5×) and wants at most 64 MiB: run it against make up's stack (16 MiB) or set PBTS_UP_INITIAL_CREDIT"
fi
printf '%sPBTS demo%s  %s\n' "$BOLD" "$PLAIN" "$RUN_ID"
say "stack: tracker gRPC $TRACKER_GRPC, receipts gRPC $RECEIPTS_GRPC, chain $RPC"
say "ReputationTracker $TRACKER (RepFactory $FACTORY); initial credit C = $(human "$CREDIT")"
say "the gate: an agent may download a dataset of size S while (upload) / (download + S) >= 1/2"
say "so the datasets are sized from C: video ≈ 2.5 C, speech ≈ 0.75 C, Gamma's recordings ≈ 1.5 C"
say "agents' state: $RUN/agents/<name> (PBTS_HOME)"
rec run "$RUN_ID"
recj credit "$CREDIT"
rec tracker1 "$TRACKER"
LAST_BATCH=$("$UPX" tracker-info "$RPC" "$TRACKER" | jq -r .lastBatchId)

# allowed UP DOWN SIZE: the gate's integer rule 2·up >= down + size.
allowed() { (($1 * 2 >= $2 + $3)); }

# ================================================================ Act 1
act 1 "Alpha and Beta register" "Each agent signs a registration (EIP-191, naming this chain and contract); the tracker issues a passkey and queues the agent for the chainwriter, whose transaction grants the initial credit on chain."
for who in alpha beta; do
  new_agent "$who"
  register "$who"
  say "$who = ${ADDR[$who]}"
  see "registration tx $(jq -r .tx <<<"$REG") (block $(jq -r .block <<<"$REG")): $(jq -r .event <<<"$REG"), initial credit $(human "$(jq -r '.initialCredit // 0' <<<"$REG")")"
  recj "act1.$who" "$(jq -c --arg a "${ADDR[$who]}" '{address: $a, event, tx, block, credit: .initialCredit}' <<<"$REG")"
  expect "$REG" ".event == \"AgentRegistered\" and .initialCredit == $CREDIT" "$who holds the initial credit on chain"
done
status_line alpha
status_line beta

# ================================================================ Act 2
act 2 "Alpha publishes video, Beta publishes speech" "Real media: an H.264/AAC MP4 bundle made by ffmpeg and speech WAVs made by espeak-ng. Each becomes a private torrent (private=1) in the catalog, with the SHA-256 of every piece, and its publisher seeds it."
t0=$SECONDS
make_video "$RUN/data/alpha/street-scenes" $((CREDIT * 5 / 2))
make_speech "$RUN/data/beta/read-speech" $((CREDIT * 3 / 4))
make_sounds "$RUN/data/gamma/ambient-sounds" $((CREDIT * 3 / 2))
say "media made in $((SECONDS - t0))s:"
say "  $(find "$RUN/data/alpha/street-scenes" -name '*.mp4' | wc -l) MP4s, $(human "$(size_of "$RUN/data/alpha/street-scenes")"); street-scene-1.mp4: $(ffprobe -v error -show_entries stream=codec_name,width,height -show_entries format=duration -of csv=p=0 "$RUN/data/alpha/street-scenes/street-scene-1.mp4" | tr '\n' ' ')"
say "  $(find "$RUN/data/beta/read-speech" -name '*.wav' | wc -l) WAVs, $(human "$(size_of "$RUN/data/beta/read-speech")"); utterance-01.wav: $(ffprobe -v error -show_entries stream=codec_name,sample_rate,channels -show_entries format=duration -of csv=p=0 "$RUN/data/beta/read-speech/utterance-01.wav" | tr '\n' ' ')"
publish alpha "$RUN/data/alpha/street-scenes" "street scenes $RUN_ID" video "video,driving,synthetic" "moving test pattern with a tone track"
VIDEO=$PUB
publish beta "$RUN/data/beta/read-speech" "read speech $RUN_ID" audio "asr,speech,en" "English read speech in six accents"
AUDIO=$PUB
V_IH=$(jq -r .info_hash <<<"$VIDEO")
A_IH=$(jq -r .info_hash <<<"$AUDIO")
V=$(jq -r .total_bytes <<<"$VIDEO")
A=$(jq -r .total_bytes <<<"$AUDIO")
see "video  $V_IH: $(human "$V") in $(jq -r .piece_count <<<"$VIDEO") pieces of $(human "$(jq -r .piece_length <<<"$VIDEO")")"
see "speech $A_IH: $(human "$A") in $(jq -r .piece_count <<<"$AUDIO") pieces of $(human "$(jq -r .piece_length <<<"$AUDIO")")"
seed alpha
seed beta
wait_seeding alpha "$V_IH" alpha 1
sv=$SEEDERS
wait_seeding beta "$A_IH" beta 1
sa=$SEEDERS
cmdline "pbts search --publisher <alpha|beta>"
{ pb alpha search --publisher "${ADDR[alpha]}"; pb alpha search --publisher "${ADDR[beta]}" | tail -n +2; } | sed 's/^/    /'
ok "both datasets are in the catalog, seeded (video: $sv seeder, speech: $sa seeder)"
recj act2.video "$(jq -c --argjson s "$sv" '{info_hash, total_bytes, piece_count, piece_length, seeders: $s}' <<<"$VIDEO")"
recj act2.audio "$(jq -c --argjson s "$sa" '{info_hash, total_bytes, piece_count, piece_length, seeders: $s}' <<<"$AUDIO")"
allowed "$CREDIT" 0 "$A" || fail "the speech set ($(human "$A")) is more than Alpha's credit allows"
allowed $((CREDIT + A)) 0 "$V" || fail "the video ($(human "$V")) is more than Beta will be allowed"
! allowed "$CREDIT" 0 "$V" || fail "the video ($(human "$V")) is small enough for a newcomer: Act 4 would not refuse"

# ================================================================ Act 3
act 3 "They trade: Alpha takes the speech, Beta takes the video" "BitTorrent between the agents. For every piece that passes its hash check the downloader signs one receipt per sender; the receipts service verifies each, the chainwriter settles them on chain in batches."
status_line alpha
status_line beta
say "Alpha may: 2 × $(human "$CREDIT") >= 0 + $(human "$A")"
download alpha "$A_IH" speech
expect "$GOT" "$PAID" \
  "each piece Alpha received is paid for by one accepted receipt to Beta"
recj act3.alpha_get "$GOT"
say "verified receipts count for the gate at once, as pending, until they settle:"
show_pending alpha beta
wait_settled alpha beta
show_batches
same_files "$RUN/data/beta/read-speech" "$RUN/downloads/alpha/read-speech"

say "Beta may: 2 × ($(human "$CREDIT") + $(human "$A") uploaded) >= 0 + $(human "$V")"
download beta "$V_IH" video
expect "$GOT" "$PAID" \
  "each piece Beta received is paid for by one accepted receipt to Alpha"
recj act3.beta_get "$GOT"
wait_settled alpha beta
show_batches
same_files "$RUN/data/alpha/street-scenes" "$RUN/downloads/beta/street-scenes"
say "settled on chain:"
status_line alpha
status_line beta
SA=$(status_json alpha)
SB=$(status_json beta)
expect "$(jq -n --argjson a "$SA" --argjson b "$SB" '{a: $a, b: $b}')" \
  ".a.settled_upload_bytes == $((CREDIT + V)) and .a.settled_download_bytes == $A and .b.settled_upload_bytes == $((CREDIT + A)) and .b.settled_download_bytes == $V" \
  "on chain: Alpha up C + video, down speech; Beta up C + speech, down video"
recj act3.after "$(jq -n --argjson a "$SA" --argjson b "$SB" '{alpha: $a, beta: $b}')"
say "the same figures through the REST gateway (for clients without gRPC; the seed's path too):"
cmdline "curl -s $GATEWAY/v1/agents/${ADDR[alpha]}"
RA=$(curl -fsS "$GATEWAY/v1/agents/${ADDR[alpha]}")
see "$(jq -c '.agent | {settledUploadBytes, settledDownloadBytes, ratio, canLeech}' <<<"$RA")"
cmdline "curl -s $GATEWAY/reputation/${ADDR[beta]}"
RB=$(curl -fsS "$GATEWAY/reputation/${ADDR[beta]}")
see "$(jq -c '{uploaded, downloaded, ratio, canLeech}' <<<"$RB")"
expect "$(jq -n --argjson ra "$RA" --argjson rb "$RB" --argjson a "$SA" --argjson b "$SB" '{ra: $ra, rb: $rb, a: $a, b: $b}')" \
  '(.ra.agent.settledUploadBytes | tonumber) == .a.settled_upload_bytes and (.ra.agent.settledDownloadBytes | tonumber) == .a.settled_download_bytes
   and (.rb.uploaded | tonumber) == .b.settled_upload_bytes and (.rb.downloaded | tonumber) == .b.settled_download_bytes' \
  "REST shows what pbts shows"
recj act3.rest "$(jq -n --argjson ra "$RA" --argjson rb "$RB" '{alpha: $ra.agent, beta: $rb}')"

# ================================================================ Act 4
act 4 "Gamma arrives with nothing to offer" "A newcomer holds only the initial credit and may not take more than twice what it has uploaded, so it must contribute first."
new_agent gamma
register gamma
say "gamma = ${ADDR[gamma]}, registration tx $(jq -r .tx <<<"$REG")"
status_line gamma
say "why it fails: 2 × $(human "$CREDIT") = $(human $((2 * CREDIT))) < 0 + $(human "$V") (the video is more than twice Gamma's credit)"
refused gamma "$V_IH"
expect "$REFUSAL" '.error.kind == "insufficient_ratio" and (.error.message | contains("insufficient ratio"))' \
  "Gamma is refused with \"insufficient ratio\" and the figures"
recj act4.refusal "$REFUSAL"
say "Gamma records ambient sound and publishes it ($(find "$RUN/data/gamma/ambient-sounds" -name '*.wav' | wc -l) WAVs, 48 kHz stereo)"
publish gamma "$RUN/data/gamma/ambient-sounds" "ambient sounds $RUN_ID" audio "sound-events,ambience" "noise beds with tones"
SOUNDS=$PUB
G_IH=$(jq -r .info_hash <<<"$SOUNDS")
G=$(jq -r .total_bytes <<<"$SOUNDS")
see "sounds $G_IH: $(human "$G") in $(jq -r .piece_count <<<"$SOUNDS") pieces"
recj act4.sounds "$(jq -c '{info_hash, total_bytes, piece_count, piece_length}' <<<"$SOUNDS")"
allowed "$CREDIT" 0 "$G" || fail "Gamma's sounds ($(human "$G")) are more than a newcomer may take"
allowed $((CREDIT + G)) 0 "$V" || fail "Gamma's sounds ($(human "$G")) would not earn the video"
! allowed "$CREDIT" "$A" "$G" || fail "sizes: the free-rider of Act 5 would not be refused"
seed gamma
wait_seeding gamma "$G_IH" gamma 1
say "Alpha takes Gamma's recordings (2 × $(human $((CREDIT + V))) >= $(human "$A") + $(human "$G"))"
download alpha "$G_IH" sounds
expect "$GOT" "$PAID" "Gamma earned $(human "$G") of upload, receipted by Alpha"
wait_settled alpha gamma
show_batches
same_files "$RUN/data/gamma/ambient-sounds" "$RUN/downloads/alpha/ambient-sounds"
status_line gamma
say "now: 2 × ($(human "$CREDIT") + $(human "$G")) >= 0 + $(human "$V")"
up_a=$(status_json alpha | jq .settled_upload_bytes)
up_b=$(status_json beta | jq .settled_upload_bytes)
download gamma "$V_IH" video
expect "$GOT" '.verified and .receipts_signed >= .pieces and .receipts_accepted + .receipts_duplicate == .receipts_signed and .receipts_refused == 0' \
  "Gamma, having contributed, gets the video"
recj act4.gamma_get "$GOT"
same_files "$RUN/data/alpha/street-scenes" "$RUN/downloads/gamma/street-scenes"
wait_settled alpha beta gamma
show_batches
from_a=$(($(status_json alpha | jq .settled_upload_bytes) - up_a))
from_b=$(($(status_json beta | jq .settled_upload_bytes) - up_b))
((from_a + from_b == V)) || fail "the seeders' upload grew by $((from_a + from_b)) bytes, not the video's $V"
ok "Alpha, the video's seeder, earned its $(human "$from_a") on chain"
status_line alpha
status_line beta
status_line gamma

# ================================================================ Act 5
act 5 "A new tracker inherits the reputation" "RepFactory.deployNewTracker(referrer = the old tracker), and the services move to it (with a new database: each is bound to one contract). The contract reads unknown agents through its referrer; agents register again (their signature names the new contract) and are imported with their old figures, never a fresh credit, so nobody can start over."
say "first, a free-rider: Delta registers, spends its credit on the speech set and never uploads"
new_agent delta
register delta
download delta "$A_IH" speech
wait_settled delta
say "Delta asks for Gamma's recordings: 2 × $(human "$CREDIT") < $(human "$A") + $(human "$G")"
refused delta "$G_IH"
expect "$REFUSAL" '.error.kind == "insufficient_ratio"' "Delta is refused on the old tracker"
recj act5.delta_refusal_old "$REFUSAL"
DELTA_OLD=$REFUSAL
show_batches >/dev/null

AGENTS=(alpha beta gamma delta)
OLD=$TRACKER
say "every agent, on the old tracker $OLD:"
before='{}'
for who in "${AGENTS[@]}"; do
  status_line "$who"
  before=$(jq --arg w "$who" --argjson s "$(status_json "$who")" '. + {($w): $s}' <<<"$before")
done
recj act5.before "$before"
say "the seeders stop (their announce URLs carry the old tracker's passkeys)"
for who in alpha beta gamma; do stop_seed "$who"; done
cmdline "scripts/up.sh switch"
bash "$ROOT/scripts/up.sh" switch | sed 's/^/    /'
SWITCHED=$(cat "$UP_DIR/switch.done")
load_stack
NEW=$(jq -r .tracker <<<"$SWITCHED")
[[ ${NEW,,} != "${OLD,,}" ]] || fail "the switch kept the old tracker"
TRACKER=$NEW
LAST_BATCH=0
info=$("$UPX" tracker-info "$RPC" "$NEW")
dep=$("$UPX" events "$RPC" "$FACTORY" | jq -c --arg t "$NEW" '[.[] | select(.event == "TrackerDeployed" and (.tracker | ascii_downcase) == ($t | ascii_downcase))][0]')
see "ReputationTracker #$(jq -r .generation <<<"$SWITCHED") $NEW: deployNewTracker tx $(jq -r .tx <<<"$dep") (block $(jq -r .block <<<"$dep")), referrer $(jq -r .referrer <<<"$info"), initial credit $(human "$(jq -r .initialCredit <<<"$info")"), database $(jq -r .database <<<"$SWITCHED")"
expect "$info" ".referrer | ascii_downcase == \"${OLD,,}\"" "the new tracker names the old one as its referrer"
rec tracker2 "$NEW"

say "before anyone registers again, the new contract reads every agent through its referrer:"
addrs=()
for who in "${AGENTS[@]}"; do addrs+=("${ADDR[$who]}"); done
old_rep=$("$UPX" reputation "$RPC" "$OLD" "${addrs[@]}")
new_rep=$("$UPX" reputation "$RPC" "$NEW" "${addrs[@]}")
for i in "${!AGENTS[@]}"; do
  printf '    %-8s old contract: up %10s down %10s   new contract: up %10s down %10s\n' "${AGENTS[$i]}" \
    "$(human "$(jq -r ".[$i].upload" <<<"$old_rep")")" "$(human "$(jq -r ".[$i].download" <<<"$old_rep")")" \
    "$(human "$(jq -r ".[$i].upload" <<<"$new_rep")")" "$(human "$(jq -r ".[$i].download" <<<"$new_rep")")"
done
expect "$(jq -n --argjson o "$old_rep" --argjson n "$new_rep" '{o: $o, n: $n}')" \
  '[.o[] | [.upload, .download, .known]] == [.n[] | [.upload, .download, .known]]' \
  "getReputation on the new contract equals the old one for every agent"
recj act5.readthrough "$(jq -n --argjson o "$old_rep" --argjson n "$new_rep" '{old: $o, new: $n}')"

say "agents set PBTS_TRACKER_CONTRACT=$NEW and register again: a new passkey, and on chain AgentImported"
imports='[]'
for who in "${AGENTS[@]}"; do
  register "$who"
  see "$who: $(jq -r .event <<<"$REG") tx $(jq -r .tx <<<"$REG"): up $(human "$(jq -r '.upload // 0' <<<"$REG")"), down $(human "$(jq -r '.download // 0' <<<"$REG")")"
  imports=$(jq --argjson e "$REG" '. + [$e]' <<<"$imports")
done
expect "$imports" 'all(.event == "AgentImported")' "every agent was imported with its figures; none got a fresh credit"
recj act5.imports "$imports"
after='{}'
say "pbts status on the new tracker:"
for who in "${AGENTS[@]}"; do
  status_line "$who"
  after=$(jq --arg w "$who" --argjson s "$(status_json "$who")" '. + {($w): $s}' <<<"$after")
done
recj act5.after "$after"
expect "$(jq -n --argjson b "$before" --argjson a "$after" '{b: $b, a: $a}')" \
  '[.b[] | [.settled_upload_bytes, .settled_download_bytes, .ratio, .can_leech]] == [.a[] | [.settled_upload_bytes, .settled_download_bytes, .ratio, .can_leech]]' \
  "settled figures, ratio and leech permission are those of the old tracker, for every agent"

say "the publishers publish again in the new catalog; Gamma seeds"
publish alpha "$RUN/data/alpha/street-scenes" "street scenes $RUN_ID" video "video,driving,synthetic" "moving test pattern with a tone track"
publish beta "$RUN/data/beta/read-speech" "read speech $RUN_ID" audio "asr,speech,en" "English read speech in six accents"
publish gamma "$RUN/data/gamma/ambient-sounds" "ambient sounds $RUN_ID" audio "sound-events,ambience" "noise beds with tones"
seed gamma
wait_seeding gamma "$G_IH" gamma 1
say "the free-rider asks again, now on the new tracker:"
refused delta "$G_IH"
expect "$(jq -n --argjson o "$DELTA_OLD" --argjson n "$REFUSAL" '{o: $o, n: $n}')" \
  '.n.error.kind == "insufficient_ratio" and .n.error.message == .o.error.message' \
  "Delta is still refused, with the same figures: its history came along"
recj act5.delta_refusal_new "$REFUSAL"
say "whereas Epsilon, new on the new tracker (fresh credit, nothing downloaded), is served the same set:"
new_agent epsilon
register epsilon
see "epsilon: $(jq -r .event <<<"$REG") tx $(jq -r .tx <<<"$REG"), initial credit $(human "$(jq -r '.initialCredit // 0' <<<"$REG")")"
download epsilon "$G_IH" sounds
expect "$GOT" "$PAID" "Epsilon downloaded it, every piece receipted"
recj act5.epsilon_get "$GOT"
wait_settled epsilon gamma
show_batches
nb=$("$UPX" events "$RPC" "$NEW" | jq '[.[] | select(.event == "BatchSettled")] | length')
expect "$nb" '. > 0' "receipts settle on the new contract"
status_line gamma
status_line epsilon

rec result ok
printf '\n%sAll five acts passed.%s Figures: %s\n' "$BOLD" "$PLAIN" "$RESULTS"
[[ -z $UP_PID ]] || say "the stack this demo started stops now; make up resumes it with the same chain and reputation"
say "look at an agent (with the stack up): source $UP_DIR/env; PBTS_HOME=$RUN/agents/alpha PBTS_KEY_PASSWORD=$PW pbts status"
echo "DEMO OK"
