#!/usr/bin/env bash
# HTTP framework overhead: wrk against /healthz (no database), an authenticated GET that runs the
# key lookup and one query, and an authenticated JSON POST that is parsed and validated (422, no
# write). Prints requests/s, latency and the peak RSS of segmentd.
#   bench/http.sh [duration=20s] [connections=64] [wrk threads=2]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-20s}
CONNS=${2:-64}
WRK_THREADS=${3:-2}

command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null; }
[ -x build/segmentd ] || make build >/dev/null

work=$(mktemp -d /tmp/segmentd-bench-XXXXXX)
chmod 755 "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export SEGMENTD_ADMIN_KEY=bench-admin-key SEGMENTD_HTTP_PORT=$port SEGMENTD_LOG_LEVEL=warn
export SEGMENTD_DATABASE_EMBEDDED_DIR=$work/pg
build/segmentd --config config/segmentd.ini 2>"$work/segmentd.log" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.2
done

cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer bench-admin-key"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name": "bench", "scopes": ["read", "nope"]}'
LUA
cat >"$work/get.lua" <<'LUA'
wrk.headers["Authorization"] = "Bearer bench-admin-key"
LUA

run() { # name, path, [lua]
    local out
    out=$(wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" --latency ${3:+-s "$3"} \
          "http://127.0.0.1:$port$2")
    local rps p50 p99 non2xx
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
    printf '%-44s %12s req/s   p50 %-9s p99 %-9s non-2xx %s\n' "$1" "$rps" "$p50" "$p99" "${non2xx:-0}"
}

echo "segmentd HTTP benchmark: wrk -t$WRK_THREADS -c$CONNS -d$DURATION, $(nproc) cores"
run "GET /healthz (no database)" /healthz
run "GET /v1/keys (auth + 1 query)" /v1/keys "$work/get.lua"
run "POST /v1/keys JSON → 422 (auth + parse)" /v1/keys "$work/post.lua"
echo "segmentd peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)"
