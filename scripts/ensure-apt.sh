#!/usr/bin/env bash
# Installs Debian packages for the commands that are missing.
# Usage: ensure-apt.sh COMMAND=PACKAGE ...   e.g. ensure-apt.sh aria2c=aria2 opentracker=opentracker
set -euo pipefail
missing=()
for pair in "$@"; do
  cmd=${pair%%=*} pkg=${pair#*=}
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-apt: missing ${missing[*]} and apt-get is not available; install them" >&2
  exit 1
fi
echo "ensure-apt: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
