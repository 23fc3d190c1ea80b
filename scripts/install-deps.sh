#!/bin/sh
# Installs what trayflash needs to build, test and run on Debian 12 (run as root).
# The one list of packages: CI, the README's commands and developers all use this script.
# systemd: its systemd-analyze checks the installed unit (packaging_unit_security); a fresh
# Debian 12 container lacks it, and that test fails rather than skips without it.
set -eu
PKGS="build-essential cmake pkg-config git
      libserialport-dev libudev-dev libsqlite3-dev libncurses-dev libinih-dev zlib1g-dev
      nettle-dev libcjson-dev libcrypt-dev libacl1-dev libpq-dev postgresql libcsv-dev
      umockdev libumockdev-dev socat tmux sqlite3 clang libclang-rt-14-dev
      systemd"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
fi
