# shellcheck shell=bash
# Helpers shared by the bench scripts (sourced, not run): dependencies, an embedded segmentd on a
# free port with its own PostgreSQL under a temporary directory, SQL and API shortcuts, CPU
# accounting, and a cleanup that stops everything the script started and removes its files.
# Traffic goes to 127.0.0.1 only.

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
PY=/usr/bin/python3 # Debian's interpreter: python3-pandas is installed for it
SEGMENTD=${BENCH_SEGMENTD:-$ROOT/build/segmentd}
ADMIN_KEY=bench-admin-key
SD_PID=
PG_PID=
WORK=

log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# need COMMAND PACKAGE: installs the Debian package when the command is missing.
need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    log "installing $2"
    apt-get install -y -qq "$2" >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null && apt-get install -y -qq "$2" >/dev/null; } ||
        die "cannot install $2"
}

need_pandas() {
    $PY -c 'import pandas' 2>/dev/null && return 0
    log "installing python3-pandas"
    apt-get install -y -qq python3-pandas >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null && apt-get install -y -qq python3-pandas >/dev/null; } ||
        die "cannot install python3-pandas"
}

need_segmentd() {
    [ -x "$SEGMENTD" ] && return 0
    log "building segmentd"
    make -C "$ROOT" build >/dev/null || die "make build failed"
}

bench_init() {
    [ -x $PY ] || die "$PY is missing (apt-get install python3)"
    WORK=$(mktemp -d /tmp/segmentd-bench-XXXXXX)
    chmod 755 "$WORK" # the embedded cluster runs as the postgres user when we are root
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

bench_cleanup() {
    local rc=$?
    stop_segmentd
    if [ -n "${BENCH_KEEP:-}" ]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    return $rc
}

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_segmentd [VAR=value…]: segmentd on its embedded PostgreSQL (log level warn), extra
# environment as arguments. Sets PORT, URL, SD_PID, PG_PID, PGCONN.
start_segmentd() {
    need_segmentd
    PORT=$(free_port)
    URL="http://127.0.0.1:$PORT"
    env SEGMENTD_ADMIN_KEY=$ADMIN_KEY SEGMENTD_HTTP_PORT="$PORT" SEGMENTD_LOG_LEVEL=warn \
        SEGMENTD_DATABASE_EMBEDDED_DIR="$WORK/pg" "$@" \
        "$SEGMENTD" --config "$ROOT/config/segmentd.ini" </dev/null >>"$WORK/segmentd.log" 2>&1 &
    SD_PID=$!
    local i
    for i in $(seq 1 600); do
        curl -sf "$URL/readyz" >/dev/null 2>&1 && break
        kill -0 "$SD_PID" 2>/dev/null || { tail -20 "$WORK/segmentd.log" >&2; die "segmentd exited"; }
        sleep 0.2
    done
    curl -sf "$URL/readyz" >/dev/null || die "segmentd not ready after 120 s"
    PGCONN="host=$WORK/pg/run user=segmentd dbname=segmentd"
    PG_PID=$(head -1 "$WORK/pg/data/postmaster.pid")
}

# Stops segmentd (which stops its cluster); a cluster left behind is shut down too.
stop_segmentd() {
    if [ -n "$SD_PID" ] && kill -0 "$SD_PID" 2>/dev/null; then
        kill -TERM "$SD_PID"
        local i
        for i in $(seq 1 300); do
            kill -0 "$SD_PID" 2>/dev/null || break
            sleep 0.2
        done
        kill -0 "$SD_PID" 2>/dev/null && kill -KILL "$SD_PID"
        wait "$SD_PID" 2>/dev/null
    fi
    SD_PID=
    if [ -n "$PG_PID" ] && kill -0 "$PG_PID" 2>/dev/null; then
        kill -INT "$PG_PID" # fast shutdown
        local j
        for j in $(seq 1 150); do
            kill -0 "$PG_PID" 2>/dev/null || break
            sleep 0.2
        done
    fi
    PG_PID=
}

sql() { psql -qAtX -v ON_ERROR_STOP=1 "$PGCONN" "$@"; }

# api METHOD PATH [curl args…]: as the bootstrap admin key (workspace: $WS_HEADER or default).
api() {
    local m=$1 p=$2
    shift 2
    curl -sS --fail-with-body -X "$m" -H "Authorization: Bearer $ADMIN_KEY" \
        ${WS_HEADER:+-H "Segmentd-Workspace: $WS_HEADER"} "$URL$p" "$@"
}

json() { $PY -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# make_workspace NAME → its numeric id
make_workspace() {
    [ "$1" = default ] || api POST /v1/workspaces -H 'Content-Type: application/json' \
        -d "{\"name\": \"$1\"}" >/dev/null
    sql -c "SELECT id FROM workspaces WHERE name = '$1'"
}

# make_key WORKSPACE SCOPES_JSON → a new API key of that workspace
make_key() {
    WS_HEADER=$1 api POST /v1/keys -H 'Content-Type: application/json' \
        -d "{\"name\": \"bench\", \"scopes\": $2}" | json 'd["key"]'
}

# Before a measured phase: dead tuples vacuumed, statistics fresh, dirty pages written.
settle() {
    sql -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
}

# cpu_begin / cpu_end: how much of the machine's 2 cores went to other work during a phase.
cpu_begin() {
    read -r CPU_BUSY0 CPU_OURS0 CPU_PG0 CPU_SD0 < <($PY "$BENCH/cpu.py" "$PG_PID" "${SD_PID:-0}" $$)
    CPU_T0=$(date +%s.%N)
}
cpu_end() { # prints "CPU: PostgreSQL W%, segmentd X%, load tool Y%, other processes Z% of N cores"
    local busy ours pg sd
    read -r busy ours pg sd < <($PY "$BENCH/cpu.py" "$PG_PID" "${SD_PID:-0}" $$)
    $PY - "$CPU_BUSY0" "$CPU_OURS0" "$CPU_PG0" "$CPU_SD0" "$busy" "$ours" "$pg" "$sd" "$CPU_T0" \
        "$(date +%s.%N)" "$(nproc)" "$(getconf CLK_TCK)" <<'PY'
import sys
b0, o0, p0, s0, b1, o1, p1, s1, t0, t1, n, hz = (float(x) for x in sys.argv[1:])
cap = (t1 - t0) * n * hz
pg, sd = (p1 - p0) / cap, (s1 - s0) / cap
tool = ((o1 - o0) - (p1 - p0) - (s1 - s0)) / cap
other = max(0.0, (b1 - b0) - (o1 - o0)) / cap
print(f"CPU: PostgreSQL {100 * pg:.0f}%, segmentd {100 * sd:.0f}%, load tool {100 * tool:.0f}%, "
      f"other processes {100 * other:.0f}% of {int(n)} cores")
PY
}

# ratio A B → A/B as a percentage with no decimals
ratio() { $PY -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{100*a/b:.0f}%' if b else 'n/a')" "$1" "$2"; }

# seconds DURATION (60, 60s, 10m, 1h) → whole seconds
seconds() {
    case $1 in
    *h) echo $((${1%h} * 3600)) ;;
    *m) echo $((${1%m} * 60)) ;;
    *s) echo "${1%s}" ;;
    *) echo "$1" ;;
    esac
}

# Peak and current RSS of a process, kB.
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

# populate WORKSPACE CUSTOMERS ORDERS: a generated order history loaded with `segmentd import`
# (the fastest faithful way to a large population: every customer placed by segmentd itself).
# Prints the seconds the import took.
populate() {
    make_workspace "$1" >/dev/null
    $PY "$BENCH/gen_orders.py" --customers "$2" --orders "$3" >"$WORK/population.csv"
    local t0
    t0=$(date +%s.%N)
    env DATABASE_URL="$PGCONN" SEGMENTD_LOG_LEVEL=warn "$SEGMENTD" --config "$ROOT/config/segmentd.ini" \
        import "$WORK/population.csv" --workspace "$1" </dev/null >"$WORK/population.out" ||
        die "population import failed: $(cat "$WORK/population.out")"
    rm -f "$WORK/population.csv"
    $PY -c "import time; print(f'{time.time() - $t0:.1f}')"
}

# The speed of the machine right now: pgbench `SELECT 1` round trips through the embedded
# PostgreSQL for 3 s, one client. On a shared VM this moved from 79 to 127 µs within an hour;
# compare figures from different runs only with this beside them.
speed_ref() {
    echo "SELECT 1;" >"$WORK/one.sql"
    local lat
    lat=$(pgbench -n -M extended -c 1 -T 3 -f "$WORK/one.sql" "$PGCONN" 2>/dev/null |
        awk '/latency average/ {print $4}')
    echo "machine reference: pgbench SELECT 1 round trip ${lat:-?} ms (one client, 3 s)"
}
