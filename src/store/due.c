/* The scheduler's claims. For every cell that has a next column, the due customers are a range
 * of the index (workspace_id, kind, cell, last_purchase_at): last_purchase_at ≤ now − bound. One
 * pipeline claims every cell of the workspace; the moves go back in a second one. */
#include <stdlib.h>
#include <string.h>

#include "pgarray.h"
#include "segmentd/store_customers.h"
#include "segmentd/store_due.h"
#include "store_util.h"

#define MAX_CLAIMS (SD_KIND_COUNT * SD_MAX_BANDS * (SD_MAX_BANDS - 1))

static const struct sd_stmt ids_stmt = {"workspace_ids", "SELECT id FROM workspaces ORDER BY id",
                                        0};
static const struct sd_stmt claim_stmt = {
    "due_claim",
    "SELECT " STATE_COLUMNS " FROM customers WHERE workspace_id = $1::bigint AND kind = $2 "
    "AND cell = $3 AND last_purchase_at <= $4::timestamptz "
    "ORDER BY last_purchase_at LIMIT $5::int FOR UPDATE SKIP LOCKED",
    5};

/* The earliest boundary still ahead among the cells' customers (µs; NULL: none): the scheduler
 * sleeps no longer than that. One index probe per cell, the first row past the claims' cutoff.
 * $1 ws, $2 kinds, $3 cells, $4 cutoffs, $5 bounds (µs). */
static const struct sd_stmt next_due_stmt = {
    "due_next",
    "SELECT min(x.due_us) FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::bigint[]) "
    "AS u(kind, cell, cutoff, bound_us) CROSS JOIN LATERAL (SELECT " US(
        "c.last_purchase_at") " + u.bound_us AS due_us FROM customers c WHERE c.workspace_id = "
                              "$1::bigint "
                              "AND c.kind = u.kind AND c.cell = u.cell AND c.last_purchase_at > "
                              "u.cutoff "
                              "ORDER BY c.last_purchase_at LIMIT 1) x",
    5};

enum sd_rc sd_store_workspace_ids(struct sd_db *db, long long **ids, size_t *n)
{
    PGresult *res = NULL;
    enum sd_rc rc = sd_db_exec(db, &ids_stmt, NULL, &res);
    if (rc != SD_OK)
        return rc;
    *n = (size_t)PQntuples(res);
    *ids = calloc(*n + 1, sizeof **ids);
    for (size_t i = 0; *ids && i < *n; i++)
        (*ids)[i] = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
    PQclear(res);
    return *ids ? SD_OK : SD_ERR_NOMEM;
}

/* One claim per (kind, cell) that has a column to its right. */
struct claim {
    enum sd_kind kind;
    int rec;
    char cell[SD_CELL_KEY_MAX + 1];
    char cutoff[40];
    int64_t bound;
    const char *params[5];
    PGresult *res;
};

static int plan_claims(const struct sd_matrix_set *ms, int64_t now, struct claim *c)
{ /* c[n].bound: the recency bound a customer of the cell crosses next */
    int n = 0;
    for (int k = 0; k < SD_KIND_COUNT; k++) {
        const struct sd_matrix *m = &ms->m[k];
        for (int f = 0; f < m->frequency.nbands; f++) {
            for (int r = 0; r < m->recency.nbands - 1; r++) {
                c[n].kind = (enum sd_kind)k;
                c[n].rec = r;
                sd_matrix_cell_key(m, f, r, c[n].cell);
                sd_time_format_us(now - m->recency.bounds[r], c[n].cutoff, sizeof c[n].cutoff);
                c[n].bound = m->recency.bounds[r];
                n++;
            }
        }
    }
    return n;
}

/* The next band crossing of a change's current state, as a new change (false: none by now). */
static bool next_crossing(const struct sd_matrix_set *ms, const struct sd_customer_state *st,
                          int64_t now, struct sd_change *out)
{
    const struct sd_matrix *m = &ms->m[st->kind];
    int64_t at = sd_customer_next_change(m, st);
    if (at == 0 || at > now)
        return false;
    sd_change_init(out, st);
    out->at = at;
    sd_changes_classify(ms->m, out, 1, at); /* placed as at the boundary itself */
    return out->moved;
}

/* The state after a change (for a further crossing). */
static void state_after(const struct sd_change *c, struct sd_customer_state *st)
{
    *st = c->before;
    snprintf(st->cell, sizeof st->cell, "%s", c->cell);
    snprintf(st->monetary, sizeof st->monetary, "%s", c->monetary);
    st->cell_since = c->at;
}

/* Crossings happen in rounds: most customers cross one boundary; one who was due long ago
 * (scheduler stopped) crosses several, each recorded at its own boundary. */
static enum sd_rc move_claimed(struct sd_db *db, long long ws, const struct sd_matrix_set *ms,
                               int64_t now, struct sd_customer_state *states, size_t n,
                               long long *transitions)
{
    struct sd_change *round = calloc(n + 1, sizeof *round);
    struct sd_change_writer *wr = calloc(SD_MAX_BANDS, sizeof *wr);
    struct sd_pipe_step steps[SD_MAX_BANDS * SD_CHANGE_WRITER_STEPS + 2];
    char w[24];
    snprintf(w, sizeof w, "%lld", ws);
    const char *p_ws[] = {w};
    int nsteps = 0, nwriters = 0;
    enum sd_rc rc = round && wr ? SD_OK : SD_ERR_NOMEM;
    while (rc == SD_OK && nwriters < SD_MAX_BANDS) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (next_crossing(ms, &states[i], now, &round[k]))
                state_after(&round[k], &states[i]), k++;
        }
        if (k == 0)
            break;
        *transitions += (long long)k;
        rc = sd_change_writer_build(&wr[nwriters++], ws, round, k, "time", now, steps, &nsteps);
        /* the writer copied what it needs into its own buffers */
    }
    if (rc == SD_OK) {
        /* one hint per batch for the other processes' dispatchers (TRAPS.md: NOTIFY locks) */
        steps[nsteps++] = (struct sd_pipe_step){&store_enqueue_notify_stmt, p_ws, NULL};
        steps[nsteps++] = (struct sd_pipe_step){&store_commit_stmt, NULL, NULL};
        rc = sd_db_pipeline(db, steps, nsteps);
    }
    for (int i = 0; wr && i < nwriters; i++)
        sd_change_writer_free(&wr[i]);
    free(wr);
    free(round);
    return rc;
}

/* The next-due statement's arrays, built from the claims. */
struct next_due_params {
    struct sd_buf kinds, cells, cutoffs, bounds;
    const char *params[5];
};

static enum sd_rc next_due_build(struct next_due_params *p, const char *w, const struct claim *c,
                                 int nclaims)
{
    struct sd_buf *b[] = {&p->kinds, &p->cells, &p->cutoffs, &p->bounds};
    for (int i = 0; i < 4; i++)
        pga_begin(b[i], 64 * 1024);
    enum sd_rc rc = SD_OK;
    for (int i = 0; rc == SD_OK && i < nclaims; i++) {
        rc = pga_text(&p->kinds, sd_kind_name(c[i].kind));
        if (rc == SD_OK)
            rc = pga_text(&p->cells, c[i].cell);
        if (rc == SD_OK)
            rc = pga_text(&p->cutoffs, c[i].cutoff);
        if (rc == SD_OK)
            rc = pga_i64(&p->bounds, c[i].bound);
    }
    for (int i = 0; rc == SD_OK && i < 4; i++)
        rc = pga_end(b[i]) ? SD_OK : SD_ERR_TOO_LARGE;
    p->params[0] = w;
    for (int i = 0; i < 4; i++)
        p->params[1 + i] = b[i]->data;
    return rc;
}

static void next_due_free(struct next_due_params *p)
{
    sd_buf_free(&p->kinds);
    sd_buf_free(&p->cells);
    sd_buf_free(&p->cutoffs);
    sd_buf_free(&p->bounds);
}

static enum sd_rc claim(struct sd_db *db, const char *w, const struct sd_matrix_set *ms,
                        struct claim *c, int nclaims, PGresult **versions, const char *limit,
                        PGresult **next_due)
{
    struct sd_pipe_step steps[MAX_CLAIMS + 4];
    struct next_due_params nd;
    memset(&nd, 0, sizeof nd);
    enum sd_rc rc = next_due_build(&nd, w, c, nclaims);
    const char *p_ws[] = {w};
    int n = 0;
    steps[n++] = (struct sd_pipe_step){&store_begin_stmt, NULL, NULL};
    steps[n++] = (struct sd_pipe_step){&store_matrix_share_stmt, p_ws, NULL};
    steps[n++] = (struct sd_pipe_step){&store_matrix_versions_stmt, p_ws, versions};
    for (int i = 0; i < nclaims; i++) {
        c[i].params[0] = w;
        c[i].params[1] = sd_kind_name(c[i].kind);
        c[i].params[2] = c[i].cell;
        c[i].params[3] = c[i].cutoff;
        c[i].params[4] = limit;
        steps[n++] = (struct sd_pipe_step){&claim_stmt, c[i].params, &c[i].res};
    }
    steps[n++] = (struct sd_pipe_step){&next_due_stmt, nd.params, next_due};
    (void)ms;
    if (rc == SD_OK)
        rc = sd_db_pipeline(db, steps, n);
    next_due_free(&nd);
    return rc;
}

enum sd_rc sd_store_due_move(struct sd_db *db, long long ws, const struct sd_matrix_set *ms,
                             int64_t now_us, int limit, long long *moved, long long *transitions,
                             int64_t *oldest_due, int64_t *next_due)
{
    char w[24], lim[16];
    snprintf(w, sizeof w, "%lld", ws);
    snprintf(lim, sizeof lim, "%d", limit);
    struct claim *c = calloc(MAX_CLAIMS, sizeof *c);
    struct sd_customer_state *states = NULL;
    PGresult *versions = NULL, *next = NULL;
    *moved = 0;
    *next_due = 0;
    if (c == NULL)
        return SD_ERR_NOMEM;
    int nclaims = plan_claims(ms, now_us, c);
    enum sd_rc rc = claim(db, w, ms, c, nclaims, &versions, lim, &next);
    if (rc == SD_OK && PQntuples(next) == 1 && !PQgetisnull(next, 0, 0))
        *next_due = strtoll(PQgetvalue(next, 0, 0), NULL, 10);
    if (rc == SD_OK && !store_versions_match(versions, ms))
        rc = SD_ERR_STALE;
    size_t total = 0;
    for (int i = 0; rc == SD_OK && i < nclaims; i++)
        total += (size_t)PQntuples(c[i].res);
    if (rc == SD_OK && (states = calloc(total + 1, sizeof *states)) == NULL)
        rc = SD_ERR_NOMEM;
    size_t n = 0;
    *oldest_due = 0;
    for (int i = 0; rc == SD_OK && i < nclaims; i++) {
        for (int r = 0; r < PQntuples(c[i].res); r++) {
            sd_customer_state_read(c[i].res, r, &states[n]);
            int64_t due = sd_customer_next_change(&ms->m[states[n].kind], &states[n]);
            if (due != 0 && (*oldest_due == 0 || due < *oldest_due))
                *oldest_due = due;
            n++;
        }
    }
    if (rc == SD_OK)
        rc = n > 0 ? move_claimed(db, ws, ms, now_us, states, n, transitions)
                   : sd_db_exec(db, &store_commit_stmt, NULL, NULL);
    if (rc == SD_OK)
        *moved = (long long)n;
    else if (sd_db_conn(db) && PQtransactionStatus(sd_db_conn(db)) != PQTRANS_IDLE)
        PQclear(PQexec(sd_db_conn(db), "ROLLBACK"));
    for (int i = 0; i < nclaims; i++)
        PQclear(c[i].res);
    PQclear(versions);
    PQclear(next);
    free(states);
    free(c);
    return rc;
}
