#!/bin/sh
# Sets up trayflash on Debian 12 (as root) and runs the station on its embedded default: a
# simulated tray of 8 BK7231 modules with a realistic mix of faults, live on the dashboard.
# Extra arguments go to `trayflash demo` (e.g. --bays 32, --headless, --once).
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 --target trayflash >/dev/null
exec build/station/trayflash demo "$@"
