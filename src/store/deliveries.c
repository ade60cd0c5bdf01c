/* The delivery log: a campaign's deliveries page by page with their attempts, a customer's
 * recent deliveries, and the manual re-queue of a dead one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segmentd/store_campaigns.h"
#include "segmentd/store_enqueue.h"
#include "store_util.h"

/* The columns of a delivery row, in the order of the SD_DLV_* indices. */
#define DELIVERY_SELECT                                                                            \
    "SELECT d.id, d.campaign_id, cu.external_id, d.msg_id, d.event_type, d.from_cell, "            \
    "d.to_cell, d.occasion, d.status, d.reason, d.attempts, " US("d.due_at") ", " US(              \
        "d.created_at") ", " US("d.delivered_at") ", d.last_status, d.last_error, k.name "         \
                                                  "FROM deliveries d JOIN customers cu ON "        \
                                                  "cu.workspace_id = d.workspace_id AND cu.id = "  \
                                                  "d.customer_id JOIN campaigns k ON "             \
                                                  "k.workspace_id = d.workspace_id AND k.id = "    \
                                                  "d.campaign_id "

static const struct sd_stmt campaign_exists_stmt = {
    "delivery_campaign_exists",
    "SELECT 1 FROM campaigns WHERE workspace_id = $1::bigint AND id = $2::bigint", 2};
/* Keyset pages, newest first: (created_at, id) below the cursor ('infinity', 0 on the first
 * page). A separate statement for the status filter keeps both plans a plain index range. */
static const struct sd_stmt page_stmt = {
    "delivery_page",
    DELIVERY_SELECT "WHERE d.workspace_id = $1::bigint AND d.campaign_id = $2::bigint "
                    "AND (d.created_at, d.id) < ($3::timestamptz, $4::bigint) "
                    "ORDER BY d.created_at DESC, d.id DESC LIMIT $5::int",
    5};
static const struct sd_stmt page_status_stmt = {
    "delivery_page_status",
    DELIVERY_SELECT "WHERE d.workspace_id = $1::bigint AND d.campaign_id = $2::bigint "
                    "AND (d.created_at, d.id) < ($3::timestamptz, $4::bigint) AND d.status = $6 "
                    "ORDER BY d.created_at DESC, d.id DESC LIMIT $5::int",
    6};
static const struct sd_stmt one_stmt = {
    "delivery_one", DELIVERY_SELECT "WHERE d.workspace_id = $1::bigint AND d.id = $2::bigint", 2};
static const struct sd_stmt by_customer_stmt = {
    "delivery_by_customer",
    DELIVERY_SELECT "WHERE d.workspace_id = $1::bigint AND d.customer_id = $2::bigint "
                    "ORDER BY d.created_at DESC, d.id DESC LIMIT $3::int",
    3};
static const struct sd_stmt attempts_stmt = {
    "delivery_attempts",
    "SELECT delivery_id, " US("at") ", status_code, latency_ms, error FROM delivery_attempts "
                                    "WHERE workspace_id = $1::bigint AND delivery_id = "
                                    "ANY ($2::bigint[]) ORDER BY delivery_id, at, id",
    2};
/* The retry: lock, check, re-queue, wake the dispatchers. */
static const struct sd_stmt retry_lock_stmt = {
    "delivery_retry_lock",
    "SELECT status, coalesce(lease_until > now(), false) FROM deliveries "
    "WHERE workspace_id = $1::bigint AND id = $2::bigint FOR UPDATE",
    2};
static const struct sd_stmt retry_stmt = {
    "delivery_retry",
    "UPDATE deliveries SET status = 'pending', attempts = 0, due_at = now(), lease_owner = NULL, "
    "lease_until = NULL, reason = NULL, updated_at = now() "
    "WHERE workspace_id = $1::bigint AND id = $2::bigint",
    2};
static const struct sd_stmt notify_stmt = {"delivery_notify", "SELECT pg_notify($1, '')", 1};

/* The attempts of the rows of `rows` (column SD_DLV_ID), in one query. */
static enum sd_rc read_attempts(struct sd_db *db, const char *w, const PGresult *rows,
                                PGresult **attempts)
{
    struct sd_buf ids;
    sd_buf_init(&ids, 64 * 1024);
    enum sd_rc rc = sd_buf_append(&ids, "{", 1);
    for (int r = 0; rc == SD_OK && r < PQntuples(rows); r++)
        rc = sd_buf_printf(&ids, "%s%s", r ? "," : "", PQgetvalue(rows, r, SD_DLV_ID));
    if (rc == SD_OK)
        rc = sd_buf_append(&ids, "}", 1);
    const char *params[] = {w, ids.data};
    if (rc == SD_OK)
        rc = sd_db_exec(db, &attempts_stmt, params, attempts);
    sd_buf_free(&ids);
    return rc;
}

enum sd_rc sd_store_delivery_page(struct sd_db *db, long long ws, long long campaign_id,
                                  const char *status, const struct sd_delivery_cursor *after,
                                  int limit, PGresult **rows, PGresult **attempts)
{
    char w[24], c[24], at[40] = "infinity", id[24] = "0", l[16];
    snprintf(w, sizeof w, "%lld", ws);
    snprintf(c, sizeof c, "%lld", campaign_id);
    snprintf(l, sizeof l, "%d", limit);
    if (after != NULL && after->set) {
        sd_time_format_us(after->created_us, at, sizeof at);
        snprintf(id, sizeof id, "%lld", after->id);
    }
    const char *exists_params[] = {w, c};
    const char *page_params[] = {w, c, at, id, l, status};
    PGresult *exists = NULL;
    struct sd_pipe_step steps[] = {
        {&campaign_exists_stmt, exists_params, &exists},
        {status ? &page_status_stmt : &page_stmt, page_params, rows},
    };
    *attempts = NULL;
    enum sd_rc rc = sd_db_pipeline(db, steps, (int)SD_ARRAY_LEN(steps));
    if (rc == SD_OK && PQntuples(exists) == 0)
        rc = SD_ERR_NOT_FOUND;
    PQclear(exists);
    if (rc == SD_OK)
        rc = read_attempts(db, w, *rows, attempts);
    if (rc != SD_OK) {
        PQclear(*rows);
        *rows = NULL;
    }
    return rc;
}

struct retry_ctx {
    const char *w, *id;
    PGresult **row, **attempts;
};

static enum sd_rc retry_tx(struct sd_db *db, void *arg)
{
    struct retry_ctx *c = arg;
    /* A serialization retry runs this again: drop what the failed round read. */
    PQclear(*c->row);
    PQclear(*c->attempts);
    *c->row = *c->attempts = NULL;
    const char *params[] = {c->w, c->id};
    PGresult *lock = NULL;
    enum sd_rc rc = sd_db_exec(db, &retry_lock_stmt, params, &lock);
    if (rc != SD_OK)
        return rc;
    if (PQntuples(lock) == 0)
        rc = SD_ERR_NOT_FOUND;
    else if ((strcmp(PQgetvalue(lock, 0, 0), "dead") != 0 &&
              strcmp(PQgetvalue(lock, 0, 0), "failed") != 0) ||
             PQgetvalue(lock, 0, 1)[0] == 't')
        rc = SD_ERR_CONFLICT;
    PQclear(lock);
    if (rc != SD_OK)
        return rc;
    const char *notify[] = {SD_OUTBOX_CHANNEL};
    struct sd_pipe_step steps[] = {
        {&retry_stmt, params, NULL}, {&notify_stmt, notify, NULL}, {&one_stmt, params, c->row}};
    rc = sd_db_pipeline(db, steps, (int)SD_ARRAY_LEN(steps));
    if (rc == SD_OK && PQntuples(*c->row) != 1)
        rc = SD_ERR_INTERNAL;
    if (rc == SD_OK)
        rc = read_attempts(db, c->w, *c->row, c->attempts);
    return rc;
}

enum sd_rc sd_store_delivery_retry(struct sd_db *db, long long ws, long long id, PGresult **row,
                                   PGresult **attempts)
{
    char w[24], i[24];
    snprintf(w, sizeof w, "%lld", ws);
    snprintf(i, sizeof i, "%lld", id);
    *row = *attempts = NULL;
    struct retry_ctx c = {w, i, row, attempts};
    enum sd_rc rc = sd_db_transaction_on(db, retry_tx, &c);
    if (rc == SD_OK) {
        sd_store_enqueued(); /* committed: this process's dispatcher may look at once */
    } else {
        PQclear(*row);
        PQclear(*attempts);
        *row = *attempts = NULL;
    }
    return rc;
}

enum sd_rc sd_store_customer_deliveries(struct sd_db *db, long long ws, long long customer_id,
                                        int limit, PGresult **rows)
{
    char w[24], c[24], l[16];
    snprintf(w, sizeof w, "%lld", ws);
    snprintf(c, sizeof c, "%lld", customer_id);
    snprintf(l, sizeof l, "%d", limit);
    const char *params[] = {w, c, l};
    return sd_db_exec(db, &by_customer_stmt, params, rows);
}
