#!/bin/sh
# Sets up trayflash on Debian 12 and runs the station on its embedded default: a simulated
# tray of 8 BK7231 modules with a realistic mix of faults, live on the dashboard.
# Extra arguments go to `trayflash demo` (e.g. --bays 32, --headless, --once).
#
# Only the packages need root (scripts/install-deps.sh). The station itself never runs as
# root: run by a user, it runs as that user (asking sudo for the packages when some are
# missing); run with sudo, as the user who called sudo; run as root alone (a fresh machine),
# as the unprivileged user nobody, from a scratch folder it owns that holds the program, the
# demo profile and the database. The one-line summary on leaving says where the database is.
#
# TRAYFLASH_DEMO_BIN=PATH skips the packages and the build and runs that program (tests).
set -eu
cd "$(dirname "$0")/.."

bin=${TRAYFLASH_DEMO_BIN:-}
if [ -z "$bin" ]; then
    if [ "$(id -u)" -eq 0 ]; then
        sh scripts/install-deps.sh
    elif command -v sudo >/dev/null 2>&1; then
        sudo sh scripts/install-deps.sh
    else
        sh scripts/install-deps.sh # installs nothing when every package is there
    fi
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build -j2 --target trayflash >/dev/null
    bin=build/station/trayflash
fi

if [ "$(id -u)" -ne 0 ]; then
    exec "$bin" demo "$@"
fi

# Root: drop to the invoking user (sudo) or to nobody.
user=${SUDO_USER:-}
if [ -z "$user" ] || [ "$user" = root ]; then
    user=nobody
fi
uid=$(id -u "$user")
gid=$(id -g "$user")
# The user may not read this checkout (root's home is 0700): the program, the demo profile
# and its image go to a folder of the user's own, where the database is written too.
run=$(mktemp -d "${TMPDIR:-/tmp}/trayflash-demo.XXXXXX")
mkdir -p "$run/profiles/images"
cp "$bin" "$run/trayflash"
cp profiles/demo-small.ini "$run/profiles/"
cp profiles/images/demo-small.bin "$run/profiles/images/"
chown -R "$uid:$gid" "$run"
chmod 0755 "$run"
cd "$run"
echo "trayflash demo: running as $user in $run (the packages were the only thing done as root)" >&2
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all \
    env HOME="$run" ./trayflash demo "$@"
