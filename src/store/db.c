/* Statements and transactions on a pooled connection; SQLSTATE → sd_rc. */
#include <stdio.h>
#include <string.h>

#include "db_internal.h"
#include "segmentd/log.h"

void sd_db_disconnect(struct sd_db *db)
{
    if (db->conn != NULL)
        PQfinish(db->conn);
    db->conn = NULL;
    db->nprepared = 0;
}

enum sd_rc sd_db_map_sqlstate(const char *s)
{
    if (s == NULL || s[0] == '\0')
        return SD_ERR_DB_UNAVAILABLE; /* no SQLSTATE: the connection itself failed */
    if (strcmp(s, "23505") == 0)
        return SD_ERR_CONFLICT;
    if (strncmp(s, "23", 2) == 0)
        return SD_ERR_CONSTRAINT;
    if (strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0)
        return SD_ERR_DB_RETRY;
    if (strcmp(s, "57014") == 0)
        return SD_ERR_DB_TIMEOUT;
    if (strcmp(s, "55P03") == 0) /* lock_not_available: a lock_timeout ran out */
        return SD_ERR_DB_BUSY;
    /* 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now;
     * 53300: too many connections. */
    if (strncmp(s, "08", 2) == 0 || strncmp(s, "57P0", 4) == 0 || strcmp(s, "53300") == 0)
        return SD_ERR_DB_UNAVAILABLE;
    if (strncmp(s, "22", 2) == 0)
        return SD_ERR_INVALID;
    return SD_ERR_DB;
}

/* Records the failure of `res` on `db` and returns its code. */
static enum sd_rc db_fail(struct sd_db *db, const PGresult *res, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn);
    snprintf(db->sqlstate, sizeof db->sqlstate, "%s", state ? state : "");
    snprintf(db->errmsg, sizeof db->errmsg, "%s", msg ? msg : "");
    db->errmsg[strcspn(db->errmsg, "\n")] = '\0';
    enum sd_rc rc = sd_db_map_sqlstate(state);
    if (PQstatus(db->conn) != CONNECTION_OK)
        rc = SD_ERR_DB_UNAVAILABLE;
    sd_pool_note_error(db->pool, rc == SD_ERR_DB_UNAVAILABLE);
    if (rc == SD_ERR_CONFLICT || rc == SD_ERR_CONSTRAINT || rc == SD_ERR_DB_RETRY)
        log_debug("%s: %s [%s]", what, db->errmsg, db->sqlstate);
    else
        log_warn("%s: %s [%s]", what, db->errmsg, db->sqlstate);
    return rc;
}

static bool is_prepared(const struct sd_db *db, const struct sd_stmt *stmt)
{
    for (int i = 0; i < db->nprepared; i++) {
        if (db->prepared[i] == stmt)
            return true;
    }
    return false;
}

static enum sd_rc ensure_prepared(struct sd_db *db, const struct sd_stmt *stmt)
{
    if (is_prepared(db, stmt))
        return SD_OK;
    PGresult *res = PQprepare(db->conn, stmt->name, stmt->sql, stmt->nparams, NULL);
    enum sd_rc rc = SD_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = db_fail(db, res, stmt->name);
    else if (db->nprepared < SD_DB_MAX_PREPARED)
        db->prepared[db->nprepared++] = stmt;
    PQclear(res);
    return rc;
}

enum sd_rc sd_db_exec(struct sd_db *db, const struct sd_stmt *stmt, const char *const *params,
                      PGresult **out)
{
    if (out != NULL)
        *out = NULL;
    PGresult *res;
    if (sd_pool_uses_prepared(db->pool)) {
        enum sd_rc rc = ensure_prepared(db, stmt);
        if (rc != SD_OK)
            return rc;
        res = PQexecPrepared(db->conn, stmt->name, stmt->nparams, params, NULL, NULL, 0);
    } else {
        res = PQexecParams(db->conn, stmt->sql, stmt->nparams, NULL, params, NULL, NULL, 0);
    }
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        enum sd_rc rc = db_fail(db, res, stmt->name);
        PQclear(res);
        return rc;
    }
    if (out != NULL)
        *out = res;
    else
        PQclear(res);
    return SD_OK;
}

static bool pipe_send(struct sd_db *db, const struct sd_pipe_step *st)
{
    if (sd_pool_uses_prepared(db->pool))
        return PQsendQueryPrepared(db->conn, st->stmt->name, st->stmt->nparams, st->params, NULL,
                                   NULL, 0) == 1;
    return PQsendQueryParams(db->conn, st->stmt->sql, st->stmt->nparams, NULL, st->params, NULL,
                             NULL, 0) == 1;
}

/* Reads one statement's result and the NULL that ends it. */
static PGresult *pipe_next(struct sd_db *db)
{
    PGresult *res = PQgetResult(db->conn);
    PGresult *extra;
    if (res != NULL && PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
        while ((extra = PQgetResult(db->conn)) != NULL)
            PQclear(extra);
    }
    return res;
}

static enum sd_rc pipe_collect(struct sd_db *db, struct sd_pipe_step *steps, int nsteps)
{
    enum sd_rc rc = SD_OK;
    for (int i = 0; i < nsteps; i++) {
        PGresult *res = pipe_next(db);
        ExecStatusType st = PQresultStatus(res);
        if (rc == SD_OK && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
            rc = st == PGRES_PIPELINE_ABORTED ? SD_ERR_DB : db_fail(db, res, steps[i].stmt->name);
        if (rc == SD_OK && steps[i].res != NULL) {
            *steps[i].res = res;
            res = NULL;
        }
        PQclear(res);
    }
    PGresult *sync = PQgetResult(db->conn); /* PGRES_PIPELINE_SYNC */
    PQclear(sync);
    return rc;
}

enum sd_rc sd_db_pipeline(struct sd_db *db, struct sd_pipe_step *steps, int nsteps)
{
    for (int i = 0; i < nsteps; i++) {
        if (steps[i].res != NULL)
            *steps[i].res = NULL;
    }
    /* Named statements are prepared before the pipeline (once per connection), so the pipeline
     * carries only executions and its results map one to one onto the steps. */
    for (int i = 0; sd_pool_uses_prepared(db->pool) && i < nsteps; i++) {
        enum sd_rc rc = ensure_prepared(db, steps[i].stmt);
        if (rc != SD_OK)
            return rc;
    }
    if (!PQenterPipelineMode(db->conn))
        return db_fail(db, NULL, "pipeline");
    int sent = 0;
    while (sent < nsteps && pipe_send(db, &steps[sent]))
        sent++;
    enum sd_rc rc;
    if (sent < nsteps || !PQpipelineSync(db->conn)) {
        rc = db_fail(db, NULL, "pipeline send");
        sd_db_disconnect(db); /* the stream is in an unknown state: start afresh */
        return rc;
    }
    rc = pipe_collect(db, steps, nsteps);
    if (!PQexitPipelineMode(db->conn))
        sd_db_disconnect(db);
    return rc;
}

enum sd_rc sd_db_exec_script(struct sd_db *db, const char *sql)
{
    PGresult *res = PQexec(db->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    enum sd_rc rc = SD_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = db_fail(db, res, "script");
    PQclear(res);
    return rc;
}

const char *sd_db_last_sqlstate(const struct sd_db *db)
{
    return db->sqlstate;
}

const char *sd_db_last_error(const struct sd_db *db)
{
    return db->errmsg;
}

PGconn *sd_db_conn(struct sd_db *db)
{
    return db->conn;
}

enum sd_rc sd_db_transaction_on(struct sd_db *db, sd_tx_fn fn, void *ctx)
{
    enum sd_rc rc = SD_ERR_INTERNAL;
    for (int attempt = 0; attempt < 3; attempt++) {
        rc = sd_db_exec_script(db, "BEGIN");
        if (rc != SD_OK)
            return rc;
        rc = fn(db, ctx);
        if (rc == SD_OK)
            rc = sd_db_exec_script(db, "COMMIT");
        if (rc == SD_OK)
            return SD_OK;
        if (PQstatus(db->conn) == CONNECTION_OK && PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
            PGresult *r = PQexec(db->conn, "ROLLBACK");
            PQclear(r);
        }
        if (rc != SD_ERR_DB_RETRY)
            return rc;
    }
    return rc;
}

enum sd_rc sd_db_transaction(struct sd_pool *pool, sd_tx_fn fn, void *ctx)
{
    struct sd_db *db = NULL;
    enum sd_rc rc = sd_pool_acquire(pool, &db);
    if (rc != SD_OK)
        return rc;
    rc = sd_db_transaction_on(db, fn, ctx);
    sd_pool_release(pool, db);
    return rc;
}
