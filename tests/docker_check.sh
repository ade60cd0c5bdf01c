#!/bin/sh
# Static review of the container files (no Docker engine on CI machines): pinned base images, a
# non-root user, a health check, no secret baked in, and a compose file that waits for a healthy
# PostgreSQL and takes the admin key from the environment. Parsed as YAML when PyYAML is present.
root=${1:?source dir}
fail=0
no() { echo "docker_check: $*"; fail=1; }
df="$root/Dockerfile"
grep -qE '^FROM [^ ]+:(latest|[0-9]+(-slim)?)( |$)' "$df" "$root/examples/receiver/Dockerfile" &&
    no "a base image is not pinned to a point release"
grep -qE '^FROM debian:\$\{DEBIAN_TAG\}' "$df" && ! grep -qE '^ARG DEBIAN_TAG=[0-9]+\.[0-9]+' "$df" &&
    no "DEBIAN_TAG is not a point release"
grep -qE '^USER [a-z]' "$df" || no "the image runs as root (no USER)"
grep -qE '^USER root' "$df" && no "the image runs as root"
grep -q '^HEALTHCHECK' "$df" || no "no HEALTHCHECK"
grep -qiE '^(ENV|ARG) .*(ADMIN_KEY|PASSWORD|SECRET|TOKEN)' "$df" && no "a secret is baked into the image"
grep -q 'FROM .* AS build' "$df" || no "not a multi-stage build"
dc="$root/docker-compose.yml"
grep -qE 'image: postgres:[0-9]+\.[0-9]+' "$dc" || no "postgres image not pinned to a minor release"
grep -q 'condition: service_healthy' "$dc" || no "segmentd does not wait for a healthy PostgreSQL"
grep -q 'healthcheck:' "$dc" || no "PostgreSQL has no health check"
grep -q 'SEGMENTD_ADMIN_KEY: ${SEGMENTD_ADMIN_KEY:?' "$dc" || no "the admin key is not required from the environment"
grep -qE '"127\.0\.0\.1:8080:8080"' "$dc" || no "the API is published beyond 127.0.0.1"
if python3 -c 'import yaml' 2>/dev/null; then
    python3 -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); assert set(d["services"]) >= {"postgres", "segmentd", "receiver"}' "$dc" ||
        no "docker-compose.yml does not parse, or lacks a service"
fi
[ $fail -eq 0 ] && echo "docker_check: Dockerfile and docker-compose.yml pass"
exit $fail
