#!/bin/sh
# check_layers.sh SRC - the layer rules of docs/architecture.md, read off the #include lines:
#   engine/    no threads, SQLite, curses or udev, and nothing of the station, db or ui;
#   station/ui draws station_view snapshots: no station internals (station.h, evq, pool, db);
#   db/        no threads, no curses, nothing of the station;
#   sim/       nothing of the station, db or ui.
# Prints every breach as FILE:LINE: include, exits 1 if there was one.
set -u
src=${1:?usage: check_layers.sh SRC}
bad=0
breach() { # dir, pattern, why
    hits=$(grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($2)[>\"]" "$src/$1"/*.c "$src/$1"/*.h 2>/dev/null)
    if [ -n "$hits" ]; then
        printf '%s\n' "$hits" | sed "s|^$src/||; s|\$|   <- $3|"
        bad=1
    fi
}
breach engine 'pthread\.h|sqlite3\.h|n?curses(w)?\.h|ncursesw/.*|libudev\.h' "the engine knows no threads, SQLite, curses or udev"
breach engine 'station[a-z_]*\.h|st_event\.h|evq\.h|pool\.h|devsrc\.h|db\.h|report\.h|ui\.h|cli\.h' "the engine knows nothing of the station, db or ui"
breach station/ui 'station\.h|station_internal\.h|st_event\.h|evq\.h|pool\.h|devsrc\.h|db\.h|report\.h|station_config\.h' "the dashboard draws station_view snapshots only"
breach db 'pthread\.h|n?curses(w)?\.h|ncursesw/.*' "db/ knows no threads or curses"
breach db 'station[a-z_]*\.h|st_event\.h|evq\.h|pool\.h|ui\.h' "db/ knows nothing of the station"
breach sim 'station[a-z_]*\.h|st_event\.h|evq\.h|pool\.h|db\.h|report\.h|ui\.h' "the simulator knows nothing of the station, db or ui"
if [ $bad -ne 0 ]; then
    echo "layer rules broken (docs/architecture.md)" >&2
    exit 1
fi
echo "layers: engine, station/ui, db and sim keep to their rules"
