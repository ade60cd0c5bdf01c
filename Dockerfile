# segmentd container image.
#
#   docker build -t segmentd .
#   docker run --rm -p 127.0.0.1:8080:8080 \
#     -e DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/DB -e SEGMENTD_ADMIN_KEY=... segmentd
#
# The image needs an external PostgreSQL (DATABASE_URL): the embedded cluster that segmentd starts
# when no database is configured needs the PostgreSQL server binaries (initdb, pg_ctl), which this
# image does not ship. Without DATABASE_URL the container exits at start-up.
# docker-compose.yml beside this file runs it with PostgreSQL 15.
#
# Configuration: /etc/segmentd/segmentd.ini (a copy of config/segmentd.ini, i.e. the built-in
# defaults); override any key with SEGMENTD_<SECTION>_<KEY> (see that file). Subcommands go after
# the image name: `docker run --rm -e DATABASE_URL=... segmentd migrate`.

# Base images are pinned to a Debian point release (bump deliberately, both stages together; record
# the digest, `debian:12.8-slim@sha256:…`, when publishing an image).
ARG DEBIAN_TAG=12.8

# ---- build ----
FROM debian:${DEBIAN_TAG} AS build

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libmicrohttpd-dev libjansson-dev libpq-dev libcurl4-openssl-dev libssl-dev libinih-dev \
      check \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# .dockerignore keeps host build trees (build/, build-*/), var/ and .git out of the context.
COPY . .
# `check` is only needed because CMake configures the test tree too; only the server is built.
# The binary embeds migrations/*.sql and openapi.yaml, so nothing else needs copying at run time.
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
 && cmake --build build -j"$(nproc)" --target segmentd

# ---- runtime ----
FROM debian:${DEBIAN_TAG}-slim

# Runtime libraries of the build stage's -dev packages (Debian 12 names), CA certificates for
# TLS to PostgreSQL and to webhook endpoints, and curl for the HEALTHCHECK below (slim has no
# curl; it adds little, since libcurl4 is needed anyway).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libmicrohttpd12 libjansson4 libpq5 libcurl4 libssl3 libinih1 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 segmentd \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin segmentd

COPY --from=build /src/build/segmentd /usr/local/bin/segmentd
COPY config/segmentd.ini /etc/segmentd/segmentd.ini

# The config file binds 127.0.0.1; in a container the API must listen on all interfaces.
ENV SEGMENTD_HTTP_BIND=0.0.0.0
EXPOSE 8080

USER segmentd

# Liveness (/healthz: the process answers; it does not touch the database, so an outage of
# PostgreSQL does not mark the container unhealthy — segmentd reconnects by itself and answers
# 503 meanwhile). Use /readyz for readiness in a load balancer. Follows SEGMENTD_HTTP_PORT.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:${SEGMENTD_HTTP_PORT:-8080}/healthz" || exit 1

# SIGTERM (docker stop) finishes requests in flight for up to [http] shutdown_timeout (30s by
# default): give the container that long (docker stop -t 35 / compose stop_grace_period).
ENTRYPOINT ["segmentd", "--config", "/etc/segmentd/segmentd.ini"]
