#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for the lab-server tests: installed from
# Debian when missing, initialised in a temp folder as the `postgres` user,
# listening on loopback only on a free port, and stopped (folder removed) when
# the calling shell exits.
#
#   source scripts/pg-test-server.sh          # in a script: exports the URL, stops on exit
#   scripts/pg-test-server.sh npx vitest run  # runs a command with the server up
#
# Exports DUIKOU_TEST_DATABASE_URL (postgres://postgres@127.0.0.1:PORT/postgres)
# and DUIKOU_REQUIRE_POSTGRES=1, so the PostgreSQL tests run instead of skipping.

pg_test_server_start() {
  local bin=/usr/lib/postgresql/15/bin
  if [ ! -x "$bin/initdb" ]; then
    echo "== installing postgresql-15"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql-15 >/dev/null
  fi
  PG_TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/duikou-pg-XXXXXX")
  chown postgres:postgres "$PG_TEST_DIR"
  chmod 700 "$PG_TEST_DIR"
  local port
  port=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
  # initdb refuses to run as root; trust is safe here: loopback only, a throwaway cluster.
  runuser -u postgres -- "$bin/initdb" -D "$PG_TEST_DIR/data" -E UTF8 --locale=C.UTF-8 -A trust >/dev/null
  runuser -u postgres -- "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/log" \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_TEST_DIR -c fsync=off" -w start >/dev/null
  export PG_TEST_DIR
  export DUIKOU_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  export DUIKOU_REQUIRE_POSTGRES=1
  echo "== PostgreSQL test server at $DUIKOU_TEST_DATABASE_URL"
}

pg_test_server_stop() {
  if [ -n "${PG_TEST_DIR:-}" ] && [ -d "$PG_TEST_DIR/data" ]; then
    runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$PG_TEST_DIR/data" -m fast -w stop >/dev/null || true
    rm -rf "$PG_TEST_DIR"
  fi
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # Sourced: start now; stop when the sourcing shell exits (keeping any EXIT trap it already had).
  pg_test_server_start
  PG_TEST_PREVIOUS_TRAP=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
  trap 'pg_test_server_stop; eval "${PG_TEST_PREVIOUS_TRAP:-}"' EXIT
else
  set -euo pipefail
  pg_test_server_start
  trap pg_test_server_stop EXIT
  "$@"
fi
