#!/usr/bin/env bash
# Start a throwaway PostgreSQL on 127.0.0.1 for the sync tests and print its URL.
# Installs the server from the OS packages when it is missing. Sourced by .ci/run.
set -euo pipefail
if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PGDATA_DIR=$(mktemp -d /tmp/deskcli-pg.XXXXXX)
PGPORT_CI=${PGPORT_CI:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
chown postgres:postgres "$PGDATA_DIR"
runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA_DIR" -A trust -U postgres >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGDATA_DIR/server.log" -w \
    -o "-p $PGPORT_CI -k $PGDATA_DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >&2
echo "$PGBIN/pg_ctl -D $PGDATA_DIR" > "$PGDATA_DIR/stop-command"
echo "postgresql+psycopg://postgres@127.0.0.1:$PGPORT_CI/postgres $PGDATA_DIR"
