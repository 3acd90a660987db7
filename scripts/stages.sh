#!/usr/bin/env bash
# stages.sh TARGET...: `make TARGET` for each in turn (stopping at the first
# failure), a line with its seconds after each, and all of them at the end,
# so a CI log says where its time went.
set -uo pipefail
rows=()
rc=0
t_all=$SECONDS
for s in "$@"; do
  t0=$SECONDS
  printf '\n==== stage %s\n' "$s"
  make --no-print-directory "$s" || rc=$?
  d=$((SECONDS - t0))
  st=ok
  [[ $rc == 0 ]] || st="FAILED (exit $rc)"
  printf '==== stage %s: %ds %s\n' "$s" "$d" "$st"
  rows+=("$(printf '%-16s %5ds  %s' "$s" "$d" "$st")")
  [[ $rc == 0 ]] || break
done
printf '\nstage times:\n'
printf '  %s\n' "${rows[@]}"
printf '  %-16s %5ds\n' total $((SECONDS - t_all))
exit "$rc"
