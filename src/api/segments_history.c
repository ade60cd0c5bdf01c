/* GET /v1/segments/history and /v1/segments/flows: how the cells grew and shrank over a period.
 * Both follow the kind's matrix in force: its cells, in its order; sizes and flows recorded
 * under the labels of an earlier matrix are left out of the per-cell figures. */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "period.h"
#include "segmentd/matrix_cache.h"
#include "segmentd/store_history.h"
#include "segmentd/util.h"

/* Ten years of days: 3660 entries of every cell is still a small answer. */
#define HISTORY_MAX_DAYS 3660
#define CELLS_MAX (SD_MAX_BANDS * SD_MAX_BANDS)

static const char *const reasons[] = {"purchase",      "cancellation", "time",
                                      "matrix_change", "import",       "profile"};

/* The cells of a matrix, by frequency band then recency band (the report's order). */
struct cell_list {
    int n;
    char keys[CELLS_MAX][SD_CELL_KEY_MAX + 1];
};

static void cell_list_of(const struct sd_matrix *m, struct cell_list *out)
{
    out->n = 0;
    for (int f = 0; f < m->frequency.nbands; f++) {
        for (int r = 0; r < m->recency.nbands; r++)
            sd_matrix_cell_key(m, f, r, out->keys[out->n++]);
    }
}

/* Index of `key` in the list, or -1 (NULL, or a label of an earlier matrix). */
static int cell_index(const struct cell_list *cl, const char *key)
{
    for (int i = 0; key != NULL && i < cl->n; i++) {
        if (strcmp(cl->keys[i], key) == 0)
            return i;
    }
    return -1;
}

static json_t *cell_keys_json(const struct cell_list *cl)
{
    json_t *a = json_array();
    for (int i = 0; i < cl->n; i++)
        json_array_append_new(a, json_string(cl->keys[i]));
    return a;
}

static json_t *time_json(int64_t us)
{
    char buf[40];
    sd_time_format_us(us, buf, sizeof buf);
    return json_string(buf);
}

/* ⌊a / b⌋ for b > 0, negative a included (periods may start before 1970). */
static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

/* The request shared by both endpoints: ?kind= (400 when bad, like every kind query) and the
 * period (422). False when a reply was sent. */
struct report_query {
    enum sd_kind kind;
    int64_t from, to;
    struct cell_list cells;
};

static bool read_query(struct sd_request *req, struct report_query *q)
{
    const char *k = http_req_query(req, "kind");
    q->kind = SD_KIND_B2C;
    if (k != NULL && !sd_kind_parse(k, &q->kind)) {
        http_reply_problem(req, 400, "Query parameter kind must be b2c or b2b.");
        return false;
    }
    return api_period_parse(req, &q->from, &q->to);
}

/* The kind's cells in the matrix in force. False when a reply was sent. */
static bool load_cells(struct sd_request *req, struct report_query *q)
{
    struct sd_matrix_set *ms = malloc(sizeof *ms);
    enum sd_rc rc =
        ms ? matrix_cache_get(http_req_db(req), http_req_caller(req)->workspace_id, true, false, ms)
           : SD_ERR_NOMEM;
    if (rc == SD_OK)
        cell_list_of(&ms->m[q->kind], &q->cells);
    else
        http_reply_rc(req, rc);
    free(ms);
    return rc == SD_OK;
}

static json_t *report_doc(const struct report_query *q)
{
    return json_pack("{s:s, s:o, s:o}", "kind", sd_kind_name(q->kind), "from", time_json(q->from),
                     "to", time_json(q->to));
}

/* ---- history ---- */

static json_t *render_days(const struct sd_history *h)
{
    json_t *days = json_array();
    for (int d = 0; d < h->days; d++) {
        json_t *sizes = json_object();
        for (int c = 0; c < h->ncells; c++)
            json_object_set_new(sizes, h->cells[c],
                                json_integer((json_int_t)h->sizes[d * h->ncells + c]));
        char day[40];
        sd_time_format_us(h->first_day_us + d * SD_US_PER_DAY, day, sizeof day);
        day[10] = '\0';
        json_array_append_new(days, json_pack("{s:s, s:s, s:o}", "day", day, "source",
                                              h->snapshot[d] ? "snapshot" : "transitions", "sizes",
                                              sizes));
    }
    return days;
}

void api_segments_history(struct sd_request *req)
{
    struct report_query q;
    if (!read_query(req, &q))
        return;
    if (q.to - q.from > HISTORY_MAX_DAYS * SD_US_PER_DAY) {
        http_reply_problem(req, 422, "The period is longer than 3660 days.");
        return;
    }
    if (!load_cells(req, &q))
        return;
    /* One entry per UTC midnight in [from, to): the moment a daily snapshot stands for. */
    int64_t first = -floor_div(-q.from, SD_US_PER_DAY);
    const char *keys[CELLS_MAX];
    for (int c = 0; c < q.cells.n; c++)
        keys[c] = q.cells.keys[c];
    struct sd_history h = {.first_day_us = first * SD_US_PER_DAY,
                           .days = (int)(-floor_div(-q.to, SD_US_PER_DAY) - first),
                           .ncells = q.cells.n,
                           .cells = keys};
    h.sizes = calloc((size_t)h.days * (size_t)h.ncells + 1, sizeof *h.sizes);
    h.snapshot = calloc((size_t)h.days + 1, sizeof *h.snapshot);
    enum sd_rc rc = h.sizes && h.snapshot ? SD_OK : SD_ERR_NOMEM;
    if (rc == SD_OK && h.days > 0)
        rc = sd_store_history(http_req_db(req), http_req_caller(req)->workspace_id, q.kind, &h);
    if (rc == SD_OK) {
        json_t *doc = report_doc(&q);
        json_object_set_new(doc, "cells", cell_keys_json(&q.cells));
        json_object_set_new(doc, "days", render_days(&h));
        http_reply_json(req, 200, doc);
    } else {
        http_reply_rc(req, rc);
    }
    free(h.sizes);
    free(h.snapshot);
}

/* ---- flows ---- */

static json_t *opt_cell(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

static json_t *render_flows(const PGresult *res, const struct cell_list *cl, json_t **cells_out)
{
    int64_t entries[CELLS_MAX] = {0}, exits[CELLS_MAX] = {0};
    json_t *flows = json_array();
    for (int r = 0; r < PQntuples(res); r++) {
        int64_t n = strtoll(PQgetvalue(res, r, 2), NULL, 10);
        json_array_append_new(flows, json_pack("{s:o, s:o, s:I}", "from", opt_cell(res, r, 0), "to",
                                               opt_cell(res, r, 1), "count", (json_int_t)n));
        /* the store never returns a flow from a cell to itself */
        int from = PQgetisnull(res, r, 0) ? -1 : cell_index(cl, PQgetvalue(res, r, 0));
        int to = PQgetisnull(res, r, 1) ? -1 : cell_index(cl, PQgetvalue(res, r, 1));
        if (from >= 0)
            exits[from] += n;
        if (to >= 0)
            entries[to] += n;
    }
    json_t *cells = json_array();
    for (int c = 0; c < cl->n; c++)
        json_array_append_new(cells,
                              json_pack("{s:s, s:I, s:I}", "cell", cl->keys[c], "entries",
                                        (json_int_t)entries[c], "exits", (json_int_t)exits[c]));
    *cells_out = cells;
    return flows;
}

void api_segments_flows(struct sd_request *req)
{
    struct report_query q;
    if (!read_query(req, &q))
        return;
    const char *reason = http_req_query(req, "reason");
    bool known = reason == NULL;
    for (size_t i = 0; !known && i < sizeof reasons / sizeof reasons[0]; i++)
        known = strcmp(reason, reasons[i]) == 0;
    if (!known) {
        http_reply_problem(req, 422,
                           "Query parameter reason must be purchase, cancellation, time, "
                           "matrix_change, import or profile.");
        return;
    }
    if (!load_cells(req, &q))
        return;
    PGresult *res = NULL;
    enum sd_rc rc = sd_store_flows(http_req_db(req), http_req_caller(req)->workspace_id, q.kind,
                                   q.from, q.to, reason, &res);
    if (rc != SD_OK) {
        http_reply_rc(req, rc);
        return;
    }
    json_t *cells = NULL;
    json_t *flows = render_flows(res, &q.cells, &cells);
    PQclear(res);
    json_t *doc = report_doc(&q);
    json_object_set_new(doc, "reason", reason ? json_string(reason) : json_null());
    json_object_set_new(doc, "flows", flows);
    json_object_set_new(doc, "cells", cells);
    http_reply_json(req, 200, doc);
}
