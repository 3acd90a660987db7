#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers at 127.0.0.1:5432 with trust auth.
# On a Debian machine without one it installs Debian's postgresql and starts it.
set -euo pipefail

answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

if answers; then
  exit 0
fi

# A cluster may be installed but stopped.
if command -v pg_lsclusters >/dev/null 2>&1 && [ -n "$(pg_lsclusters -h 2>/dev/null)" ]; then
  ver=$(pg_lsclusters -h | awk 'NR==1{print $1}')
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
fi

if ! answers; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-postgres: nothing answers at 127.0.0.1:5432 and apt-get is missing; start a PostgreSQL server there" >&2
    exit 1
  fi
  echo "ensure-postgres: installing Debian's postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
  ver=$(pg_lsclusters -h | awk 'NR==1{print $1}')
  hba=/etc/postgresql/$ver/main/pg_hba.conf
  # Local development and CI only: trust connections from this machine.
  sed -i -E 's/^(local|host)(\s+\S+\s+\S+.*\s)(peer|md5|scram-sha-256)\s*$/\1\2trust/' "$hba"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main restart || pg_ctlcluster --skip-systemctl-redirect "$ver" main start
fi

for _ in $(seq 1 30); do
  answers && exit 0
  sleep 1
done
echo "ensure-postgres: PostgreSQL did not start answering at 127.0.0.1:5432" >&2
exit 1
