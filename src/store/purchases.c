/* Purchases and cancellations.
 *
 * Pipeline 1 (one round trip): BEGIN; matrix versions; create missing customers; lock the
 * customers (FOR UPDATE, in external-id order, so overlapping batches never deadlock); insert the
 * orders (ON CONFLICT DO NOTHING); read back what is stored for every order of the request.
 * Then C decides created / duplicate / conflict and classifies the customers.
 * Pipeline 2 (one round trip): profile fields, the change sets (rows, transitions, counters),
 * COMMIT. */
#include <stdlib.h>
#include <string.h>

#include "pgarray.h"
#include "store_util.h"
#include "segmentd/log.h"
#include "segmentd/store_purchases.h"

#define ARRAY_MAX (64 * 1024 * 1024)

/* Shared against a matrix PUT (store/matrices.c): see there. */
static const struct sd_stmt create_customers_stmt = {
    "purchases_create_customers",
    "INSERT INTO customers (workspace_id, external_id, kind) "
    "SELECT $1::bigint, u.ext, u.kind FROM unnest($2::text[], $3::text[]) AS u(ext, kind) "
    "ORDER BY u.ext ON CONFLICT (workspace_id, external_id) DO NOTHING",
    3};
static const struct sd_stmt insert_orders_stmt = {
    "purchases_insert_orders",
    "INSERT INTO orders (workspace_id, customer_id, order_id, amount, purchased_at) "
    "SELECT $1::bigint, c.id, u.oid, u.cents / 100.0, u.at "
    "FROM unnest($2::text[], $3::text[], $4::bigint[], $5::timestamptz[]) "
    "AS u(ext, oid, cents, at) "
    "JOIN customers c ON c.workspace_id = $1::bigint AND c.external_id = u.ext "
    "ON CONFLICT (workspace_id, customer_id, order_id) DO NOTHING "
    "RETURNING customer_id, order_id",
    5};
static const struct sd_stmt stored_orders_stmt = {
    "purchases_stored_orders",
    "SELECT c.external_id, o.order_id, (o.amount * 100)::bigint, " US(
        "o.purchased_at") " "
                          "FROM unnest($2::text[], $3::text[]) AS u(ext, oid) "
                          "JOIN customers c ON c.workspace_id = $1::bigint AND c.external_id = "
                          "u.ext "
                          "JOIN orders o ON o.workspace_id = $1::bigint AND o.customer_id = c.id "
                          "AND o.order_id = u.oid",
    3};
static const struct sd_stmt profile_stmt = {
    "purchases_profile",
    "UPDATE customers c SET name = coalesce(u.name, c.name), phone = coalesce(u.phone, c.phone), "
    "email = coalesce(u.email, c.email), birthday = coalesce(u.birthday, c.birthday), "
    "updated_at = now() "
    "FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::date[]) "
    "AS u(ext, name, phone, email, birthday) "
    "WHERE c.workspace_id = $1::bigint AND c.external_id = u.ext",
    6};

/* One distinct customer of the request. */
struct cust {
    const char *ext;
    const struct sd_purchase_in *profile[5]; /* last item giving kind, name, phone, email, bday */
    bool found;
    struct sd_customer_state state;
    struct sd_change kind_change; /* reason "profile" */
    struct sd_change purchase;    /* reason "purchase" */
    bool kind_changed;
    bool profile_touched;
};

/* What PostgreSQL holds for one order of the request. */
struct stored {
    const char *ext, *oid;
    int64_t cents, at;
    bool created;
};

struct ingest {
    long long ws;
    char wsbuf[24];
    const struct sd_matrix_set *ms;
    const struct sd_purchase_in *items;
    size_t n;
    size_t *order; /* item indices sorted by (customer, order, position) */
    bool *primary; /* first occurrence of its (customer, order) */
    struct cust *custs;
    size_t ncusts;
    struct stored *stored;
    size_t nstored;
};

struct item_ref {
    const struct sd_purchase_in *it;
    size_t index;
};

static int item_cmp(const void *a, const void *b)
{
    const struct item_ref *x = a, *y = b;
    int c = strcmp(x->it->customer_id, y->it->customer_id);
    if (c == 0)
        c = strcmp(x->it->order_id, y->it->order_id);
    if (c == 0)
        c = (x->index > y->index) - (x->index < y->index);
    return c;
}

static int cust_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct cust *)elem)->ext);
}

static struct cust *find_cust(struct ingest *g, const char *ext)
{
    return bsearch(ext, g->custs, g->ncusts, sizeof *g->custs, cust_cmp);
}

static struct cust *find_cust_by_id(struct ingest *g, long long id)
{
    for (size_t i = 0; i < g->ncusts; i++) {
        if (g->custs[i].found && g->custs[i].state.id == id)
            return &g->custs[i];
    }
    return NULL;
}

/* Sorts the request, marks first occurrences, collects distinct customers and their profile. */
static enum sd_rc plan(struct ingest *g)
{
    g->order = calloc(g->n, sizeof *g->order);
    g->primary = calloc(g->n, sizeof *g->primary);
    g->custs = calloc(g->n, sizeof *g->custs);
    g->stored = calloc(g->n, sizeof *g->stored);
    if (!g->order || !g->primary || !g->custs || !g->stored)
        return SD_ERR_NOMEM;
    struct item_ref *refs = calloc(g->n, sizeof *refs);
    if (refs == NULL)
        return SD_ERR_NOMEM;
    for (size_t i = 0; i < g->n; i++)
        refs[i] = (struct item_ref){&g->items[i], i};
    qsort(refs, g->n, sizeof *refs, item_cmp);
    for (size_t i = 0; i < g->n; i++)
        g->order[i] = refs[i].index;
    free(refs);
    for (size_t k = 0; k < g->n; k++) {
        const struct sd_purchase_in *it = &g->items[g->order[k]];
        const struct sd_purchase_in *prev = k ? &g->items[g->order[k - 1]] : NULL;
        bool same_cust = prev && strcmp(prev->customer_id, it->customer_id) == 0;
        g->primary[g->order[k]] = !(same_cust && strcmp(prev->order_id, it->order_id) == 0);
        if (!same_cust)
            g->custs[g->ncusts++].ext = it->customer_id;
    }
    /* Profile: per field, the last item (in request order) that gives it. */
    for (size_t i = 0; i < g->n; i++) {
        const struct sd_purchase_in *it = &g->items[i];
        struct cust *c = find_cust(g, it->customer_id);
        const char *fields[5] = {it->kind, it->name, it->phone, it->email, it->birthday};
        for (int f = 0; f < 5; f++) {
            if (fields[f] != NULL)
                c->profile[f] = it;
        }
    }
    return SD_OK;
}

static void free_plan(struct ingest *g)
{
    free(g->order);
    free(g->primary);
    free(g->custs);
    free(g->stored);
}

static const char *profile_field(const struct cust *c, int f)
{
    const struct sd_purchase_in *it = c->profile[f];
    if (it == NULL)
        return NULL;
    const char *fields[5] = {it->kind, it->name, it->phone, it->email, it->birthday};
    return fields[f];
}

enum { A_CUST, A_CUST_KIND, A_EXT, A_OID, A_CENTS, A_AT, A_COUNT };

static enum sd_rc build_pipeline1_arrays(struct ingest *g, struct sd_buf *a)
{
    enum sd_rc rc = SD_OK;
    for (int i = 0; i < A_COUNT; i++)
        pga_begin(&a[i], ARRAY_MAX);
    for (size_t i = 0; rc == SD_OK && i < g->ncusts; i++) {
        const char *kind = profile_field(&g->custs[i], 0);
        rc = pga_text(&a[A_CUST], g->custs[i].ext);
        if (rc == SD_OK)
            rc = pga_text(&a[A_CUST_KIND], kind ? kind : "b2c");
    }
    for (size_t k = 0; rc == SD_OK && k < g->n; k++) {
        size_t i = g->order[k];
        if (!g->primary[i])
            continue;
        const struct sd_purchase_in *it = &g->items[i];
        rc = pga_text(&a[A_EXT], it->customer_id);
        if (rc == SD_OK)
            rc = pga_text(&a[A_OID], it->order_id);
        if (rc == SD_OK)
            rc = pga_i64(&a[A_CENTS], it->amount_cents);
        if (rc == SD_OK)
            rc = pga_time(&a[A_AT], it->purchased_at, false);
    }
    for (int i = 0; rc == SD_OK && i < A_COUNT; i++)
        rc = pga_end(&a[i]) ? SD_OK : SD_ERR_TOO_LARGE;
    return rc;
}

static int stored_cmp(const void *a, const void *b)
{
    const struct stored *x = a, *y = b;
    int c = strcmp(x->ext, y->ext);
    return c ? c : strcmp(x->oid, y->oid);
}

static struct stored *find_stored(struct ingest *g, const char *ext, const char *oid)
{
    struct stored key = {.ext = ext, .oid = oid};
    return bsearch(&key, g->stored, g->nstored, sizeof *g->stored, stored_cmp);
}

/* Reads pipeline 1's answers: locked customers, created orders, stored orders. */
static void read_pipeline1(struct ingest *g, PGresult *locked, PGresult *created, PGresult *stored)
{
    for (int r = 0; r < PQntuples(locked); r++) {
        struct cust *c = find_cust(g, PQgetvalue(locked, r, 1));
        if (c != NULL) {
            sd_customer_state_read(locked, r, &c->state);
            c->found = true;
        }
    }
    for (int r = 0; r < PQntuples(stored) && g->nstored < g->n; r++) {
        struct stored *s = &g->stored[g->nstored++];
        s->ext = PQgetvalue(stored, r, 0);
        s->oid = PQgetvalue(stored, r, 1);
        s->cents = strtoll(PQgetvalue(stored, r, 2), NULL, 10);
        s->at = strtoll(PQgetvalue(stored, r, 3), NULL, 10);
    }
    qsort(g->stored, g->nstored, sizeof *g->stored, stored_cmp);
    for (int r = 0; r < PQntuples(created); r++) {
        struct cust *c = find_cust_by_id(g, strtoll(PQgetvalue(created, r, 0), NULL, 10));
        struct stored *s = c ? find_stored(g, c->ext, PQgetvalue(created, r, 1)) : NULL;
        if (s != NULL)
            s->created = true;
    }
}

static void set_status(struct sd_purchase_out *o, enum sd_purchase_status st, int64_t cents,
                       int64_t at)
{
    o->status = st;
    o->stored_amount_cents = cents;
    o->stored_purchased_at = at;
}

/* created / duplicate / conflict for every item, and the aggregates of created orders. */
static void decide(struct ingest *g, struct sd_purchase_out *out)
{
    for (size_t i = 0; i < g->ncusts; i++) {
        struct cust *c = &g->custs[i];
        sd_change_init(&c->kind_change, &c->state);
    }
    const struct sd_purchase_in *first = NULL;
    size_t first_i = 0;
    for (size_t k = 0; k < g->n; k++) {
        size_t i = g->order[k];
        const struct sd_purchase_in *it = &g->items[i];
        struct stored *s = find_stored(g, it->customer_id, it->order_id);
        bool same_as_stored = s && s->cents == it->amount_cents && s->at == it->purchased_at;
        if (g->primary[i]) {
            first = it;
            first_i = i;
            if (s != NULL && s->created)
                set_status(&out[i], SD_PURCHASE_CREATED, 0, 0);
            else if (same_as_stored)
                set_status(&out[i], SD_PURCHASE_DUPLICATE, 0, 0);
            else
                set_status(&out[i], SD_PURCHASE_CONFLICT, s ? s->cents : 0, s ? s->at : 0);
            continue;
        }
        /* A repeat within the request: the first occurrence won. */
        bool same_as_first =
            it->amount_cents == first->amount_cents && it->purchased_at == first->purchased_at;
        enum sd_purchase_status fst = out[first_i].status;
        if (same_as_first && fst != SD_PURCHASE_CONFLICT)
            set_status(&out[i], SD_PURCHASE_DUPLICATE, 0, 0);
        else if (fst == SD_PURCHASE_CREATED)
            set_status(&out[i], SD_PURCHASE_CONFLICT, first->amount_cents, first->purchased_at);
        else
            set_status(&out[i], SD_PURCHASE_CONFLICT, s ? s->cents : 0, s ? s->at : 0);
    }
}

static void apply_created(struct ingest *g, const struct sd_purchase_out *out)
{
    for (size_t i = 0; i < g->n; i++) {
        if (out[i].status != SD_PURCHASE_CREATED)
            continue;
        const struct sd_purchase_in *it = &g->items[i];
        struct sd_change *p = &find_cust(g, it->customer_id)->purchase;
        p->purchases++;
        p->revenue_cents += it->amount_cents;
        if (p->last_purchase_at == 0 || it->purchased_at > p->last_purchase_at)
            p->last_purchase_at = it->purchased_at;
        if (p->first_purchase_at == 0 || it->purchased_at < p->first_purchase_at)
            p->first_purchase_at = it->purchased_at;
    }
}

/* A kind given in the profile that differs is a "profile" move, before the purchase move. */
static void plan_changes(struct ingest *g, const struct sd_purchase_out *out, int64_t now)
{
    (void)out;
    for (size_t i = 0; i < g->ncusts; i++) {
        struct cust *c = &g->custs[i];
        const char *kind = profile_field(c, 0);
        enum sd_kind k = c->state.kind;
        c->kind_changed = kind != NULL && sd_kind_parse(kind, &k) && k != c->state.kind;
        c->kind_change.kind = k;
    }
    for (size_t i = 0; i < g->ncusts; i++)
        sd_changes_classify(g->ms->m, &g->custs[i].kind_change, 1, now);
    for (size_t i = 0; i < g->ncusts; i++) {
        struct cust *c = &g->custs[i];
        struct sd_customer_state mid = c->state;
        mid.kind = c->kind_change.kind;
        if (c->kind_changed) {
            snprintf(mid.cell, sizeof mid.cell, "%s", c->kind_change.cell);
            snprintf(mid.monetary, sizeof mid.monetary, "%s", c->kind_change.monetary);
            if (c->kind_change.moved)
                mid.cell_since = now;
        }
        sd_change_init(&c->purchase, &mid);
    }
    apply_created(g, out);
    for (size_t i = 0; i < g->ncusts; i++)
        sd_changes_classify(g->ms->m, &g->custs[i].purchase, 1, now);
}

enum { P_EXT, P_NAME, P_PHONE, P_EMAIL, P_BDAY, P_COUNT };

static enum sd_rc build_profile_arrays(struct ingest *g, struct sd_buf *a, size_t *rows)
{
    enum sd_rc rc = SD_OK;
    *rows = 0;
    for (int i = 0; i < P_COUNT; i++)
        pga_begin(&a[i], ARRAY_MAX);
    for (size_t i = 0; rc == SD_OK && i < g->ncusts; i++) {
        const struct cust *c = &g->custs[i];
        if (!c->profile[1] && !c->profile[2] && !c->profile[3] && !c->profile[4])
            continue;
        (*rows)++;
        rc = pga_text(&a[P_EXT], c->ext);
        for (int f = 1; rc == SD_OK && f < 5; f++)
            rc = pga_text(&a[P_EXT + f], profile_field(c, f));
    }
    for (int i = 0; rc == SD_OK && i < P_COUNT; i++)
        rc = pga_end(&a[i]) ? SD_OK : SD_ERR_TOO_LARGE;
    return rc;
}

static enum sd_rc collect_changes(struct ingest *g, struct sd_change **kinds, size_t *nk,
                                  struct sd_change **buys, size_t *nb)
{
    *kinds = calloc(g->ncusts + 1, sizeof **kinds);
    *buys = calloc(g->ncusts + 1, sizeof **buys);
    if (*kinds == NULL || *buys == NULL)
        return SD_ERR_NOMEM;
    *nk = *nb = 0;
    for (size_t i = 0; i < g->ncusts; i++) {
        if (g->custs[i].kind_changed)
            (*kinds)[(*nk)++] = g->custs[i].kind_change;
        if (g->custs[i].purchase.dirty)
            (*buys)[(*nb)++] = g->custs[i].purchase;
    }
    return SD_OK;
}

static enum sd_rc run_pipeline2(struct sd_db *db, struct ingest *g, int64_t now)
{
    struct sd_buf prof[P_COUNT];
    struct sd_change_writer wk, wb;
    struct sd_change *kinds = NULL, *buys = NULL;
    size_t nk = 0, nb = 0, prows = 0;
    struct sd_pipe_step steps[2 + 2 * SD_CHANGE_WRITER_STEPS];
    int nsteps = 0;
    memset(&wk, 0, sizeof wk);
    memset(&wb, 0, sizeof wb);
    enum sd_rc rc = build_profile_arrays(g, prof, &prows);
    const char *pparams[] = {g->wsbuf,           prof[P_EXT].data,   prof[P_NAME].data,
                             prof[P_PHONE].data, prof[P_EMAIL].data, prof[P_BDAY].data};
    if (rc == SD_OK && prows > 0)
        steps[nsteps++] = (struct sd_pipe_step){&profile_stmt, pparams, NULL};
    if (rc == SD_OK)
        rc = collect_changes(g, &kinds, &nk, &buys, &nb);
    if (rc == SD_OK)
        rc = sd_change_writer_build(&wk, g->ws, kinds, nk, "profile", now, steps, &nsteps);
    if (rc == SD_OK)
        rc = sd_change_writer_build(&wb, g->ws, buys, nb, "purchase", now, steps, &nsteps);
    if (rc == SD_OK) {
        steps[nsteps++] = (struct sd_pipe_step){&store_commit_stmt, NULL, NULL};
        rc = sd_db_pipeline(db, steps, nsteps);
    }
    sd_change_writer_free(&wk);
    sd_change_writer_free(&wb);
    for (int i = 0; i < P_COUNT; i++)
        sd_buf_free(&prof[i]);
    free(kinds);
    free(buys);
    return rc;
}

static void fill_cells(struct ingest *g, struct sd_purchase_out *out)
{
    for (size_t i = 0; i < g->n; i++) {
        const struct cust *c = find_cust(g, g->items[i].customer_id);
        snprintf(out[i].cell, sizeof out[i].cell, "%s", c->purchase.cell);
    }
}

static void rollback(struct sd_db *db)
{
    PGconn *conn = sd_db_conn(db);
    if (conn != NULL && PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PGresult *r = PQexec(conn, "ROLLBACK");
        PQclear(r);
    }
}

static enum sd_rc ingest_once(struct sd_db *db, struct ingest *g, struct sd_purchase_out *out)
{
    struct sd_buf a[A_COUNT];
    PGresult *versions = NULL, *locked = NULL, *created = NULL, *stored = NULL;
    enum sd_rc rc = build_pipeline1_arrays(g, a);
    const char *p_cust[] = {g->wsbuf, a[A_CUST].data, a[A_CUST_KIND].data};
    const char *p_lock[] = {g->wsbuf, a[A_CUST].data};
    const char *p_ins[] = {g->wsbuf, a[A_EXT].data, a[A_OID].data, a[A_CENTS].data, a[A_AT].data};
    const char *p_stored[] = {g->wsbuf, a[A_EXT].data, a[A_OID].data};
    const char *p_ws[] = {g->wsbuf};
    struct sd_pipe_step steps[] = {
        {&store_begin_stmt, NULL, NULL},
        {&store_matrix_share_stmt, p_ws, NULL},
        {&store_matrix_versions_stmt, p_ws, &versions},
        {&create_customers_stmt, p_cust, NULL},
        {&sd_stmt_customers_lock, p_lock, &locked},
        {&insert_orders_stmt, p_ins, &created},
        {&stored_orders_stmt, p_stored, &stored},
    };
    if (rc == SD_OK)
        rc = sd_db_pipeline(db, steps, (int)(sizeof steps / sizeof steps[0]));
    if (rc == SD_OK && !store_versions_match(versions, g->ms))
        rc = SD_ERR_STALE;
    int64_t now = sd_now_us();
    if (rc == SD_OK) {
        read_pipeline1(g, locked, created, stored);
        decide(g, out);
        plan_changes(g, out, now);
        rc = run_pipeline2(db, g, now);
    }
    if (rc == SD_OK)
        fill_cells(g, out);
    else
        rollback(db);
    PQclear(versions);
    PQclear(locked);
    PQclear(created);
    PQclear(stored);
    for (int i = 0; i < A_COUNT; i++)
        sd_buf_free(&a[i]);
    return rc;
}

enum sd_rc sd_store_purchases_ingest(struct sd_db *db, long long ws, const struct sd_matrix_set *ms,
                                     const struct sd_purchase_in *items, size_t n,
                                     struct sd_purchase_out *out)
{
    struct ingest g = {.ws = ws, .ms = ms, .items = items, .n = n};
    snprintf(g.wsbuf, sizeof g.wsbuf, "%lld", ws);
    enum sd_rc rc = plan(&g);
    for (int attempt = 0; rc == SD_OK && attempt < 3; attempt++) {
        /* fresh per attempt: a deadlock victim retries from scratch */
        memset(g.stored, 0, g.n * sizeof *g.stored);
        g.nstored = 0;
        for (size_t i = 0; i < g.ncusts; i++)
            g.custs[i].found = false;
        rc = ingest_once(db, &g, out);
        if (rc != SD_ERR_DB_RETRY)
            break;
        rc = SD_OK;
        log_debug("purchases: deadlock or serialization failure, retrying");
        if (attempt == 2)
            rc = SD_ERR_DB_RETRY;
    }
    free_plan(&g);
    return rc;
}
