#!/usr/bin/env bash
# Import: 1 000 000 orders of 200 000 customers from one CSV, end to end (parsed, loaded, merged
# and segmented), by `segmentd import` and by POST /v1/imports, beside the idiomatic pandas script
# bench/pandas_matrix.py on the same file in the same run. The matrices must be equal cell for
# cell (customers and revenue); the slowest statements of the import are listed from PostgreSQL's
# log, to show where the time goes.
#
#   bench/import.sh [orders=1000000] [customers=200000]
#   HTTP=0 skips the POST /v1/imports run.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ORDERS=${1:-1000000}
CUSTOMERS=${2:-200000}
HTTP=${HTTP:-1}

need_pandas
need_segmentd
need pgbench postgresql-contrib
bench_init
start_segmentd
log "segmentd on :$PORT, work dir $WORK"
SPEED=$(speed_ref)
log "$SPEED"
make_workspace imp >/dev/null
[ "$HTTP" = 1 ] && make_workspace imphttp >/dev/null

NOW=$(date +%s)
log "generating $ORDERS orders of $CUSTOMERS customers"
$PY "$BENCH/gen_orders.py" --orders "$ORDERS" --customers "$CUSTOMERS" --now "$NOW" >"$WORK/orders.csv"
size=$(du -h "$WORK/orders.csv" | cut -f1)

# wall seconds and peak RSS of a command: timed LABEL CMD… → sets T_SECS, T_RSS_MB
timed() {
    local label=$1
    shift
    /usr/bin/time -f '%e %M' -o "$WORK/time.$label" "$@"
    read -r T_SECS T_RSS_KB <"$WORK/time.$label"
    T_RSS_MB=$((T_RSS_KB / 1024))
}

log "pandas"
settle
cpu_begin
timed pandas $PY "$BENCH/pandas_matrix.py" "$WORK/orders.csv" --now "$NOW" --json "$WORK/pandas.json" \
    >"$WORK/pandas.out"
cpu_pandas=$(cpu_end)
pandas_s=$T_SECS pandas_mb=$T_RSS_MB

log "segmentd import"
settle
sql -c "ALTER SYSTEM SET log_min_duration_statement = '100ms'" -c "SELECT pg_reload_conf()" >/dev/null
logline=$(wc -l <"$WORK/pg/postgresql.log")
cpu_begin
timed cli env DATABASE_URL="$PGCONN" SEGMENTD_LOG_LEVEL=warn \
    "$SEGMENTD" --config "$ROOT/config/segmentd.ini" import "$WORK/orders.csv" --workspace imp \
    </dev/null >"$WORK/import.out"
cpu_cli=$(cpu_end)
cli_s=$T_SECS cli_mb=$T_RSS_MB
sql -c "ALTER SYSTEM RESET log_min_duration_statement" -c "SELECT pg_reload_conf()" >/dev/null
tail -n +"$logline" "$WORK/pg/postgresql.log" | grep 'duration:' |
    sed -E 's/^.*duration: ([0-9.]+) ms +(statement|[a-z]+ [^:]*): (.{0,80}).*$/\1|\3/' |
    awk -F'|' '{s[$2] += $1; n[$2]++} END {for (k in s) printf "%8.0f ms %4d× %s\n", s[k], n[k], k}' |
    sort -rn | head -10 >"$WORK/slow"
WS_HEADER=imp api GET /v1/segments >"$WORK/segments.json"

if [ "$HTTP" = 1 ]; then
    log "POST /v1/imports"
    settle
    t0=$(date +%s.%N)
    id=$(WS_HEADER=imphttp api POST /v1/imports -H 'Content-Type: text/csv' \
        --data-binary "@$WORK/orders.csv" | json 'd["id"]')
    while :; do
        st=$(WS_HEADER=imphttp api GET "/v1/imports/$id" | json 'd["status"]')
        [ "$st" = running ] || break
        sleep 0.2
    done
    http_s=$($PY -c "import time; print(f'{time.time() - $t0:.2f}')")
    [ "$st" = done ] || die "HTTP import $id ended $st"
    WS_HEADER=imphttp api GET /v1/segments >"$WORK/segments_http.json"
fi

elapsed=$(($(date +%s) - NOW))
[ $elapsed -lt 3600 ] || log "warning: ${elapsed}s since generation: recency bands may differ"

echo
echo "== import of $ORDERS orders, $CUSTOMERS customers ($size CSV), $(nproc) cores"
cat "$WORK/pandas.out" | sed 's/^/    /'
compare() { # segmentd report JSON → "equal" or the differing cells
    $PY - "$WORK/pandas.json" "$1" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))["cells"]
s = {c["key"]: c for c in json.load(open(sys.argv[2]))["cells"]}
bad = []
for key, want in p.items():
    got = s.get(key, {"customers": 0, "revenue": "0.00"})
    cents = int(round(float(got["revenue"]) * 100))
    if got["customers"] != want["customers"] or cents != want["revenue_cents"]:
        bad.append(f"{key}: segmentd {got['customers']} / {cents}, pandas {want['customers']} / {want['revenue_cents']}")
print("equal (9 cells, customers and revenue)" if not bad else "DIFFERENT: " + "; ".join(bad))
PY
}
echo "pandas_matrix.py:     ${pandas_s} s end to end (python start, read_csv … crosstab), peak RSS ${pandas_mb} MB; $cpu_pandas"
echo "segmentd import:      ${cli_s} s end to end (process start to exit), client peak RSS ${cli_mb} MB; $cpu_cli"
echo "    $(tail -1 "$WORK/import.out")"
echo "    matrix vs pandas: $(compare "$WORK/segments.json")"
if [ "$HTTP" = 1 ]; then
    echo "POST /v1/imports:     ${http_s} s (upload start to status done)"
    echo "    matrix vs pandas: $(compare "$WORK/segments_http.json")"
fi
echo "statements of the CLI import that took over 100 ms, summed by statement:"
sed 's/^/    /' "$WORK/slow"
echo "RATIO segmentd import / pandas: $($PY -c "print(f'{$cli_s / $pandas_s:.1f}×')") (target ≤ 2×)"
echo "segmentd server peak RSS: $(hwm_kb "$SD_PID") kB"
echo "$SPEED"
