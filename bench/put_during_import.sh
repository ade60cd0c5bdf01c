#!/usr/bin/env bash
# Ingest latency while a matrix PUT waits for a running import (a reproduction, not a target).
# Imports hold the workspace's matrix lock shared until they commit; a PUT asks for it exclusively
# and queues; PostgreSQL then queues every later shared request (each purchase) behind the PUT.
# Prints the latency of single purchases sent before, during and after that window. (Since commit
# 7899d42 the PUT gives up after 2 s — lock_timeout — and answers 503, which bounds the stall.)
#
#   bench/put_during_import.sh [orders=1000000] [customers=200000]
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ORDERS=${1:-1000000}
CUSTOMERS=${2:-200000}

need_segmentd
bench_init
start_segmentd
log "segmentd on :$PORT, work dir $WORK"
$PY "$BENCH/gen_orders.py" --orders "$ORDERS" --customers "$CUSTOMERS" >"$WORK/orders.csv"
KEY=$(make_key default '["ingest"]')
api GET /v1/matrices/b2c >"$WORK/m.json"
$PY -c "import json; d=json.load(open('$WORK/m.json')); d['frequency']['bounds']=[1,4]; print(json.dumps(d))" \
    >"$WORK/put.json"

purchase() { # n → seconds
    curl -sS -o /dev/null -w '%{time_total}' -X POST -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' "$URL/v1/purchases" \
        -d "{\"order_id\": \"lock-$1\", \"customer_id\": \"lock-c$1\", \"amount\": \"10.00\"}"
}

t0=$(date +%s.%N)
since() { $PY -c "import time; print(f'{time.time() - $t0:6.1f}')"; }
echo "purchase before the import: $(purchase 0) s"
id=$(api POST /v1/imports -H 'Content-Type: text/csv' --data-binary "@$WORK/orders.csv" | json 'd["id"]')
echo "$(since) s  import $id started ($ORDERS orders)"
sleep 2
echo "$(since) s  purchase during the import, no PUT waiting: $(purchase 1) s"
(curl -sS -o "$WORK/put.out" -w '%{time_total} s, HTTP %{http_code}' -X PUT -H "Authorization: Bearer $ADMIN_KEY" \
    -H 'Content-Type: application/json' --data-binary "@$WORK/put.json" "$URL/v1/matrices/b2c" \
    >"$WORK/put.time") &
put=$!
sleep 1
echo "$(since) s  PUT /v1/matrices/b2c sent (waits for the import)"
echo "$(since) s  purchase sent while the PUT waits …"
p=$(purchase 2)
echo "$(since) s  … answered after $p s"
wait "$put"
echo "$(since) s  PUT answered after $(cat "$WORK/put.time")"
while [ "$(api GET "/v1/imports/$id" | json 'd["status"]')" = running ]; do sleep 0.5; done
echo "$(since) s  import $id $(api GET "/v1/imports/$id" | json 'd["status"]')"
echo "purchase after: $(purchase 3) s"
