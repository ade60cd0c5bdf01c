#!/usr/bin/env bash
# Re-segmentation: PUT /v1/matrices/b2c with 1 000 000 customers stored (loaded with
# `segmentd import`). PUTs timed end to end (request sent → answer received):
#   1. the same bounds again (nobody moves: the cost of reading and classifying everyone);
#   2. a frequency bound chosen from the stored histogram so that ~5 % of the customers move
#      (then back, then again: two samples of each direction);
#   3. a recency change, 30d → 60d for the first bound (the sleeping who bought 30-59 days ago
#      become active), back, and again.
# After each, the report (GET /v1/segments) is checked against a GROUP BY of the customers.
#
#   bench/matrix.sh [customers=1000000] [orders=2000000]
set -euo pipefail
source "$(dirname "$0")/lib.sh"

CUSTOMERS=${1:-1000000}
ORDERS=${2:-2000000}

need_segmentd
need pgbench postgresql-contrib
bench_init
start_segmentd
log "segmentd on :$PORT, work dir $WORK; loading $CUSTOMERS customers ($ORDERS orders)"
load_s=$(populate mx "$CUSTOMERS" "$ORDERS")
WS=$(sql -c "SELECT id FROM workspaces WHERE name = 'mx'")
log "loaded in $load_s s"
SPEED=$(speed_ref)
log "$SPEED"

# Frequency bounds moving the share of customers closest to 5 %, from the purchase histogram.
sql -c "SELECT purchases, count(*) FROM customers WHERE workspace_id = $WS AND cell IS NOT NULL
        GROUP BY 1" | tr '|' ' ' >"$WORK/hist"
read -r F1 F2 FMOVE < <($PY - "$WORK/hist" <<'PY'
import sys
hist = {int(p): int(n) for p, n in (l.split() for l in open(sys.argv[1]))}
total = sum(hist.values())
band = lambda p, b: 0 if p <= b[0] else 1 if p <= b[1] else 2
best = None
for a in range(1, 6):
    for b in range(a + 1, 12):
        moved = sum(n for p, n in hist.items() if band(p, (a, b)) != band(p, (1, 3)))
        if moved and (best is None or abs(moved / total - 0.05) < abs(best[2] / total - 0.05)):
            best = (a, b, moved)
print(*best)
PY
)
AGE60=$(sql -c "SELECT count(*) FROM customers WHERE workspace_id = $WS AND cell IS NOT NULL
                AND last_purchase_at <= now() - interval '30 days'
                AND last_purchase_at > now() - interval '60 days'")

WS_HEADER=mx api GET /v1/matrices/b2c >"$WORK/m0.json"
edit() { # PYTHON-EXPRESSION-ON-d → matrix JSON on stdout
    $PY -c "import json,sys; d=json.load(open('$WORK/m0.json')); $1; print(json.dumps(d))"
}
edit 'pass' >"$WORK/same.json"
edit "d['frequency']['bounds'] = [$F1, $F2]" >"$WORK/freq.json"
edit "d['frequency']['bounds'] = [$F1, $F2]; d['recency']['bounds'] = ['60d', d['recency']['bounds'][1]]" \
    >"$WORK/rec.json"

check() { # report == GROUP BY of the customers?
    WS_HEADER=mx api GET /v1/segments >"$WORK/report.json"
    sql -c "SELECT cell, count(*) FROM customers WHERE workspace_id = $WS AND kind = 'b2c'
            AND cell IS NOT NULL GROUP BY 1" | tr '|' ' ' >"$WORK/truth"
    $PY - "$WORK/report.json" "$WORK/truth" <<'PY'
import json, sys
rep = {c["key"]: c["customers"] for c in json.load(open(sys.argv[1]))["cells"] if c["customers"]}
truth = {k: int(v) for k, v in (l.split() for l in open(sys.argv[2]))}
print("report consistent" if rep == truth else f"REPORT DIFFERS: report {rep} vs customers {truth}")
PY
}

RESULTS=()
put() { # label file expected
    settle
    cpu_begin
    local out
    out=$(curl -sS --fail-with-body -o "$WORK/put.json" -w '%{time_total}' -X PUT \
        -H "Authorization: Bearer $ADMIN_KEY" -H 'Segmentd-Workspace: mx' \
        -H 'Content-Type: application/json' --data-binary "@$2" "$URL/v1/matrices/b2c")
    local cpu moved
    cpu=$(cpu_end)
    moved=$(json 'd["moved"]' <"$WORK/put.json")
    printf '%-44s %7.2f s  moved %8s (expected ~%s)  %s; %s\n' "$1" "$out" "$moved" "$3" "$(check)" "$cpu"
    RESULTS+=("| $1 | $moved | $out |")
}

echo
echo "== PUT /v1/matrices/b2c, $CUSTOMERS customers stored ($ORDERS orders, loaded in $load_s s), $(nproc) cores"
put "same bounds again (nobody moves)" "$WORK/same.json" 0
put "frequency [1, 3] → [$F1, $F2]" "$WORK/freq.json" "$FMOVE"
put "frequency back to [1, 3]" "$WORK/same.json" "$FMOVE"
put "frequency [1, 3] → [$F1, $F2] again" "$WORK/freq.json" "$FMOVE"
put "recency [30d, 90d] → [60d, 90d]" "$WORK/rec.json" "$AGE60"
put "recency back to [30d, 90d]" "$WORK/freq.json" "$AGE60"
put "recency [30d, 90d] → [60d, 90d] again" "$WORK/rec.json" "$AGE60"
echo
echo "| PUT /v1/matrices/b2c | moved | seconds |"
echo "|---|---|---|"
printf '%s\n' "${RESULTS[@]}"
echo "target: ≤ 5 s; segmentd peak RSS: $(hwm_kb "$SD_PID") kB"
echo "$SPEED"
