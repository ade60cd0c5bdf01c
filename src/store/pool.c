/* The connection pool: a fixed array of slots guarded by one mutex.
 *
 * Connections open lazily and reopen after a failure; connecting happens outside the mutex so a
 * slow or dead server never blocks the threads that only return connections. While the server is
 * down, one failed connect makes the next attempts fail fast for RETRY_MS, so a flood of requests
 * turns into quick 503s rather than a queue of connect timeouts. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "segmentd/log.h"
#include "segmentd/util.h"

#define RETRY_MS 1000

struct sd_pool {
    pthread_mutex_t mu;
    pthread_cond_t freed;
    struct sd_db *slots;
    int size;
    int in_use;
    int waiting;
    int64_t wait_ms;
    int64_t down_until_ms; /* monotonic; connects fail fast before it */
    char *conninfo;
    char *application_name;
    char connect_timeout[24];
    bool prepared;
    atomic_bool reachable;
    atomic_uint_fast64_t errors;
};

enum sd_rc sd_pool_create(const struct sd_pool_opts *opts, struct sd_pool **out)
{
    enum sd_rc rc = SD_ERR_NOMEM;
    struct sd_pool *pool = calloc(1, sizeof *pool);
    if (pool == NULL)
        goto out;
    pool->size = opts->size;
    pool->wait_ms = opts->wait_ms;
    pool->prepared = opts->prepared;
    pool->slots = calloc((size_t)opts->size, sizeof *pool->slots);
    pool->conninfo = strdup(opts->conninfo);
    pool->application_name = strdup(opts->application_name ? opts->application_name : "segmentd");
    if (pool->slots == NULL || pool->conninfo == NULL || pool->application_name == NULL)
        goto out;
    int64_t secs = (opts->connect_timeout_ms + 999) / 1000;
    snprintf(pool->connect_timeout, sizeof pool->connect_timeout, "%lld",
             (long long)(secs < 2 ? 2 : secs)); /* libpq treats 1 s as 2 s anyway */
    for (int i = 0; i < pool->size; i++)
        pool->slots[i].pool = pool;
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->freed, NULL);
    atomic_init(&pool->reachable, false);
    atomic_init(&pool->errors, 0);
    *out = pool;
    pool = NULL;
    rc = SD_OK;
out:
    if (pool != NULL) {
        free(pool->slots);
        free(pool->conninfo);
        free(pool->application_name);
        free(pool);
    }
    return rc;
}

void sd_pool_free(struct sd_pool *pool)
{
    if (pool == NULL)
        return;
    for (int i = 0; i < pool->size; i++)
        sd_db_disconnect(&pool->slots[i]);
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->freed);
    free(pool->slots);
    free(pool->conninfo);
    free(pool->application_name);
    free(pool);
}

void sd_pool_note_error(struct sd_pool *pool, bool unreachable)
{
    atomic_fetch_add(&pool->errors, 1);
    if (unreachable)
        atomic_store(&pool->reachable, false);
}

/* Server notices ("relation already exists, skipping") are not errors: debug log, not stderr. */
static void log_notice(void *arg, const char *message)
{
    (void)arg;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", message);
    msg[strcspn(msg, "\n")] = '\0';
    log_debug("postgres: %s", msg);
}

static enum sd_rc pool_connect(struct sd_pool *pool, struct sd_db *db)
{
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *values[] = {pool->conninfo, pool->connect_timeout, pool->application_name, NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (conn == NULL)
        return SD_ERR_NOMEM;
    if (PQstatus(conn) != CONNECTION_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(conn));
        msg[strcspn(msg, "\n")] = '\0';
        log_warn("database connect failed: %s", msg);
        PQfinish(conn);
        return SD_ERR_DB_UNAVAILABLE;
    }
    PQsetNoticeProcessor(conn, log_notice, NULL);
    db->conn = conn;
    db->nprepared = 0;
    atomic_store(&pool->reachable, true);
    return SD_OK;
}

static struct sd_db *take_free_slot(struct sd_pool *pool)
{
    for (int i = 0; i < pool->size; i++) {
        if (!pool->slots[i].in_use) {
            pool->slots[i].in_use = true;
            pool->in_use++;
            return &pool->slots[i];
        }
    }
    return NULL;
}

static void give_back_slot(struct sd_pool *pool, struct sd_db *db)
{
    pthread_mutex_lock(&pool->mu);
    db->in_use = false;
    pool->in_use--;
    pthread_cond_signal(&pool->freed);
    pthread_mutex_unlock(&pool->mu);
}

/* Waits for a free slot until the deadline; NULL on timeout. Called with the mutex held. */
static struct sd_db *wait_for_slot(struct sd_pool *pool)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += pool->wait_ms / 1000;
    deadline.tv_nsec += (pool->wait_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    struct sd_db *db;
    while ((db = take_free_slot(pool)) == NULL) {
        pool->waiting++;
        int err = pthread_cond_timedwait(&pool->freed, &pool->mu, &deadline);
        pool->waiting--;
        if (err == ETIMEDOUT)
            return take_free_slot(pool);
    }
    return db;
}

enum sd_rc sd_pool_acquire(struct sd_pool *pool, struct sd_db **out)
{
    pthread_mutex_lock(&pool->mu);
    struct sd_db *db = wait_for_slot(pool);
    int64_t down_until = pool->down_until_ms;
    pthread_mutex_unlock(&pool->mu);
    if (db == NULL)
        return SD_ERR_DB_BUSY;

    if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK) {
        *out = db;
        return SD_OK;
    }
    sd_db_disconnect(db);
    if (sd_now_mono_ms() < down_until) {
        give_back_slot(pool, db);
        return SD_ERR_DB_UNAVAILABLE;
    }
    enum sd_rc rc = pool_connect(pool, db);
    if (rc != SD_OK) {
        sd_pool_note_error(pool, true);
        pthread_mutex_lock(&pool->mu);
        pool->down_until_ms = sd_now_mono_ms() + RETRY_MS;
        pthread_mutex_unlock(&pool->mu);
        give_back_slot(pool, db);
        return rc;
    }
    *out = db;
    return SD_OK;
}

void sd_pool_release(struct sd_pool *pool, struct sd_db *db)
{
    if (db == NULL)
        return;
    if (db->conn != NULL) {
        PGTransactionStatusType ts = PQtransactionStatus(db->conn);
        if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
            PGresult *r = PQexec(db->conn, "ROLLBACK");
            PQclear(r);
            ts = PQtransactionStatus(db->conn);
        }
        /* A connection left busy (COPY, unread results) or broken is not worth saving. */
        if (ts != PQTRANS_IDLE || PQstatus(db->conn) != CONNECTION_OK)
            sd_db_disconnect(db);
    }
    db->sqlstate[0] = '\0';
    db->errmsg[0] = '\0';
    give_back_slot(pool, db);
}

void sd_pool_get_stats(struct sd_pool *pool, struct sd_pool_stats *out)
{
    pthread_mutex_lock(&pool->mu);
    out->size = pool->size;
    out->in_use = pool->in_use;
    out->waiting = pool->waiting;
    pthread_mutex_unlock(&pool->mu);
    out->errors = atomic_load(&pool->errors);
    out->reachable = atomic_load(&pool->reachable);
}

uint64_t sd_pool_error_count(struct sd_pool *pool)
{
    return atomic_load(&pool->errors);
}

bool sd_pool_uses_prepared(const struct sd_pool *pool)
{
    return pool->prepared;
}

const char *sd_pool_conninfo(const struct sd_pool *pool)
{
    return pool->conninfo;
}
