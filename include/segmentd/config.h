/* Configuration: config/segmentd.ini (inih), then SEGMENTD_SECTION_KEY environment overrides.
 *
 * One declarative table of keys (src/app/config.c) holds each key's section, name, type, default
 * and limits, in the way PgBouncer's loader does. Unknown keys and bad values are errors that name
 * the key. Durations are kept in milliseconds. */
#ifndef SEGMENTD_CONFIG_H
#define SEGMENTD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segmentd/log.h"
#include "segmentd/rc.h"

#define SD_CONFIG_MAX_RETRIES 16

struct sd_config {
    /* [http] */
    char *http_bind;              /* "127.0.0.1" */
    int http_port;                /* 8080 */
    int http_threads;             /* libmicrohttpd I/O threads (epoll), 2 */
    int http_workers;             /* request workers running handlers that touch the database, 16 */
    int http_connection_limit;    /* 1024 */
    int64_t http_idle_timeout_ms; /* 30s */
    int64_t http_header_timeout_ms;   /* 30s: a request's headers must be in within this */
    int64_t http_shutdown_timeout_ms; /* 30s: how long SIGTERM waits for in-flight requests */
    char *http_cors_origins; /* "" (CORS off), "*" or "https://a.example,https://b.example" */
    char *http_tls_cert;     /* "": plain HTTP; else a PEM certificate (chain) file, with tls_key */
    char *http_tls_key;      /* "": plain HTTP; else the PEM private key file of tls_cert */
    /* [database] */
    char *database_url;                  /* "" → embedded cluster */
    int database_pool_size;              /* 16 */
    int64_t database_pool_wait_ms;       /* 5s */
    int64_t database_connect_timeout_ms; /* 5s */
    bool database_prepared_statements; /* false: unnamed statements (PgBouncer transaction mode) */
    char *database_embedded_dir;       /* "./var/pg" */
    char *database_embedded_user;      /* "postgres": system user that runs the cluster when root */
    /* [auth] */
    char *auth_admin_key;          /* "" → no bootstrap key */
    int64_t auth_key_cache_ttl_ms; /* 5s: how long a process trusts a key it looked up */
    /* [limits] */
    int64_t limits_max_body_bytes;   /* 1M */
    int limits_max_batch;            /* 1000 */
    int64_t limits_max_import_bytes; /* 10G: an import body is spooled to disk, never to memory */
    char *limits_spool_dir;          /* "/tmp": where import bodies are spooled (unlinked files) */
    int limits_rate_per_key;         /* 0 (off): requests per second per API key, in this process */
    int limits_rate_burst;           /* 0: twice limits_rate_per_key */
    /* [scheduler] */
    int64_t scheduler_interval_ms; /* 5s */
    /* [webhooks] */
    bool webhooks_allow_private;                               /* false */
    int64_t webhooks_timeout_ms;                               /* 15s */
    int webhooks_max_in_flight;                                /* 64 */
    int webhooks_max_per_endpoint;                             /* 8 */
    int64_t webhooks_retry_schedule_ms[SD_CONFIG_MAX_RETRIES]; /* 5s,5m,30m,2h,5h,10h,10h */
    int webhooks_retry_count;
    int64_t webhooks_disable_after_ms; /* 5d */
    int64_t webhooks_poll_interval_ms; /* 1s: how often the dispatcher looks for due deliveries */
    int64_t webhooks_lease_ms;         /* 5m: how long a claimed delivery stays this process's */
    /* [log] */
    enum sd_log_level log_level; /* info */
};

/* Fills `cfg` with the built-in defaults (strings are heap copies). */
enum sd_rc sd_config_defaults(struct sd_config *cfg) SD_MUST_CHECK;

/* Loads defaults, then `path` (NULL or a missing file with `optional` = true: skipped), then the
 * environment `envp` (NULL-terminated "NAME=value" list, usually `environ`). On error returns
 * SD_ERR_INVALID (or SD_ERR_NOT_FOUND for a missing required file) with a message naming the key
 * in `err`. On error `cfg` is freed. */
enum sd_rc sd_config_load(struct sd_config *cfg, const char *path, bool optional, char *const *envp,
                          char *err, size_t errlen) SD_MUST_CHECK;

/* Frees the strings of `cfg`. */
void sd_config_free(struct sd_config *cfg);

/* Writes "section.key = value" lines of the effective configuration (admin_key masked) to `out`
 * as one string the caller frees. */
char *sd_config_describe(const struct sd_config *cfg);

#endif
