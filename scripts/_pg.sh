# PostgreSQL for the tests (the storage contract suite runs on SQLite AND PostgreSQL).
# Sourced by scripts/test, not run. PostgreSQL para las pruebas.
#
# Uses PUENTE_TEST_PG_URL when set, else a server on 127.0.0.1:5432 (trust auth, user postgres)
# when one answers, else starts a private cluster (initdb + pg_ctl) in a temp dir on a free
# port, as the `postgres` user (PostgreSQL refuses to run as root), and stops it at the end.
# PUENTE_TEST_PG_PRIVATE=1 forces the private cluster.

PG_PRIVATE_DIR=""

ensure_test_postgres() {
  if [ -n "${PUENTE_TEST_PG_URL:-}" ]; then return 0; fi
  if [ "${PUENTE_TEST_PG_PRIVATE:-0}" != 1 ] && (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
    export PUENTE_TEST_PG_URL="postgresql://postgres@127.0.0.1:5432/postgres"
    return 0
  fi
  apt_install postgresql
  local bindir port run=()
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  PG_PRIVATE_DIR=$(mktemp -d /tmp/puente-pg.XXXXXX)
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$PG_PRIVATE_DIR"
    run=(runuser -u postgres --)
  fi
  echo "== private PostgreSQL on 127.0.0.1:$port ($PG_PRIVATE_DIR)"
  "${run[@]}" "$bindir/initdb" -D "$PG_PRIVATE_DIR/data" -U postgres --auth=trust -E UTF8 >/dev/null
  "${run[@]}" "$bindir/pg_ctl" -D "$PG_PRIVATE_DIR/data" -l "$PG_PRIVATE_DIR/log" -w \
    -o "-p $port -k $PG_PRIVATE_DIR -c listen_addresses=127.0.0.1" start >/dev/null
  export PUENTE_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
  PG_STOP=("${run[@]}" "$bindir/pg_ctl" -D "$PG_PRIVATE_DIR/data" -m fast -w stop)
}

stop_test_postgres() {
  if [ -n "$PG_PRIVATE_DIR" ]; then
    "${PG_STOP[@]}" >/dev/null || true
    rm -rf "$PG_PRIVATE_DIR"
  fi
}
