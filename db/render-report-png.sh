#!/bin/sh
# render-report-png.sh - renders an HTML yield report to a PNG with headless Chromium, to look at a
# report without a browser (CI artefacts, reviews). Needs the Debian package `chromium`; no test
# depends on it.
#   usage: db/render-report-png.sh report.html report.png [width] [height]
# docs/report.png is made from the realistic shift of tests/db/db_fixture.c:
#   build/tests/db/make_shift_db /tmp/shift.db
#   TZ=UTC build/station/trayflash report --db /tmp/shift.db --html /tmp/report.html
#   db/render-report-png.sh /tmp/report.html docs/report.png 800 1400
set -eu
if [ $# -lt 2 ]; then
    echo "usage: $0 report.html report.png [width_px] [height_px]" >&2
    exit 2
fi
html=$1
png=$2
width=${3:-800}
height=${4:-2200}
[ -r "$html" ] || { echo "$0: cannot read $html" >&2; exit 1; }
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "$0: chromium not found (apt-get install chromium)" >&2; exit 1; }
case $html in /*) url=file://$html ;; *) url=file://$(pwd)/$html ;; esac
case $png in /*) out=$png ;; *) out=$(pwd)/$png ;; esac
# A private profile directory: a second run must not find the first one's lock.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
    --disable-background-networking --disable-component-update --disable-sync --no-first-run \
    --window-size="$width,$height" --screenshot="$out" "$url" >/dev/null 2>&1
[ -s "$out" ] || { echo "$0: chromium wrote no image to $out" >&2; exit 1; }
echo "$out"
