#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on 127.0.0.1 for the tests and
# prints the URL; `.ci/postgres.sh stop DIR` stops it. No system service:
# initdb + pg_ctl in a temporary directory, run as the postgres user
# (initdb refuses root). Installs the server from Debian's packages if the
# machine lacks it.
set -euo pipefail

port=${RECHIST_PG_PORT:-55432}

bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  return 1
}

if [ "${1:-}" = stop ]; then
  dir=$2
  su postgres -s /bin/sh -c "$(bindir)/pg_ctl -D '$dir/data' -m fast stop" >/dev/null 2>&1 || true
  rm -rf "$dir"
  exit 0
fi

if ! bindir >/dev/null; then
  echo "installing postgresql from Debian's packages" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
bin=$(bindir)
id postgres >/dev/null 2>&1 || useradd --system --home /nonexistent --shell /usr/sbin/nologin postgres

dir=$(mktemp -d /tmp/rechist-pg.XXXXXX)
chown postgres "$dir"
su postgres -s /bin/sh -c "$bin/initdb -D '$dir/data' -U postgres -A trust -E UTF8 --locale=C.UTF-8" >/dev/null
su postgres -s /bin/sh -c "$bin/pg_ctl -D '$dir/data' -l '$dir/log' -w -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=on\" start" >/dev/null
su postgres -s /bin/sh -c "$bin/createdb -h 127.0.0.1 -p $port -U postgres rechist"
echo "RECHIST_PG_DIR=$dir"
echo "RECHIST_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/rechist?sslmode=disable"
