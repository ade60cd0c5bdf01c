/* Imports: COPY into a temporary staging table, then set-based merges, in one transaction.
 *
 * Every row was validated in C before it reaches COPY (PostgreSQL 15's COPY has no ON_ERROR: one
 * bad row would abort the lot — TRAPS.md). Placement goes through the core in batches like any
 * other change; the counters are rebuilt from the customers at the end (one GROUP BY) instead of
 * adding a delta per customer. */
#include <stdlib.h>
#include <string.h>

#include "pgarray.h"
#include "store_util.h"
#include "segmentd/log.h"
#include "segmentd/store_customers.h"
#include "segmentd/store_imports.h"

#define BATCH 20000
#define COPY_FLUSH (256 * 1024)

/* ---- the imports table ---- */

static const struct sd_stmt create_stmt = {
    "import_create",
    "INSERT INTO imports (workspace_id, status, format, bytes_total) "
    "VALUES ($1::bigint, 'running', $2, $3::bigint) RETURNING id",
    3};
static const struct sd_stmt update_stmt = {
    "import_update",
    "UPDATE imports SET status = $3, phase = $4, rows = $5::bigint, rejected = $6::bigint, "
    "created = $7::bigint, duplicates = $8::bigint, conflicts = $9::bigint, "
    "customers = $10::bigint, errors = coalesce($11::jsonb, errors), message = $12, "
    "bytes_read = $13::bigint, updated_at = now(), "
    "finished_at = CASE WHEN $3 = 'running' THEN NULL ELSE now() END "
    "WHERE workspace_id = $1::bigint AND id = $2::bigint",
    13};
static const struct sd_stmt get_stmt = {
    "import_get",
    "SELECT status, format, phase, rows, rejected, created, duplicates, conflicts, customers, "
    "errors::text, message, " US("created_at") ", " US("updated_at") ", " US(
        "finished_at") ", "
                       "bytes_read, bytes_total "
                       "FROM imports WHERE workspace_id = $1::bigint AND id = $2::bigint",
    2};
static const struct sd_stmt tz_stmt = {"timezone_valid",
                                       "SELECT count(*) FROM pg_timezone_names WHERE name = $1", 1};

enum sd_rc sd_store_import_create(struct sd_db *db, long long ws, const char *format,
                                  int64_t bytes_total, long long *id)
{
    char w[24], total[24];
    snprintf(w, sizeof w, "%lld", ws);
    snprintf(total, sizeof total, "%lld", (long long)bytes_total);
    const char *params[] = {w, format, total};
    PGresult *res = NULL;
    enum sd_rc rc = sd_db_exec(db, &create_stmt, params, &res);
    if (rc == SD_OK)
        *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return rc;
}

enum sd_rc sd_store_import_update(struct sd_db *db, long long ws, long long id, const char *status,
                                  const char *phase, const struct sd_import_counts *c,
                                  const char *errors_json, const char *message)
{
    char v[9][24];
    snprintf(v[0], 24, "%lld", ws);
    snprintf(v[1], 24, "%lld", id);
    const int64_t nums[] = {c->rows,      c->rejected,  c->created,   c->duplicates,
                            c->conflicts, c->customers, c->bytes_read};
    for (int i = 0; i < 7; i++)
        snprintf(v[2 + i], 24, "%lld", (long long)nums[i]);
    const char *params[] = {v[0], v[1], status, phase,       v[2],    v[3], v[4],
                            v[5], v[6], v[7],   errors_json, message, v[8]};
    return sd_db_exec(db, &update_stmt, params, NULL);
}

enum sd_rc sd_store_import_get(struct sd_db *db, long long ws, long long id, PGresult **res)
{
    char w[24], i[24];
    snprintf(w, sizeof w, "%lld", ws);
    snprintf(i, sizeof i, "%lld", id);
    const char *params[] = {w, i};
    enum sd_rc rc = sd_db_exec(db, &get_stmt, params, res);
    if (rc == SD_OK && PQntuples(*res) == 0) {
        PQclear(*res);
        *res = NULL;
        rc = SD_ERR_NOT_FOUND;
    }
    return rc;
}

enum sd_rc sd_store_timezone_valid(struct sd_db *db, const char *tz, bool *valid)
{
    const char *params[] = {tz};
    PGresult *res = NULL;
    enum sd_rc rc = sd_db_exec(db, &tz_stmt, params, &res);
    if (rc == SD_OK)
        *valid = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
    PQclear(res);
    return rc;
}

/* ---- the session ---- */

struct sd_import_session {
    struct sd_db *db;
    long long ws;
    char wsbuf[24];
    char tz[64];
    struct sd_buf copy; /* COPY text waiting to be sent */
    bool copying;
    bool done;
};

static const char staging_sql[] =
    "CREATE TEMPORARY TABLE import_rows ("
    " line bigint, ext text COLLATE \"C\", oid text, cents bigint, at timestamptz,"
    " local_at timestamp, kind text, name text, phone text, email text, birthday date"
    ") ON COMMIT DROP";
/* Held shared until the commit, against a matrix PUT (see store/matrices.c): the caller loads
 * the matrices after this, and no new version can commit before the import does. */

enum sd_rc sd_import_session_begin(struct sd_db *db, long long ws, const char *timezone,
                                   struct sd_import_session **out)
{
    struct sd_import_session *s = calloc(1, sizeof *s);
    if (s == NULL)
        return SD_ERR_NOMEM;
    s->db = db;
    s->ws = ws;
    snprintf(s->wsbuf, sizeof s->wsbuf, "%lld", ws);
    snprintf(s->tz, sizeof s->tz, "%s", timezone ? timezone : "UTC");
    sd_buf_init(&s->copy, 8 * 1024 * 1024);
    const char *params[] = {s->wsbuf};
    enum sd_rc rc = sd_db_exec_script(db, "BEGIN");
    if (rc == SD_OK)
        rc = sd_db_exec(db, &store_matrix_share_stmt, params, NULL);
    if (rc == SD_OK)
        rc = sd_db_exec_script(db, staging_sql);
    if (rc != SD_OK) {
        sd_import_session_free(s);
        return rc;
    }
    *out = s;
    return SD_OK;
}

enum sd_rc sd_import_session_start_copy(struct sd_import_session *s)
{
    PGconn *conn = sd_db_conn(s->db);
    PGresult *res = PQexec(conn, "COPY import_rows FROM STDIN");
    ExecStatusType st = PQresultStatus(res);
    PQclear(res);
    if (st != PGRES_COPY_IN) {
        log_error("import: cannot start COPY: %s", PQerrorMessage(conn));
        return SD_ERR_DB;
    }
    s->copying = true;
    return SD_OK;
}

/* COPY text format: \N for NULL; backslash, tab, newline and carriage return escaped. */
static enum sd_rc copy_field(struct sd_buf *b, const char *v, bool last)
{
    enum sd_rc rc = SD_OK;
    if (v == NULL) {
        rc = sd_buf_append(b, "\\N", 2);
    } else {
        for (const char *p = v; rc == SD_OK && *p; p++) {
            const char *esc = *p == '\\'   ? "\\\\"
                              : *p == '\t' ? "\\t"
                              : *p == '\n' ? "\\n"
                              : *p == '\r' ? "\\r"
                                           : NULL;
            rc = esc ? sd_buf_append(b, esc, 2) : sd_buf_append(b, p, 1);
        }
    }
    return rc == SD_OK ? sd_buf_append(b, last ? "\n" : "\t", 1) : rc;
}

static enum sd_rc copy_flush(struct sd_import_session *s)
{
    if (s->copy.len == 0)
        return SD_OK;
    /* Blocking send: this runs on the import's own thread, never an HTTP one. */
    if (PQputCopyData(sd_db_conn(s->db), s->copy.data, (int)s->copy.len) != 1)
        return SD_ERR_DB_UNAVAILABLE;
    sd_buf_reset(&s->copy);
    return SD_OK;
}

enum sd_rc sd_import_session_put(struct sd_import_session *s, const struct sd_import_row *row)
{
    char line[24], cents[24], at[40];
    snprintf(line, sizeof line, "%ld", row->line);
    snprintf(cents, sizeof cents, "%lld", (long long)row->amount_cents);
    if (row->has_offset)
        sd_time_format_us(row->purchased_at_us, at, sizeof at);
    const char *fields[] = {line,
                            row->customer_id,
                            row->order_id,
                            cents,
                            row->has_offset ? at : NULL,
                            row->has_offset ? NULL : row->local_time,
                            row->kind,
                            row->name,
                            row->phone,
                            row->email,
                            row->birthday};
    enum sd_rc rc = SD_OK;
    for (int i = 0; rc == SD_OK && i < 11; i++)
        rc = copy_field(&s->copy, fields[i], i == 10);
    if (rc == SD_OK && s->copy.len >= COPY_FLUSH)
        rc = copy_flush(s);
    return rc;
}

static enum sd_rc copy_end(struct sd_import_session *s)
{
    enum sd_rc rc = copy_flush(s);
    PGconn *conn = sd_db_conn(s->db);
    if (PQputCopyEnd(conn, rc == SD_OK ? NULL : "aborted") != 1)
        rc = SD_ERR_DB_UNAVAILABLE;
    s->copying = false;
    PGresult *res;
    while ((res = PQgetResult(conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == SD_OK) {
            log_error("import: COPY failed: %s", PQresultErrorMessage(res));
            rc = SD_ERR_DB;
        }
        PQclear(res);
    }
    return rc;
}

/* ---- the merge ---- */

/* Statements on the staging tables (temporary, this session's only) and the workspace's rows. */
static const struct sd_stmt resolve_stmt = {
    "import_resolve_times", "UPDATE import_rows SET at = local_at AT TIME ZONE $1 WHERE at IS NULL",
    1};
static const struct sd_stmt future_stmt = {
    "import_future",
    "DELETE FROM import_rows WHERE at > now() + interval '5 minutes' RETURNING line", 0};
static const struct sd_stmt first_stmt = {
    "import_first_occurrences",
    "CREATE TEMPORARY TABLE import_orders ON COMMIT DROP AS "
    "SELECT DISTINCT ON (ext, oid) line, ext, oid, cents, at FROM import_rows "
    "ORDER BY ext, oid, line",
    0};
static const struct sd_stmt repeats_stmt = {
    "import_repeats",
    "SELECT count(*) FILTER (WHERE r.cents = f.cents AND r.at = f.at), "
    "count(*) FILTER (WHERE r.cents <> f.cents OR r.at <> f.at) "
    "FROM import_rows r JOIN import_orders f ON f.ext = r.ext AND f.oid = r.oid "
    "WHERE r.line <> f.line",
    0};
static const struct sd_stmt profiles_stmt = {
    "import_profiles",
    "CREATE TEMPORARY TABLE import_profiles ON COMMIT DROP AS "
    "SELECT ext, "
    "(array_agg(kind ORDER BY line DESC) FILTER (WHERE kind IS NOT NULL))[1] AS kind, "
    "(array_agg(name ORDER BY line DESC) FILTER (WHERE name IS NOT NULL))[1] AS name, "
    "(array_agg(phone ORDER BY line DESC) FILTER (WHERE phone IS NOT NULL))[1] AS phone, "
    "(array_agg(email ORDER BY line DESC) FILTER (WHERE email IS NOT NULL))[1] AS email, "
    "(array_agg(birthday ORDER BY line DESC) FILTER (WHERE birthday IS NOT NULL))[1] AS birthday "
    "FROM import_rows GROUP BY ext",
    0};
static const struct sd_stmt new_customers_stmt = {
    "import_new_customers",
    "INSERT INTO customers (workspace_id, external_id, kind) "
    "SELECT $1::bigint, ext, coalesce(kind, 'b2c') FROM import_profiles ORDER BY ext "
    "ON CONFLICT (workspace_id, external_id) DO NOTHING",
    1};
static const struct sd_stmt existing_stmt = {
    "import_existing",
    "SELECT count(*) FILTER (WHERE (o.amount * 100)::bigint = f.cents AND o.purchased_at = f.at), "
    "count(*) FILTER (WHERE (o.amount * 100)::bigint <> f.cents OR o.purchased_at <> f.at) "
    "FROM import_orders f JOIN customers c ON c.workspace_id = $1::bigint AND c.external_id = "
    "f.ext "
    "JOIN orders o ON o.workspace_id = $1::bigint AND o.customer_id = c.id AND o.order_id = f.oid",
    1};
static const struct sd_stmt orders_stmt = {
    "import_orders_insert",
    "INSERT INTO orders (workspace_id, customer_id, order_id, amount, purchased_at) "
    "SELECT $1::bigint, c.id, f.oid, f.cents / 100.0, f.at FROM import_orders f "
    "JOIN customers c ON c.workspace_id = $1::bigint AND c.external_id = f.ext "
    "ON CONFLICT (workspace_id, customer_id, order_id) DO NOTHING",
    1};
static const struct sd_stmt affected_stmt = {
    "import_affected",
    "CREATE TEMPORARY TABLE import_affected ON COMMIT DROP AS "
    "SELECT c.id, p.kind AS new_kind FROM import_profiles p "
    "JOIN customers c ON c.workspace_id = $1::bigint AND c.external_id = p.ext",
    1};
static const struct sd_stmt affected_index_stmt = {"import_affected_index",
                                                   "CREATE INDEX ON import_affected (id)", 0};
/* Temporary tables have no statistics until analysed, and the planner then guesses badly (a
 * nested loop over a million orders); one ANALYZE each is cheap. */
static const struct sd_stmt analyze_rows_stmt = {"import_analyze_rows", "ANALYZE import_rows", 0};
static const struct sd_stmt analyze_affected_stmt = {"import_analyze_affected",
                                                     "ANALYZE import_affected", 0};
/* Fresh aggregates of every touched customer, in one pass over their orders. */
static const struct sd_stmt aggregates_stmt = {
    "import_aggregates",
    "CREATE TEMPORARY TABLE import_aggregates ON COMMIT DROP AS "
    "SELECT o.customer_id AS id, count(*) AS n, sum((o.amount * 100)::bigint) AS rev, "
    "min(o.purchased_at) AS first_at, max(o.purchased_at) AS last_at "
    "FROM orders o JOIN import_affected x ON x.id = o.customer_id "
    "WHERE o.workspace_id = $1::bigint AND o.cancelled_at IS NULL GROUP BY o.customer_id",
    1};
static const struct sd_stmt aggregates_index_stmt = {"import_aggregates_index",
                                                     "CREATE INDEX ON import_aggregates (id)", 0};
static const struct sd_stmt analyze_aggregates_stmt = {"import_analyze_aggregates",
                                                       "ANALYZE import_aggregates", 0};
static const struct sd_stmt profile_update_stmt = {
    "import_profile_update",
    "UPDATE customers c SET name = coalesce(p.name, c.name), phone = coalesce(p.phone, c.phone), "
    "email = coalesce(p.email, c.email), birthday = coalesce(p.birthday, c.birthday) "
    "FROM import_profiles p WHERE c.workspace_id = $1::bigint AND c.external_id = p.ext "
    "AND (p.name IS NOT NULL OR p.phone IS NOT NULL OR p.email IS NOT NULL "
    "OR p.birthday IS NOT NULL)",
    1};
/* Each touched customer's stored state and fresh aggregates over its non-cancelled orders. */
static const struct sd_stmt batch_stmt =
    {"import_batch",
     "SELECT c.id, c.external_id, c.kind, c.purchases, c.revenue_cents, " US(
         "c.first_"
         "purchase_at") ", " US("c.last_purchase_at") ", coalesce(c.cell, ''), "
                                                      "coalesce(c.monetary, ''), " US(
                                                          "c.cell_since") ", coalesce(a.n, 0), "
                                                                          "coalesce(a.rev, "
                                                                          "0), " US("a.first_at") ", " US(
                                                                              "a.last_"
                                                                              "at") ", "
                                                                                    "x."
                                                                                    "ne"
                                                                                    "w_"
                                                                                    "ki"
                                                                                    "nd"
                                                                                    " "
                                                                                    "FR"
                                                                                    "OM"
                                                                                    " i"
                                                                                    "mp"
                                                                                    "or"
                                                                                    "t_"
                                                                                    "af"
                                                                                    "fe"
                                                                                    "ct"
                                                                                    "ed"
                                                                                    " x"
                                                                                    " J"
                                                                                    "OI"
                                                                                    "N "
                                                                                    "cu"
                                                                                    "st"
                                                                                    "om"
                                                                                    "er"
                                                                                    "s "
                                                                                    "c "
                                                                                    "ON"
                                                                                    " c"
                                                                                    ".w"
                                                                                    "or"
                                                                                    "ks"
                                                                                    "pa"
                                                                                    "ce"
                                                                                    "_i"
                                                                                    "d "
                                                                                    "= "
                                                                                    "$1"
                                                                                    "::"
                                                                                    "bi"
                                                                                    "gi"
                                                                                    "nt"
                                                                                    " A"
                                                                                    "ND"
                                                                                    " c"
                                                                                    ".i"
                                                                                    "d "
                                                                                    "= "
                                                                                    "x."
                                                                                    "id"
                                                                                    " "
                                                                                    "LE"
                                                                                    "FT"
                                                                                    " J"
                                                                                    "OI"
                                                                                    "N "
                                                                                    "im"
                                                                                    "po"
                                                                                    "rt"
                                                                                    "_a"
                                                                                    "gg"
                                                                                    "re"
                                                                                    "ga"
                                                                                    "te"
                                                                                    "s "
                                                                                    "a "
                                                                                    "ON"
                                                                                    " a"
                                                                                    ".i"
                                                                                    "d "
                                                                                    "= "
                                                                                    "x."
                                                                                    "id"
                                                                                    " "
                                                                                    "WH"
                                                                                    "ER"
                                                                                    "E "
                                                                                    "x."
                                                                                    "id"
                                                                                    " >"
                                                                                    " $"
                                                                                    "2:"
                                                                                    ":b"
                                                                                    "ig"
                                                                                    "in"
                                                                                    "t "
                                                                                    "OR"
                                                                                    "DE"
                                                                                    "R "
                                                                                    "BY"
                                                                                    " x"
                                                                                    ".i"
                                                                                    "d "
                                                                                    "LI"
                                                                                    "MI"
                                                                                    "T "
                                                                                    "$3"
                                                                                    "::"
                                                                                    "in"
                                                                                    "t",
     3};
static const struct sd_stmt clear_counts_stmt = {
    "import_clear_counts", "DELETE FROM cell_counts WHERE workspace_id = $1::bigint", 1};
static const struct sd_stmt rebuild_counts_stmt = {
    "import_rebuild_counts",
    "INSERT INTO cell_counts (workspace_id, kind, cell, monetary, stripe, customers, orders, "
    "revenue_cents) SELECT $1::bigint, kind, cell, monetary, 0, count(*), sum(purchases), "
    "sum(revenue_cents) FROM customers WHERE workspace_id = $1::bigint AND cell IS NOT NULL "
    "GROUP BY kind, cell, monetary",
    1};

static int64_t count_of(PGresult *res, int col)
{
    return res && PQntuples(res) > 0 ? strtoll(PQgetvalue(res, 0, col), NULL, 10) : 0;
}

/* When the customer entered their cell in the imported history: the first column is entered at
 * the last purchase, a later column when time crossed into it. */
static int64_t entered_at(const struct sd_matrix *m, const struct sd_change *c)
{
    int rec = c->placement.rec;
    if (rec <= 0)
        return c->last_purchase_at;
    return c->last_purchase_at + m->recency.bounds[rec - 1];
}

static void read_batch_row(const PGresult *res, int r, struct sd_change *c)
{
    struct sd_customer_state st;
    sd_customer_state_read(res, r, &st);
    sd_change_init(c, &st);
    c->purchases = strtoll(PQgetvalue(res, r, 10), NULL, 10);
    c->revenue_cents = strtoll(PQgetvalue(res, r, 11), NULL, 10);
    c->first_purchase_at = pga_read_us(PQgetvalue(res, r, 12));
    c->last_purchase_at = pga_read_us(PQgetvalue(res, r, 13));
    enum sd_kind k;
    if (!PQgetisnull(res, r, 14) && sd_kind_parse(PQgetvalue(res, r, 14), &k))
        c->kind = k;
}

/* Places the touched customers, BATCH at a time, through the core. */
static enum sd_rc place_customers(struct sd_import_session *s, const struct sd_matrix *matrices,
                                  int64_t *touched)
{
    char after[24] = "0", limit[16];
    snprintf(limit, sizeof limit, "%d", BATCH);
    struct sd_change *ch = calloc(BATCH, sizeof *ch);
    if (ch == NULL)
        return SD_ERR_NOMEM;
    enum sd_rc rc = SD_OK;
    int rows = BATCH;
    while (rc == SD_OK && rows == BATCH) {
        const char *params[] = {s->wsbuf, after, limit};
        PGresult *res = NULL;
        rc = sd_db_exec(s->db, &batch_stmt, params, &res);
        rows = rc == SD_OK ? PQntuples(res) : 0;
        int64_t now = sd_now_us();
        for (int r = 0; r < rows; r++) {
            read_batch_row(res, r, &ch[r]);
            sd_changes_classify(matrices, &ch[r], 1, now);
            ch[r].at = entered_at(&matrices[ch[r].kind], &ch[r]);
        }
        if (rows > 0)
            snprintf(after, sizeof after, "%s", PQgetvalue(res, rows - 1, 0));
        PQclear(res);
        struct sd_change_writer wr;
        struct sd_pipe_step steps[SD_CHANGE_WRITER_STEPS];
        int nsteps = 0;
        if (rc == SD_OK && rows > 0) {
            rc = sd_change_writer_build_flags(&wr, s->ws, ch, (size_t)rows, "import", now, 0, steps,
                                              &nsteps);
            if (rc == SD_OK && nsteps > 0)
                rc = sd_db_pipeline(s->db, steps, nsteps);
            sd_change_writer_free(&wr);
        }
        *touched += rows;
    }
    free(ch);
    return rc;
}

static enum sd_rc report_future(struct sd_import_session *s, struct sd_import_counts *counts,
                                void (*on_reject)(void *, long, const char *), void *ctx)
{
    PGresult *res = NULL;
    enum sd_rc rc = sd_db_exec(s->db, &future_stmt, NULL, &res);
    for (int r = 0; rc == SD_OK && r < PQntuples(res); r++) {
        counts->rejected++;
        if (on_reject)
            on_reject(ctx, strtol(PQgetvalue(res, r, 0), NULL, 10),
                      "purchased_at: more than 5 minutes in the future");
    }
    PQclear(res);
    return rc;
}

static enum sd_rc merge(struct sd_import_session *s, const struct sd_matrix *matrices,
                        struct sd_import_counts *counts,
                        void (*on_reject)(void *, long, const char *), void *ctx)
{
    const char *p_tz[] = {s->tz}, *p_ws[] = {s->wsbuf};
    PGresult *repeats = NULL, *existing = NULL, *inserted = NULL;
    enum sd_rc rc = sd_db_exec(s->db, &resolve_stmt, p_tz, NULL);
    if (rc == SD_OK)
        rc = report_future(s, counts, on_reject, ctx);
    struct sd_pipe_step steps[] = {
        {&analyze_rows_stmt, NULL, NULL},       {&first_stmt, NULL, NULL},
        {&repeats_stmt, NULL, &repeats},        {&profiles_stmt, NULL, NULL},
        {&new_customers_stmt, p_ws, NULL},      {&existing_stmt, p_ws, &existing},
        {&orders_stmt, p_ws, &inserted},        {&affected_stmt, p_ws, NULL},
        {&affected_index_stmt, NULL, NULL},     {&analyze_affected_stmt, NULL, NULL},
        {&aggregates_stmt, p_ws, NULL},         {&aggregates_index_stmt, NULL, NULL},
        {&analyze_aggregates_stmt, NULL, NULL}, {&profile_update_stmt, p_ws, NULL},
    };
    if (rc == SD_OK)
        rc = sd_db_pipeline(s->db, steps, (int)(sizeof steps / sizeof steps[0]));
    if (rc == SD_OK) {
        counts->created = strtoll(PQcmdTuples(inserted), NULL, 10);
        counts->duplicates = count_of(repeats, 0) + count_of(existing, 0);
        counts->conflicts = count_of(repeats, 1) + count_of(existing, 1);
        rc = place_customers(s, matrices, &counts->customers);
    }
    struct sd_pipe_step finish[] = {{&clear_counts_stmt, p_ws, NULL},
                                    {&rebuild_counts_stmt, p_ws, NULL},
                                    {&store_commit_stmt, NULL, NULL}};
    if (rc == SD_OK)
        rc = sd_db_pipeline(s->db, finish, 3);
    PQclear(repeats);
    PQclear(existing);
    PQclear(inserted);
    return rc;
}

enum sd_rc sd_import_session_commit(struct sd_import_session *s,
                                    const struct sd_matrix matrices[SD_KIND_COUNT],
                                    struct sd_import_counts *counts,
                                    void (*on_reject)(void *ctx, long line, const char *reason),
                                    void *ctx)
{
    enum sd_rc rc = copy_end(s);
    if (rc == SD_OK)
        rc = merge(s, matrices, counts, on_reject, ctx);
    s->done = rc == SD_OK;
    return rc;
}

void sd_import_session_free(struct sd_import_session *s)
{
    if (s == NULL)
        return;
    if (s->copying)
        (void)copy_end(s);
    PGconn *conn = sd_db_conn(s->db);
    if (!s->done && conn != NULL && PQtransactionStatus(conn) != PQTRANS_IDLE)
        PQclear(PQexec(conn, "ROLLBACK"));
    sd_buf_free(&s->copy);
    free(s);
}
