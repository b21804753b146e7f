#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on 127.0.0.1 for the tests and
# prints shell lines to eval (export RECHIST_TEST_POSTGRES_URL=...);
# `.ci/postgres.sh stop DIR` stops it. No system service:
# initdb + pg_ctl in a temporary directory, run as the postgres user
# (initdb refuses root). Installs the server from Debian's packages if the
# machine lacks it.
set -euo pipefail


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
# The first free port from 55432 on.
started=
for port in $(seq 55432 55462); do
  if su postgres -s /bin/sh -c "$bin/pg_ctl -D '$dir/data' -l '$dir/log' -w -t 30 -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1\" start" >/dev/null 2>&1; then
    started=1
    break
  fi
done
if [ -z "$started" ]; then
  echo "postgres.sh: the server did not start; its log:" >&2
  cat "$dir/log" >&2
  exit 1
fi
su postgres -s /bin/sh -c "$bin/createdb -h 127.0.0.1 -p $port -U postgres rechist"
printf "export RECHIST_PG_DIR='%s'\n" "$dir"
printf "export RECHIST_TEST_POSTGRES_URL='postgres://postgres@127.0.0.1:%s/rechist?sslmode=disable'\n" "$port"
