#!/bin/sh
# check-unit.sh UNIT [BINDIR] - packaging_unit: the configured systemd unit runs the station headless as
# user trayflash with dialout, keeps its db in the state directory, restarts on failure, and is
# hardened without losing the serial ports (DevicePolicy=closed only with their DeviceAllow lines). `systemd-analyze verify` is run where it can be
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
# PrivateDevices=yes hides /dev/ttyUSB*. DevicePolicy=closed (or strict) is fine only with
# DeviceAllow lines that keep the adapters: char-ttyUSB and char-ttyACM, read-write.
grep -Eq '^PrivateDevices=(yes|true|on|1)' "$unit" && fail "PrivateDevices would hide the adapters"
if grep -Eq '^DevicePolicy=(closed|strict)' "$unit"; then
    for group in char-ttyUSB char-ttyACM; do
        grep -Eq "^DeviceAllow=$group rw\$" "$unit" ||
            fail "DevicePolicy=closed without 'DeviceAllow=$group rw': the adapters would be blocked"
    done
    # strict also blocks /dev/null and friends, which the station's libraries open.
    grep -Eq '^DevicePolicy=strict' "$unit" && fail "DevicePolicy=strict blocks /dev/null too: use closed"
fi
# Each DeviceAllow names a tty group or device, never a whole class like char-* or block-*.
grep -E '^DeviceAllow=' "$unit" | grep -Evq '^DeviceAllow=(char-tty(USB|ACM)|/dev/[A-Za-z0-9/_.-]+) (r|rw|rwm)$' &&
    fail "a DeviceAllow line grants more than the adapters: $(grep -E '^DeviceAllow=' "$unit" | tr '\n' ' ')"
# Issue 18: the narrowing that must not be lost.
has 'CapabilityBoundingSet='
has 'RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6'
has 'SystemCallArchitectures=native'
has 'SystemCallFilter=@system-service'
has 'UMask=0077'
# Secrets come as credentials, by bare name (a missing one is skipped, the station starts).
grep -Eq '^LoadCredential=[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+$' "$unit" || fail "no LoadCredential=NAME:STORE-NAME line"
grep -Eq '^LoadCredential=[^:]*:/' "$unit" && fail "a LoadCredential names an absolute path: a missing file would stop the start"
# /sys stays read-only but for ReadWritePaths of hub port 'disable' attributes (drop-ins).
grep -E '^ReadWritePaths=' "$unit" | grep -Evq '^ReadWritePaths=-?/sys/bus/usb/devices/[^ ]*-port[0-9]+/disable$' &&
    fail "a ReadWritePaths line opens more than a hub port's disable attribute"
# The db must be written where ProtectSystem=strict allows it: the state directory.
grep -Eq -- '--db /var/lib/trayflash/' "$unit" || fail "the db is not put in /var/lib/trayflash"
bin=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
if [ -x "$bin" ] && command -v systemd-analyze >/dev/null 2>&1; then
    out=$(systemd-analyze verify "$unit" 2>&1)
    echo "$out" | grep -v -e 'trayflash' -e '^$' | grep -qi 'error\|unknown' && { echo "$out" >&2; fail "systemd-analyze verify"; }
fi
echo "packaging_unit: ok"
