#!/bin/sh
# Sets up and runs every test: the plain build, then ASan+UBSan over the whole suite, then
# TSan over the thread-pool and station tests. Usage: scripts/test-all.sh [--quick]
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
JOBS=2
build_and_test() { # dir, ctest filter, cmake args...
    dir=$1; filter=$2; shift 2
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    cmake --build "$dir" -j"$JOBS"
    if [ -n "$filter" ]; then
        ctest --test-dir "$dir" --output-on-failure -j"$JOBS" -R "$filter"
    else
        ctest --test-dir "$dir" --output-on-failure -j"$JOBS"
    fi
}
build_and_test build "" 
[ "${1:-}" = "--quick" ] && exit 0
build_and_test build-asan "" -DTRAYFLASH_SANITIZE=ON
build_and_test build-tsan "${TSAN_TESTS:-^(station_pool|station_)}" -DTRAYFLASH_TSAN=ON
