#!/bin/sh
# Runs the libFuzzer targets built in BUILD/fuzz (Makefile: `make fuzz-smoke`, `make fuzz`):
# first replays each committed corpus (fuzz/corpus/<target>/), then fuzzes each target for
# SECONDS seconds, with its dictionary (fuzz/<target>.dict) when there is one. New inputs go to
# BUILD/fuzz-work/<target>/ (scratch), never to the committed corpus; a crash, leak or UB report
# leaves its input in BUILD/fuzz-artifacts/ and fails the run. Targets run in parallel, one per
# CPU. Usage: fuzz/run.sh BUILD SECONDS [TARGET...]
set -eu
build=$1
secs=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)
bin="$build/fuzz"
work="$build/fuzz-work"
art="$build/fuzz-artifacts"
logs="$build/fuzz-logs"
mkdir -p "$work" "$art" "$logs"
if [ $# -eq 0 ]; then
    set --
    for f in "$bin"/fuzz_*; do
        [ -x "$f" ] && set -- "$@" "${f##*/fuzz_}"
    done
fi
[ $# -gt 0 ] || { echo "fuzz: no targets in $bin" >&2; exit 1; }
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

# One target: replay, then fuzz; the log in $logs/<target>.log, the status in .rc.
one() {
    t=$1
    log="$logs/$t.log"
    corpus="$src/corpus/$t"
    dict=""
    [ -f "$src/$t.dict" ] && dict="-dict=$src/$t.dict"
    mkdir -p "$work/$t"
    {
        "$bin/fuzz_$t" -artifact_prefix="$art/$t-" "$corpus"/* &&
            "$bin/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
                -print_final_stats=1 -artifact_prefix="$art/$t-" $dict "$work/$t" "$corpus"
    } >"$log" 2>&1
    echo $? >"$logs/$t.rc"
}

start=$(date +%s)
jobs=$(nproc 2>/dev/null || echo 1)
running=0
for t in "$@"; do
    [ -x "$bin/fuzz_$t" ] || { echo "fuzz: no target $bin/fuzz_$t" >&2; exit 1; }
    rm -f "$logs/$t.rc"
    one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait
        running=0
    fi
done
wait

failed=0
for t in "$@"; do
    log="$logs/$t.log"
    rc=$(cat "$logs/$t.rc" 2>/dev/null || echo 1)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1)
    if [ "$rc" = 0 ]; then
        echo "fuzz: $t ok: ${runs:-0} runs, ${speed:-0}/s, $cov"
    else
        failed=1
        echo "fuzz: $t FAILED (log $log; inputs in $art/):" >&2
        tail -n 40 "$log" >&2
    fi
done
echo "fuzz: ${secs}s per target, done in $(( $(date +%s) - start )) s"
exit $failed
