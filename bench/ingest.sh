#!/usr/bin/env bash
# Ingest: POST /v1/purchases (wrk, keep-alive) against a pgbench ceiling running the very same SQL
# (bench/sql/ceiling_purchase.sql) on the same PostgreSQL, in the same run, for single purchases and
# batches. Prints purchases/s, latency percentiles, the ratio to the ceiling, the share of the CPU
# other processes took, and how the customers table aged (HOT updates, dead tuples).
#
#   bench/ingest.sh [duration=60s] [wrk connections=32] [pgbench clients=16]
#
# duration is for single purchases (the issue's final figure: 10m); the environment tunes the rest:
#   BATCHES="100 1000"    batch sizes measured after single purchases ("" for none)
#   BATCH_DURATION=60s    duration of each batch phase (each side)
#   SINGLE=1              0 skips the single-purchase phase
#   CUSTOMERS=200000      customers per phase and side (created beforehand, bought round robin)
#   WRK_THREADS=2  PGBENCH_THREADS=2
#   KEYLOOKUP=0           1: segmentd looks the API key up on every request ([auth] key_cache_ttl
#                         = 0s) and the ceiling runs the same lookup first
#   PREPARED=0            1: named prepared statements on both sides ([database]
#                         prepared_statements = true, pgbench -M prepared) instead of unnamed ones
set -euo pipefail
source "$(dirname "$0")/lib.sh"

DURATION=${1:-60s}
CONNS=${2:-32}
CLIENTS=${3:-16}
BATCHES=${BATCHES-100 1000}
BATCH_DURATION=${BATCH_DURATION:-60s}
SINGLE=${SINGLE:-1}
CUSTOMERS=${CUSTOMERS:-200000}
WRK_THREADS=${WRK_THREADS:-2}
PGBENCH_THREADS=${PGBENCH_THREADS:-2}
KEYLOOKUP=${KEYLOOKUP:-0}
PREPARED=${PREPARED:-0}
AMOUNT_CENTS=2500

need wrk wrk
need pgbench postgresql-contrib
need perl perl
bench_init
SD_ENV=()
[ "$KEYLOOKUP" = 1 ] && SD_ENV+=(SEGMENTD_AUTH_KEY_CACHE_TTL=0s)
QUERY_MODE=extended
if [ "$PREPARED" = 1 ]; then
    SD_ENV+=(SEGMENTD_DATABASE_PREPARED_STATEMENTS=true)
    QUERY_MODE=prepared
fi
start_segmentd "${SD_ENV[@]}"
log "segmentd on :$PORT, work dir $WORK"
SPEED=$(speed_ref)
log "$SPEED"

WS_SD=$(make_workspace default)
WS_PG=$(make_workspace ceiling)
KEY_SD=$(make_key default '["ingest"]')
KEY_PG=$(make_key ceiling '["ingest"]')
KHASH=$(printf %s "$KEY_PG" | sha256sum | cut -d' ' -f1)
sql -f "$BENCH/sql/helpers.sql" >/dev/null

# populate WS OFF → base (customers.id = base + n for n = 1..CUSTOMERS, external id OFF + n)
populate() {
    sql -c "INSERT INTO customers (workspace_id, external_id) SELECT $1, ($2 + x)::text AS ext
            FROM generate_series(1, $CUSTOMERS) x ORDER BY x" >/dev/null
    local base bad
    base=$(sql -c "SELECT min(id) - 1 FROM customers WHERE workspace_id = $1
                   AND external_id BETWEEN '$(($2 + 1))' AND '$(($2 + CUSTOMERS))'")
    bad=$(sql -c "SELECT count(*) FROM customers WHERE workspace_id = $1
                  AND external_id BETWEEN '$(($2 + 1))' AND '$(($2 + CUSTOMERS))'
                  AND id - $base <> external_id::bigint - $2")
    [ "$bad" = 0 ] || die "customer ids are not consecutive ($bad off)"
    echo "$base"
}

orders_of() { sql -c "SELECT count(*) FROM orders WHERE workspace_id = $1"; }
table_stats() { # customers: updates, HOT updates, dead tuples
    sql -c "SELECT n_tup_upd, n_tup_hot_upd, n_dead_tup, autovacuum_count FROM pg_stat_user_tables
            WHERE relname = 'customers'" | tr '|' ' '
}
ms() { # wrk latency (250us, 1.5ms, 2s) → ms
    $PY -c "import sys,re; v,u=re.match(r'([\d.]+)(us|ms|s)',sys.argv[1]).groups(); print(f'{float(v)*{\"us\":1e-3,\"ms\":1,\"s\":1e3}[u]:.2f}')" "$1"
}

# Sampled per-minute ingest rate while wrk runs (pg_stat counters, no table scan).
rate_sampler() { # WS label
    local prev now t=0
    prev=$(sql -c "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'orders'")
    while sleep 60; do
        now=$(sql -c "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'orders'")
        t=$((t + 1))
        echo "    minute $t: $(((now - prev) / 60)) purchases/s" >>"$WORK/rates"
        prev=$now
    done
}

SUMMARY=()
phase=0
for B in $([ "$SINGLE" = 1 ] && echo 1) $BATCHES; do
    phase=$((phase + 1))
    off=$((phase * 100000000))
    dur=$([ "$B" = 1 ] && echo "$DURATION" || echo "$BATCH_DURATION")
    secs=$(seconds "$dur")
    log "phase: $B purchase(s) per request, $dur per side, $CUSTOMERS customers"
    base_pg=$(populate "$WS_PG" "$off")
    populate "$WS_SD" "$off" >/dev/null
    K_PG=$((CUSTOMERS / CLIENTS))
    K_SD=$((CUSTOMERS / WRK_THREADS))
    [ $((K_PG / B)) -ge 1 ] || die "CUSTOMERS too small for $CLIENTS clients × batch $B"
    BATCH=$B perl -p "$BENCH/sql/ceiling.pl" "$BENCH/sql/ceiling_purchase.sql" >"$WORK/ceiling_$B.sql"

    # -- the ceiling: pgbench, the same statements; -M extended = unnamed statements like segmentd's
    #    default, -M prepared = named ones like prepared_statements = true
    settle
    st0=$(table_stats)
    cpu_begin
    pgbench -n -M "$QUERY_MODE" -c "$CLIENTS" -j "$PGBENCH_THREADS" -T "$secs" -P 60 \
        -l --sampling-rate=0.2 --log-prefix="$WORK/pgblog_$B" \
        -D k=0 -D ws="$WS_PG" -D off="$off" -D base="$base_pg" -D K="$K_PG" -D batch="$B" \
        -D amount=$AMOUNT_CENTS -D run=1 -D keylookup="$KEYLOOKUP" -D "khash=\\x$KHASH" \
        -f "$WORK/ceiling_$B.sql" "$PGCONN" >"$WORK/pgbench_$B.out" 2>"$WORK/pgbench_$B.err" ||
        { cat "$WORK/pgbench_$B.err" >&2; die "pgbench failed"; }
    cpu_pg=$(cpu_end)
    st1=$(table_stats)
    tps=$(awk '/^tps/ {print $3}' "$WORK/pgbench_$B.out")
    failed=$(awk '/number of failed transactions/ {print $5}' "$WORK/pgbench_$B.out")
    read -r pg_p50 pg_p99 < <(cat "$WORK"/pgblog_"$B".* | awk '{print $3}' | sort -n |
        awk '{v[NR]=$1} END {printf "%.2f %.2f\n", v[int(NR*0.5)]/1000, v[int(NR*0.99)]/1000}')
    pg_rate=$($PY -c "print(f'{$tps * $B:.0f}')")
    grep -E '^progress' "$WORK/pgbench_$B.err" | sed 's/^/    /' >"$WORK/pg_rates" || true

    # -- segmentd: wrk with keep-alive connections
    settle
    orders0=$(orders_of "$WS_SD")
    : >"$WORK/rates"
    rate_sampler &
    sampler=$!
    cpu_begin
    BENCH_KEY=$KEY_SD BENCH_OFF=$off BENCH_K=$K_SD BENCH_BATCH=$B BENCH_RUN=$phase \
        wrk -t"$WRK_THREADS" -c"$CONNS" -d"$secs"s --timeout 30s --latency \
        -s "$BENCH/lua/purchase.lua" "$URL" >"$WORK/wrk_$B.out"
    cpu_sd=$(cpu_end)
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    st2=$(table_stats)
    orders1=$(orders_of "$WS_SD")
    rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk_$B.out")
    sd_p50=$(ms "$(awk '$1=="50%" {print $2}' "$WORK/wrk_$B.out")")
    sd_p99=$(ms "$(awk '$1=="99%" {print $2}' "$WORK/wrk_$B.out")")
    non2xx=$(awk '/Non-2xx/ {print $5}' "$WORK/wrk_$B.out")
    sockerr=$(grep -o 'Socket errors.*' "$WORK/wrk_$B.out" || true)
    sd_rate=$($PY -c "print(f'{$rps * $B:.0f}')")
    created=$((orders1 - orders0))

    label=$([ "$B" = 1 ] && echo "single purchase" || echo "batch of $B")
    echo
    echo "== $label: $dur each, pgbench -M $QUERY_MODE -c $CLIENTS -j $PGBENCH_THREADS," \
        "wrk -t$WRK_THREADS -c$CONNS, key lookup per request: $([ "$KEYLOOKUP" = 1 ] && echo yes || echo "no (cached)")"
    echo "ceiling (pgbench): $pg_rate purchases/s ($tps tx/s), p50 $pg_p50 ms, p99 $pg_p99 ms," \
        "failed tx ${failed:-0}; $cpu_pg"
    [ "$secs" -ge 120 ] && cat "$WORK/pg_rates"
    echo "segmentd (wrk):    $sd_rate purchases/s ($rps req/s), p50 $sd_p50 ms, p99 $sd_p99 ms," \
        "non-2xx ${non2xx:-0} ${sockerr}; $cpu_sd"
    [ -s "$WORK/rates" ] && cat "$WORK/rates"
    echo "orders created by segmentd: $created (wrk counted $(awk '/requests in/ {print $1}' \
        "$WORK/wrk_$B.out") requests × $B)"
    read -r u0 h0 _ _ <<<"$st0"
    read -r u1 h1 d1 a1 <<<"$st1"
    read -r u2 h2 d2 a2 <<<"$st2"
    echo "customers table: HOT updates $((h1 - h0))/$((u1 - u0)) during the ceiling," \
        "$((h2 - h1))/$((u2 - u1)) during segmentd; dead tuples after: $d1, $d2; autovacuums: $a2"
    echo "RATIO segmentd / ceiling: $(ratio "$sd_rate" "$pg_rate") (target ≥ 70%)"
    SUMMARY+=("| $label | $sd_rate | $sd_p99 | $pg_rate | $pg_p99 | $(ratio "$sd_rate" "$pg_rate") |")
done

echo
echo "| request | segmentd purchases/s | segmentd p99 ms | ceiling purchases/s | ceiling p99 ms | ratio |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${SUMMARY[@]}"
echo "segmentd peak RSS: $(hwm_kb "$SD_PID") kB"
echo "$SPEED"
