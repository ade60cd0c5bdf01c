/* The embedded PostgreSQL cluster: with no database configured, segmentd creates (initdb) and
 * starts (pg_ctl) a private cluster with Debian's PostgreSQL binaries, and stops it on exit.
 * The integration tests use the same module for their throwaway clusters.
 *
 * PostgreSQL refuses to run as root: when the process is root, initdb, pg_ctl and the postmaster
 * run as `run_as` (default "postgres") via fork + setgid/setuid, and the data directory is chowned
 * to that user. */
#ifndef SEGMENTD_EMBEDDED_H
#define SEGMENTD_EMBEDDED_H

#include <stdbool.h>
#include <stddef.h>

#include "segmentd/rc.h"

struct sd_embedded_opts {
    const char *dir;    /* cluster directory (created if missing; made absolute) */
    const char *run_as; /* system user when running as root; NULL → "postgres" */
    int tcp_port;       /* 0: Unix socket only; > 0: also listen on 127.0.0.1:tcp_port */
    bool fast;          /* throwaway test cluster: initdb --no-sync, fsync/full_page_writes off */
};

struct sd_embedded;

/* Initialises the cluster if `dir` holds none, starts it (or reuses a postmaster already running
 * on it, e.g. after a SIGKILL of segmentd), and creates the database "segmentd" owned by the
 * superuser "segmentd" if missing. On failure writes a message into `err`. */
enum sd_rc sd_embedded_start(const struct sd_embedded_opts *opts, struct sd_embedded **out,
                             char *err, size_t errlen) SD_MUST_CHECK;

/* libpq connection string for the "segmentd" database (borrowed, valid until free). */
const char *sd_embedded_conninfo(const struct sd_embedded *emb);

/* Stops the postmaster (pg_ctl stop -m fast -w) but keeps the handle: tests take the database
 * away mid-run with this and bring it back with sd_embedded_resume. */
enum sd_rc sd_embedded_pause(struct sd_embedded *emb) SD_MUST_CHECK;
enum sd_rc sd_embedded_resume(struct sd_embedded *emb) SD_MUST_CHECK;

/* Stops the cluster if it runs and frees the handle. `remove_dir` deletes the directory too
 * (tests). NULL is accepted. */
void sd_embedded_stop(struct sd_embedded *emb, bool remove_dir);

#endif
