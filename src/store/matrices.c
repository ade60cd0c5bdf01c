#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segmentd/store_matrices.h"

static const struct sd_stmt current_stmt = {
    "matrix_current",
    "SELECT definition::text, version FROM matrices WHERE workspace_id = $1::bigint "
    "AND kind = $2 ORDER BY version DESC LIMIT 1",
    2};
static const struct sd_stmt versions_stmt = {
    "matrix_versions_now",
    "SELECT kind, max(version) FROM matrices WHERE workspace_id = $1::bigint GROUP BY kind", 1};
/* The advisory lock serialises concurrent PUTs of one (workspace, kind): without it two could
 * compute the same next version and one would fail on the primary key. */
static const struct sd_stmt lock_stmt = {
    "matrix_lock",
    "SELECT pg_advisory_xact_lock(1397049166, (($1::bigint * 2 + $2::int) % 2147483647)::int)", 2};
/* Writers that classify (purchases, cancellations, imports) hold this lock shared from before
 * they read the matrix versions until they commit; a new version waits for them, so none of them
 * can commit a placement made with the old matrix after the re-segmentation has passed by. */
static const struct sd_stmt workspace_lock_stmt = {
    "matrix_workspace_lock",
    "SELECT pg_advisory_xact_lock(1397049167, ($1::bigint % 2147483647)::int)", 1};
/* Waiting for the exclusive lock queues every new purchase of the workspace behind it: wait at
 * most this long (a long import holds the lock shared), then give up and let the client retry. */
static const struct sd_stmt lock_timeout_stmt = {"matrix_lock_timeout",
                                                 "SET LOCAL lock_timeout = '2s'", 0};
static const struct sd_stmt insert_stmt = {
    "matrix_insert",
    "INSERT INTO matrices (workspace_id, kind, version, definition) "
    "SELECT $1::bigint, $2, coalesce(max(version), 0) + 1, $3::jsonb FROM matrices "
    "WHERE workspace_id = $1::bigint AND kind = $2 "
    "RETURNING version, (extract(epoch FROM created_at) * 1000000)::bigint",
    3};
static const struct sd_stmt history_stmt = {
    "matrix_history",
    "SELECT version, definition::text, (extract(epoch FROM created_at) * 1000000)::bigint "
    "FROM matrices WHERE workspace_id = $1::bigint AND kind = $2 ORDER BY version DESC",
    2};

static void ws_text(long long ws, char out[24])
{
    snprintf(out, 24, "%lld", ws);
}

enum sd_rc sd_store_matrix_current(struct sd_db *db, long long ws, enum sd_kind kind,
                                   char **definition, int *version)
{
    char w[24];
    ws_text(ws, w);
    const char *params[] = {w, sd_kind_name(kind)};
    PGresult *res = NULL;
    enum sd_rc rc = sd_db_exec(db, &current_stmt, params, &res);
    if (rc != SD_OK)
        return rc;
    if (PQntuples(res) == 0) {
        rc = SD_ERR_NOT_FOUND;
    } else {
        *definition = strdup(PQgetvalue(res, 0, 0));
        *version = atoi(PQgetvalue(res, 0, 1));
        rc = *definition ? SD_OK : SD_ERR_NOMEM;
    }
    PQclear(res);
    return rc;
}

enum sd_rc sd_store_matrix_versions_now(struct sd_db *db, long long ws, int versions[SD_KIND_COUNT])
{
    char w[24];
    ws_text(ws, w);
    const char *params[] = {w};
    PGresult *res = NULL;
    enum sd_rc rc = sd_db_exec(db, &versions_stmt, params, &res);
    if (rc != SD_OK)
        return rc;
    for (int k = 0; k < SD_KIND_COUNT; k++)
        versions[k] = 0;
    for (int r = 0; r < PQntuples(res); r++) {
        enum sd_kind kind;
        if (sd_kind_parse(PQgetvalue(res, r, 0), &kind))
            versions[kind] = atoi(PQgetvalue(res, r, 1));
    }
    PQclear(res);
    return SD_OK;
}

enum sd_rc sd_store_matrix_insert(struct sd_db *db, long long ws, enum sd_kind kind,
                                  const char *definition, int *version, int64_t *created_at_us)
{
    char w[24], k[4];
    ws_text(ws, w);
    snprintf(k, sizeof k, "%d", (int)kind);
    const char *lock_params[] = {w, k}, *ws_params[] = {w};
    enum sd_rc rc = sd_db_exec(db, &lock_stmt, lock_params, NULL);
    if (rc == SD_OK)
        rc = sd_db_exec(db, &lock_timeout_stmt, NULL, NULL);
    if (rc == SD_OK)
        rc = sd_db_exec(db, &workspace_lock_stmt, ws_params, NULL);
    if (rc != SD_OK)
        return rc;
    const char *params[] = {w, sd_kind_name(kind), definition};
    PGresult *res = NULL;
    rc = sd_db_exec(db, &insert_stmt, params, &res);
    if (rc != SD_OK)
        return rc;
    *version = atoi(PQgetvalue(res, 0, 0));
    *created_at_us = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    return SD_OK;
}

enum sd_rc sd_store_matrix_history(struct sd_db *db, long long ws, enum sd_kind kind,
                                   PGresult **res)
{
    char w[24];
    ws_text(ws, w);
    const char *params[] = {w, sd_kind_name(kind)};
    return sd_db_exec(db, &history_stmt, params, res);
}

static const struct sd_stmt gaps_stmt = {
    "history_gaps",
    "SELECT count(*), coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY gap), 0), "
    "coalesce(percentile_cont(0.9) WITHIN GROUP (ORDER BY gap), 0) FROM ("
    " SELECT extract(epoch FROM o.purchased_at - lag(o.purchased_at) OVER "
    "  (PARTITION BY o.customer_id ORDER BY o.purchased_at)) AS gap"
    " FROM orders o JOIN customers c ON c.workspace_id = $1::bigint AND c.id = o.customer_id"
    " WHERE o.workspace_id = $1::bigint AND c.kind = $2 AND o.cancelled_at IS NULL) g "
    "WHERE gap > 0",
    2};
static const struct sd_stmt totals_stmt = {
    "history_totals",
    "SELECT count(*), coalesce(sum(purchases), 0), "
    "coalesce(percentile_disc(0.5) WITHIN GROUP (ORDER BY purchases), 0), "
    "coalesce(percentile_disc(0.9) WITHIN GROUP (ORDER BY purchases), 0), "
    "coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY revenue_cents), 0), "
    "coalesce(percentile_cont(0.9) WITHIN GROUP (ORDER BY revenue_cents), 0) "
    "FROM customers WHERE workspace_id = $1::bigint AND kind = $2 AND purchases > 0",
    2};

enum sd_rc sd_store_history_figures(struct sd_db *db, long long ws, enum sd_kind kind,
                                    struct sd_history_figures *out)
{
    char w[24];
    ws_text(ws, w);
    const char *params[] = {w, sd_kind_name(kind)};
    PGresult *gaps = NULL, *totals = NULL;
    enum sd_rc rc = sd_db_exec(db, &gaps_stmt, params, &gaps);
    if (rc == SD_OK)
        rc = sd_db_exec(db, &totals_stmt, params, &totals);
    if (rc == SD_OK) {
        out->intervals = strtoll(PQgetvalue(gaps, 0, 0), NULL, 10);
        out->gap_p50_s = strtod(PQgetvalue(gaps, 0, 1), NULL);
        out->gap_p90_s = strtod(PQgetvalue(gaps, 0, 2), NULL);
        out->customers = strtoll(PQgetvalue(totals, 0, 0), NULL, 10);
        out->orders = strtoll(PQgetvalue(totals, 0, 1), NULL, 10);
        out->purchases_p50 = strtod(PQgetvalue(totals, 0, 2), NULL);
        out->purchases_p90 = strtod(PQgetvalue(totals, 0, 3), NULL);
        out->revenue_p50_cents = strtod(PQgetvalue(totals, 0, 4), NULL);
        out->revenue_p90_cents = strtod(PQgetvalue(totals, 0, 5), NULL);
    }
    PQclear(gaps);
    PQclear(totals);
    return rc;
}
