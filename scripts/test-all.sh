#!/bin/sh
# Sets up and runs every test: the plain build, then ASan+UBSan over the whole suite, then
# TSan over the station (thread pool, queue, workers) tests, then a short libFuzzer run of each
# harness. Usage: scripts/test-all.sh [--quick]   (--quick: the plain build only)
# Tests are chosen by their ctest LABELS (tests/CMakeLists.txt lists them). With CI set (.ci/run),
# every build is made with -DTRAYFLASH_WERROR=ON: a warning fails the run.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
JOBS=2
export TZ=UTC
WERROR=OFF
[ -n "${CI:-}" ] && WERROR=ON
build_and_test() { # dir, label to run ("" = all), label to leave out ("" = none), cmake args...
    dir=$1; label=$2; exclude=$3; shift 3
    echo "=== $dir ($*)"
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRAYFLASH_WERROR="$WERROR" "$@" >/dev/null
    cmake --build "$dir" -j"$JOBS" >/dev/null
    set -- --test-dir "$dir" --output-on-failure -j"$JOBS"
    [ -n "$label" ] && set -- "$@" -L "$label"
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
# The station's tests (pool, queue, workers, the station in process) carry the label "threads".
build_and_test build-tsan threads "" -DTRAYFLASH_TSAN=ON
if [ -x tests/fuzz/run-fuzz.sh ] && command -v clang >/dev/null 2>&1; then
    echo "=== fuzz"
    tests/fuzz/run-fuzz.sh "${FUZZ_SECONDS:-20}"
fi
# The plain build last: its ctest summary is the run's closing line.
build_and_test build "" ""
