#!/bin/sh
# Installs, only when missing, the Debian packages segmentd needs to build, test and run.
# Called by `make build`, `make run` and `make test`, so a fresh Debian 12 machine needs nothing
# installed by hand. Set SEGMENTD_SKIP_DEPS=1 to skip (e.g. inside a prepared image).
set -eu
[ "${SEGMENTD_SKIP_DEPS:-0}" = 1 ] && exit 0

PACKAGES="build-essential cmake pkg-config libmicrohttpd-dev libjansson-dev libpq-dev
libcurl4-openssl-dev libssl-dev libinih-dev check postgresql postgresql-contrib curl
clang libclang-rt-14-dev"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
# Node.js and npm run the webhook receiver of the tests; a machine that has them (any origin)
# keeps its own.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi
[ -z "$missing" ] && exit 0

echo "segmentd: installing missing packages:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
