/* Change sets: classify with the core, then write rows, transitions and counter deltas. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "pgarray.h"
#include "store_util.h"
#include "segmentd/store_customers.h"
#include "segmentd/store_enqueue.h"

#define ARRAY_MAX (64 * 1024 * 1024)

const struct sd_stmt sd_stmt_customers_lock = {
    "customers_lock",
    "SELECT id, external_id, kind, purchases, revenue_cents, " US("first_purchase_at") ", " US(
        "last_purchase_at") ", coalesce(cell, ''), coalesce(monetary, "
                            "''), " US("cell_since") " "
                                                     "FROM customers "
                                                     "WHERE "
                                                     "workspace_id = "
                                                     "$1::bigint "
                                                     "AND external_id "
                                                     "= "
                                                     "ANY($2::text[]) "
                                                     "ORDER BY "
                                                     "external_id FOR "
                                                     "UPDATE",
    2};

static const struct sd_stmt update_stmt = {
    "changes_update",
    "UPDATE customers c SET kind = u.kind, purchases = u.purchases, revenue_cents = u.revenue, "
    "first_purchase_at = u.first_at, last_purchase_at = u.last_at, cell = u.cell, "
    "monetary = u.monetary, cell_since = u.cell_since, updated_at = now() "
    "FROM unnest($2::bigint[], $3::text[], $4::int[], $5::bigint[], $6::timestamptz[], "
    "$7::timestamptz[], $8::text[], $9::text[], $10::timestamptz[]) "
    "AS u(id, kind, purchases, revenue, first_at, last_at, cell, monetary, cell_since) "
    "WHERE c.workspace_id = $1::bigint AND c.id = u.id",
    10};

static const struct sd_stmt transitions_stmt = {
    "changes_transitions",
    "INSERT INTO transitions (workspace_id, customer_id, kind, from_cell, to_cell, at, reason) "
    "SELECT $1::bigint, u.id, u.kind, u.from_cell, u.to_cell, u.at, $7 "
    "FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) "
    "AS u(id, kind, from_cell, to_cell, at)",
    7};

/* Counter deltas go to one random stripe of 16 (TRAPS.md: hot counter rows), rows in key order
 * so that two writers never wait on each other crosswise. */
static const struct sd_stmt counts_stmt = {
    "changes_counts",
    "INSERT INTO cell_counts AS cc (workspace_id, kind, cell, monetary, stripe, customers, "
    "orders, revenue_cents) "
    "SELECT $1::bigint, u.kind, u.cell, u.monetary, $2::smallint, u.customers, u.orders, "
    "u.revenue FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], "
    "$8::bigint[]) AS u(kind, cell, monetary, customers, orders, revenue) "
    "ORDER BY u.kind, u.cell, u.monetary "
    "ON CONFLICT (workspace_id, kind, cell, monetary, stripe) DO UPDATE SET "
    "customers = cc.customers + EXCLUDED.customers, orders = cc.orders + EXCLUDED.orders, "
    "revenue_cents = cc.revenue_cents + EXCLUDED.revenue_cents",
    8};

void sd_customer_state_read(const PGresult *res, int row, struct sd_customer_state *out)
{
    memset(out, 0, sizeof *out);
    out->id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
    snprintf(out->external_id, sizeof out->external_id, "%s", PQgetvalue(res, row, 1));
    if (!sd_kind_parse(PQgetvalue(res, row, 2), &out->kind))
        out->kind = SD_KIND_B2C;
    out->purchases = strtoll(PQgetvalue(res, row, 3), NULL, 10);
    out->revenue_cents = strtoll(PQgetvalue(res, row, 4), NULL, 10);
    out->first_purchase_at = pga_read_us(PQgetvalue(res, row, 5));
    out->last_purchase_at = pga_read_us(PQgetvalue(res, row, 6));
    snprintf(out->cell, sizeof out->cell, "%s", PQgetvalue(res, row, 7));
    snprintf(out->monetary, sizeof out->monetary, "%s", PQgetvalue(res, row, 8));
    out->cell_since = pga_read_us(PQgetvalue(res, row, 9));
}

void sd_change_init(struct sd_change *c, const struct sd_customer_state *before)
{
    memset(c, 0, sizeof *c);
    c->before = *before;
    c->kind = before->kind;
    c->purchases = before->purchases;
    c->revenue_cents = before->revenue_cents;
    c->first_purchase_at = before->first_purchase_at;
    c->last_purchase_at = before->last_purchase_at;
}

void sd_changes_classify(const struct sd_matrix matrices[SD_KIND_COUNT], struct sd_change *changes,
                         size_t n, int64_t now)
{
    for (size_t i = 0; i < n; i++) {
        struct sd_change *c = &changes[i];
        const struct sd_matrix *m = &matrices[c->kind];
        struct sd_facts facts = {c->purchases, c->revenue_cents, c->last_purchase_at};
        sd_matrix_classify(m, &facts, now, &c->placement);
        sd_matrix_cell_key(m, c->placement.freq, c->placement.rec, c->cell);
        if (c->placement.mon >= 0)
            snprintf(c->monetary, sizeof c->monetary, "%s", m->monetary.labels[c->placement.mon]);
        else
            c->monetary[0] = '\0';
        const struct sd_customer_state *b = &c->before;
        c->moved = strcmp(c->cell, b->cell) != 0 || (c->kind != b->kind && c->cell[0] != '\0');
        c->dirty = c->moved || strcmp(c->monetary, b->monetary) != 0 || c->kind != b->kind ||
                   c->purchases != b->purchases || c->revenue_cents != b->revenue_cents ||
                   c->first_purchase_at != b->first_purchase_at ||
                   c->last_purchase_at != b->last_purchase_at;
    }
}

int64_t sd_customer_next_change(const struct sd_matrix *m, const struct sd_customer_state *s)
{
    int freq, rec;
    if (s->cell[0] == '\0' || !sd_matrix_cell_parse(m, s->cell, &freq, &rec))
        return 0;
    return rec < m->recency.nbands - 1 ? s->last_purchase_at + m->recency.bounds[rec] : 0;
}

/* ---- counter deltas ---- */

struct delta {
    enum sd_kind kind;
    const char *cell, *monetary;
    int64_t customers, orders, revenue;
};

static void delta_add(struct delta *d, size_t *nd, enum sd_kind kind, const char *cell,
                      const char *mon, int64_t sign, int64_t orders, int64_t revenue)
{
    if (cell[0] == '\0')
        return;
    for (size_t i = 0; i < *nd; i++) {
        if (d[i].kind == kind && strcmp(d[i].cell, cell) == 0 && strcmp(d[i].monetary, mon) == 0) {
            d[i].customers += sign;
            d[i].orders += sign * orders;
            d[i].revenue += sign * revenue;
            return;
        }
    }
    d[(*nd)++] = (struct delta){kind, cell, mon, sign, sign * orders, sign * revenue};
}

static int delta_cmp(const void *a, const void *b)
{
    const struct delta *x = a, *y = b;
    if (x->kind != y->kind)
        return (int)x->kind - (int)y->kind;
    int c = strcmp(x->cell, y->cell);
    return c ? c : strcmp(x->monetary, y->monetary);
}

/* ---- the writer ---- */

enum {
    B_ID,
    B_KIND,
    B_PURCHASES,
    B_REVENUE,
    B_FIRST,
    B_LAST,
    B_CELL,
    B_MON,
    B_SINCE,
    B_T_ID,
    B_T_KIND,
    B_T_FROM,
    B_T_TO,
    B_T_AT,
    B_C_KIND,
    B_C_CELL,
    B_C_MON,
    B_C_CUST,
    B_C_ORD,
    B_C_REV,
    B_COUNT
};

static enum sd_rc add_update_row(struct sd_change_writer *w, const struct sd_change *c, int64_t at)
{
    struct sd_buf *b = w->bufs;
    int64_t since = c->moved ? (c->at ? c->at : at) : c->before.cell_since;
    enum sd_rc rc = pga_i64(&b[B_ID], c->before.id);
    if (rc == SD_OK)
        rc = pga_text(&b[B_KIND], sd_kind_name(c->kind));
    if (rc == SD_OK)
        rc = pga_i64(&b[B_PURCHASES], c->purchases);
    if (rc == SD_OK)
        rc = pga_i64(&b[B_REVENUE], c->revenue_cents);
    if (rc == SD_OK)
        rc = pga_time(&b[B_FIRST], c->first_purchase_at, true);
    if (rc == SD_OK)
        rc = pga_time(&b[B_LAST], c->last_purchase_at, true);
    if (rc == SD_OK)
        rc = pga_text(&b[B_CELL], c->cell[0] ? c->cell : NULL);
    if (rc == SD_OK)
        rc = pga_text(&b[B_MON], c->monetary[0] ? c->monetary : NULL);
    if (rc == SD_OK)
        rc = pga_time(&b[B_SINCE], c->cell[0] ? since : 0, true);
    return rc;
}

static enum sd_rc add_transition_row(struct sd_change_writer *w, const struct sd_change *c,
                                     int64_t at)
{
    struct sd_buf *b = w->bufs;
    enum sd_rc rc = pga_i64(&b[B_T_ID], c->before.id);
    if (rc == SD_OK)
        rc = pga_text(&b[B_T_KIND], sd_kind_name(c->kind));
    if (rc == SD_OK)
        rc = pga_text(&b[B_T_FROM], c->before.cell[0] ? c->before.cell : NULL);
    if (rc == SD_OK)
        rc = pga_text(&b[B_T_TO], c->cell[0] ? c->cell : NULL);
    if (rc == SD_OK)
        rc = pga_time(&b[B_T_AT], c->at ? c->at : at, false);
    return rc;
}

static enum sd_rc add_count_rows(struct sd_change_writer *w, struct delta *d, size_t nd)
{
    struct sd_buf *b = w->bufs;
    enum sd_rc rc = SD_OK;
    qsort(d, nd, sizeof *d, delta_cmp);
    for (size_t i = 0; rc == SD_OK && i < nd; i++) {
        if (d[i].customers == 0 && d[i].orders == 0 && d[i].revenue == 0)
            continue;
        rc = pga_text(&b[B_C_KIND], sd_kind_name(d[i].kind));
        if (rc == SD_OK)
            rc = pga_text(&b[B_C_CELL], d[i].cell);
        if (rc == SD_OK)
            rc = pga_text(&b[B_C_MON], d[i].monetary);
        if (rc == SD_OK)
            rc = pga_i64(&b[B_C_CUST], d[i].customers);
        if (rc == SD_OK)
            rc = pga_i64(&b[B_C_ORD], d[i].orders);
        if (rc == SD_OK)
            rc = pga_i64(&b[B_C_REV], d[i].revenue);
    }
    return rc;
}

static void set_params(struct sd_change_writer *w, const char *reason)
{
    for (int i = 0; i < 9; i++)
        w->update_params[1 + i] = w->bufs[B_ID + i].data;
    w->update_params[0] = w->ws;
    w->transition_params[0] = w->ws;
    for (int i = 0; i < 5; i++)
        w->transition_params[1 + i] = w->bufs[B_T_ID + i].data;
    w->transition_params[6] = reason;
    w->count_params[0] = w->ws;
    w->count_params[1] = w->stripe;
    for (int i = 0; i < 6; i++)
        w->count_params[2 + i] = w->bufs[B_C_KIND + i].data;
}

enum sd_rc sd_change_writer_build_flags(struct sd_change_writer *w, long long ws,
                                        const struct sd_change *changes, size_t n,
                                        const char *reason, int64_t at, int flags,
                                        struct sd_pipe_step *steps, int *nsteps)
{
    enum sd_rc rc = SD_OK;
    struct delta *d = calloc(2 * n + 1, sizeof *d);
    if (d == NULL)
        return SD_ERR_NOMEM;
    memset(w, 0, sizeof *w);
    w->flags = flags;
    for (int i = 0; i < B_COUNT; i++)
        pga_begin(&w->bufs[i], ARRAY_MAX);
    snprintf(w->ws, sizeof w->ws, "%lld", ws);
    snprintf(w->stripe, sizeof w->stripe, "%d", (int)(random() % 16));
    size_t nd = 0, nupdates = 0, nmoves = 0;
    for (size_t i = 0; rc == SD_OK && i < n; i++) {
        const struct sd_change *c = &changes[i];
        if (!c->dirty)
            continue;
        rc = add_update_row(w, c, at);
        nupdates++;
        if (rc == SD_OK && c->moved) {
            rc = add_transition_row(w, c, at);
            nmoves++;
        }
        const struct sd_customer_state *b = &c->before;
        delta_add(d, &nd, b->kind, b->cell, b->monetary, -1, b->purchases, b->revenue_cents);
        delta_add(d, &nd, c->kind, c->cell, c->monetary, 1, c->purchases, c->revenue_cents);
    }
    if (rc == SD_OK)
        rc = add_count_rows(w, d, nd);
    free(d);
    for (int i = 0; rc == SD_OK && i < B_COUNT; i++)
        rc = pga_end(&w->bufs[i]) ? SD_OK : SD_ERR_TOO_LARGE;
    if (rc != SD_OK)
        return rc;
    set_params(w, reason);
    if (nupdates > 0)
        steps[(*nsteps)++] = (struct sd_pipe_step){&update_stmt, w->update_params, NULL};
    if (nmoves > 0)
        steps[(*nsteps)++] =
            (struct sd_pipe_step){&transitions_stmt, w->transition_params, &w->transitions};
    if (nupdates > 0 && (flags & SD_WRITE_COUNTS))
        steps[(*nsteps)++] = (struct sd_pipe_step){&counts_stmt, w->count_params, NULL};
    if (nmoves > 0 && (flags & SD_WRITE_NOTIFY)) {
        steps[(*nsteps)++] =
            (struct sd_pipe_step){&store_enqueue_entries_stmt, w->transition_params, &w->enqueued};
        if (flags & SD_WRITE_NOTIFY_OTHERS)
            steps[(*nsteps)++] =
                (struct sd_pipe_step){&store_enqueue_notify_stmt, w->transition_params, NULL};
    }
    return SD_OK;
}

/* ---- transitions by reason, for /metrics (this process, since start) ---- */

static const char *const reasons[] = {"purchase",      "cancellation", "time",
                                      "matrix_change", "import",       "profile"};
static atomic_llong transitions_by_reason[SD_ARRAY_LEN(reasons)];

static void count_transitions(const char *reason, PGresult *res)
{
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
        return;
    for (size_t i = 0; i < SD_ARRAY_LEN(reasons); i++) {
        if (strcmp(reason, reasons[i]) == 0)
            atomic_fetch_add(&transitions_by_reason[i], strtoll(PQcmdTuples(res), NULL, 10));
    }
}

enum sd_rc sd_store_transitions_metrics(struct sd_buf *out)
{
    enum sd_rc rc = sd_buf_printf(
        out, "# HELP segmentd_transitions_total Transitions recorded by this process, by reason.\n"
             "# TYPE segmentd_transitions_total counter\n");
    for (size_t i = 0; rc == SD_OK && i < SD_ARRAY_LEN(reasons); i++)
        rc = sd_buf_printf(out, "segmentd_transitions_total{reason=\"%s\"} %lld\n", reasons[i],
                           atomic_load(&transitions_by_reason[i]));
    return rc;
}

/* The moves campaigns react to (SPEC §2). */
static bool reason_notifies(const char *reason)
{
    return strcmp(reason, "purchase") == 0 || strcmp(reason, "cancellation") == 0 ||
           strcmp(reason, "time") == 0;
}

enum sd_rc sd_change_writer_build(struct sd_change_writer *w, long long ws,
                                  const struct sd_change *changes, size_t n, const char *reason,
                                  int64_t at, struct sd_pipe_step *steps, int *nsteps)
{
    int flags = SD_WRITE_COUNTS | (reason_notifies(reason) ? SD_WRITE_NOTIFY : 0);
    return sd_change_writer_build_flags(w, ws, changes, n, reason, at, flags, steps, nsteps);
}

long long sd_change_writer_enqueued(const struct sd_change_writer *w)
{
    return w->enqueued ? strtoll(PQcmdTuples(w->enqueued), NULL, 10) : 0;
}

void sd_change_writer_free(struct sd_change_writer *w)
{
    count_transitions(w->transition_params[6] ? w->transition_params[6] : "", w->transitions);
    PQclear(w->transitions);
    w->transitions = NULL;
    if (sd_change_writer_enqueued(w) > 0)
        sd_store_enqueued();
    PQclear(w->enqueued);
    w->enqueued = NULL;
    for (int i = 0; i < B_COUNT; i++)
        sd_buf_free(&w->bufs[i]);
}
