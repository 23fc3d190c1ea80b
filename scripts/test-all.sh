#!/bin/sh
# Sets up and runs every test: the plain build, then ASan+UBSan over the whole suite, then
# TSan over the station (thread pool, queue, workers) tests, then a short libFuzzer run of each
# harness. Usage: scripts/test-all.sh [--quick]   (--quick: the plain build only)
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
JOBS=2
export TZ=UTC
build_and_test() { # dir, ctest filter ("" = all), exclude label ("" = none), cmake args...
    dir=$1; filter=$2; exclude=$3; shift 3
    echo "=== $dir ($*)"
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    cmake --build "$dir" -j"$JOBS" >/dev/null
    set -- --test-dir "$dir" --output-on-failure -j"$JOBS"
    [ -n "$filter" ] && set -- "$@" -R "$filter"
    [ -n "$exclude" ] && set -- "$@" -LE "$exclude"
    ctest "$@"
}
if [ "${1:-}" = "--quick" ]; then
    build_and_test build "" ""
    exit 0
fi
# Cases labelled "slow" (115200-baud e2e) and "pg" (a PostgreSQL cluster per run) are left to the
# plain build.
build_and_test build-asan "" "slow|pg" -DTRAYFLASH_SANITIZE=ON
build_and_test build-tsan '^station_' "" -DTRAYFLASH_TSAN=ON
if [ -x tests/fuzz/run-fuzz.sh ] && command -v clang >/dev/null 2>&1; then
    echo "=== fuzz"
    tests/fuzz/run-fuzz.sh "${FUZZ_SECONDS:-20}"
fi
# The plain build last: its ctest summary is the run's closing line.
build_and_test build "" ""
