#!/bin/sh
# check-udev-rule.sh RULES - packaging_udev_rule: `udevadm verify` where it exists (systemd >= 253);
# Debian 12's udevadm lacks it, so the same file is always also checked here: every line is
# KEY op "value" pairs that udev knows, every GOTO has its LABEL, and each adapter the station
# accepts by default is matched and given dialout 0660 plus the /dev/trayflash/ link; a hub's
# ports' power switches (sysfs 'disable') become writable by group trayflash.
set -u
rules=$1
fail() { echo "packaging_udev_rule: $rules: $*" >&2; exit 1; }
[ -s "$rules" ] || fail "missing"

if command -v udevadm >/dev/null 2>&1 && udevadm verify --help >/dev/null 2>&1; then
    udevadm verify "$rules" || fail "udevadm verify refused it"
fi

awk '
    function bad(msg) { printf "%s:%d: %s: %s\n", FILENAME, NR, msg, $0; err = 1 }
    /^[[:space:]]*(#|$)/ { next }
    {
        line = $0
        sub(/^[[:space:]]+/, "", line)
        while (length(line) > 0) {
            # KEY, KEY{attr}; then an operator; then a "quoted value"
            if (!match(line, /^[A-Z_]+(\{[A-Za-z0-9_]+\})?/)) { bad("expected a key"); next }
            key = substr(line, 1, RLENGTH); line = substr(line, RLENGTH + 1)
            base = key; sub(/\{.*/, "", base)
            if (base !~ /^(ACTION|SUBSYSTEM|SUBSYSTEMS|KERNEL|KERNELS|DRIVER|DRIVERS|ATTR|ATTRS|ENV|TAG|TAGS|PROGRAM|RESULT|NAME|SYMLINK|OWNER|GROUP|MODE|OPTIONS|IMPORT|RUN|LABEL|GOTO|TEST|DEVPATH)$/) { bad("unknown key " key); next }
            if (!match(line, /^[[:space:]]*(==|!=|\+=|-=|:=|=)[[:space:]]*/)) { bad("expected an operator after " key); next }
            op = substr(line, RSTART, RLENGTH); gsub(/[[:space:]]/, "", op); line = substr(line, RLENGTH + 1)
            if (!match(line, /^"[^"]*"/)) { bad("expected a quoted value after " key); next }
            val = substr(line, 2, RLENGTH - 2); line = substr(line, RLENGTH + 1)
            if (base == "LABEL") labels[val] = 1
            if (base == "GOTO") gotos[val] = NR
            if ((base == "GROUP" || base == "MODE" || base == "SYMLINK" || base == "GOTO" || base == "LABEL") && op == "==") bad(key " is an assignment, not a match")
            if (!match(line, /^[[:space:]]*(,[[:space:]]*)?/)) break
            line = substr(line, RLENGTH + 1)
        }
    }
    END {
        for (g in gotos) if (!(g in labels)) { printf "%s:%d: GOTO \"%s\" has no LABEL\n", FILENAME, gotos[g], g; err = 1 }
        exit err
    }' "$rules" || fail "syntax"

for id in 1a86:7523 10c4:ea60 0403:6001 0403:6015 067b:2303; do
    v=${id%:*} p=${id#*:}
    grep -q "ATTRS{idVendor}==\"$v\", ATTRS{idProduct}==\"$p\"" "$rules" || fail "adapter $id not matched"
done
grep -q 'GROUP="dialout"' "$rules" || fail "no GROUP=\"dialout\""
grep -q 'MODE="0660"' "$rules" || fail "no MODE=\"0660\""
grep -q 'SYMLINK+="trayflash/$env{ID_PATH}"' "$rules" || fail "no /dev/trayflash/<ID_PATH> link"
# Hub port power (issue 18): the hub's interface, bound, gives its ports' 'disable' attribute
# to group trayflash, writable by the group. The command runs here on a fake sysfs tree.
hub=$(grep -E '^ACTION=="add\|bind", SUBSYSTEM=="usb", ENV\{DEVTYPE\}=="usb_interface", DRIVER=="hub", RUN\+=' "$rules")
[ -n "$hub" ] || fail "no rule for the hub ports' disable attributes"
cmd=$(echo "$hub" | sed -n "s/.*RUN+=\"\/bin\/sh -c '\(.*\)'\"\$/\1/p")
case $cmd in *"chgrp trayflash /sys%p/*-port*/disable"*"chmod g+w /sys%p/*-port*/disable"*) ;;
*) fail "the hub rule does not chgrp trayflash and chmod g+w /sys%p/*-port*/disable: $cmd" ;; esac
tmp=$(mktemp -d) || fail "mktemp"
intf=$tmp/devices/pci0000:00/usb1/1-1/1-1:1.0
mkdir -p "$intf/1-1-port1" "$intf/1-1-port2" "$intf/1-1-port3" "$intf/ep_81"
for p in 1 2; do echo 0 >"$intf/1-1-port$p/disable"; chmod 0644 "$intf/1-1-port$p/disable"; done
echo x >"$intf/ep_81/disable"; chmod 0644 "$intf/ep_81/disable"
grp=$(id -gn)
run=$(echo "$cmd" | sed -e "s#/sys%p#$intf#g" -e "s#chgrp trayflash#chgrp $grp#")
sh -c "$run" || { rm -rf "$tmp"; fail "the hub rule's command failed on a fake tree: $run"; }
for p in 1 2; do
    m=$(stat -c '%A %G' "$intf/1-1-port$p/disable")
    [ "$m" = "-rw-rw-r-- $grp" ] || { rm -rf "$tmp"; fail "port $p's disable is '$m' after the rule, not -rw-rw-r-- $grp"; }
done
m=$(stat -c '%A' "$intf/ep_81/disable")
rm -rf "$tmp"
[ "$m" = "-rw-r--r--" ] || fail "the hub rule touched a file that is not a port's: ep_81/disable is $m"
echo "packaging_udev_rule: ok"
