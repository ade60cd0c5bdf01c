/* /v1/matrices/{kind}: the matrix of a kind, its history, a PUT that re-segments everyone, and
 * bounds suggested from the shop's own history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "segmentd/matrix_cache.h"
#include "render.h"
#include "segmentd/core_suggest.h"
#include "segmentd/matrix_json.h"
#include "segmentd/store_customers.h"
#include "segmentd/store_matrices.h"
#include "segmentd/util.h"

#define RESEGMENT_BATCH 20000

/* The {kind} of the path; answers 404 itself for anything but b2c / b2b. */
static bool path_kind(struct sd_request *req, enum sd_kind *kind)
{
    if (sd_kind_parse(http_req_param(req, 0), kind))
        return true;
    http_reply_problem(req, 404, "Customer kinds are b2c and b2b.");
    return false;
}

static json_t *render_matrix(const struct sd_matrix *m, enum sd_kind kind, int version)
{
    json_t *doc = sd_matrix_to_json(m);
    json_object_set_new(doc, "kind", json_string(sd_kind_name(kind)));
    json_object_set_new(doc, "version", json_integer(version));
    return doc;
}

void api_matrices_get(struct sd_request *req)
{
    enum sd_kind kind;
    if (!path_kind(req, &kind))
        return;
    struct sd_matrix_set *ms = malloc(sizeof *ms);
    enum sd_rc rc =
        ms ? matrix_cache_get(http_req_db(req), http_req_caller(req)->workspace_id, true, false, ms)
           : SD_ERR_NOMEM;
    if (rc == SD_OK)
        http_reply_json(req, 200, render_matrix(&ms->m[kind], kind, ms->version[kind]));
    else
        http_reply_rc(req, rc);
    free(ms);
}

struct put_ctx {
    enum sd_kind kind;
    long long ws;
    const char *definition;
    int version;
    int64_t created_at;
};

static enum sd_rc insert_tx(struct sd_db *db, void *arg)
{
    struct put_ctx *p = arg;
    return sd_store_matrix_insert(db, p->ws, p->kind, p->definition, &p->version, &p->created_at);
}

void api_matrices_put(struct sd_request *req)
{
    enum sd_kind kind;
    if (!path_kind(req, &kind))
        return;
    /* A matrix change is silent unless asked: campaigns would otherwise fire for everyone a new
     * bound moves (SPEC §2). */
    const char *q_notify = http_req_query(req, "notify");
    bool notify = q_notify != NULL && strcmp(q_notify, "true") == 0;
    if (q_notify != NULL && !notify && strcmp(q_notify, "false") != 0) {
        http_reply_problem(req, 400, "Query parameter notify must be true or false.");
        return;
    }
    struct sd_matrix *m = malloc(sizeof *m);
    struct sd_errors *errs = malloc(sizeof *errs);
    char *definition = NULL;
    if (m == NULL || errs == NULL) {
        http_reply_rc(req, SD_ERR_NOMEM);
        goto out;
    }
    sd_errors_init(errs);
    /* What GET answers can be PUT back: its read-only members are dropped (kind must agree). */
    json_t *body = http_req_json(req);
    json_t *given_kind = json_is_object(body) ? json_object_get(body, "kind") : NULL;
    if (given_kind != NULL && !(json_is_string(given_kind) &&
                                strcmp(json_string_value(given_kind), sd_kind_name(kind)) == 0))
        sd_errors_add(errs, "must match the kind of the path", "/kind");
    if (json_is_object(body)) {
        static const char *const read_only[] = {"kind", "version", "moved", "created_at"};
        for (size_t i = 0; i < sizeof read_only / sizeof read_only[0]; i++)
            json_object_del(body, read_only[i]);
    }
    if (!sd_matrix_from_json(body, m, errs) || sd_errors_any(errs)) {
        http_reply_invalid(req, errs);
        goto out;
    }
    json_t *canonical = sd_matrix_to_json(m);
    definition = json_dumps(canonical, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(canonical);
    struct put_ctx p = {
        .kind = kind, .ws = http_req_caller(req)->workspace_id, .definition = definition};
    struct sd_db *db = http_req_db(req);
    /* The version commits first: from then on every ingest classifies with it, and the batches
     * below move everyone else. */
    enum sd_rc rc = definition ? sd_db_transaction_on(db, insert_tx, &p) : SD_ERR_NOMEM;
    matrix_cache_forget(p.ws);
    long long moved = 0;
    if (rc == SD_OK)
        rc =
            sd_store_resegment(db, p.ws, kind, m, "matrix_change", notify, RESEGMENT_BATCH, &moved);
    if (rc != SD_OK) {
        http_reply_rc(req, rc);
        goto out;
    }
    json_t *doc = render_matrix(m, kind, p.version);
    json_object_set_new(doc, "moved", json_integer(moved));
    json_object_set_new(doc, "created_at", render_time(p.created_at / SD_US_PER_SECOND));
    http_reply_json(req, 200, doc);
out:
    free(definition);
    free(errs);
    free(m);
}

void api_matrices_versions(struct sd_request *req)
{
    enum sd_kind kind;
    if (!path_kind(req, &kind))
        return;
    PGresult *res = NULL;
    enum sd_rc rc =
        sd_store_matrix_history(http_req_db(req), http_req_caller(req)->workspace_id, kind, &res);
    if (rc != SD_OK) {
        http_reply_rc(req, rc);
        return;
    }
    json_t *items = json_array();
    for (int r = 0; r < PQntuples(res); r++) {
        json_t *doc = json_loads(PQgetvalue(res, r, 1), 0, NULL);
        json_t *item =
            json_pack("{s:i, s:o, s:o}", "version", atoi(PQgetvalue(res, r, 0)), "created_at",
                      render_time(strtoll(PQgetvalue(res, r, 2), NULL, 10) / SD_US_PER_SECOND),
                      "matrix", doc ? doc : json_null());
        json_array_append_new(items, item);
    }
    PQclear(res);
    http_reply_json(req, 200, json_pack("{s:s, s:o}", "kind", sd_kind_name(kind), "items", items));
}

static json_t *render_figures(const struct sd_history_figures *f)
{
    char p50[32], p90[32];
    sd_amount_format((int64_t)f->revenue_p50_cents, p50, sizeof p50);
    sd_amount_format((int64_t)f->revenue_p90_cents, p90, sizeof p90);
    return json_pack("{s:I, s:I, s:{s:I, s:f, s:f}, s:{s:f, s:f}, s:{s:s, s:s}}", "customers",
                     (json_int_t)f->customers, "orders", (json_int_t)f->orders, "repeat_intervals",
                     "count", (json_int_t)f->intervals, "median_days", f->gap_p50_s / 86400.0,
                     "p90_days", f->gap_p90_s / 86400.0, "purchases_per_customer", "median",
                     f->purchases_p50, "p90", f->purchases_p90, "revenue_per_customer", "median",
                     p50, "p90", p90);
}

void api_matrices_suggestion(struct sd_request *req)
{
    enum sd_kind kind;
    if (!path_kind(req, &kind))
        return;
    struct sd_history_figures f = {0};
    enum sd_rc rc =
        sd_store_history_figures(http_req_db(req), http_req_caller(req)->workspace_id, kind, &f);
    if (rc != SD_OK) {
        http_reply_rc(req, rc);
        return;
    }
    struct sd_matrix *m = malloc(sizeof *m);
    if (m == NULL) {
        http_reply_rc(req, SD_ERR_NOMEM);
        return;
    }
    struct sd_suggestion_basis basis;
    sd_matrix_suggest(kind, &f, m, &basis);
    json_t *doc = json_pack(
        "{s:s, s:o, s:o, s:{s:s, s:s, s:s}, s:s}", "kind", sd_kind_name(kind), "matrix",
        sd_matrix_to_json(m), "figures", render_figures(&f), "basis", "recency",
        basis.recency ? "history" : "preset", "frequency", basis.frequency ? "history" : "preset",
        "monetary", basis.monetary ? "history" : "preset", "method",
        "recency: median and 90th percentile of the gaps between a customer's consecutive "
        "purchases; frequency: 90th percentile of purchases per customer; monetary: median and "
        "90th percentile of customer totals. Axes with fewer than 20 samples keep the preset.");
    free(m);
    http_reply_json(req, 200, doc);
}
