#!/usr/bin/env bash
# Reads with 1 000 000 customers stored (loaded with `segmentd import`):
#   - CSV export (Accept: text/csv) of the segment closest to 200 000 customers: seconds, and the
#     growth of segmentd's RSS (VmRSS sampled every 10 ms, and VmHWM before/after);
#   - GET /v1/segments (the matrix report): p50/p99 with wrk;
#   - one page of 1000 customers (GET /v1/segments/F/R/customers?limit=1000&after=…) from a random
#     customer of the largest cell and of a small one: p50/p99 with wrk (bench/lua/page.lua).
# Latencies are measured with 1 connection (no queueing), 4, and CONNS connections (saturation:
# on 2 cores, latency is then concurrency / throughput).
#
#   bench/read.sh [duration=20s] [connections=16] [customers=1000000] [orders=2000000]
#   PREPARED=1 also runs the page benchmarks with [database] prepared_statements = true.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

DURATION=${1:-20s}
CONNS=${2:-16}
CUSTOMERS=${3:-1000000}
ORDERS=${4:-2000000}
PREPARED=${PREPARED:-0}

need wrk wrk
need_segmentd
need pgbench postgresql-contrib
bench_init
start_segmentd
log "segmentd on :$PORT, work dir $WORK; loading $CUSTOMERS customers ($ORDERS orders)"
load_s=$(populate rd "$CUSTOMERS" "$ORDERS")
WS=$(sql -c "SELECT id FROM workspaces WHERE name = 'rd'")
KEY=$(make_key rd '["read"]')
log "loaded in $load_s s"
SPEED=$(speed_ref)
log "$SPEED"
settle

# Cells by size; the large one, a small one (≥ 2000 customers, so a page always fills), and the
# cell or cell+monetary segment closest to 200 000 customers for the export.
sql -c "SELECT cell, count(*) FROM customers WHERE workspace_id = $WS AND kind = 'b2c'
        AND cell IS NOT NULL GROUP BY 1 ORDER BY 2 DESC" | tr '|' ' ' >"$WORK/cells"
read -r LARGE LARGE_N < <(head -1 "$WORK/cells")
read -r SMALL SMALL_N < <(awk '$2 >= 2000' "$WORK/cells" | tail -1)
read -r EXP_CELL EXP_MON EXP_N < <(sql -c "
    SELECT cell, m, n FROM (
      SELECT cell, '-' AS m, count(*) AS n FROM customers WHERE workspace_id = $WS AND kind = 'b2c'
        AND cell IS NOT NULL GROUP BY cell
      UNION ALL
      SELECT cell, monetary, count(*) FROM customers WHERE workspace_id = $WS AND kind = 'b2c'
        AND cell IS NOT NULL GROUP BY cell, monetary) s
    ORDER BY abs(n - 200000) LIMIT 1" | tr '|' ' ')
[ "$EXP_MON" = - ] && EXP_MON=

cursors() { # CELL FILE: random ids of the cell with at least 1000 customers after them
    sql -c "SELECT external_id FROM (SELECT external_id, row_number() OVER (ORDER BY external_id) AS rn,
              count(*) OVER () AS n FROM customers WHERE workspace_id = $WS AND kind = 'b2c'
              AND cell = '$1') s WHERE rn <= n - 1000 ORDER BY random() LIMIT 5000" >"$2"
}
cursors "$LARGE" "$WORK/cur_large"
cursors "$SMALL" "$WORK/cur_small"

# The Lua cursor must be segmentd's: compare with the 'next' of a first page.
first=$(curl -sf -H "Authorization: Bearer $KEY" "$URL/v1/segments/$SMALL/customers?limit=2" |
    json 'd["next"]')
last=$(sql -c "SELECT external_id FROM customers WHERE workspace_id = $WS AND kind = 'b2c'
               AND cell = '$SMALL' ORDER BY external_id LIMIT 1 OFFSET 1")
[ "$first" = "$($PY -c "import base64,sys; print(base64.urlsafe_b64encode(sys.argv[1].encode()).decode().rstrip('='))" "$last")" ] ||
    die "cursor format changed: $first"

echo
echo "== reads, $CUSTOMERS customers stored ($ORDERS orders, loaded in $load_s s), $(nproc) cores"

# -- CSV export, RSS sampled every 10 ms
export_path="/v1/segments/$EXP_CELL/customers?kind=b2c${EXP_MON:+&monetary=$EXP_MON}"
rss0=$(rss_kb "$SD_PID")
hwm0=$(hwm_kb "$SD_PID")
(
    max=0
    while [ ! -e "$WORK/stop" ]; do
        while read -r k v _; do
            [ "$k" = VmRSS: ] && [ "$v" -gt "$max" ] && max=$v
        done <"/proc/$SD_PID/status"
        sleep 0.01
    done
    echo "$max" >"$WORK/rss_max"
) &
sampler=$!
cpu_begin
t=$(curl -sS --fail-with-body -H "Authorization: Bearer $KEY" -H 'Accept: text/csv' \
    -o "$WORK/export.csv" -w '%{time_total}' "$URL$export_path")
cpu_exp=$(cpu_end)
touch "$WORK/stop"
wait "$sampler"
rss_max=$(cat "$WORK/rss_max")
hwm1=$(hwm_kb "$SD_PID")
lines=$(($(wc -l <"$WORK/export.csv") - 1))
mb=$(du -m "$WORK/export.csv" | cut -f1)
[ "$lines" = "$EXP_N" ] || log "warning: export has $lines rows, the segment $EXP_N"
echo "CSV export of $EXP_CELL${EXP_MON:+ monetary=$EXP_MON} ($EXP_N customers, $mb MB): $t s;" \
    "segmentd RSS $((rss0 / 1024)) MB before, max $((rss_max / 1024)) MB during" \
    "(growth $(((rss_max - rss0) / 1024)) MB; VmHWM $((hwm0 / 1024)) → $((hwm1 / 1024)) MB); $cpu_exp"
RESULTS=("| CSV export, $EXP_N customers | $t s | RSS growth $(((rss_max - rss0) / 1024)) MB |")
rm -f "$WORK/export.csv"

ms() { $PY -c "import sys,re; v,u=re.match(r'([\d.]+)(us|ms|s)',sys.argv[1]).groups(); print(f'{float(v)*{\"us\":1e-3,\"ms\":1,\"s\":1e3}[u]:.2f}')" "$1"; }
bench() { # label conns path [lua env…]
    local label=$1 c=$2 path=$3 out
    shift 3
    local t=$((c < 2 ? 1 : 2))
    cpu_begin
    if [ $# -gt 0 ]; then
        out=$(env "$@" BENCH_KEY="$KEY" BENCH_PATH="$path" wrk -t$t -c"$c" -d"$DURATION" --latency \
            -s "$BENCH/lua/page.lua" "$URL")
    else
        cat >"$WORK/auth.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $KEY"
LUA
        out=$(wrk -t$t -c"$c" -d"$DURATION" --latency -s "$WORK/auth.lua" "$URL$path")
    fi
    local cpu rps p50 p99 bad
    cpu=$(cpu_end)
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(ms "$(awk '$1=="50%" {print $2}' <<<"$out")")
    p99=$(ms "$(awk '$1=="99%" {print $2}' <<<"$out")")
    bad=$(awk '/Non-2xx/ {print $5}' <<<"$out")
    printf '%-52s c=%-3s %9s req/s  p50 %7s ms  p99 %7s ms  non-2xx %s; %s\n' "$label" "$c" "$rps" \
        "$p50" "$p99" "${bad:-0}" "$cpu"
    RESULTS+=("| $label | c=$c: $rps req/s | p50 $p50 ms, p99 $p99 ms |")
}

pages() { # label suffix
    for c in 1 4 "$CONNS"; do
        bench "page of 1000, large cell $LARGE ($LARGE_N)$1" "$c" \
            "/v1/segments/$LARGE/customers?kind=b2c&limit=1000" BENCH_CURSORS="$WORK/cur_large"
        bench "page of 1000, small cell $SMALL ($SMALL_N)$1" "$c" \
            "/v1/segments/$SMALL/customers?kind=b2c&limit=1000" BENCH_CURSORS="$WORK/cur_small"
    done
}

for c in 1 4 "$CONNS"; do
    bench "GET /v1/segments (report)" "$c" "/v1/segments?kind=b2c"
done
pages ""
if [ "$PREPARED" = 1 ]; then
    stop_segmentd
    start_segmentd SEGMENTD_DATABASE_PREPARED_STATEMENTS=true
    pages ", prepared statements"
fi

echo
echo "| read ($CUSTOMERS customers) | throughput | figure |"
echo "|---|---|---|"
printf '%s\n' "${RESULTS[@]}"
echo "targets: report p99 ≤ 50 ms, page p99 ≤ 20 ms, CSV export RSS growth < 10 MB"
echo "$SPEED"
