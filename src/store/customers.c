/* Customers read, patched and erased; segment pages and the report's counters. */
#include <stdlib.h>
#include <string.h>

#include "pgarray.h"
#include "store_util.h"
#include "segmentd/store_customers.h"

static const struct sd_stmt get_stmt = {
    "customer_get",
    "SELECT " STATE_COLUMNS ", name, phone, email, birthday::text, contact_opt_out, " US(
        "created_at") ", " US("updated_at") " FROM customers WHERE workspace_id = $1::bigint "
                                            "AND external_id = $2",
    2};
static const struct sd_stmt lock_one_stmt = {"customer_lock_one",
                                             "SELECT " STATE_COLUMNS
                                             " FROM customers WHERE workspace_id = $1::bigint "
                                             "AND external_id = $2 FOR UPDATE",
                                             2};
static const struct sd_stmt transitions_stmt = {
    "customer_transitions",
    "SELECT kind, from_cell, to_cell, " US("at") ", reason FROM transitions "
                                                 "WHERE workspace_id = $1::bigint AND customer_id "
                                                 "= $2::bigint ORDER BY at DESC, id DESC "
                                                 "LIMIT $3::int",
    3};
/* A field is set when its parameter is not NULL, cleared when its flag is true. */
static const struct sd_stmt patch_stmt = {
    "customer_patch",
    "UPDATE customers SET "
    "name = CASE WHEN $3::bool THEN NULL ELSE coalesce($4, name) END, "
    "phone = CASE WHEN $5::bool THEN NULL ELSE coalesce($6, phone) END, "
    "email = CASE WHEN $7::bool THEN NULL ELSE coalesce($8, email) END, "
    "birthday = CASE WHEN $9::bool THEN NULL ELSE coalesce($10::date, birthday) END, "
    "contact_opt_out = coalesce($11::bool, contact_opt_out), updated_at = now() "
    "WHERE workspace_id = $1::bigint AND external_id = $2",
    11};
/* The customer's deliveries and their attempts go first (they reference the customer). */
static const struct sd_stmt delete_attempts_stmt = {
    "customer_delete_delivery_attempts",
    "DELETE FROM delivery_attempts WHERE workspace_id = $1::bigint AND delivery_id IN "
    "(SELECT id FROM deliveries WHERE workspace_id = $1::bigint AND customer_id = $2::bigint)",
    2};
static const struct sd_stmt delete_deliveries_stmt = {
    "customer_delete_deliveries",
    "DELETE FROM deliveries WHERE workspace_id = $1::bigint AND customer_id = $2::bigint", 2};
static const struct sd_stmt delete_transitions_stmt = {
    "customer_delete_transitions",
    "DELETE FROM transitions WHERE workspace_id = $1::bigint AND customer_id = $2::bigint", 2};
static const struct sd_stmt delete_orders_stmt = {
    "customer_delete_orders",
    "DELETE FROM orders WHERE workspace_id = $1::bigint AND customer_id = $2::bigint", 2};
static const struct sd_stmt delete_stmt = {
    "customer_delete", "DELETE FROM customers WHERE workspace_id = $1::bigint AND id = $2::bigint",
    2};
static const struct sd_stmt uncount_stmt = {
    "customer_uncount",
    "INSERT INTO cell_counts AS cc (workspace_id, kind, cell, monetary, stripe, customers, orders, "
    "revenue_cents) VALUES ($1::bigint, $2, $3, $4, $5::smallint, -1, -$6::bigint, -$7::bigint) "
    "ON CONFLICT (workspace_id, kind, cell, monetary, stripe) DO UPDATE SET "
    "customers = cc.customers + EXCLUDED.customers, orders = cc.orders + EXCLUDED.orders, "
    "revenue_cents = cc.revenue_cents + EXCLUDED.revenue_cents",
    7};
static const struct sd_stmt page_stmt = {
    "segment_page",
    "SELECT external_id, name, phone, email, purchases, revenue_cents, " US(
        "last_purchase_at") ", monetary, " US("cell_since") ", "
                                                            "contact_opt_out,"
                                                            " " US("first_"
                                                                   "purchase_"
                                                                   "at") " FRO"
                                                                         "M "
                                                                         "cust"
                                                                         "omer"
                                                                         "s "
                                                                         "WHER"
                                                                         "E "
                                                                         "work"
                                                                         "spac"
                                                                         "e_"
                                                                         "id "
                                                                         "= "
                                                                         "$1::"
                                                                         "bigi"
                                                                         "nt "
                                                                         "AND "
                                                                         "kind"
                                                                         " = "
                                                                         "$2 "
                                                                         "AND "
                                                                         "cell"
                                                                         " = "
                                                                         "$3 "
                                                                         "AND "
                                                                         "exte"
                                                                         "rnal"
                                                                         "_id "
                                                                         "> "
                                                                         "$4 "
                                                                         "ORDE"
                                                                         "R "
                                                                         "BY "
                                                                         "exte"
                                                                         "rnal"
                                                                         "_id "
                                                                         "LIMI"
                                                                         "T "
                                                                         "$5::"
                                                                         "int",
    5};
/* A separate statement with the monetary filter, rather than "$n IS NULL OR …", so that every
 * plan stays a simple index range (TRAPS.md: generic plans). */
static const struct sd_stmt page_mon_stmt = {
    "segment_page_monetary",
    "SELECT external_id, name, phone, email, purchases, "
    "revenue_cents, " US("last_purchase_at") ", monetary, " US(
        "cell_since") ", contact_opt_out, " US("first_purchase_at") " FROM"
                                                                    " cust"
                                                                    "omers"
                                                                    " WHER"
                                                                    "E "
                                                                    "works"
                                                                    "pace_"
                                                                    "id = "
                                                                    "$1::"
                                                                    "bigin"
                                                                    "t "
                                                                    "AND "
                                                                    "kind "
                                                                    "= $2 "
                                                                    "AND "
                                                                    "cell "
                                                                    "= $3 "
                                                                    "AND "
                                                                    "exter"
                                                                    "nal_"
                                                                    "id > "
                                                                    "$4 "
                                                                    "AND "
                                                                    "monet"
                                                                    "ary "
                                                                    "= $6 "
                                                                    "ORDER"
                                                                    " BY "
                                                                    "exter"
                                                                    "nal_"
                                                                    "id "
                                                                    "LIMIT"
                                                                    " $5::"
                                                                    "int",
    6};
static const struct sd_stmt counts_stmt = {
    "segment_counts",
    "SELECT cell, monetary, sum(customers), sum(orders), sum(revenue_cents) FROM cell_counts "
    "WHERE workspace_id = $1::bigint AND kind = $2 GROUP BY cell, monetary",
    2};

static void copy_opt(const PGresult *res, int col, char *out, size_t outlen, bool *has)
{
    *has = !PQgetisnull(res, 0, col);
    snprintf(out, outlen, "%s", *has ? PQgetvalue(res, 0, col) : "");
}

enum sd_rc sd_store_customer_get(struct sd_db *db, long long ws, const char *external_id,
                                 struct sd_customer *out)
{
    char w[24];
    snprintf(w, sizeof w, "%lld", ws);
    const char *params[] = {w, external_id};
    PGresult *res = NULL;
    enum sd_rc rc = sd_db_exec(db, &get_stmt, params, &res);
    if (rc != SD_OK)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return SD_ERR_NOT_FOUND;
    }
    memset(out, 0, sizeof *out);
    sd_customer_state_read(res, 0, &out->state);
    copy_opt(res, 10, out->name, sizeof out->name, &out->has_name);
    copy_opt(res, 11, out->phone, sizeof out->phone, &out->has_phone);
    copy_opt(res, 12, out->email, sizeof out->email, &out->has_email);
    copy_opt(res, 13, out->birthday, sizeof out->birthday, &out->has_birthday);
    out->contact_opt_out = PQgetvalue(res, 0, 14)[0] == 't';
    out->created_at = pga_read_us(PQgetvalue(res, 0, 15));
    out->updated_at = pga_read_us(PQgetvalue(res, 0, 16));
    PQclear(res);
    return SD_OK;
}

enum sd_rc sd_store_customer_transitions(struct sd_db *db, long long ws, long long id, int limit,
                                         PGresult **res)
{
    char w[24], i[24], l[16];
    snprintf(w, sizeof w, "%lld", ws);
    snprintf(i, sizeof i, "%lld", id);
    snprintf(l, sizeof l, "%d", limit);
    const char *params[] = {w, i, l};
    return sd_db_exec(db, &transitions_stmt, params, res);
}

/* Locks one customer; SD_ERR_NOT_FOUND when there is none. */
static enum sd_rc lock_one(struct sd_db *db, const char *w, const char *ext,
                           struct sd_customer_state *st)
{
    const char *params[] = {w, ext};
    PGresult *res = NULL;
    enum sd_rc rc = sd_db_exec(db, &lock_one_stmt, params, &res);
    if (rc == SD_OK && PQntuples(res) == 0)
        rc = SD_ERR_NOT_FOUND;
    if (rc == SD_OK)
        sd_customer_state_read(res, 0, st);
    PQclear(res);
    return rc;
}

struct patch_ctx {
    long long ws;
    const char *ext;
    const struct sd_profile_patch *p;
    const struct sd_matrix *matrices;
};

static enum sd_rc patch_tx(struct sd_db *db, void *arg)
{
    struct patch_ctx *c = arg;
    const struct sd_profile_patch *p = c->p;
    char w[24];
    snprintf(w, sizeof w, "%lld", c->ws);
    struct sd_customer_state st;
    enum sd_rc rc = lock_one(db, w, c->ext, &st);
    const char *opt = p->contact_opt_out < 0 ? NULL : p->contact_opt_out ? "true" : "false";
    const char *params[] = {w,
                            c->ext,
                            p->clear_name ? "true" : "false",
                            p->name,
                            p->clear_phone ? "true" : "false",
                            p->phone,
                            p->clear_email ? "true" : "false",
                            p->email,
                            p->clear_birthday ? "true" : "false",
                            p->birthday,
                            opt};
    if (rc == SD_OK)
        rc = sd_db_exec(db, &patch_stmt, params, NULL);
    enum sd_kind kind;
    if (rc != SD_OK || p->kind == NULL || !sd_kind_parse(p->kind, &kind) || kind == st.kind)
        return rc;
    struct sd_change ch;
    sd_change_init(&ch, &st);
    ch.kind = kind;
    int64_t now = sd_now_us();
    sd_changes_classify(c->matrices, &ch, 1, now);
    struct sd_change_writer wr;
    struct sd_pipe_step steps[SD_CHANGE_WRITER_STEPS];
    int nsteps = 0;
    rc = sd_change_writer_build(&wr, c->ws, &ch, 1, "profile", now, steps, &nsteps);
    if (rc == SD_OK)
        rc = sd_db_pipeline(db, steps, nsteps);
    sd_change_writer_free(&wr);
    return rc;
}

enum sd_rc sd_store_customer_patch(struct sd_db *db, long long ws, const char *external_id,
                                   const struct sd_profile_patch *patch,
                                   const struct sd_matrix matrices[SD_KIND_COUNT])
{
    struct patch_ctx c = {ws, external_id, patch, matrices};
    return sd_db_transaction_on(db, patch_tx, &c);
}

struct delete_ctx {
    long long ws;
    const char *ext;
};

static enum sd_rc delete_tx(struct sd_db *db, void *arg)
{
    struct delete_ctx *c = arg;
    char w[24], id[24], stripe[8], orders[24], revenue[24];
    snprintf(w, sizeof w, "%lld", c->ws);
    struct sd_customer_state st;
    enum sd_rc rc = lock_one(db, w, c->ext, &st);
    if (rc != SD_OK)
        return rc;
    snprintf(id, sizeof id, "%lld", st.id);
    snprintf(stripe, sizeof stripe, "%d", (int)(random() % 16));
    snprintf(orders, sizeof orders, "%lld", (long long)st.purchases);
    snprintf(revenue, sizeof revenue, "%lld", (long long)st.revenue_cents);
    const char *by_id[] = {w, id};
    const char *uncount[] = {w,      sd_kind_name(st.kind), st.cell, st.monetary, stripe, orders,
                             revenue};
    struct sd_pipe_step steps[6] = {{&delete_attempts_stmt, by_id, NULL},
                                    {&delete_deliveries_stmt, by_id, NULL},
                                    {&delete_transitions_stmt, by_id, NULL},
                                    {&delete_orders_stmt, by_id, NULL},
                                    {&delete_stmt, by_id, NULL},
                                    {&uncount_stmt, uncount, NULL}};
    return sd_db_pipeline(db, steps, st.cell[0] ? 6 : 5);
}

enum sd_rc sd_store_customer_delete(struct sd_db *db, long long ws, const char *external_id)
{
    struct delete_ctx c = {ws, external_id};
    return sd_db_transaction_on(db, delete_tx, &c);
}

enum sd_rc sd_store_segment_page(struct sd_db *db, long long ws, enum sd_kind kind,
                                 const char *cell, const char *monetary, const char *after,
                                 int limit, PGresult **res)
{
    char w[24], l[16];
    snprintf(w, sizeof w, "%lld", ws);
    snprintf(l, sizeof l, "%d", limit);
    const char *params[] = {w, sd_kind_name(kind), cell, after ? after : "", l, monetary};
    return sd_db_exec(db, monetary ? &page_mon_stmt : &page_stmt, params, res);
}

enum sd_rc sd_store_segment_counts(struct sd_db *db, long long ws, enum sd_kind kind,
                                   PGresult **res)
{
    char w[24];
    snprintf(w, sizeof w, "%lld", ws);
    const char *params[] = {w, sd_kind_name(kind)};
    return sd_db_exec(db, &counts_stmt, params, res);
}
