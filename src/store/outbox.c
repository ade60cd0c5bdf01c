/* The outbox's sending side: discovery, claims with a lease, the read that feeds the send
 * decision, and the batched writes that finish deliveries (store_outbox.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgarray.h"
#include "segmentd/store_outbox.h"
#include "store_util.h"

/* Array parameters stay far below this; the cap only guards against a runaway. */
#define ARRAY_MAX (4 * 1024 * 1024)
/* last_success_at is refreshed at most this often per campaign, so that a busy campaign's row is
 * not rewritten by every delivery. */
#define SUCCESS_REFRESH_US INT64_C(1000000)

#define MS(col) "coalesce((extract(epoch FROM " col ") * 1000)::bigint, 0)"

static const struct sd_stmt due_workspaces_stmt = {
    "outbox_due_workspaces",
    "SELECT workspace_id FROM deliveries WHERE status IN ('pending', 'failed') "
    "AND due_at <= now() GROUP BY workspace_id",
    0};

static const struct sd_stmt claim_stmt = {
    "outbox_claim",
    "UPDATE deliveries SET lease_owner = $2, lease_until = now() + $3::interval "
    "WHERE workspace_id = $1::bigint AND id IN ("
    " SELECT d.id FROM deliveries d JOIN campaigns c"
    " ON (c.workspace_id, c.id) = (d.workspace_id, d.campaign_id)"
    " WHERE d.workspace_id = $1::bigint AND d.status IN ('pending', 'failed')"
    " AND d.due_at <= now() AND (d.lease_until IS NULL OR d.lease_until < now()) AND c.active"
    " AND d.campaign_id <> ALL ($5::bigint[])"
    " ORDER BY d.due_at LIMIT $4::int FOR UPDATE OF d SKIP LOCKED) "
    "RETURNING id",
    5};

static const struct sd_stmt release_stmt = {
    "outbox_release",
    "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL "
    "WHERE workspace_id = $1::bigint AND id = ANY ($2::bigint[]) AND lease_owner = $3",
    3};

/* Column order is read by load_row(). The limits' histories are cut to their windows here; the
 * core counts again exactly. */
static const struct sd_stmt load_stmt = {
    "outbox_load",
    /* clang-format off */
    "SELECT d.id, d.campaign_id, d.customer_id, d.msg_id, d.body, d.attempts, c.webhook_url,"
    " c.secret, CASE WHEN c.previous_until > now() THEN c.previous_secret END,"
    " coalesce(c.trigger_type <> 'enter' OR (cu.kind = c.kind AND cu.cell = ANY (c.cells)),"
    " false),"
    " coalesce(c.max_count, 0), coalesce(c.max_per_ms, 0), cu.contact_opt_out,"
    " ARRAY(SELECT " MS("x.delivered_at") " FROM deliveries x"
    "  WHERE x.workspace_id = $1::bigint AND x.customer_id = d.customer_id"
    "  AND x.campaign_id = d.campaign_id AND x.status = 'delivered' AND c.max_count IS NOT NULL"
    "  AND x.delivered_at > now() - c.max_per_ms * interval '1 millisecond'),"
    " ARRAY(SELECT " MS("x.delivered_at") " FROM deliveries x"
    "  WHERE x.workspace_id = $1::bigint AND x.customer_id = d.customer_id"
    "  AND x.status = 'delivered' AND p.max_count IS NOT NULL"
    "  AND x.delivered_at > now() - p.max_per_ms * interval '1 millisecond'),"
    " coalesce(p.max_count, 0), coalesce(p.max_per_ms, 0), coalesce(p.quiet_from_min, -1),"
    " coalesce(p.quiet_to_min, -1),"
    " coalesce(extract(epoch FROM (now() AT TIME ZONE p.timezone) - (now() AT TIME ZONE 'UTC'))"
    "::int, 0), " MS("now()") ", " MS("c.failing_since") " "
    "FROM deliveries d "
    "JOIN campaigns c ON (c.workspace_id, c.id) = (d.workspace_id, d.campaign_id) "
    "JOIN customers cu ON (cu.workspace_id, cu.id) = (d.workspace_id, d.customer_id) "
    "LEFT JOIN contact_policies p ON p.workspace_id = d.workspace_id "
    "WHERE d.workspace_id = $1::bigint AND d.id = ANY ($2::bigint[]) "
    "ORDER BY d.due_at, d.id",
    /* clang-format on */
    2};

/* Runs after the delivery's update, which locks the row: a delivery erased meanwhile (its
 * customer deleted) leaves no attempt rather than failing the whole batch on the foreign key. */
static const struct sd_stmt attempt_stmt = {
    "outbox_attempt",
    "INSERT INTO delivery_attempts (workspace_id, delivery_id, at, status_code, latency_ms, error,"
    " process) SELECT $1::bigint, $2::bigint, $3::timestamptz, $4::int, $5::int, $6, $7 "
    "WHERE EXISTS (SELECT 1 FROM deliveries WHERE workspace_id = $1::bigint AND id = $2::bigint)",
    7};

static const struct sd_stmt delivered_stmt = {
    "outbox_delivered",
    "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = now(),"
    " last_status = $3::int, last_error = NULL, lease_owner = NULL, lease_until = NULL,"
    " updated_at = now() "
    "WHERE workspace_id = $1::bigint AND id = $2::bigint AND lease_owner = $4 RETURNING id",
    4};

/* failed (due again after $4) or dead ($4 is then 0). */
static const struct sd_stmt failed_stmt = {
    "outbox_failed",
    "UPDATE deliveries SET status = $3, attempts = attempts + 1, due_at = now() + $4::interval,"
    " last_status = $5::int, last_error = $6, lease_owner = NULL, lease_until = NULL,"
    " updated_at = now() "
    "WHERE workspace_id = $1::bigint AND id = $2::bigint AND lease_owner = $7 RETURNING id",
    7};

static const struct sd_stmt defer_stmt = {
    "outbox_defer",
    "UPDATE deliveries SET status = 'pending', due_at = $3::timestamptz, lease_owner = NULL,"
    " lease_until = NULL, updated_at = now() "
    "WHERE workspace_id = $1::bigint AND id = $2::bigint AND lease_owner = $4 RETURNING id",
    4};

static const struct sd_stmt suppress_stmt = {
    "outbox_suppress",
    "UPDATE deliveries SET status = 'suppressed', reason = $3, lease_owner = NULL,"
    " lease_until = NULL, updated_at = now() "
    "WHERE workspace_id = $1::bigint AND id = $2::bigint AND lease_owner = $4 RETURNING id",
    4};

static const struct sd_stmt campaign_ok_stmt = {
    "outbox_campaign_ok",
    "UPDATE campaigns SET failing_since = NULL, last_success_at = now() "
    "WHERE workspace_id = $1::bigint AND id = $2::bigint AND (failing_since IS NOT NULL"
    " OR last_success_at IS NULL OR last_success_at < $3::timestamptz)",
    3};

static const struct sd_stmt campaign_failing_stmt = {
    "outbox_campaign_failing",
    "UPDATE campaigns SET failing_since = now() "
    "WHERE workspace_id = $1::bigint AND id = $2::bigint AND failing_since IS NULL",
    2};

static const struct sd_stmt campaign_stale_stmt = {
    "outbox_campaign_stale",
    "UPDATE campaigns SET active = false, paused_reason = $3, updated_at = now() "
    "WHERE workspace_id = $1::bigint AND id = $2::bigint AND active"
    " AND failing_since <= $4::timestamptz",
    4};

static const struct sd_stmt campaign_gone_stmt = {
    "outbox_campaign_gone",
    "UPDATE campaigns SET active = false, paused_reason = 'endpoint answered 410 Gone',"
    " updated_at = now() "
    "WHERE workspace_id = $1::bigint AND id = $2::bigint AND active",
    2};

static const struct sd_stmt depth_stmt = {
    "outbox_depth",
    "SELECT workspace_id, status, count(*) FROM deliveries WHERE status IN ('pending', 'failed') "
    "GROUP BY workspace_id, status",
    0};

/* ---- small helpers ---- */

static long long col_ll(const PGresult *res, int row, int col)
{
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* The first column of every row as a new array of ids. */
static enum sd_rc read_ids(PGresult *res, long long **ids, size_t *n)
{
    *n = (size_t)PQntuples(res);
    *ids = calloc(*n + 1, sizeof **ids);
    if (*ids == NULL)
        return SD_ERR_NOMEM;
    for (size_t i = 0; i < *n; i++)
        (*ids)[i] = col_ll(res, (int)i, 0);
    return SD_OK;
}

/* "{1,2,3}" → a new array (never NULL on success, even when empty). */
static enum sd_rc parse_i64_array(const char *text, int64_t **out, size_t *n)
{
    size_t cap = 1;
    for (const char *p = text; *p != '\0'; p++)
        cap += *p == ',';
    *n = 0;
    *out = calloc(cap, sizeof **out);
    if (*out == NULL)
        return SD_ERR_NOMEM;
    const char *p = text + (*text == '{');
    while (*p != '\0' && *p != '}') {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno != 0 || *n >= cap)
            return SD_ERR_INVALID;
        (*out)[(*n)++] = v;
        p = end + (*end == ',');
    }
    return SD_OK;
}

static enum sd_rc id_array(struct sd_buf *b, const long long *ids, size_t n, const char **text)
{
    enum sd_rc rc = SD_OK;
    pga_begin(b, ARRAY_MAX);
    for (size_t i = 0; rc == SD_OK && i < n; i++)
        rc = pga_i64(b, ids[i]);
    *text = rc == SD_OK ? pga_end(b) : NULL;
    return *text != NULL ? SD_OK : SD_ERR_TOO_LARGE;
}

/* ---- discovery, claims, release ---- */

enum sd_rc sd_outbox_due_workspaces(struct sd_db *db, long long **ids, size_t *n)
{
    PGresult *res = NULL;
    *ids = NULL;
    *n = 0;
    enum sd_rc rc = sd_db_exec(db, &due_workspaces_stmt, NULL, &res);
    if (rc == SD_OK)
        rc = read_ids(res, ids, n);
    PQclear(res);
    return rc;
}

enum sd_rc sd_outbox_claim(struct sd_db *db, long long ws, const char *owner, int64_t lease_ms,
                           int limit, const long long *skip_campaigns, size_t nskip,
                           long long **ids, size_t *n)
{
    char w[24], lease[40], lim[16];
    struct sd_buf skip;
    const char *skip_text = NULL;
    PGresult *res = NULL;
    *ids = NULL;
    *n = 0;
    snprintf(w, sizeof w, "%lld", ws);
    snprintf(lease, sizeof lease, "%lld milliseconds", (long long)lease_ms);
    snprintf(lim, sizeof lim, "%d", limit);
    enum sd_rc rc = id_array(&skip, skip_campaigns, nskip, &skip_text);
    if (rc == SD_OK) {
        const char *params[] = {w, owner, lease, lim, skip_text};
        rc = sd_db_exec(db, &claim_stmt, params, &res);
    }
    if (rc == SD_OK)
        rc = read_ids(res, ids, n);
    PQclear(res);
    sd_buf_free(&skip);
    return rc;
}

enum sd_rc sd_outbox_release(struct sd_db *db, long long ws, const char *owner,
                             const long long *ids, size_t n)
{
    char w[24];
    struct sd_buf arr;
    const char *arr_text = NULL;
    snprintf(w, sizeof w, "%lld", ws);
    enum sd_rc rc = id_array(&arr, ids, n, &arr_text);
    if (rc == SD_OK) {
        const char *params[] = {w, arr_text, owner};
        rc = sd_db_exec(db, &release_stmt, params, NULL);
    }
    sd_buf_free(&arr);
    return rc;
}

/* ---- the read that feeds the decision ---- */

void sd_outbox_item_clear(struct sd_outbox_item *it)
{
    free(it->msg_id);
    free(it->body);
    free(it->url);
    free(it->secret);
    free(it->previous_secret);
    free(it->campaign_sent);
    free(it->workspace_sent);
    *it = (struct sd_outbox_item){0};
}

static char *col_dup(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : strdup(PQgetvalue(res, row, col));
}

static enum sd_rc load_row(const PGresult *res, int r, long long ws, struct sd_outbox_item *it)
{
    it->ws = ws;
    it->id = col_ll(res, r, 0);
    it->campaign_id = col_ll(res, r, 1);
    it->customer_id = col_ll(res, r, 2);
    it->msg_id = col_dup(res, r, 3);
    it->body = col_dup(res, r, 4);
    it->body_len = (size_t)PQgetlength(res, r, 4);
    it->attempts = (int)col_ll(res, r, 5);
    it->url = col_dup(res, r, 6);
    it->secret = col_dup(res, r, 7);
    it->previous_secret = col_dup(res, r, 8);
    if (it->msg_id == NULL || it->body == NULL || it->url == NULL || it->secret == NULL ||
        (it->previous_secret == NULL && !PQgetisnull(res, r, 8)))
        return SD_ERR_NOMEM;

    struct sd_send_inputs *in = &it->send;
    in->still_in_campaign_cells = PQgetvalue(res, r, 9)[0] == 't';
    in->campaign_limit.count = (int)col_ll(res, r, 10);
    in->campaign_limit.per_ms = col_ll(res, r, 11);
    in->opted_out = PQgetvalue(res, r, 12)[0] == 't';
    enum sd_rc rc =
        parse_i64_array(PQgetvalue(res, r, 13), &it->campaign_sent, &in->campaign_nsent);
    if (rc == SD_OK)
        rc = parse_i64_array(PQgetvalue(res, r, 14), &it->workspace_sent, &in->workspace_nsent);
    if (rc != SD_OK)
        return rc;
    in->campaign_sent_at_ms = it->campaign_sent;
    in->workspace_sent_at_ms = it->workspace_sent;
    in->workspace_limit.count = (int)col_ll(res, r, 15);
    in->workspace_limit.per_ms = col_ll(res, r, 16);
    int from = (int)col_ll(res, r, 17), to = (int)col_ll(res, r, 18);
    in->quiet = (struct sd_quiet_hours){from >= 0 && to >= 0 && from != to, from, to};
    in->utc_offset_s = (int)col_ll(res, r, 19);
    in->now_ms = col_ll(res, r, 20);
    it->failing_since_ms = col_ll(res, r, 21);
    return SD_OK;
}

enum sd_rc sd_outbox_load(struct sd_db *db, long long ws, const long long *ids, size_t n,
                          struct sd_outbox_item **items, size_t *nitems)
{
    char w[24];
    struct sd_buf arr;
    const char *arr_text = NULL;
    PGresult *res = NULL;
    struct sd_outbox_item *out = NULL;
    size_t k = 0;
    *items = NULL;
    *nitems = 0;
    snprintf(w, sizeof w, "%lld", ws);
    enum sd_rc rc = id_array(&arr, ids, n, &arr_text);
    if (rc == SD_OK) {
        const char *params[] = {w, arr_text};
        rc = sd_db_exec(db, &load_stmt, params, &res);
    }
    if (rc == SD_OK && (out = calloc((size_t)PQntuples(res) + 1, sizeof *out)) == NULL)
        rc = SD_ERR_NOMEM;
    for (int r = 0; rc == SD_OK && r < PQntuples(res); r++) {
        rc = load_row(res, r, ws, &out[k]);
        k++;
    }
    if (rc != SD_OK) {
        for (size_t i = 0; out != NULL && i < k; i++)
            sd_outbox_item_clear(&out[i]);
        free(out);
        out = NULL;
        k = 0;
    }
    *items = out;
    *nitems = k;
    PQclear(res);
    sd_buf_free(&arr);
    return rc;
}

/* ---- finishing ---- */

/* Parameter texts of one outcome's statements. */
struct rec {
    char id[24], status[8], latency[16], at[40], interval[40], due[40];
    const char *attempt[7];
    const char *update[7];
    PGresult *res; /* RETURNING id of the delivery's update: no row = lease lost */
};

/* One campaign's health after the batch: a success (if any) is written before the failure
 * that came last, so the end state follows the order in which attempts finished. */
struct camp {
    long long id;
    bool success, failed_last, gone;
    const char *pause_reason;
    char cid[24], cutoff[40], recent[40];
    const char *p_ok[3], *p_fail[2], *p_stale[4], *p_gone[2];
};

static bool is_attempt(enum sd_outbox_action a)
{
    return a != SD_OUTBOX_SUPPRESS && a != SD_OUTBOX_DEFER;
}

static void plan_outcome(const char *w, const char *owner, const struct sd_outbox_outcome *o,
                         struct rec *p, struct sd_pipe_step *steps, int *n)
{
    snprintf(p->id, sizeof p->id, "%lld", o->id);
    snprintf(p->status, sizeof p->status, "%d", o->status_code);
    snprintf(p->latency, sizeof p->latency, "%d", o->latency_ms < 0 ? 0 : o->latency_ms);
    const char *status = o->status_code > 0 ? p->status : NULL;
    const struct sd_stmt *stmt = NULL;
    switch (o->action) {
    case SD_OUTBOX_DELIVERED: {
        const char *u[] = {w, p->id, status, owner};
        memcpy(p->update, u, sizeof u);
        stmt = &delivered_stmt;
        break;
    }
    case SD_OUTBOX_RETRY:
    case SD_OUTBOX_DEAD:
    case SD_OUTBOX_GONE: {
        int64_t in_ms = o->action == SD_OUTBOX_RETRY ? o->retry_in_ms : 0;
        snprintf(p->interval, sizeof p->interval, "%lld milliseconds",
                 (long long)(in_ms < 0 ? 0 : in_ms));
        const char *u[] = {w,           p->id,  o->action == SD_OUTBOX_DEAD ? "dead" : "failed",
                           p->interval, status, o->error,
                           owner};
        memcpy(p->update, u, sizeof u);
        stmt = &failed_stmt;
        break;
    }
    case SD_OUTBOX_DEFER: {
        sd_time_format_us(o->due_at_ms * 1000, p->due, sizeof p->due);
        const char *u[] = {w, p->id, p->due, owner};
        memcpy(p->update, u, sizeof u);
        stmt = &defer_stmt;
        break;
    }
    case SD_OUTBOX_SUPPRESS: {
        const char *u[] = {w, p->id, o->reason, owner};
        memcpy(p->update, u, sizeof u);
        stmt = &suppress_stmt;
        break;
    }
    }
    steps[(*n)++] = (struct sd_pipe_step){stmt, p->update, &p->res};
    if (is_attempt(o->action)) {
        sd_time_format_us(o->at_us, p->at, sizeof p->at);
        const char *a[] = {w, p->id, p->at, status, p->latency, o->error, owner};
        memcpy(p->attempt, a, sizeof a);
        steps[(*n)++] = (struct sd_pipe_step){&attempt_stmt, p->attempt, NULL};
    }
}

/* Folds the outcomes into one entry per campaign; returns the number of campaigns. */
static size_t fold_campaigns(const struct sd_outbox_outcome *o, size_t n, struct camp *c)
{
    size_t nc = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_attempt(o[i].action))
            continue;
        size_t k = 0;
        while (k < nc && c[k].id != o[i].campaign_id)
            k++;
        if (k == nc)
            c[nc++] = (struct camp){.id = o[i].campaign_id};
        bool ok = o[i].action == SD_OUTBOX_DELIVERED;
        c[k].success |= ok;
        c[k].failed_last = !ok;
        c[k].gone |= o[i].action == SD_OUTBOX_GONE;
        if (!ok && o[i].pause_cutoff_us > 0 && o[i].pause_reason != NULL) {
            c[k].pause_reason = o[i].pause_reason;
            sd_time_format_us(o[i].pause_cutoff_us, c[k].cutoff, sizeof c[k].cutoff);
        }
    }
    return nc;
}

static void plan_campaign(const char *w, struct camp *c, const char *recent,
                          struct sd_pipe_step *steps, int *n)
{
    snprintf(c->cid, sizeof c->cid, "%lld", c->id);
    snprintf(c->recent, sizeof c->recent, "%s", recent);
    if (c->success) {
        const char *p[] = {w, c->cid, c->recent};
        memcpy(c->p_ok, p, sizeof p);
        steps[(*n)++] = (struct sd_pipe_step){&campaign_ok_stmt, c->p_ok, NULL};
    }
    if (c->gone) {
        const char *p[] = {w, c->cid};
        memcpy(c->p_gone, p, sizeof p);
        steps[(*n)++] = (struct sd_pipe_step){&campaign_gone_stmt, c->p_gone, NULL};
    }
    if (c->failed_last) {
        const char *p[] = {w, c->cid};
        memcpy(c->p_fail, p, sizeof p);
        steps[(*n)++] = (struct sd_pipe_step){&campaign_failing_stmt, c->p_fail, NULL};
        if (c->pause_reason != NULL) {
            const char *q[] = {w, c->cid, c->pause_reason, c->cutoff};
            memcpy(c->p_stale, q, sizeof q);
            steps[(*n)++] = (struct sd_pipe_step){&campaign_stale_stmt, c->p_stale, NULL};
        }
    }
}

enum sd_rc sd_outbox_record(struct sd_db *db, long long ws, const char *owner,
                            struct sd_outbox_outcome *outcomes, size_t n)
{
    if (n == 0)
        return SD_OK;
    char w[24], recent[40];
    snprintf(w, sizeof w, "%lld", ws);
    sd_time_format_us(sd_now_us() - SUCCESS_REFRESH_US, recent, sizeof recent);
    struct rec *recs = calloc(n, sizeof *recs);
    struct camp *camps = calloc(n, sizeof *camps);
    /* BEGIN, two per outcome, four per campaign, COMMIT */
    struct sd_pipe_step *steps = calloc(6 * n + 2, sizeof *steps);
    enum sd_rc rc = SD_ERR_NOMEM;
    if (recs == NULL || camps == NULL || steps == NULL)
        goto out;
    int nsteps = 0;
    steps[nsteps++] = (struct sd_pipe_step){&store_begin_stmt, NULL, NULL};
    for (size_t i = 0; i < n; i++)
        plan_outcome(w, owner, &outcomes[i], &recs[i], steps, &nsteps);
    size_t ncamps = fold_campaigns(outcomes, n, camps);
    for (size_t i = 0; i < ncamps; i++)
        plan_campaign(w, &camps[i], recent, steps, &nsteps);
    steps[nsteps++] = (struct sd_pipe_step){&store_commit_stmt, NULL, NULL};
    rc = sd_db_pipeline(db, steps, nsteps);
    for (size_t i = 0; rc == SD_OK && i < n; i++)
        outcomes[i].lease_lost = recs[i].res == NULL || PQntuples(recs[i].res) == 0;
    if (rc != SD_OK && sd_db_conn(db) != NULL &&
        PQtransactionStatus(sd_db_conn(db)) != PQTRANS_IDLE)
        PQclear(PQexec(sd_db_conn(db), "ROLLBACK"));
out:
    for (size_t i = 0; recs != NULL && i < n; i++)
        PQclear(recs[i].res);
    free(steps);
    free(camps);
    free(recs);
    return rc;
}

enum sd_rc sd_outbox_depth(struct sd_db *db, long long *pending, long long *failed)
{
    PGresult *res = NULL;
    *pending = *failed = 0;
    enum sd_rc rc = sd_db_exec(db, &depth_stmt, NULL, &res);
    for (int r = 0; rc == SD_OK && r < PQntuples(res); r++) {
        long long count = col_ll(res, r, 2);
        if (strcmp(PQgetvalue(res, r, 1), "pending") == 0)
            *pending += count;
        else
            *failed += count;
    }
    PQclear(res);
    return rc;
}
