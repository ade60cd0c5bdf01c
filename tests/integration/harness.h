/* Integration test harness: a throwaway PostgreSQL cluster (one per test program, via the same
 * embedded-cluster module the service uses), the real segmentd binary started as a child
 * process, and a small libcurl client. Set up in Check's unchecked fixtures (the parent
 * process), so every forked test sees the same cluster and server. */
#ifndef SEGMENTD_TEST_HARNESS_H
#define SEGMENTD_TEST_HARNESS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define ADMIN_KEY "test-bootstrap-admin-key-0123456789"

struct harness {
    struct sd_embedded *pg;
    char dir[128]; /* temporary directory of this test program */
    char database_url[256];
    pid_t server_pid;
    int port;
    char log_path[256];
};

extern struct harness H;

/* Starts the cluster (fast, TCP on a free port). Aborts the program on failure. */
void harness_start_db(void);
/* Starts segmentd with the shipped config plus `extra_env` ("NAME=value", NULL-terminated) and
 * waits until /readyz answers 200 (or only /healthz when `wait_ready` is false). */
void harness_start_server(const char *const *extra_env, bool wait_ready);
/* Sends `sig`, waits for the exit; returns the exit status (-1 if killed by a signal). */
int harness_stop_server(int sig);
void harness_stop_all(void);
/* Deletes every workspace but default and every API key. */
void harness_reset(void);
/* A direct libpq connection to the test database (new; PQfinish it). */
PGconn *harness_db(void);
/* Runs SQL and returns the first value of the first row as a long (or -1). */
long harness_sql_long(const char *sql);
int harness_free_port(void);
/* Prints the server log's last lines (on failure). */
void harness_dump_log(void);

struct resp {
    long status;
    char *body;
    size_t len;
    char *headers; /* raw header block */
    json_t *json;  /* parsed body when it is JSON, else NULL */
    long connects; /* new connections this transfer opened (0 = reused keep-alive) */
};

/* One request. `headers` is a NULL-terminated list of "Name: value" (may be NULL); `body` may be
 * NULL. Uses a fresh connection unless `keepalive` handle reuse is wanted (http_session_*). */
struct resp *http(const char *method, const char *path, const char *const *headers,
                  const char *body);
/* The same with an explicit body length (bytes may include NUL or invalid UTF-8). */
struct resp *http_raw(const char *method, const char *path, const char *const *headers,
                      const char *body, size_t len);
/* Requests sharing one connection, to observe keep-alive. */
void http_session_begin(void);
void http_session_end(void);
/* Value of a response header (case-insensitive), copied into a static buffer, or NULL. */
const char *resp_header(const struct resp *r, const char *name);
void resp_free(struct resp *r);

/* Shorthands with the bootstrap admin key or a given key. */
struct resp *admin(const char *method, const char *path, const char *json_body);
struct resp *with_key(const char *key, const char *method, const char *path, const char *json_body);
/* Creates a key with the given scopes (JSON array text, e.g. "[\"read\"]") in `workspace`
 * (NULL: default) and returns it (static buffer overwritten by the next call). */
const char *make_key(const char *workspace, const char *scopes_json);

/* Starts another segmentd on `port` against the same database, with the same base environment as
 * harness_start_server plus `extra_env`, and waits until it is ready. The caller stops it. */
pid_t harness_spawn_server(int port, const char *const *extra_env);
/* The value of a sample line of /metrics of the server on `port` (e.g.
 * "segmentd_scheduler_customers_moved_total"), or -1. */
double harness_metric(int port, const char *sample);

/* The webhook receiver of the tests (tests/receiver/receiver.js, Node + the reference
 * `standardwebhooks` library): what it answers depends on the path (see receiver.js), every
 * request is verified and logged. */
struct receiver {
    pid_t pid;
    int port;
    char log[256];
};
/* Starts it on `port` (0: any free port; the chosen one lands in r->port). */
void receiver_start(struct receiver *r, int port);
void receiver_stop(struct receiver *r);
/* The secret(s) requests to `path` are verified with (`other` may be NULL). */
void receiver_secret(struct receiver *r, const char *path, const char *secret, const char *other);
/* Every request received so far whose path starts with `path_prefix`, in arrival order: a new
 * array of objects {received_at_ms, method, path, status, verified, content_type, webhook-id,
 * webhook-timestamp, webhook-signature, body}. */
json_t *receiver_lines(const struct receiver *r, const char *path_prefix);

/* PUTs the b2c preset's matrix with these recency bounds (a JSON array text, e.g.
 * "[\"2s\", \"1d\"]") and `query` (NULL or "?notify=true"); returns the status. */
long harness_put_recency(const char *recency_bounds, const char *query);

/* Posts `n` first purchases (customers "PREFIX-00000"…, amount 1, all at `at`) with the bootstrap
 * key, in batches of 1000; fails the test on any other answer than 200. */
void harness_post_purchases(const char *prefix, int n, time_t at);

/* Small helpers shared by the test programs. */
/* Unix seconds → "2026-11-20T10:00:00Z" (out: 32 bytes). */
void iso(time_t t, char out[32]);
/* cents → "129.90" (out: 32 bytes). */
void money(long long cents, char out[32]);
/* Percent-encodes everything but RFC 3986's unreserved characters. */
void pct(const char *in, char *out, size_t outlen);
/* Asserts an RFC 9457 problem answer with this status. */
void assert_problem(struct resp *r, long status);

#endif
