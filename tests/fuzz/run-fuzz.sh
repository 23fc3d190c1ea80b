#!/bin/sh
# tests/fuzz/run-fuzz.sh [SECONDS] - build the libFuzzer harnesses with clang and run each for
# SECONDS (default 30) on its seed corpus. Exit 0 when no harness crashed, 1 when one did (the
# crashing input is copied to tests/fuzz/crashes/<name>/, which ctest then replays in every
# build until the bug is fixed), 2 when the build failed.
#
# Build: build-fuzz/ (next to the sources), clang, ASan+UBSan on the whole tree
# (-DTRAYFLASH_SANITIZE=ON) and -fsanitize=fuzzer-no-link on every library, so the fuzzer sees
# coverage inside engine/ and profiles/, not only in the harness. Only the fuzz targets are built.
# New interesting inputs go to build-fuzz/fuzz-corpus/<name>/ (not to the committed corpus:
# keep that small; copy a file over by hand when it is worth keeping).
#
# Environment: FUZZ_JOBS (default 2) parallel builds; FUZZ_MAX_LEN (default 8192) largest input.
set -u
secs=${1:-30}
case $secs in *[!0-9]* | '') echo "usage: $0 [SECONDS]" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build-fuzz
jobs=${FUZZ_JOBS:-2}
max_len=${FUZZ_MAX_LEN:-8192}
harnesses="frame_decoder image_loader profile_loader"

command -v clang >/dev/null 2>&1 || { echo "run-fuzz: clang not found" >&2; exit 2; }

targets=
for h in $harnesses; do targets="$targets fuzz_$h"; done
mkdir -p "$build"
blog=$build/fuzz-build.log
if ! CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DTRAYFLASH_FUZZ=ON -DTRAYFLASH_SANITIZE=ON \
        -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link >"$blog" 2>&1 ||
   ! cmake --build "$build" -j"$jobs" --target $targets >>"$blog" 2>&1; then
    echo "run-fuzz: build failed, see $blog" >&2
    tail -20 "$blog" >&2
    exit 2
fi

# The profile harness makes a folder per input: a RAM disk when there is one.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then TMPDIR=/dev/shm; else TMPDIR=${TMPDIR:-/tmp}; fi
export TMPDIR
# Leaks are crashes too; UBSan findings stop the run (the build has -fno-sanitize-recover).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
for h in $harnesses; do
    work=$build/fuzz-corpus/$h
    art=$build/fuzz-artifacts/$h
    mkdir -p "$work" "$art"
    log=$build/fuzz-$h.log
    echo "run-fuzz: fuzz_$h for ${secs}s (log $log)"
    # -max_total_time ends the run; -timeout turns a hang of one input into a crash.
    "$build/tests/fuzz/fuzz_$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 \
        -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$art/" \
        "$work" "$here/corpus/$h" >"$log" 2>&1
    rc=$?
    grep -E '^(stat::number_of_executed_units|stat::new_units_added|Done)' "$log" | sed 's/^/    /'
    if [ $rc -ne 0 ]; then
        status=1
        mkdir -p "$here/crashes/$h"
        for f in "$art"/crash-* "$art"/leak-* "$art"/timeout-* "$art"/oom-*; do
            [ -f "$f" ] && cp "$f" "$here/crashes/$h/" && echo "    saved $here/crashes/$h/$(basename "$f")"
        done
        echo "run-fuzz: fuzz_$h FAILED (exit $rc); the report:" >&2
        grep -E 'ERROR|invariant broken|SUMMARY|runtime error' "$log" | head -10 >&2
    fi
done
[ $status -eq 0 ] && echo "run-fuzz: no crash"
exit $status
