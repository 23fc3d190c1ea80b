#!/bin/sh
# pg_cluster.sh start|stop DIR - a throwaway PostgreSQL cluster for the tests labelled pg (ctest
# fixture pg_cluster; the recipe measured in docs: initdb as the postgres user, no fsync, only
# 127.0.0.1 and a socket in the cluster's own directory, a free port).
# start: writes DIR/pg-url (the URL the tests read) and DIR/pg-dir (where the cluster lives).
# stop: stops it (immediate) and removes its directory.
# pause / resume: stops the server (immediate: clients see their connections drop, nothing
# uncommitted survives) and starts it again on the same port and directory ("server away").
set -eu
cmd=$1; dir=$2
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$PGBIN/initdb" ] || { echo "pg_cluster: no PostgreSQL server (install postgresql: scripts/install-deps.sh)" >&2; exit 1; }
as_owner() { # runs a command as the cluster's owner: postgres when we are root (initdb refuses root)
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case $cmd in
start)
    mkdir -p "$dir"
    d=$(mktemp -d "${TMPDIR:-/tmp}/trayflash-pg.XXXXXX")
    [ "$(id -u)" = 0 ] && chown postgres "$d"
    echo "$d" > "$dir/pg-dir"
    as_owner "$PGBIN/initdb" -D "$d/pg" -A trust -U postgres -E UTF8 --locale=C --no-sync >"$d/initdb.log" 2>&1 ||
        { cat "$d/initdb.log" >&2; exit 1; }
    # A free port: ask the kernel for one, then try the next ones if another run took it meanwhile.
    port=$((20000 + $$ % 30000)) # per run: parallel runs on one machine do not collide
    for try in 1 2 3 4 5; do
        if as_owner "$PGBIN/pg_ctl" -D "$d/pg" -l "$d/pg.log" -w -t 30 start \
            -o "-p $port -k $d -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" >/dev/null; then
            echo "postgresql://postgres@127.0.0.1:$port/postgres" > "$dir/pg-url"
            exit 0
        fi
        port=$((port + 1))
    done
    cat "$d/pg.log" >&2
    exit 1 ;;
stop)
    [ -f "$dir/pg-dir" ] || exit 0
    d=$(cat "$dir/pg-dir")
    as_owner "$PGBIN/pg_ctl" -D "$d/pg" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$d" "$dir/pg-dir" "$dir/pg-url" ;;
pause)
    d=$(cat "$dir/pg-dir")
    as_owner "$PGBIN/pg_ctl" -D "$d/pg" -m immediate -w stop >/dev/null ;;
resume)
    d=$(cat "$dir/pg-dir")
    port=$(sed 's/.*:\([0-9]*\)\/.*/\1/' "$dir/pg-url")
    as_owner "$PGBIN/pg_ctl" -D "$d/pg" -l "$d/pg.log" -w -t 30 start \
        -o "-p $port -k $d -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" >/dev/null ;;
*) echo "usage: pg_cluster.sh start|stop|pause|resume DIR" >&2; exit 2 ;;
esac
