#!/usr/bin/env bash
# Time moves customers, campaigns react (issue 5):
#   1. the cost of an idle scheduler tick (nobody due) with 100 000 and with 1 000 000 customers
#      stored (segmentd_scheduler_last_tick_seconds, sampled over several ticks);
#   2. 10 000 of the 1 000 000 falling asleep in the same second, a campaign on the cell they
#      enter and a local receiver (bench/receiver.js, verifying every signature): time from the
#      boundary until every transition is recorded and until every webhook has arrived,
#      deliveries per second, and p50 / p99 of the delay from each customer's exact
#      next_change_at to the webhook's arrival.
# Customers are written with SQL (placed consistently with the b2c preset, last purchases at
# whole days + 12 h so that nobody else crosses a boundary during the run).
#
#   3. steady state: 300 customers whose boundaries are spread over 60 s (one every 0.2 s):
#      p50 / p99 of the same delay when nothing else is queued.
#
#   bench/webhooks.sh [due=10000] [interval=5s]
#   BENCH_CUSTOMERS=N stores N customers instead of 1 000 000 (quicker runs).
#   BENCH_PER_ENDPOINT=N sets [webhooks] max_per_endpoint (default: the configured 8).
#   BENCH_RECEIVER=node uses bench/receiver.js (the reference `standardwebhooks` library, about
#   1 500 requests/s here: a bound of its own) instead of bench/receiver.c (libmicrohttpd +
#   OpenSSL, also verifying every signature).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

DUE=${1:-10000}
INTERVAL=${2:-5s}
BASE1=$(( ${BENCH_CUSTOMERS:-1000000} < 100000 ? ${BENCH_CUSTOMERS:-1000000} / 2 : 100000 ))
BASE2=${BENCH_CUSTOMERS:-1000000}

need_segmentd
bench_init
if [ "${BENCH_RECEIVER:-c}" = node ]; then
    command -v node >/dev/null || die "node is missing"
    [ -d "$ROOT/tests/receiver/node_modules/standardwebhooks" ] ||
        (cd "$ROOT/tests/receiver" && npm ci --no-audit --no-fund --loglevel=error)
    RECEIVER=(node "$BENCH/receiver.js")
else
    cc -O2 -Wall -o "$WORK/receiver" "$BENCH/receiver.c" \
        $(pkg-config --cflags --libs libmicrohttpd libcrypto) -lpthread || die "receiver build"
    RECEIVER=("$WORK/receiver")
fi
start_segmentd SEGMENTD_SCHEDULER_INTERVAL="$INTERVAL" SEGMENTD_WEBHOOKS_ALLOW_PRIVATE=true \
    ${BENCH_PER_ENDPOINT:+SEGMENTD_WEBHOOKS_MAX_PER_ENDPOINT=$BENCH_PER_ENDPOINT}
log "segmentd on :$PORT (scheduler interval $INTERVAL), work dir $WORK"
WS=$(sql -c "SELECT id FROM workspaces WHERE name = 'default'")

# add_customers FROM TO: customers FROM..TO-1, placed as the b2c preset places them
add_customers() {
    sql -c "INSERT INTO customers (workspace_id, external_id, kind, purchases, revenue_cents,
              first_purchase_at, last_purchase_at, cell, monetary, cell_since)
            SELECT $WS, 'c-' || i, 'b2c', p, r, l - interval '400 days', l,
                   (CASE WHEN p = 1 THEN 'new' WHEN p <= 3 THEN 'promising' ELSE 'regular' END)
                   || '/' || (CASE WHEN now() - l < interval '30 days' THEN 'active'
                                   WHEN now() - l < interval '90 days' THEN 'sleeping'
                                   ELSE 'asleep' END),
                   CASE WHEN r < 10000 THEN 'low' WHEN r < 100000 THEN 'mid' ELSE 'high' END, l
            FROM (SELECT i, 1 + (i * 7919) % 6 AS p, (i * 104729) % 300000 AS r,
                         date_trunc('day', now()) - ((i * 31) % 400) * interval '1 day'
                           - interval '12 hours' AS l
                  FROM generate_series($1::bigint, $2 - 1) AS i) g" >/dev/null
}

# idle_tick: median and max of the last-tick gauge over 8 ticks
idle_tick() {
    local samples=() i
    for i in $(seq 1 8); do
        sleep "$($PY -c "print(max(1.0, $(seconds "$INTERVAL") + 0.3))")"
        samples+=("$(curl -s "$URL/metrics" | awk '/^segmentd_scheduler_last_tick_seconds / {print $2}')")
    done
    $PY -c "import statistics,sys; v=[float(x)*1000 for x in sys.argv[1:]]; \
print(f'median {statistics.median(v):.2f} ms, max {max(v):.2f} ms over {len(v)} ticks')" "${samples[@]}"
}

log "loading $BASE1 customers"
add_customers 0 $BASE1
settle
log "idle tick, $BASE1 customers: $(idle_tick)"
log "loading up to $BASE2 customers"
add_customers $BASE1 $BASE2
settle
log "idle tick, $BASE2 customers: $(idle_tick)"
SPEED=$(speed_ref)
log "$SPEED"

# the receiver and the campaign
"${RECEIVER[@]}" >"$WORK/receiver.out" 2>&1 &
RECV_PID=$!
trap 'kill $RECV_PID 2>/dev/null; bench_cleanup' EXIT
for i in $(seq 1 50); do grep -q listening "$WORK/receiver.out" && break; sleep 0.1; done
RPORT=$(awk '/listening/ {print $2}' "$WORK/receiver.out")
SECRET=$(api POST /v1/campaigns -H 'Content-Type: application/json' -d "{\"name\": \"bench\",
  \"cells\": [\"new/sleeping\"], \"channel\": \"email\",
  \"webhook_url\": \"http://127.0.0.1:$RPORT/hook\"}" | json 'd["secret"]')
curl -s -X POST --data "$SECRET" "http://127.0.0.1:$RPORT/_secret"

# DUE new customers whose 30-day boundary falls in one second, 3 ticks from now
LEAD=$($PY -c "print(int(3 * $(seconds "$INTERVAL")) + 5)")
BOUNDARY=$(( $(date +%s) + LEAD ))
sql -c "INSERT INTO customers (workspace_id, external_id, kind, purchases, revenue_cents,
          first_purchase_at, last_purchase_at, cell, monetary, cell_since)
        SELECT $WS, 'due-' || i, 'b2c', 1, 5000, l, l, 'new/active', 'low', l
        FROM (SELECT i, to_timestamp($BOUNDARY) - interval '30 days' AS l
              FROM generate_series(1, $DUE) AS i) g" >/dev/null
settle
cpu_begin
log "$DUE customers fall asleep at $(date -u -d @"$BOUNDARY" +%H:%M:%S) (boundary)"

t_trans=""
while :; do
    now=$(date +%s.%N)
    n=$(sql -c "SELECT count(*) FROM transitions WHERE workspace_id = $WS AND reason = 'time'")
    if [ -z "$t_trans" ] && [ "$n" -ge "$DUE" ]; then t_trans=$now; fi
    got=$(curl -s "http://127.0.0.1:$RPORT/stats" | json 'd["count"]')
    [ "$got" -ge "$DUE" ] && [ -n "$t_trans" ] && break
    $PY -c "import sys; sys.exit(0 if float('$now') - $BOUNDARY < 300 else 1)" ||
        die "timed out: $n transitions, $got webhooks"
    sleep 0.05
done
curl -s "http://127.0.0.1:$RPORT/stats" >"$WORK/stats.json"
CPU=$(cpu_end)
$PY - "$WORK/stats.json" "$BOUNDARY" "$t_trans" "$DUE" "$INTERVAL" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
boundary, t_trans, due = float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
arr = sorted(a / 1000 - boundary for a in s["arrivals_ms"])
q = lambda p: arr[min(len(arr) - 1, int(p * len(arr)))]
span = (s["last_ms"] - s["first_ms"]) / 1000
print(f"transitions: all {due} recorded {t_trans - boundary:.2f} s after the boundary")
print(f"webhooks: {s['count']} received ({s['unique']} distinct ids, {s['unverified']} failed "
      f"verification); first {arr[0]:.2f} s, last {arr[-1]:.2f} s after the boundary")
print(f"deliveries/s: {s['count'] / span:.0f} (first to last arrival, {span:.2f} s)")
print(f"boundary-to-webhook delay: p50 {q(0.50):.2f} s, p99 {q(0.99):.2f} s, max {arr[-1]:.2f} s "
      f"(interval {sys.argv[5]})")
PY
echo "$CPU (load tool = the receiver)"

# steady state: one customer every 0.2 s for 60 s
STEADY=300
curl -s -X POST "http://127.0.0.1:$RPORT/_reset"
START=$(( $(date +%s) + LEAD ))
sql -c "INSERT INTO customers (workspace_id, external_id, kind, purchases, revenue_cents,
          first_purchase_at, last_purchase_at, cell, monetary, cell_since)
        SELECT $WS, 'steady-' || k, 'b2c', 1, 5000, l, l, 'new/active', 'low', l
        FROM (SELECT k, to_timestamp($START + k * 0.2) - interval '30 days' AS l
              FROM generate_series(0, $STEADY - 1) AS k) g" >/dev/null
log "steady: $STEADY customers fall asleep one every 0.2 s from $(date -u -d @"$START" +%H:%M:%S)"
while :; do
    got=$(curl -s "http://127.0.0.1:$RPORT/stats" | json 'd["count"]')
    [ "$got" -ge "$STEADY" ] && break
    [ "$(date +%s)" -lt $((START + 200)) ] || die "steady: only $got webhooks"
    sleep 0.5
done
curl -s "http://127.0.0.1:$RPORT/stats" >"$WORK/steady.json"
$PY - "$WORK/steady.json" "$START" "$INTERVAL" <<'PY'
import json, sys
s, start = json.load(open(sys.argv[1])), float(sys.argv[2])
d = sorted(a / 1000 - (start + int(c.split("-")[1]) * 0.2)
           for a, c in zip(s["arrivals_ms"], s["customers"]) if c)
q = lambda p: d[min(len(d) - 1, int(p * len(d)))]
print(f"steady boundary-to-webhook delay ({len(d)} webhooks, {s['unverified']} unverified): "
      f"p50 {q(0.5):.2f} s, p99 {q(0.99):.2f} s, max {d[-1]:.2f} s (interval {sys.argv[3]})")
PY
curl -s "$URL/metrics" | grep -E '^segmentd_(deliveries_total|delivery_duration_seconds_(sum|count)|scheduler_last_tick)' || true
