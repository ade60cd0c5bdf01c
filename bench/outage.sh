#!/usr/bin/env bash
# A 60 s PostgreSQL outage under load: a client posts purchases and reads the matrix report 20
# times a second throughout; 200 customers bought just before fall asleep during the outage (a
# campaign sends them a webhook). Prints the answers during the outage (every one must be a 503
# with Retry-After: no 500, no dropped connection), the time from PostgreSQL's return to the first
# 2xx, segmentd's RSS before / during / after, and whether the scheduler and the dispatcher caught
# up (200 `time` transitions at their exact boundaries, 200 webhooks).
#
#   bench/outage.sh [outage_seconds=60]
set -euo pipefail
source "$(dirname "$0")/lib.sh"

OUTAGE=${1:-60}
need_segmentd
bench_init
start_segmentd SEGMENTD_WEBHOOKS_ALLOW_PRIVATE=true SEGMENTD_SCHEDULER_INTERVAL=1s
log "segmentd on :$PORT, pid $SD_PID; PostgreSQL pid $PG_PID"
cc -O2 -Wall -o "$WORK/receiver" "$BENCH/receiver.c" \
    $(pkg-config --cflags --libs libmicrohttpd libcrypto) -lpthread || die "receiver build"
"$WORK/receiver" >"$WORK/receiver.out" 2>&1 &
RECV_PID=$!
trap 'kill $RECV_PID ${LOAD_PID:-} 2>/dev/null; bench_cleanup' EXIT
for i in $(seq 1 50); do grep -q listening "$WORK/receiver.out" && break; sleep 0.1; done
RPORT=$(awk '/listening/ {print $2}' "$WORK/receiver.out")
# customers cross into sleeping 30 s after their purchase: in the middle of the outage
api PUT /v1/matrices/b2c -H 'Content-Type: application/json' -d '{"frequency": {"bounds": [1, 3],
  "labels": ["new", "promising", "regular"]}, "recency": {"bounds": ["30s", "1d"], "labels":
  ["active", "sleeping", "asleep"]}, "monetary": {"bounds": ["100", "1000"], "labels": ["low",
  "mid", "high"]}}' >/dev/null
SECRET=$(api POST /v1/campaigns -H 'Content-Type: application/json' -d "{\"name\": \"outage\",
  \"cells\": [\"new/sleeping\"], \"channel\": \"email\",
  \"webhook_url\": \"http://127.0.0.1:$RPORT/hook\"}" | json 'd["secret"]')
curl -s -X POST --data "$SECRET" "http://127.0.0.1:$RPORT/_secret"
$PY -c "import json; print(json.dumps([{'order_id': 'o', 'customer_id': f'due-{i}', 'amount': 5}
  for i in range(200)]))" | api POST /v1/purchases -H 'Content-Type: application/json' -d @- >/dev/null

# the load: one request every 50 ms, alternating a purchase and a report read
$PY - "$URL" "$ADMIN_KEY" "$WORK/load.txt" <<'PY' &
import http.client, sys, time, urllib.parse
url, key, out = sys.argv[1], sys.argv[2], open(sys.argv[3], "w", buffering=1)
host = urllib.parse.urlparse(url)
n = 0
while True:
    n += 1
    t0 = time.time()
    try:
        c = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
        if n % 2:
            body = '{"order_id": "l%d", "customer_id": "load-%d", "amount": 1}' % (n, n % 50)
            c.request("POST", "/v1/purchases", body, {"Authorization": "Bearer " + key,
                      "Content-Type": "application/json"})
        else:
            c.request("GET", "/v1/segments", headers={"Authorization": "Bearer " + key})
        r = c.getresponse()
        r.read()
        out.write(f"{t0:.3f} {r.status} {1 if r.getheader('Retry-After') else 0}\n")
        c.close()
    except Exception as e:
        out.write(f"{t0:.3f} ERR {type(e).__name__}\n")
    time.sleep(max(0, 0.05 - (time.time() - t0)))
PY
LOAD_PID=$!
sleep 5
RSS0=$(rss_kb "$SD_PID")
OPTS=$(sed -e 's/^[^ ]* //' "$WORK/pg/data/postmaster.opts")
PGCTL=$(ls /usr/lib/postgresql/*/bin/pg_ctl | tail -1)
T_DOWN=$(date +%s.%N)
runuser -u postgres -- "$PGCTL" -D "$WORK/pg/data" -m fast -w stop >/dev/null
log "PostgreSQL stopped for $OUTAGE s (RSS before: $RSS0 kB)"
RSS_MAX=$RSS0
for i in $(seq 1 $((OUTAGE / 5))); do
    sleep 5
    kill -0 "$SD_PID" 2>/dev/null || die "segmentd died during the outage"
    r=$(rss_kb "$SD_PID"); [ "$r" -gt "$RSS_MAX" ] && RSS_MAX=$r
done
eval "runuser -u postgres -- $PGCTL -D $WORK/pg/data -l $WORK/pg/restart.log -w -o \"${OPTS//\"/}\" start" >/dev/null ||
    die "PostgreSQL did not restart: $(tail -5 "$WORK/pg/restart.log")"
T_UP=$(date +%s.%N)
PG_PID=$(head -1 "$WORK/pg/data/postmaster.pid")
log "PostgreSQL back"
sleep 20
kill $LOAD_PID 2>/dev/null || true
RSS1=$(rss_kb "$SD_PID")
n_time=$(sql -c "SELECT count(*) FROM transitions WHERE reason = 'time'")
n_exact=$(sql -c "SELECT count(*) FROM transitions t JOIN customers c ON (c.workspace_id, c.id) =
  (t.workspace_id, t.customer_id) WHERE t.reason = 'time' AND t.at = c.last_purchase_at + interval '30 seconds'")
hooks=$(curl -s "http://127.0.0.1:$RPORT/stats" | json 'd["count"]')
$PY - "$WORK/load.txt" "$T_DOWN" "$T_UP" <<'PY'
import sys
down, up = float(sys.argv[2]), float(sys.argv[3])
rows = [l.split() for l in open(sys.argv[1])]
during = [r for r in rows if down + 1 < float(r[0]) < up]
by = {}
for r in during:
    by[r[1]] = by.get(r[1], 0) + 1
no_ra = sum(1 for r in during if r[1] == "503" and r[2] == "0")
first_ok = min((float(r[0]) for r in rows if float(r[0]) >= up and r[1].startswith("2")), default=None)
print(f"during the outage ({up - down:.0f} s): {len(during)} answers {by}; 503 without Retry-After: {no_ra}")
print("first 2xx " + (f"{first_ok - up:.2f} s after PostgreSQL was back" if first_ok else "never"))
PY
echo "RSS: before $RSS0 kB, max during $RSS_MAX kB, 20 s after $RSS1 kB"
echo "scheduler: $n_time 'time' transitions ($n_exact at the exact boundary) of 200 due during the outage"
echo "dispatcher: $hooks of 200 webhooks received after the outage"
