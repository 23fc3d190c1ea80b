#!/bin/sh
# test-install.sh CMAKE BUILD EXPECTED_LIST SCRATCH BINDIR PROFILEDIR [EXAMPLE FULL_PROFILEDIR]
# - packaging_install:
# installs the build under a scratch folder and checks that every file a line PC needs landed,
# that the programs run from there, and that the installed profiles still find their images.
# DESTDIR=SCRATCH with --prefix /prefix: a destination configured as an absolute
# path (-DTRAYFLASH_UDEV_RULES_DIR=/etc/udev/rules.d) lands in SCRATCH too, never in /etc.
# EXPECTED_LIST holds one path a line: relative to the prefix, or absolute.
set -u
cmake=$1 build=$2 list=$3 scratch=$4 bindir=$5 profdir=$6
example=${7:-} full_profdir=${8:-}
fail() { echo "packaging_install: $*" >&2; exit 1; }

rm -rf "$scratch"
mkdir -p "$scratch"
DESTDIR=$scratch "$cmake" --install "$build" --prefix /prefix >"$scratch.log" 2>&1 ||
    { cat "$scratch.log" >&2; fail "cmake --install into $scratch failed"; }
prefix=$scratch/prefix

n=0
while IFS= read -r f; do
    [ -n "$f" ] || continue
    case $f in /*) at=$scratch$f ;; *) at=$prefix/$f ;; esac
    [ -s "$at" ] || fail "missing or empty after install: $f (looked at $at)"
    n=$((n + 1))
done <"$list"
[ "$n" -ge 5 ] || fail "only $n files expected: the list in $list is broken"

for p in "$prefix/$bindir"/*; do
    [ -x "$p" ] || fail "$p is not executable"
done
if [ -x "$prefix/$bindir/trayflash" ]; then
    "$prefix/$bindir/trayflash" help >/dev/null || fail "installed trayflash help failed"
fi
if [ -x "$prefix/$bindir/bksim" ]; then
    "$prefix/$bindir/bksim" --help >/dev/null || fail "installed bksim --help failed"
fi

# Each installed profile pins an image by path and sha256: both must hold where it landed.
checked=0
for ini in "$prefix/$profdir"/*.ini; do
    [ -f "$ini" ] || continue
    img=$(sed -n 's/^[[:space:]]*image[[:space:]]*=[[:space:]]*\([^;[:space:]]*\).*/\1/p' "$ini" | head -1)
    pin=$(sed -n 's/^[[:space:]]*sha256[[:space:]]*=[[:space:]]*\([0-9a-fA-F]*\).*/\1/p' "$ini" | head -1)
    [ -n "$img" ] && [ -n "$pin" ] || continue
    [ -f "$(dirname "$ini")/$img" ] || fail "$ini: image $img not installed next to it"
    have=$(sha256sum "$(dirname "$ini")/$img" | cut -d' ' -f1)
    [ "$have" = "$(echo "$pin" | tr A-F a-f)" ] || fail "$ini: installed $img has sha256 $have, pin $pin"
    checked=$((checked + 1))
done
[ "$checked" -ge 1 ] || fail "no installed profile with an image and a pin under $prefix/$profdir"

# The installed example station file names profiles that are installed: absolute, under the
# configured profile folder (FULL_PROFILEDIR, which is PROFILEDIR under the prefix configured;
# here the scratch prefix stands in for it), never ../ from the source tree.
if [ -n "$example" ]; then
    ex=$prefix/$example
    grep -q '\.\./profiles' "$ex" && fail "$example still names ../profiles (the source tree)"
    n_prof=0
    for p in $(sed -n 's/^[[:space:]]*profile[[:space:]]*=[[:space:]]*\([^;[:space:]]*\).*/\1/p' "$ex"); do
        case $p in
        "$full_profdir"/*) ;;
        *) fail "$example: profile $p is not under $full_profdir" ;;
        esac
        [ -f "$prefix/$profdir/${p#"$full_profdir"/}" ] || fail "$example: profile $p is not installed"
        n_prof=$((n_prof + 1))
    done
    [ "$n_prof" -ge 1 ] || fail "$example names no profile"
fi

# The man page must render from where it landed.
if command -v man >/dev/null 2>&1; then
    man -l "$(find "$prefix" -name trayflash.1 | head -1)" >/dev/null 2>&1 || fail "man -l of the installed page failed"
fi
echo "packaging_install: $n files, $checked profile pins checked under $scratch"
rm -rf "$scratch" "$scratch.log"
