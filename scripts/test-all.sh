#!/bin/sh
# Sets up and runs every test: the plain build, then ASan+UBSan over the whole suite, then
# TSan over the station (thread pool, queue, workers) tests, then a short libFuzzer run of each
# harness. Usage: scripts/test-all.sh [--quick]   (--quick: the plain build only)
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
JOBS=2
export TZ=UTC
build_and_test() { # dir, ctest filter ("" = all), cmake args...
    dir=$1; filter=$2; shift 2
    echo "=== $dir ($*)"
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    cmake --build "$dir" -j"$JOBS" >/dev/null
    if [ -n "$filter" ]; then
        ctest --test-dir "$dir" --output-on-failure -j"$JOBS" -R "$filter"
    else
        ctest --test-dir "$dir" --output-on-failure -j"$JOBS"
    fi
}
if [ "${1:-}" = "--quick" ]; then
    build_and_test build ""
    exit 0
fi
build_and_test build-asan "" -DTRAYFLASH_SANITIZE=ON
build_and_test build-tsan '^station_' -DTRAYFLASH_TSAN=ON
if [ -x tests/fuzz/run-fuzz.sh ] && command -v clang >/dev/null 2>&1; then
    echo "=== fuzz"
    tests/fuzz/run-fuzz.sh "${FUZZ_SECONDS:-20}"
fi
# The plain build last: its ctest summary is the run's closing line.
build_and_test build ""
