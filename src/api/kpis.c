/* /v1/kpis: the repeat-sales figures of a period beside the shop's written goals, and
 * /v1/kpi-targets: those goals (SPEC §2 "KPIs"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "input.h"
#include "period.h"
#include "segmentd/matrix_cache.h"
#include "segmentd/store_customers.h"
#include "segmentd/store_kpis.h"
#include "segmentd/util.h"

/* 1900-01-01T00:00:00Z: no order is older (purchased_at is read with years 1900–9999), so a
 * previous period reaching further back is cut here, and its start stays a valid time. */
#define EARLIEST_US (INT64_C(-2208988800) * 1000000)
#define DEFAULT_ACTIVE_SHARE 0.30
/* Counts and amounts beyond any shop; keeps every stored target readable as a JSON integer. */
#define TARGET_MAX 1e15

/* Every KPI a target may be set for, in the order GET /v1/kpis lists them; `ratio`: 0 to 1. */
static const struct {
    const char *name;
    bool ratio;
} KPIS[] = {
    {"orders", false},
    {"revenue", false},
    {"customers", false},
    {"avg_order_value", false},
    {"purchase_frequency", false},
    {"repeat_sales_share", true},
    {"retention_rate", true},
    {"churn_rate", true},
    {"active_share", true},
};
#define NKPIS (sizeof KPIS / sizeof KPIS[0])

/* ---- rendering ---- */

/* http_reply_json prints reals with 17 significant digits (0.3 becomes 0.29999999999999999);
 * ratios rounded to 4 decimals and targets as the client wrote them read better with 15, which
 * is still every such value exactly. */
static void reply_json(struct sd_request *req, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(doc);
    if (text == NULL) {
        http_reply_rc(req, SD_ERR_NOMEM);
        return;
    }
    http_reply_bytes(req, 200, "application/json", text, strlen(text));
    free(text);
}

static json_t *money(int64_t cents)
{
    char buf[32];
    sd_amount_format(cents, buf, sizeof buf);
    return json_string(buf);
}

static double round4(double x)
{
    return round(x * 10000.0) / 10000.0;
}

/* num / den rounded to 4 decimals, or null when den is 0. */
static json_t *quotient(int64_t num, int64_t den)
{
    return den ? json_real(round4((double)num / (double)den)) : json_null();
}

/* The stored targets (NULL: never set) as an object in KPIS order (new reference). */
static json_t *render_targets(const char *stored)
{
    json_t *out = json_object();
    if (stored == NULL) {
        json_object_set_new(out, "active_share", json_real(DEFAULT_ACTIVE_SHARE));
        return out;
    }
    json_t *doc = json_loads(stored, JSON_DECODE_ANY, NULL);
    for (size_t i = 0; i < NKPIS; i++) {
        json_t *v = json_object_get(doc, KPIS[i].name);
        if (json_is_number(v))
            json_object_set(out, KPIS[i].name, v);
    }
    json_decref(doc);
    return out;
}

/* ---- GET /v1/kpis ---- */

/* ?kind= (default b2c); answers 400 itself when bad, as /v1/segments does. */
static bool query_kind(struct sd_request *req, enum sd_kind *kind)
{
    const char *k = http_req_query(req, "kind");
    *kind = SD_KIND_B2C;
    if (k == NULL || sd_kind_parse(k, kind))
        return true;
    http_reply_problem(req, 400, "Query parameter kind must be b2c or b2b.");
    return false;
}

/* active_share exactly as GET /v1/segments computes it: from the cell counters, customers in the
 * first recency band of the matrix in force over customers in one of its cells (rows with an
 * earlier matrix's labels are being moved by a re-segmentation and count in neither). */
static json_t *active_share(const struct sd_matrix *m, const PGresult *counts)
{
    int64_t total = 0, active = 0;
    for (int r = 0; r < PQntuples(counts); r++) {
        int f, c;
        if (!sd_matrix_cell_parse(m, PQgetvalue(counts, r, 0), &f, &c) ||
            sd_axis_find(&m->monetary, PQgetvalue(counts, r, 1)) < 0)
            continue;
        int64_t n = strtoll(PQgetvalue(counts, r, 2), NULL, 10);
        total += n;
        active += c == 0 ? n : 0;
    }
    return quotient(active, total);
}

/* The figures in SPEC order; `active` and `targets` are stolen. */
static json_t *render_kpis(enum sd_kind kind, const struct sd_kpi_period *p,
                           const struct sd_kpi_counts *k, json_t *active, json_t *targets)
{
    char from[40], to[40];
    sd_time_format_us(p->from, from, sizeof from);
    sd_time_format_us(p->to, to, sizeof to);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:I, s:o, s:I}", "kind", sd_kind_name(kind), "from",
                            from, "to", to, "orders", (json_int_t)k->orders, "revenue",
                            money(k->revenue_cents), "customers", (json_int_t)k->buyers);
    json_object_set_new(doc, "avg_order_value",
                        k->orders ? money((k->revenue_cents + k->orders / 2) / k->orders)
                                  : json_null());
    json_object_set_new(doc, "purchase_frequency", quotient(k->orders, k->buyers));
    json_object_set_new(doc, "repeat_sales_share",
                        quotient(k->revenue_cents - k->first_revenue_cents, k->revenue_cents));
    json_t *retention = quotient(k->retained, k->prev_buyers);
    /* churn from the rounded retention, so that the two always add up to 1 */
    json_t *churn =
        json_is_null(retention) ? json_null() : json_real(round4(1.0 - json_real_value(retention)));
    json_object_set_new(doc, "retention_rate", retention);
    json_object_set_new(doc, "churn_rate", churn);
    json_object_set_new(doc, "active_share", active);
    json_object_set_new(doc, "targets", targets);
    return doc;
}

void api_kpis_get(struct sd_request *req)
{
    enum sd_kind kind;
    struct sd_kpi_period period;
    if (!query_kind(req, &kind) || !api_period_parse(req, &period.from, &period.to))
        return;
    /* The previous period of the same length, for retention. */
    period.prev_from = period.from - (period.to - period.from);
    if (period.prev_from < EARLIEST_US)
        period.prev_from = period.from < EARLIEST_US ? period.from : EARLIEST_US;
    struct sd_db *db = http_req_db(req);
    long long ws = http_req_caller(req)->workspace_id;
    struct sd_matrix_set *ms = malloc(sizeof *ms);
    struct sd_kpi_counts counts;
    char *targets = NULL;
    PGresult *cells = NULL;
    enum sd_rc rc = ms ? matrix_cache_get(db, ws, true, false, ms) : SD_ERR_NOMEM;
    if (rc == SD_OK)
        rc = sd_store_kpis(db, ws, kind, &period, &counts, &targets);
    if (rc == SD_OK)
        rc = sd_store_segment_counts(db, ws, kind, &cells);
    if (rc != SD_OK) {
        http_reply_rc(req, rc);
        goto out;
    }
    json_t *doc = render_kpis(kind, &period, &counts, active_share(&ms->m[kind], cells),
                              render_targets(targets));
    reply_json(req, doc);
out:
    PQclear(cells);
    free(targets);
    free(ms);
}

/* ---- GET/PUT /v1/kpi-targets ---- */

void api_kpi_targets_get(struct sd_request *req)
{
    char *targets = NULL;
    enum sd_rc rc =
        sd_store_kpi_targets_get(http_req_db(req), http_req_caller(req)->workspace_id, &targets);
    if (rc != SD_OK)
        http_reply_rc(req, rc);
    else
        reply_json(req, render_targets(targets));
    free(targets);
}

/* The body's targets, checked member by member (new reference; null members are left out). */
static json_t *parse_targets(json_t *body, struct sd_errors *errs)
{
    json_t *out = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        char token[128];
        sd_pointer_escape(key, token, sizeof token);
        size_t i = 0;
        while (i < NKPIS && strcmp(KPIS[i].name, key) != 0)
            i++;
        if (i == NKPIS) {
            sd_errors_add(errs,
                          "unknown KPI (orders, revenue, customers, avg_order_value, "
                          "purchase_frequency, repeat_sales_share, retention_rate, churn_rate, "
                          "active_share)",
                          "/%s", token);
            continue;
        }
        if (json_is_null(v))
            continue; /* no target, as if left out */
        double x = json_is_number(v) ? json_number_value(v) : -1.0;
        if (KPIS[i].ratio && !(x >= 0.0 && x <= 1.0))
            sd_errors_add(errs, "must be a number from 0 to 1", "/%s", token);
        else if (!KPIS[i].ratio && !(x >= 0.0 && x <= TARGET_MAX))
            sd_errors_add(errs, "must be a number from 0 to 1e15", "/%s", token);
        else
            json_object_set(out, key, v);
    }
    return out;
}

void api_kpi_targets_put(struct sd_request *req)
{
    json_t *body = http_req_json(req);
    struct sd_errors errs;
    sd_errors_init(&errs);
    json_t *targets = input_require_object(body, &errs) ? parse_targets(body, &errs) : NULL;
    if (sd_errors_any(&errs)) {
        json_decref(targets);
        http_reply_invalid(req, &errs);
        return;
    }
    char *text = json_dumps(targets, JSON_COMPACT | JSON_REAL_PRECISION(15)), *stored = NULL;
    enum sd_rc rc = text ? sd_store_kpi_targets_put(
                               http_req_db(req), http_req_caller(req)->workspace_id, text, &stored)
                         : SD_ERR_NOMEM;
    json_decref(targets);
    free(text);
    if (rc != SD_OK)
        http_reply_rc(req, rc);
    else
        reply_json(req, render_targets(stored)); /* what a GET now reads */
    free(stored);
}
