/* PostgreSQL access: a fixed-size connection pool, parameterised statements, transactions.
 *
 * Statements are `struct sd_stmt` constants that live beside the store code that runs them.
 * With `prepared = false` (the default, PgBouncer transaction mode) they run as unnamed statements
 * (PQexecParams); with `prepared = true` each connection prepares a statement once, under its
 * name, on first use. Either way values are parameters, never pasted into SQL text.
 *
 * While PostgreSQL is unreachable, acquire fails fast with SD_ERR_DB_UNAVAILABLE (after one
 * failed connect, further attempts wait `retry_ms`), so requests get 503 and nothing blocks;
 * broken connections are reconnected on the next acquire. */
#ifndef SEGMENTD_DB_H
#define SEGMENTD_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "segmentd/rc.h"

struct sd_stmt {
    const char *name; /* unique per statement, used when prepared statements are on */
    const char *sql;
    int nparams;
};

struct sd_pool_opts {
    const char *conninfo; /* libpq URL or keyword/value string */
    int size;             /* connections */
    int64_t wait_ms;      /* how long acquire waits for a free connection */
    int64_t connect_timeout_ms;
    bool prepared; /* named prepared statements (needs PgBouncer ≥ 1.21 if pooled) */
    const char *application_name;
};

struct sd_pool_stats {
    int size;
    int in_use;
    int waiting;
    uint64_t errors; /* database errors seen (any SQLSTATE, connection failures) */
    bool reachable;  /* last connect or statement reached the server */
};

struct sd_pool;
struct sd_db; /* one pooled connection, lent by acquire */

/* Creates the pool; connections are opened lazily, so this succeeds while the database is down. */
enum sd_rc sd_pool_create(const struct sd_pool_opts *opts, struct sd_pool **out) SD_MUST_CHECK;
void sd_pool_free(struct sd_pool *pool);

/* Lends a connection: SD_ERR_DB_BUSY when none frees up within wait_ms, SD_ERR_DB_UNAVAILABLE
 * when the server cannot be reached. Release it with sd_pool_release (it may be in any state: an
 * open transaction is rolled back). */
enum sd_rc sd_pool_acquire(struct sd_pool *pool, struct sd_db **out) SD_MUST_CHECK;
void sd_pool_release(struct sd_pool *pool, struct sd_db *db);
void sd_pool_get_stats(struct sd_pool *pool, struct sd_pool_stats *out);
uint64_t sd_pool_error_count(struct sd_pool *pool);
/* The connection string the pool connects with (borrowed, valid until sd_pool_free), for the
 * dedicated connections that must not come from the pool (LISTEN). */
const char *sd_pool_conninfo(const struct sd_pool *pool);

/* Runs a statement with text parameters (NULL = SQL NULL). On success `*res` is a new result the
 * caller PQclear()s (pass NULL to discard it). On failure the SQLSTATE is mapped to an sd_rc and
 * the server's message logged at debug; `*res` is NULL. */
enum sd_rc sd_db_exec(struct sd_db *db, const struct sd_stmt *stmt, const char *const *params,
                      PGresult **res) SD_MUST_CHECK;

/* One statement of a pipeline: results are stored into `*res` when `res` is not NULL. */
struct sd_pipe_step {
    const struct sd_stmt *stmt;
    const char *const *params;
    PGresult **res;
};

/* Sends every step at once (libpq pipeline mode) and reads the results: one network round trip
 * for the lot, each statement seeing the effects of the ones before it. Stops at the first
 * failure (the rest are aborted by the server) and returns its code; results already stored stay
 * the caller's to PQclear. Statements whose parameters depend on an earlier result cannot share
 * a pipeline with it. */
enum sd_rc sd_db_pipeline(struct sd_db *db, struct sd_pipe_step *steps, int nsteps) SD_MUST_CHECK;

/* Runs trusted, parameter-free SQL text (migrations, BEGIN/COMMIT). */
enum sd_rc sd_db_exec_script(struct sd_db *db, const char *sql) SD_MUST_CHECK;

/* SQLSTATE of the last failed statement on this connection ("" if none). */
const char *sd_db_last_sqlstate(const struct sd_db *db);
/* Server's message of the last failure (borrowed, "" if none). */
const char *sd_db_last_error(const struct sd_db *db);
/* The raw libpq connection, for COPY and LISTEN. */
PGconn *sd_db_conn(struct sd_db *db);

/* Maps a SQLSTATE to our result codes (23505 → SD_ERR_CONFLICT, 08xxx → unavailable, …). */
enum sd_rc sd_db_map_sqlstate(const char *sqlstate);

/* Runs `fn` inside BEGIN … COMMIT on a pooled connection; rolls back when `fn` fails and retries
 * the whole transaction (up to 3 times) on serialization failures and deadlocks. */
typedef enum sd_rc (*sd_tx_fn)(struct sd_db *db, void *ctx);
enum sd_rc sd_db_transaction(struct sd_pool *pool, sd_tx_fn fn, void *ctx) SD_MUST_CHECK;
/* The same on a connection the caller already holds. */
enum sd_rc sd_db_transaction_on(struct sd_db *db, sd_tx_fn fn, void *ctx) SD_MUST_CHECK;

#endif
