/* Cancellations: the order stops counting; aggregates are recomputed from the remaining orders
 * (so cancelling the latest moves last_purchase_at back), and the customer re-placed.
 * Pipeline 1: BEGIN; versions; lock customers; cancel; read which orders exist; aggregates.
 * Pipeline 2: change set; COMMIT. */
#include <stdlib.h>
#include <string.h>

#include "pgarray.h"
#include "store_util.h"
#include "segmentd/store_purchases.h"

#define ARRAY_MAX (16 * 1024 * 1024)

/* Shared against a matrix PUT (store/matrices.c): see there. */
static const struct sd_stmt cancel_stmt = {
    "cancel_orders",
    "UPDATE orders o SET cancelled_at = now() "
    "FROM unnest($2::text[], $3::text[]) AS u(ext, oid), customers c "
    "WHERE c.workspace_id = $1::bigint AND c.external_id = u.ext "
    "AND o.workspace_id = $1::bigint AND o.customer_id = c.id AND o.order_id = u.oid "
    "AND o.cancelled_at IS NULL RETURNING c.external_id, o.order_id",
    3};
static const struct sd_stmt exists_stmt = {
    "cancel_exists",
    "SELECT c.external_id, o.order_id FROM unnest($2::text[], $3::text[]) AS u(ext, oid) "
    "JOIN customers c ON c.workspace_id = $1::bigint AND c.external_id = u.ext "
    "JOIN orders o ON o.workspace_id = $1::bigint AND o.customer_id = c.id AND o.order_id = u.oid",
    3};
static const struct sd_stmt aggregates_stmt = {
    "cancel_aggregates",
    "SELECT o.customer_id, count(*), sum((o.amount * 100)::bigint), " US(
        "min(o.purchased_at)") ", " US("max(o.purchased_at)") " FROM orders o JOIN customers c ON "
                                                              "c.workspace_id = $1::bigint "
                                                              "AND c.id = o.customer_id AND "
                                                              "c.external_id = ANY($2::text[]) "
                                                              "WHERE o.workspace_id = $1::bigint "
                                                              "AND o.cancelled_at IS NULL GROUP BY "
                                                              "o.customer_id",
    2};

static bool pair_in(const PGresult *res, const char *ext, const char *oid)
{
    for (int r = 0; r < PQntuples(res); r++) {
        if (strcmp(PQgetvalue(res, r, 0), ext) == 0 && strcmp(PQgetvalue(res, r, 1), oid) == 0)
            return true;
    }
    return false;
}

static int ext_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Distinct customers of the request, sorted: the lock order. */
static enum sd_rc customers_array(const struct sd_cancel_in *items, size_t n, struct sd_buf *out)
{
    const char **ext = calloc(n, sizeof *ext);
    if (ext == NULL)
        return SD_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        ext[i] = items[i].customer_id;
    qsort(ext, n, sizeof *ext, ext_cmp);
    enum sd_rc rc = SD_OK;
    pga_begin(out, ARRAY_MAX);
    for (size_t i = 0; rc == SD_OK && i < n; i++) {
        if (i == 0 || strcmp(ext[i], ext[i - 1]) != 0)
            rc = pga_text(out, ext[i]);
    }
    free(ext);
    return rc == SD_OK && pga_end(out) ? SD_OK : SD_ERR_TOO_LARGE;
}

static enum sd_rc pairs_arrays(const struct sd_cancel_in *items, size_t n, struct sd_buf *ext,
                               struct sd_buf *oid)
{
    enum sd_rc rc = SD_OK;
    pga_begin(ext, ARRAY_MAX);
    pga_begin(oid, ARRAY_MAX);
    for (size_t i = 0; rc == SD_OK && i < n; i++) {
        rc = pga_text(ext, items[i].customer_id);
        if (rc == SD_OK)
            rc = pga_text(oid, items[i].order_id);
    }
    return rc == SD_OK && pga_end(ext) && pga_end(oid) ? SD_OK : SD_ERR_TOO_LARGE;
}

/* Change sets from the locked rows and the fresh aggregates (none: no purchase left). */
static struct sd_change *changes_from(const PGresult *locked, const PGresult *agg, size_t *n)
{
    struct sd_change *ch = calloc((size_t)PQntuples(locked) + 1, sizeof *ch);
    if (ch == NULL)
        return NULL;
    *n = (size_t)PQntuples(locked);
    for (int r = 0; r < PQntuples(locked); r++) {
        struct sd_customer_state st;
        sd_customer_state_read(locked, r, &st);
        sd_change_init(&ch[r], &st);
        ch[r].purchases = ch[r].revenue_cents = 0;
        ch[r].first_purchase_at = ch[r].last_purchase_at = 0;
        for (int a = 0; a < PQntuples(agg); a++) {
            if (strtoll(PQgetvalue(agg, a, 0), NULL, 10) != st.id)
                continue;
            ch[r].purchases = strtoll(PQgetvalue(agg, a, 1), NULL, 10);
            ch[r].revenue_cents = strtoll(PQgetvalue(agg, a, 2), NULL, 10);
            ch[r].first_purchase_at = strtoll(PQgetvalue(agg, a, 3), NULL, 10);
            ch[r].last_purchase_at = strtoll(PQgetvalue(agg, a, 4), NULL, 10);
        }
    }
    return ch;
}

static void fill_results(const struct sd_cancel_in *items, size_t n, const PGresult *cancelled,
                         const PGresult *exists, const struct sd_change *ch, size_t nch,
                         struct sd_cancel_out *out)
{
    for (size_t i = 0; i < n; i++) {
        const char *ext = items[i].customer_id, *oid = items[i].order_id;
        bool first = true; /* a pair named twice: the first occurrence cancels it */
        for (size_t j = 0; j < i && first; j++)
            first = strcmp(items[j].customer_id, ext) || strcmp(items[j].order_id, oid);
        if (!pair_in(exists, ext, oid))
            out[i].status = SD_CANCEL_NOT_FOUND;
        else if (first && pair_in(cancelled, ext, oid))
            out[i].status = SD_CANCEL_CANCELLED;
        else
            out[i].status = SD_CANCEL_ALREADY;
        out[i].cell[0] = '\0';
        for (size_t c = 0; c < nch; c++) {
            if (strcmp(ch[c].before.external_id, ext) == 0)
                snprintf(out[i].cell, sizeof out[i].cell, "%s", ch[c].cell);
        }
    }
}

static enum sd_rc cancel_once(struct sd_db *db, long long ws, const struct sd_matrix_set *ms,
                              const struct sd_cancel_in *items, size_t n, struct sd_cancel_out *out)
{
    char w[24];
    snprintf(w, sizeof w, "%lld", ws);
    struct sd_buf custs = {0}, ext = {0}, oid = {0};
    PGresult *versions = NULL, *locked = NULL, *cancelled = NULL, *exists = NULL, *agg = NULL;
    struct sd_change *ch = NULL;
    size_t nch = 0;
    enum sd_rc rc = customers_array(items, n, &custs);
    if (rc == SD_OK)
        rc = pairs_arrays(items, n, &ext, &oid);
    const char *p_ws[] = {w}, *p_lock[] = {w, custs.data}, *p_pairs[] = {w, ext.data, oid.data};
    struct sd_pipe_step steps1[] = {
        {&store_begin_stmt, NULL, NULL},
        {&store_matrix_share_stmt, p_ws, NULL},
        {&store_matrix_versions_stmt, p_ws, &versions},
        {&sd_stmt_customers_lock, p_lock, &locked},
        {&cancel_stmt, p_pairs, &cancelled},
        {&exists_stmt, p_pairs, &exists},
        {&aggregates_stmt, p_lock, &agg},
    };
    if (rc == SD_OK)
        rc = sd_db_pipeline(db, steps1, (int)(sizeof steps1 / sizeof steps1[0]));
    if (rc == SD_OK && !store_versions_match(versions, ms))
        rc = SD_ERR_STALE;
    if (rc == SD_OK && (ch = changes_from(locked, agg, &nch)) == NULL)
        rc = SD_ERR_NOMEM;
    if (rc == SD_OK) {
        int64_t now = sd_now_us();
        sd_changes_classify(ms->m, ch, nch, now);
        struct sd_change_writer wr;
        struct sd_pipe_step steps2[SD_CHANGE_WRITER_STEPS + 1];
        int nsteps = 0;
        rc = sd_change_writer_build(&wr, ws, ch, nch, "cancellation", now, steps2, &nsteps);
        if (rc == SD_OK) {
            steps2[nsteps++] = (struct sd_pipe_step){&store_commit_stmt, NULL, NULL};
            rc = sd_db_pipeline(db, steps2, nsteps);
        }
        sd_change_writer_free(&wr);
    }
    if (rc == SD_OK)
        fill_results(items, n, cancelled, exists, ch, nch, out);
    else if (PQtransactionStatus(sd_db_conn(db)) != PQTRANS_IDLE)
        PQclear(PQexec(sd_db_conn(db), "ROLLBACK"));
    free(ch);
    PQclear(versions);
    PQclear(locked);
    PQclear(cancelled);
    PQclear(exists);
    PQclear(agg);
    sd_buf_free(&custs);
    sd_buf_free(&ext);
    sd_buf_free(&oid);
    return rc;
}

enum sd_rc sd_store_cancellations(struct sd_db *db, long long ws, const struct sd_matrix_set *ms,
                                  const struct sd_cancel_in *items, size_t n,
                                  struct sd_cancel_out *out)
{
    enum sd_rc rc = SD_ERR_DB_RETRY;
    for (int attempt = 0; attempt < 3 && rc == SD_ERR_DB_RETRY; attempt++)
        rc = cancel_once(db, ws, ms, items, n, out);
    return rc;
}
