/* KPIs over a period and the workspace's KPI targets (one jsonb row per workspace). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segmentd/store_kpis.h"
#include "store_util.h"

/* One scan of the orders of [prev_from, to) (orders_by_time), each joined to its customer for the
 * kind and first_purchase_at, materialised once and read by three small aggregates.
 * A customer's first order ever is their earliest non-cancelled one, ties broken by order_id.
 * first_purchase_at is that earliest time (every writer keeps it, cancellations included), so an
 * order of the period is the first exactly when it was placed at first_purchase_at and has the
 * smallest order_id of the customer's orders at that instant: no look at older history, and only
 * those few candidates are sorted. Amounts are summed as cents (bigint), exactly.
 * $1 ws, $2 kind, $3 prev_from, $4 from, $5 to. Columns: orders, revenue, first-order revenue,
 * buyers, buyers of the previous period, buyers of both. */
static const struct sd_stmt kpis_stmt = {
    "kpis",
    "WITH o AS MATERIALIZED ("
    " SELECT o.customer_id, o.order_id, (o.amount * 100)::bigint AS cents,"
    " o.purchased_at >= $4::timestamptz AS cur, o.purchased_at = c.first_purchase_at AS first_at"
    " FROM orders o JOIN customers c ON c.workspace_id = o.workspace_id AND c.id = o.customer_id"
    " WHERE o.workspace_id = $1::bigint AND o.cancelled_at IS NULL"
    " AND o.purchased_at >= $3::timestamptz AND o.purchased_at < $5::timestamptz"
    " AND c.workspace_id = $1::bigint AND c.kind = $2),"
    " firsts AS (SELECT DISTINCT ON (customer_id) cents FROM o WHERE cur AND first_at"
    " ORDER BY customer_id, order_id COLLATE \"C\"),"
    " buyers AS (SELECT bool_or(cur) AS cur, bool_or(NOT cur) AS prev FROM o GROUP BY customer_id)"
    " SELECT t.orders, t.cents, f.cents, b.cur, b.prev, b.kept FROM"
    " (SELECT count(*) AS orders, coalesce(sum(cents), 0) AS cents FROM o WHERE cur) t,"
    " (SELECT coalesce(sum(cents), 0) AS cents FROM firsts) f,"
    " (SELECT count(*) FILTER (WHERE cur) AS cur, count(*) FILTER (WHERE prev) AS prev,"
    " count(*) FILTER (WHERE cur AND prev) AS kept FROM buyers) b",
    5};
static const struct sd_stmt targets_get_stmt = {
    "kpi_targets_get", "SELECT targets::text FROM kpi_targets WHERE workspace_id = $1::bigint", 1};
/* SCALE.md Q5: now() in the VALUES, only EXCLUDED in the SET. */
static const struct sd_stmt targets_put_stmt = {
    "kpi_targets_put",
    "INSERT INTO kpi_targets (workspace_id, targets, updated_at) VALUES ($1::bigint, $2::jsonb, "
    "now()) ON CONFLICT (workspace_id) DO UPDATE SET targets = EXCLUDED.targets, "
    "updated_at = EXCLUDED.updated_at RETURNING targets::text",
    2};

static enum sd_rc read_targets(const PGresult *res, char **targets_json)
{
    *targets_json = NULL;
    if (PQntuples(res) == 0)
        return SD_OK;
    *targets_json = strdup(PQgetvalue(res, 0, 0));
    return *targets_json ? SD_OK : SD_ERR_NOMEM;
}

enum sd_rc sd_store_kpis(struct sd_db *db, long long ws, enum sd_kind kind,
                         const struct sd_kpi_period *period, struct sd_kpi_counts *out,
                         char **targets_json)
{
    char w[24], prev_from[40], from[40], to[40];
    snprintf(w, sizeof w, "%lld", ws);
    sd_time_format_us(period->prev_from, prev_from, sizeof prev_from);
    sd_time_format_us(period->from, from, sizeof from);
    sd_time_format_us(period->to, to, sizeof to);
    const char *kpi_params[] = {w, sd_kind_name(kind), prev_from, from, to};
    const char *targets_params[] = {w};
    PGresult *figures = NULL, *targets = NULL;
    struct sd_pipe_step steps[] = {{&kpis_stmt, kpi_params, &figures},
                                   {&targets_get_stmt, targets_params, &targets}};
    *targets_json = NULL;
    memset(out, 0, sizeof *out);
    enum sd_rc rc = sd_db_pipeline(db, steps, (int)SD_ARRAY_LEN(steps));
    if (rc == SD_OK && PQntuples(figures) != 1)
        rc = SD_ERR_INTERNAL;
    if (rc == SD_OK) {
        int64_t *fields[] = {&out->orders, &out->revenue_cents, &out->first_revenue_cents,
                             &out->buyers, &out->prev_buyers,   &out->retained};
        for (int i = 0; i < (int)SD_ARRAY_LEN(fields); i++)
            *fields[i] = strtoll(PQgetvalue(figures, 0, i), NULL, 10);
        rc = read_targets(targets, targets_json);
    }
    PQclear(figures);
    PQclear(targets);
    return rc;
}

enum sd_rc sd_store_kpi_targets_get(struct sd_db *db, long long ws, char **targets_json)
{
    char w[24];
    snprintf(w, sizeof w, "%lld", ws);
    const char *params[] = {w};
    PGresult *res = NULL;
    *targets_json = NULL;
    enum sd_rc rc = sd_db_exec(db, &targets_get_stmt, params, &res);
    if (rc == SD_OK)
        rc = read_targets(res, targets_json);
    PQclear(res);
    return rc;
}

enum sd_rc sd_store_kpi_targets_put(struct sd_db *db, long long ws, const char *targets_json,
                                    char **stored)
{
    char w[24];
    snprintf(w, sizeof w, "%lld", ws);
    const char *params[] = {w, targets_json};
    PGresult *res = NULL;
    *stored = NULL;
    enum sd_rc rc = sd_db_exec(db, &targets_put_stmt, params, &res);
    if (rc == SD_OK)
        rc = read_targets(res, stored);
    if (rc == SD_OK && *stored == NULL)
        rc = SD_ERR_INTERNAL;
    PQclear(res);
    return rc;
}
