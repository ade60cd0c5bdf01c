/* The application context shared by the HTTP layer, the handlers and the background threads.
 * Built by main.c; read-only after start-up except for the atomic flags. */
#ifndef SEGMENTD_APP_H
#define SEGMENTD_APP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "segmentd/config.h"
#include "segmentd/db.h"

struct sd_route;
struct sd_metrics;
struct sd_importer;

struct sd_app {
    const struct sd_config *cfg;
    struct sd_pool *pool;
    struct sd_metrics *metrics;
    struct sd_importer *importer; /* runs uploaded imports in the background */
    const struct sd_route *routes;
    size_t nroutes;
    unsigned char admin_key_hash[32]; /* SHA-256 of auth.admin_key */
    bool has_admin_key;
    atomic_bool ready;    /* migrations applied: /v1 is served */
    atomic_bool stopping; /* SIGTERM received: answers carry Connection: close */
};

#endif
