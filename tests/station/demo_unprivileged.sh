#!/bin/sh
# demo_unprivileged.sh SOURCE_DIR TRAYFLASH - scripts/demo.sh run as root flashes the simulated
# tray as an unprivileged user: the database it leaves (named by the one-line summary) is not
# root's, and the summary is the last line. Skipped (77) when not run as root.
set -u
src=$1 tf=$2
fail() { echo "demo_unprivileged: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "demo_unprivileged: not root, nothing to drop: skipped"; exit 77; }
out=$(env -u SUDO_USER TRAYFLASH_DEMO_BIN="$tf" sh "$src/scripts/demo.sh" --headless --once \
      --bays 2 --time-scale 0.05 2>&1) || fail "demo.sh failed: $(echo "$out" | tail -3)"
last=$(echo "$out" | tail -1)
db=$(echo "$last" | sed -n 's/^demo: 2 modules, [0-9]* pass, [0-9]* fail; records: trayflash report --db \(.*\)$/\1/p')
[ -n "$db" ] || fail "no summary naming the database; last line: $last"
[ -f "$db" ] || fail "the database $db is not there"
owner=$(stat -c %u "$db")
dir=$(dirname "$db")
case $dir in /tmp/trayflash-demo.* | "${TMPDIR:-/tmp}"/trayflash-demo.*) rm -rf "$dir" ;; esac
[ "$owner" -ne 0 ] || fail "the station ran as root: $db is owned by uid 0"
echo "demo_unprivileged: the station ran as uid $owner"
