#!/bin/sh
# render-report-png.sh - renders an HTML yield report to a PNG with headless Chromium, to look at a
# report without a browser (CI artefacts, reviews). Needs the Debian package `chromium`; no test
# depends on it.
#   usage: db/render-report-png.sh report.html report.png [width] [height]
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
    --window-size="$width,$height" --screenshot="$out" "$url" >/dev/null 2>&1
[ -s "$out" ] || { echo "$0: chromium wrote no image to $out" >&2; exit 1; }
echo "$out"
