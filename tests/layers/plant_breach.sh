#!/bin/sh
# plant_breach.sh CHECK SRC SCRATCH - copies the layer folders, plants one forbidden include in
# each rule's folder in turn, and expects check_layers.sh to fail on it naming the file.
set -eu
check=$1 src=$2 scratch=$3
for case in "engine:#include <pthread.h>" "engine:#include \"station.h\"" "station/ui:#include \"evq.h\"" \
            "db:#include <curses.h>" "sim:#include \"db.h\""; do
    dir=${case%%:*} line=${case#*:}
    rm -rf "$scratch"
    mkdir -p "$scratch"
    for d in engine station/ui db sim; do
        mkdir -p "$scratch/$d"
        cp "$src/$d"/*.c "$src/$d"/*.h "$scratch/$d/" 2>/dev/null || true
    done
    printf '%s\n' "$line" >> "$scratch/$dir/planted.c"
    if out=$(sh "$check" "$scratch" 2>&1); then
        echo "not caught: $line in $dir" >&2
        exit 1
    fi
    case "$out" in *"$dir/planted.c:1:"*) ;; *) echo "caught but not named: $out" >&2; exit 1 ;; esac
done
rm -rf "$scratch"
echo "layers: every planted breach was caught"
