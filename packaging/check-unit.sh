#!/bin/sh
# check-unit.sh UNIT [BINDIR] - packaging_unit: the configured systemd unit runs the station headless as
# user trayflash with dialout, keeps its db in the state directory, restarts on failure, and is
# hardened without losing the serial ports. `systemd-analyze verify` is run where it can be
# (it needs the binary installed at the configured path); the key checks always run.
set -u
unit=$1
bindir=${2:-}
fail() { echo "packaging_unit: $unit: $*" >&2; exit 1; }
[ -s "$unit" ] || fail "missing"
grep -q '@[A-Z_]*@' "$unit" && fail "unsubstituted @VAR@ left"
has() { grep -Eq "^$1\$" "$unit" || fail "lacks '$1'"; }
has 'ExecStart=/[^ ]*/trayflash station --headless --config /etc/trayflash/station\.ini( .*)?'
# ExecStart follows the configured install prefix: BINDIR/trayflash, nothing else.
if [ -n "$bindir" ]; then
    grep -Fq "ExecStart=$bindir/trayflash station " "$unit" ||
        fail "ExecStart does not run $bindir/trayflash (the configured prefix)"
fi
has 'User=trayflash'
has 'SupplementaryGroups=dialout'
has 'DynamicUser=no'
has 'StateDirectory=trayflash'
has 'Restart=on-failure'
has 'NoNewPrivileges=yes'
has 'ProtectSystem=strict'
has 'ProtectHome=yes'
has 'PrivateTmp=yes'
has 'WantedBy=multi-user\.target'
# PrivateDevices=yes hides /dev/ttyUSB*; DevicePolicy=closed/strict blocks them too.
grep -Eq '^PrivateDevices=(yes|true|on|1)' "$unit" && fail "PrivateDevices would hide the adapters"
grep -Eq '^DevicePolicy=(closed|strict)' "$unit" && fail "DevicePolicy would block the adapters"
# The db must be written where ProtectSystem=strict allows it: the state directory.
grep -Eq -- '--db /var/lib/trayflash/' "$unit" || fail "the db is not put in /var/lib/trayflash"
bin=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
if [ -x "$bin" ] && command -v systemd-analyze >/dev/null 2>&1; then
    out=$(systemd-analyze verify "$unit" 2>&1)
    echo "$out" | grep -v -e 'trayflash' -e '^$' | grep -qi 'error\|unknown' && { echo "$out" >&2; fail "systemd-analyze verify"; }
fi
echo "packaging_unit: ok"
