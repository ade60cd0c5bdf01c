#!/usr/bin/env bash
# Soak: DURATION (default 10m) of steady mixed load — wrk posting purchases of new customers
# (each one enters new/active and fires a campaign's webhook to bench/receiver.c) beside wrk
# reading the matrix report — while segmentd's RSS is printed every 10 s. Flat RSS after the
# warm-up (pools, caches, libcurl's connection cache) means nothing leaks per request, per
# transition or per delivery.
#
#   bench/soak.sh [duration=10m] [connections=4]
set -euo pipefail
source "$(dirname "$0")/lib.sh"

DURATION=${1:-10m}
CONNS=${2:-4}
need wrk wrk
need_segmentd
bench_init
start_segmentd SEGMENTD_WEBHOOKS_ALLOW_PRIVATE=true
log "segmentd on :$PORT, pid $SD_PID; soak for $DURATION with $CONNS + $CONNS connections"
cc -O2 -Wall -o "$WORK/receiver" "$BENCH/receiver.c" \
    $(pkg-config --cflags --libs libmicrohttpd libcrypto) -lpthread || die "receiver build"
"$WORK/receiver" >"$WORK/receiver.out" 2>&1 &
RECV_PID=$!
trap 'kill $RECV_PID 2>/dev/null; bench_cleanup' EXIT
for i in $(seq 1 50); do grep -q listening "$WORK/receiver.out" && break; sleep 0.1; done
RPORT=$(awk '/listening/ {print $2}' "$WORK/receiver.out")
SECRET=$(api POST /v1/campaigns -H 'Content-Type: application/json' -d "{\"name\": \"soak\",
  \"cells\": [\"new/active\"], \"channel\": \"email\",
  \"webhook_url\": \"http://127.0.0.1:$RPORT/hook\"}" | json 'd["secret"]')
curl -s -X POST --data "$SECRET" "http://127.0.0.1:$RPORT/_secret"

# every request a new customer (BENCH_K large, round robin never wraps in 10 minutes)
BENCH_KEY=$ADMIN_KEY BENCH_OFF=0 BENCH_K=100000000 BENCH_BATCH=1 BENCH_RUN=soak \
    wrk -t 2 -c "$CONNS" -d "$DURATION" -s "$BENCH/lua/purchase.lua" "$URL" >"$WORK/wrk-post.out" 2>&1 &
WRK1=$!
wrk -t 1 -c "$CONNS" -d "$DURATION" -H "Authorization: Bearer $ADMIN_KEY" "$URL/v1/segments" \
    >"$WORK/wrk-get.out" 2>&1 &
WRK2=$!
t=0
echo "t_s rss_kB purchases webhooks"
while kill -0 $WRK1 2>/dev/null; do
    sleep 10
    t=$((t + 10))
    kill -0 "$SD_PID" 2>/dev/null || die "segmentd died"
    n=$(sql -c "SELECT count(*) FROM orders")
    w=$(curl -s "http://127.0.0.1:$RPORT/stats" | json 'd["count"]' 2>/dev/null || echo '?')
    echo "$t $(rss_kb "$SD_PID") $n $w" | tee -a "$WORK/rss.txt"
    curl -s -X POST "http://127.0.0.1:$RPORT/_reset" >/dev/null # keep the receiver's memory small
done
wait $WRK1 $WRK2 || true
grep -E 'Requests/sec|Latency' "$WORK/wrk-post.out" | sed 's/^/POST purchases: /'
grep -E 'Requests/sec|Latency' "$WORK/wrk-get.out" | sed 's/^/GET segments:   /'
$PY - "$WORK/rss.txt" <<'PY'
import sys
rows = [list(map(float, l.split()[:2])) for l in open(sys.argv[1])]
warm = [r for r in rows if r[0] >= 60] or rows
first, last = warm[0][1], warm[-1][1]
print(f"RSS after warm-up (t >= 60 s): first {first/1024:.1f} MB, last {last/1024:.1f} MB, "
      f"max {max(r[1] for r in warm)/1024:.1f} MB; drift {(last-first)/1024:+.1f} MB over "
      f"{warm[-1][0]-warm[0][0]:.0f} s")
PY
