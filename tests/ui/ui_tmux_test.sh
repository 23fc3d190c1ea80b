#!/bin/sh
# ui_tmux_test.sh CASE PROGRAM [ARGS...] - runs the dashboard (tf_ui_preview, or a station
# command) inside a private tmux server and asserts what the screen shows. Every wait polls
# capture-pane against a deadline; nothing waits a fixed time to "let it settle".
set -u
case_name=$1
prog=$2
shift 2
sock="tfui-$case_name-$$"
work=$(mktemp -d "${TMPDIR:-/tmp}/tfui.XXXXXX")
export LC_ALL=C.UTF-8 # the tmux client and grep must read UTF-8 like the pane
export TMUX_TMPDIR="$work" # the server's socket goes away with the work dir
unset TMUX
DEADLINE_S=${UI_TEST_DEADLINE_S:-10}

T() { tmux -L "$sock" -f /dev/null "$@"; }
cleanup() { T kill-server 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 1' INT TERM

screen() { T capture-pane -p -t ui 2>/dev/null; }
fail() {
    echo "FAIL [$case_name]: $*" >&2
    echo "--- screen ---" >&2
    screen >&2
    if [ -s "$work/stderr" ]; then echo "--- program stderr ---" >&2; cat "$work/stderr" >&2; fi
    exit 1
}

# start WIDTH HEIGHT "ENV ASSIGNMENTS" ARGS... : the program in a fresh session; its exit status
# lands in $work/exit.
start() {
    w=$1 h=$2 envs=$3
    shift 3
    T new-session -d -s ui -x "$w" -y "$h" \
        "env $envs '$prog' $* 2>'$work/stderr'; echo \$? >'$work/exit.tmp'; mv '$work/exit.tmp' '$work/exit'; exec cat >/dev/null" \
        || fail "tmux new-session failed"
}

# now_ms: a monotonic-enough clock for deadlines (date has %N on GNU systems).
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_for ERE : until a line of the screen matches.
wait_for() {
    end=$(($(now_ms) + DEADLINE_S * 1000))
    while [ "$(now_ms)" -lt "$end" ]; do
        screen | grep -Eq -- "$1" && return 0
        sleep 0.05
    done
    fail "timed out waiting for /$1/"
}

# wait_gone ERE : until no line matches.
wait_gone() {
    end=$(($(now_ms) + DEADLINE_S * 1000))
    while [ "$(now_ms)" -lt "$end" ]; do
        screen | grep -Eq -- "$1" || return 0
        sleep 0.05
    done
    fail "timed out waiting for /$1/ to go away"
}

# wait_exit CODE : until the program has ended with CODE.
wait_exit() {
    end=$(($(now_ms) + DEADLINE_S * 1000))
    while [ "$(now_ms)" -lt "$end" ]; do
        if [ -f "$work/exit" ]; then
            code=$(cat "$work/exit")
            [ "$code" = "$1" ] || fail "program ended with $code, expected $1"
            return 0
        fi
        sleep 0.05
    done
    fail "program did not end"
}

has() { screen | grep -Eq -- "$1" || fail "screen lacks /$1/"; }
lacks() { screen | grep -Eq -- "$1" && fail "screen shows /$1/"; return 0; }
keys() { T send-keys -t ui "$@"; }

# Every line fits the terminal's width (in characters, not bytes).
fits_width() {
    screen | while IFS= read -r line; do
        n=$(printf '%s' "$line" | wc -m)
        [ "$n" -le "$1" ] || { echo "line of $n columns: $line" >&2; exit 1; }
    done || fail "a line is wider than $1 columns"
}

STATES='(PASS|FAIL|LINK|IDENT|BACKUP|ERASE|WRITE|VERIFY|idle|empty)'
READY='q quit *$' # the key line; the too-small screen says "q quits"

# all_tiles N : every bay 01..N has a tile whose first line starts with its number and a state.
all_tiles() {
    i=1
    while [ "$i" -le "$1" ]; do
        nn=$(printf '%02d' "$i")
        screen | grep -Eq -- "(^|│|▶| |\||>)$nn $STATES" || fail "no tile for bay $nn"
        i=$((i + 1))
    done
}

case "$case_name" in
tiles_80x24)
    start 80 24 "" --frozen
    wait_for "$READY"
    all_tiles 32
    [ "$(screen | wc -l)" -eq 24 ] || fail "expected 24 lines"
    fits_width 80
    has '^trayflash .*smart-plug-P1 3f9a21c0.*RUN +[0-9]{2}:[0-9]{2}:[0-9]{2}$'
    has '^pass 57 fail 4 run [0-9]+ idle [0-9]+ │ yield 93\.4%'
    has '^▶01 PASS'
    has '14:0[0-9]:[0-9]{2} bay 02 FAIL brown-out: first write'
    # colour adds to the words: a colour terminal gets red (31) for the failures
    T capture-pane -e -p -t ui | grep -q '31m' || fail "no red in a colour terminal"
    ;;
state_words)
    start 80 24 "" --frozen
    wait_for "$READY"
    for w in LINK IDENT BACKUP ERASE WRITE VERIFY PASS FAIL idle empty; do
        has "[0-9]{2} $w"
    done
    has '[0-9]+/39 ranges' # the backup's count under its BACKUP
    has '[0-9]{2} WRITE ▓+░+ +[0-9]+%'
    has '[0-9]+ KB/s 0x[0-9A-F]{5}'
    has 'd8:1f:12:0a:[0-9a-f]{2}:[0-9a-f]{2}'
    ;;
fail_cause)
    start 80 24 "" --frozen
    wait_for "$READY"
    has ' 02 FAIL brown-out'
    has '^ +\[!\] feed 3\.3 V'
    has '11 FAIL wrong chip'
    has '\[!\] put the right'
    has 'contact lost \[!\]' # a name too long for line 1 moves whole to line 2
    has 'power-cycle now!'
    ;;
help)
    start 80 24 "" --frozen
    wait_for "$READY"
    keys '?'
    wait_for 'help: keys'
    for k in 'retry the selected failed bay' 'pause / resume' 'engineer mode' 'switch profile' \
        'quit \(asks first' 'detail of the selected bay' 'move the selection' 'close a window'; do
        has "$k"
    done
    keys Escape
    wait_gone 'help: keys'
    has '^▶01 PASS'
    ;;
detail)
    start 80 24 "" --frozen
    wait_for "$READY"
    keys j
    wait_for '^▶02 FAIL'
    keys Enter
    wait_for 'bay 02: FAIL'
    has 'Cause: brown-out \(brownout\)'
    has 'Remedy: feed 3\.3 V from a separate regulator'
    has 'Seen: first write at 0x11000 never answered'
    has 'Timeline of this attempt'
    keys NPage
    wait_for 'Last attempts on this bay'
    has 'FAIL brown-out'
    has 'This session: [0-9]+ pass, [0-9]+ fail'
    keys Right # walks to bay 03 without leaving the detail
    wait_for 'bay 03: VERIFY'
    keys Escape
    wait_gone 'bay 03: VERIFY'
    has '^ 02 FAIL'
    ;;
resize)
    start 80 24 "" --frozen
    wait_for "$READY"
    T resize-window -t ui -x 120 -y 40
    wait_for '▓{10,}░* +[0-9]+%' # the third tile line: a real progress bar
    all_tiles 32
    has 'BK7231T @921600' # PASS tiles' third line
    has 'separate regulator' # a failure's remedy continues on line 3
    fits_width 120
    T resize-window -t ui -x 60 -y 20
    wait_for 'rows 1-7 of 11'
    fits_width 60
    [ "$(screen | wc -l)" -eq 20 ] || fail "expected 20 lines"
    keys j j j j j j j j j j
    wait_for 'rows 5-11 of 11'
    has '▶11 FAIL'
    ;;
too_small)
    start 80 24 "" --frozen
    wait_for "$READY"
    T resize-window -t ui -x 38 -y 10
    wait_for 'terminal too small'
    has '38x10, need 40x12'
    T resize-window -t ui -x 80 -y 24
    wait_for "$READY"
    all_tiles 32
    ;;
mono)
    start 80 24 "TERM=xterm-mono" --frozen
    wait_for "$READY"
    all_tiles 32
    has ' 02 FAIL brown-out'
    has '\[!\] feed 3\.3 V'
    has 'power-cycle now!'
    has '^▶01 PASS'
    T capture-pane -e -p -t ui | grep -Eq '\[3[0-7]m|\[[0-9;]*3[0-7]m' && fail "colour codes on a monochrome terminal"
    keys j Enter
    wait_for 'Remedy: feed 3\.3 V'
    ;;
ascii)
    start 80 24 "LC_ALL=C LANG=C" --frozen
    wait_for 'q quit'
    has '^>01 PASS'
    has '\|09 WRITE #+\.+ +[0-9]+%'
    has '^-{80}$'
    has 'arrows bay  Enter detail'
    lacks '[│─▓░▶]'
    ;;
quit)
    start 80 24 "" --frozen
    wait_for "$READY"
    keys q
    wait_for 'jobs are running\. Quit anyway\?'
    keys n
    wait_gone 'Quit anyway'
    keys q
    wait_for 'Quit anyway'
    keys y
    wait_exit 0
    ;;
quit_idle)
    start 80 24 "" --frozen --bays 1 # bay 01 has passed: nothing runs, no question
    wait_for "$READY"
    all_tiles 1
    keys q
    wait_exit 0
    ;;
retry)
    start 80 24 "" --frozen
    wait_for "$READY"
    keys r
    wait_for 'bay 01 is PASS: only a failed bay can be retried'
    keys j r
    wait_for 'bay 02: retry started'
    wait_for '02 LINK'
    has 'bay 02 retry by the operator'
    ;;
pause)
    start 80 24 "" --frozen
    wait_for "$READY"
    keys p
    wait_for 'PAUSED +[0-9]{2}:'
    has 'paused: running jobs finish'
    has 'p resume'
    keys p
    wait_for 'RUN +[0-9]{2}:'
    has 'p pause'
    ;;
engineer)
    start 80 24 "" --frozen
    wait_for "$READY"
    keys s
    wait_for 'needs engineer mode: press e'
    keys e
    wait_for 'Engineer PIN'
    keys 9 9 9 9 Enter
    wait_for 'wrong PIN'
    keys e
    wait_for 'Engineer PIN'
    keys 1 2 3 4
    wait_for 'typed, not shown'
    lacks '1234'
    keys Enter
    wait_for 'engineer mode on'
    wait_for '^trayflash .*ENG +RUN' # the header follows the next snapshot
    keys s
    wait_for 'Profile path'
    keys -l 'profiles/other.ini'
    wait_for '> profiles/other\.ini'
    keys Enter
    wait_for 'Apply profiles/other\.ini to:'
    keys a
    wait_for 'every bay now uses other\.ini'
    wait_for '^trayflash .* other\.ini 3f9a21c0'
    ;;
shutdown)
    start 80 24 "" --frozen --shutdown-after-ms 300
    wait_exit 0
    ;;
live)
    start 80 24 "" --tick-ms 50
    wait_for "$READY"
    has '16 LINK'
    wait_for '16 (ERASE|WRITE)' # the model moved on and the dashboard followed
    ;;
no_change_fd)
    start 80 24 "" --tick-ms 50 --no-change-fd
    wait_for "$READY"
    wait_for '16 (ERASE|WRITE)'
    ;;
demo_tiles) # the station's demo with simulated bays: tiles and a failure's cause in words
    start 80 24 "" "$@"
    wait_for "(│|▶| )08 $STATES" # the simulated adapters appear after the station starts
    all_tiles 8
    wait_for '[0-9]{2} FAIL( [a-z]|  )' # some simulated module fails...
    wait_for '\[!\] [a-z]' # ...and its tile says what to do
    keys q
    end=$(($(now_ms) + DEADLINE_S * 1000))
    until [ -f "$work/exit" ] || [ "$(now_ms)" -ge "$end" ]; do
        if screen | grep -q 'Quit anyway'; then keys y; fi
        sleep 0.05
    done
    wait_exit 0
    ;;
demo_done) # the station's demo to the end: header, detail timeline, the summary on leaving
    # ARGS: demo --bays 4 --time-scale X --db FILE
    start 80 24 "" "$@"
    wait_for 'TRAY DONE +[0-9]{2}:' # every bay has its result: the header says so
    has '^pass [0-9]+ fail [1-9]' # the demo's staged faults...
    wait_for '02 FAIL' # ...bay 02 browns out, many steps long
    keys Enter # the detail walks bays with Right: to bay 02
    wait_for 'bay 0[1-4]: '
    n=0
    until screen | grep -q 'bay 02: FAIL' || [ $n -ge 4 ]; do
        was=$(screen | grep -o 'bay 0[1-4]: [A-Z]*' | head -1)
        keys Right
        wait_gone "$was"
        n=$((n + 1))
    done
    wait_for 'bay 02: FAIL'
    has 'Timeline of this attempt'
    # the attempt from its first step: scroll down to the timeline, its first line is there
    keys Down Down Down Down Down Down Down Down Down Down
    wait_for 'Timeline of this attempt'
    has '^ *│? *│? *no modem lines on .*power-cycle|  no modem lines on'
    keys NPage NPage NPage NPage
    wait_for 'Last attempts on this bay' # and it scrolls to the end
    has 'FAIL brown-out'
    keys Escape
    wait_gone 'bay 02: FAIL'
    keys q # nothing runs: no question
    wait_exit 0
    db=$(eval "printf '%s' \"\${$#}\"") # the last argument: the database
    wait_for '^demo: 4 modules'
    # one line (the terminal may wrap it: -J joins what it wrapped), naming the database
    T capture-pane -p -J -t ui | grep -Eq -- "^demo: 4 modules, [0-9]+ pass, [0-9]+ fail; records: trayflash report --db .*/$(basename "$db")\$" ||
        fail "no one-line summary with the database"
    ;;
demo_today) # today's counts from the database are on the very first frame
    # ARGS: demo --bays 4 --db FILE (the same database filled first, headless, fast)
    db=$(eval "printf '%s' \"\${$#}\"")
    rm -f "$db" "$db-wal" "$db-shm"
    "$prog" demo --headless --once --bays 4 --time-scale 0.05 --db "$db" >"$work/first-run" 2>&1 ||
        fail "the first (headless) run failed: $(tail -3 "$work/first-run")"
    grep -q '^demo: 4 modules' "$work/first-run" || fail "first run: $(tail -1 "$work/first-run")"
    start 80 24 "" "$@" --time-scale 3 # slower than real: no job of this session ends for seconds
    wait_for "$READY"
    has '^pass 0 fail 0 ' # nothing of this session has ended...
    has 'today [0-9.]+% of 4 ' # ...and the day's four modules are already counted
    keys q
    end=$(($(now_ms) + DEADLINE_S * 1000))
    until [ -f "$work/exit" ] || [ "$(now_ms)" -ge "$end" ]; do
        if screen | grep -q 'Quit anyway'; then keys y; fi
        sleep 0.05
    done
    wait_exit 0
    ;;
station_lot) # require_lot: nothing starts until L takes a lot and an operator (a scanner types)
    # ARGS: station --sim 2 --time-scale X --profile FILE --db FILE
    db=$(eval "printf '%s' \"\${$#}\"")
    rm -f "$db" "$db-wal" "$db-shm"
    printf '[station]\nname = tmux-lot\nrequire_lot = yes\n' >"$work/station.ini"
    start 100 24 "" "$@" --config "$work/station.ini"
    wait_for 'LOT\? \(L\)'
    lacks '(WRITE|PASS|FAIL)'
    keys L
    wait_for 'Lot \(work order or reel\) now: none'
    keys -l 'WO-TMUX'
    keys Enter
    wait_for 'Operator now: none'
    keys -l 'op-t'
    keys Enter
    wait_for 'TRAY DONE'
    has 'lot WO-TMUX op op-t'
    lacks 'LOT\?'
    keys q
    wait_exit 0
    ;;
station_ask) # on_already_passed = ask: both modules passed before; y re-flashes bay 01, n
    # (from the detail window, bay 02) leaves its module; the tray is done with a PASS and a SKIP
    # ARGS: station --sim 2 --time-scale X --profile FILE --db FILE
    db=$(eval "printf '%s' \"\${$#}\"")
    rm -f "$db" "$db-wal" "$db-shm"
    printf '[station]\nname = tmux-ask\n' >"$work/first.ini"
    start 100 24 "" "$@" --config "$work/first.ini"
    wait_for 'TRAY DONE'
    keys q
    wait_exit 0
    T kill-session -t ui
    rm -f "$work/exit"
    printf '[station]\nname = tmux-ask\non_already_passed = ask\nask_timeout_s = 3600\n' >"$work/ask.ini"
    start 100 24 "" "$@" --config "$work/ask.ini"
    wait_for '01 ASK'
    wait_for '02 ASK'
    has 're-flash\? y/n'
    has 'already passed on tmux-ask'
    keys y
    wait_for '01 PASS'
    has '02 ASK'
    keys Enter
    keys l
    wait_for 'bay 02: '
    keys n
    wait_for 'skip: the operator answered no'
    keys Escape
    wait_for '02 SKIP'
    wait_for 'TRAY DONE'
    keys q
    wait_exit 0
    ;;
*)
    fail "unknown case"
    ;;
esac
echo "ok [$case_name]"
