/* /v1/segments: the matrix report, and each cell's customers (JSON pages or a CSV stream). */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "segmentd/matrix_cache.h"
#include "segmentd/router.h"
#include "segmentd/store_customers.h"
#include "segmentd/util.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000
#define CSV_PAGE 1000

/* ?kind= (default b2c); answers 400 itself when bad. */
static bool query_kind(struct sd_request *req, enum sd_kind *kind)
{
    const char *k = http_req_query(req, "kind");
    *kind = SD_KIND_B2C;
    if (k == NULL || sd_kind_parse(k, kind))
        return true;
    http_reply_problem(req, 400, "Query parameter kind must be b2c or b2b.");
    return false;
}

static struct sd_matrix_set *load_matrices(struct sd_request *req)
{
    struct sd_matrix_set *ms = malloc(sizeof *ms);
    enum sd_rc rc =
        ms ? matrix_cache_get(http_req_db(req), http_req_caller(req)->workspace_id, true, false, ms)
           : SD_ERR_NOMEM;
    if (rc != SD_OK) {
        free(ms);
        http_reply_rc(req, rc);
        return NULL;
    }
    return ms;
}

static json_t *money(int64_t cents)
{
    char buf[32];
    sd_amount_format(cents, buf, sizeof buf);
    return json_string(buf);
}

/* ---- the report ---- */

struct cell_sum {
    int64_t customers, orders, revenue;
    int64_t mon_customers[SD_MAX_BANDS], mon_revenue[SD_MAX_BANDS];
};

static void sum_counts(const struct sd_matrix *m, const PGresult *res,
                       struct cell_sum sums[SD_MAX_BANDS][SD_MAX_BANDS])
{
    memset(sums, 0, sizeof(struct cell_sum) * SD_MAX_BANDS * SD_MAX_BANDS);
    for (int r = 0; r < PQntuples(res); r++) {
        int f, c;
        int mon = sd_axis_find(&m->monetary, PQgetvalue(res, r, 1));
        if (!sd_matrix_cell_parse(m, PQgetvalue(res, r, 0), &f, &c) || mon < 0)
            continue; /* a label of an earlier matrix: re-segmentation is moving it */
        struct cell_sum *s = &sums[f][c];
        int64_t n = strtoll(PQgetvalue(res, r, 2), NULL, 10);
        int64_t rev = strtoll(PQgetvalue(res, r, 4), NULL, 10);
        s->customers += n;
        s->orders += strtoll(PQgetvalue(res, r, 3), NULL, 10);
        s->revenue += rev;
        s->mon_customers[mon] += n;
        s->mon_revenue[mon] += rev;
    }
}

static json_t *render_cell(const struct sd_matrix *m, int f, int c, const struct cell_sum *s,
                           int64_t total)
{
    char key[SD_CELL_KEY_MAX + 1], name[SD_CELL_NAME_MAX * 4 + 1];
    sd_matrix_cell_key(m, f, c, key);
    sd_matrix_cell_name(m, f, c, name, sizeof name);
    json_t *mon = json_object();
    for (int i = 0; i < m->monetary.nbands; i++)
        json_object_set_new(mon, m->monetary.labels[i],
                            json_pack("{s:I, s:o}", "customers", (json_int_t)s->mon_customers[i],
                                      "revenue", money(s->mon_revenue[i])));
    json_t *cell =
        json_pack("{s:s, s:s, s:s, s:s, s:b, s:I, s:f, s:o, s:I, s:o}", "key", key, "frequency",
                  m->frequency.labels[f], "recency", m->recency.labels[c], "name", name, "sleeping",
                  m->sleeping[c], "customers", (json_int_t)s->customers, "share",
                  total ? (double)s->customers / (double)total : 0.0, "revenue", money(s->revenue),
                  "orders", (json_int_t)s->orders, "monetary", mon);
    json_object_set_new(cell, "avg_order_value",
                        s->orders ? money((s->revenue + s->orders / 2) / s->orders) : json_null());
    return cell;
}

void api_segments_report(struct sd_request *req)
{
    enum sd_kind kind;
    if (!query_kind(req, &kind))
        return;
    struct sd_matrix_set *ms = load_matrices(req);
    if (ms == NULL)
        return;
    const struct sd_matrix *m = &ms->m[kind];
    PGresult *res = NULL;
    struct cell_sum(*sums)[SD_MAX_BANDS] = calloc(SD_MAX_BANDS, sizeof *sums);
    enum sd_rc rc = sums ? sd_store_segment_counts(http_req_db(req),
                                                   http_req_caller(req)->workspace_id, kind, &res)
                         : SD_ERR_NOMEM;
    if (rc != SD_OK) {
        http_reply_rc(req, rc);
        goto out;
    }
    sum_counts(m, res, sums);
    int64_t total = 0, active = 0;
    for (int f = 0; f < m->frequency.nbands; f++) {
        for (int c = 0; c < m->recency.nbands; c++) {
            total += sums[f][c].customers;
            active += c == 0 ? sums[f][c].customers : 0;
        }
    }
    json_t *cells = json_array();
    for (int f = 0; f < m->frequency.nbands; f++) {
        for (int c = 0; c < m->recency.nbands; c++)
            json_array_append_new(cells, render_cell(m, f, c, &sums[f][c], total));
    }
    json_t *doc =
        json_pack("{s:s, s:i, s:I, s:o}", "kind", sd_kind_name(kind), "matrix_version",
                  ms->version[kind], "total_customers", (json_int_t)total, "cells", cells);
    json_object_set_new(doc, "active_share",
                        total ? json_real((double)active / (double)total) : json_null());
    http_reply_json(req, 200, doc);
out:
    PQclear(res);
    free(sums);
    free(ms);
}

/* ---- cursors: base64url of the last customer_id, opaque to clients ---- */

static void cursor_encode(const char *id, char *out)
{
    int n = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)id, (int)strlen(id));
    for (int i = 0; i < n; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
        else if (out[i] == '=')
            out[i] = '\0';
    }
}

static bool cursor_decode(const char *cursor, char *out, size_t outlen)
{
    size_t n = strlen(cursor);
    char padded[1200];
    /* EVP_DecodeBlock writes whole groups, padding included; the id plus its NUL must fit:
     * the id of 128 four-byte characters fills `out` exactly. */
    size_t pad = (4 - n % 4) % 4, written = (n + pad) / 4 * 3;
    if (n == 0 || n % 4 == 1 || n + 4 >= sizeof padded || written > outlen ||
        written - pad >= outlen)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = cursor[i];
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        padded[i] = c;
    }
    memset(padded + n, '=', pad);
    padded[n + pad] = '\0';
    int len = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)padded, (int)(n + pad));
    if (len < 0)
        return false;
    len -= (int)pad; /* EVP_DecodeBlock counts the padding as bytes (TRAPS.md) */
    out[len] = '\0';
    return strlen(out) == (size_t)len && len > 0 && sd_utf8_valid(out);
}

/* ---- a cell's customers ---- */

struct list_query {
    enum sd_kind kind;
    char cell[SD_CELL_KEY_MAX + 1];
    const char *monetary;
    char after[SD_EXTERNAL_ID_MAX * 4 + 1];
    bool has_after;
    int limit;
};

static bool parse_list_query(struct sd_request *req, const struct sd_matrix_set *ms,
                             struct list_query *q)
{
    if (!query_kind(req, &q->kind))
        return false;
    const struct sd_matrix *m = &ms->m[q->kind];
    int f = sd_axis_find(&m->frequency, http_req_param(req, 0));
    int r = sd_axis_find(&m->recency, http_req_param(req, 1));
    if (f < 0 || r < 0) {
        http_reply_problem(req, 404, "No such cell in this kind's matrix.");
        return false;
    }
    sd_matrix_cell_key(m, f, r, q->cell);
    q->monetary = http_req_query(req, "monetary");
    if (q->monetary != NULL && sd_axis_find(&m->monetary, q->monetary) < 0) {
        http_reply_problem(req, 400, "Query parameter monetary must be a monetary label.");
        return false;
    }
    const char *limit = http_req_query(req, "limit");
    int64_t l = PAGE_DEFAULT;
    if (limit != NULL && !sd_parse_i64(limit, 1, PAGE_MAX, &l)) {
        http_reply_problem(req, 400, "Query parameter limit must be 1 to 1000.");
        return false;
    }
    q->limit = (int)l;
    const char *after = http_req_query(req, "after");
    q->has_after = after != NULL;
    q->after[0] = '\0';
    if (after != NULL && !cursor_decode(after, q->after, sizeof q->after)) {
        http_reply_problem(req, 400, "Query parameter after is not a cursor from a 'next'.");
        return false;
    }
    return true;
}

static json_t *opt_string(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

static json_t *opt_time(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return json_null();
    char buf[40];
    sd_time_format_us(strtoll(PQgetvalue(res, row, col), NULL, 10), buf, sizeof buf);
    return json_string(buf);
}

static json_t *render_list_item(const PGresult *res, int r)
{
    json_t *it = json_pack("{s:s, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:b}", "customer_id",
                           PQgetvalue(res, r, 0), "name", opt_string(res, r, 1), "phone",
                           opt_string(res, r, 2), "email", opt_string(res, r, 3), "purchases",
                           (json_int_t)strtoll(PQgetvalue(res, r, 4), NULL, 10), "revenue",
                           money(strtoll(PQgetvalue(res, r, 5), NULL, 10)), "first_purchase_at",
                           opt_time(res, r, 10), "last_purchase_at", opt_time(res, r, 6),
                           "monetary", opt_string(res, r, 7), "cell_since", opt_time(res, r, 8),
                           "contact_opt_out", PQgetvalue(res, r, 9)[0] == 't');
    return it;
}

static void reply_page(struct sd_request *req, const struct list_query *q)
{
    PGresult *res = NULL;
    enum sd_rc rc = sd_store_segment_page(http_req_db(req), http_req_caller(req)->workspace_id,
                                          q->kind, q->cell, q->monetary,
                                          q->has_after ? q->after : NULL, q->limit + 1, &res);
    if (rc != SD_OK) {
        http_reply_rc(req, rc);
        return;
    }
    int rows = PQntuples(res);
    int shown = rows > q->limit ? q->limit : rows;
    json_t *items = json_array();
    for (int r = 0; r < shown; r++)
        json_array_append_new(items, render_list_item(res, r));
    json_t *next = json_null();
    if (rows > q->limit) {
        char cursor[1200];
        cursor_encode(PQgetvalue(res, shown - 1, 0), cursor);
        next = json_string(cursor);
    }
    PQclear(res);
    http_reply_json(req, 200,
                    json_pack("{s:s, s:s, s:o, s:o}", "cell", q->cell, "kind",
                              sd_kind_name(q->kind), "items", items, "next", next));
}

/* ---- CSV export: one keyset page per refill, so memory stays flat however large the cell
 * and a slow client pins neither a connection nor a snapshot (TRAPS.md). ---- */

struct csv_stream {
    struct sd_pool *pool;
    long long ws;
    struct list_query q;
    struct sd_buf out;
    size_t sent;
    bool header_done, exhausted;
};

static enum sd_rc csv_field(struct sd_buf *b, const char *s, bool last)
{
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    enum sd_rc rc = quote ? sd_buf_append(b, "\"", 1) : SD_OK;
    for (const char *p = s; rc == SD_OK && *p; p++) {
        rc = sd_buf_append(b, p, 1);
        if (rc == SD_OK && *p == '"') /* a quote inside a quoted field is doubled */
            rc = sd_buf_append(b, "\"", 1);
    }
    if (rc == SD_OK && quote)
        rc = sd_buf_append(b, "\"", 1);
    return rc == SD_OK ? sd_buf_append(b, last ? "\r\n" : ",", last ? 2 : 1) : rc;
}

static enum sd_rc csv_row(struct sd_buf *b, const PGresult *res, int r)
{
    char revenue[32], last[40] = "";
    sd_amount_format(strtoll(PQgetvalue(res, r, 5), NULL, 10), revenue, sizeof revenue);
    if (!PQgetisnull(res, r, 6))
        sd_time_format_us(strtoll(PQgetvalue(res, r, 6), NULL, 10), last, sizeof last);
    const char *fields[] = {PQgetvalue(res, r, 0),
                            PQgetvalue(res, r, 1),
                            PQgetvalue(res, r, 2),
                            PQgetvalue(res, r, 3),
                            PQgetvalue(res, r, 4),
                            revenue,
                            last,
                            PQgetvalue(res, r, 7)};
    enum sd_rc rc = SD_OK;
    for (int i = 0; rc == SD_OK && i < 8; i++)
        rc = csv_field(b, fields[i], i == 7);
    return rc;
}

static enum sd_rc csv_refill(struct csv_stream *s)
{
    sd_buf_reset(&s->out);
    s->sent = 0;
    if (!s->header_done) {
        s->header_done = true;
        return sd_buf_printf(&s->out, "customer_id,name,phone,email,purchases,revenue,"
                                      "last_purchase_at,monetary\r\n");
    }
    struct sd_db *db = NULL;
    PGresult *res = NULL;
    enum sd_rc rc = sd_pool_acquire(s->pool, &db);
    if (rc == SD_OK)
        rc = sd_store_segment_page(db, s->ws, s->q.kind, s->q.cell, s->q.monetary,
                                   s->q.has_after ? s->q.after : NULL, CSV_PAGE, &res);
    sd_pool_release(s->pool, db);
    if (rc != SD_OK)
        return rc;
    int rows = PQntuples(res);
    for (int r = 0; rc == SD_OK && r < rows; r++)
        rc = csv_row(&s->out, res, r);
    if (rows > 0) {
        snprintf(s->q.after, sizeof s->q.after, "%s", PQgetvalue(res, rows - 1, 0));
        s->q.has_after = true;
    }
    s->exhausted = rows < CSV_PAGE;
    PQclear(res);
    return rc;
}

static long csv_read(void *ctx, char *buf, size_t max)
{
    struct csv_stream *s = ctx;
    while (s->sent == s->out.len) {
        if (s->exhausted)
            return 0;
        if (csv_refill(s) != SD_OK)
            return -1;
    }
    size_t n = s->out.len - s->sent;
    if (n > max)
        n = max;
    memcpy(buf, s->out.data + s->sent, n);
    s->sent += n;
    return (long)n;
}

static void csv_free(void *ctx)
{
    struct csv_stream *s = ctx;
    sd_buf_free(&s->out);
    free(s);
}

static bool wants_csv(struct sd_request *req)
{
    const char *accept = http_req_header(req, "Accept");
    return accept != NULL && strncasecmp(accept, "text/csv", 8) == 0;
}

static void reply_csv(struct sd_request *req, const struct list_query *q)
{
    struct csv_stream *s = calloc(1, sizeof *s);
    if (s == NULL) {
        http_reply_rc(req, SD_ERR_NOMEM);
        return;
    }
    s->pool = http_req_app(req)->pool;
    s->ws = http_req_caller(req)->workspace_id;
    s->q = *q;
    sd_buf_init(&s->out, 4 * 1024 * 1024);
    http_reply_stream(req, 200, "text/csv; charset=utf-8", csv_read, s, csv_free);
    char disposition[128];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"%s-%s.csv\"",
             sd_kind_name(q->kind), q->cell);
    for (char *p = disposition; *p; p++)
        *p = *p == '/' ? '-' : *p;
    http_reply_header(req, "Content-Disposition", disposition);
}

void api_segments_customers(struct sd_request *req)
{
    struct sd_matrix_set *ms = load_matrices(req);
    if (ms == NULL)
        return;
    struct list_query q;
    if (parse_list_query(req, ms, &q)) {
        if (wants_csv(req))
            reply_csv(req, &q);
        else
            reply_page(req, &q);
    }
    free(ms);
}
