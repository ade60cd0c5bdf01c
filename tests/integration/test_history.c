/* GET /v1/segments/history and /v1/segments/flows against the real server and a real PostgreSQL.
 * The dataset is made through the API — an import of historical orders (both kinds), purchases
 * dated in the past, cancellations, a change of kind — and every daily size and flow is
 * compared with what this file computes from its own list of events (the latest transition of
 * each customer before a day's midnight; flows counted one by one), with the same figures read
 * by a DISTINCT ON query straight from the log, and with the matrix report. Snapshot rows are
 * planted for some days with deliberately different numbers, and win there. Then periods
 * (default, partial, empty, before any data, the 3660-day limit), bad input and scopes.
 *
 * The scheduler is slowed to one tick a day, so no snapshot is taken behind the test's back;
 * every purchase is placed 6 hours off a day boundary, so no customer crosses a recency bound
 * while the test runs. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define DAY 86400LL
#define HOUR 3600LL
#define US 1000000LL
#define NCELLS 9
#define MAX_EVENTS 64
#define MAX_DAYS 220

static const char *const CELLS[NCELLS] = {
    "new/active",       "new/sleeping",       "new/asleep",
    "promising/active", "promising/sleeping", "promising/asleep",
    "regular/active",   "regular/sleeping",   "regular/asleep"};

/* ---- fixtures ---- */

static void suite_setup(void)
{
    harness_start_db();
    const char *env[] = {"SEGMENTD_SCHEDULER_INTERVAL=1d", NULL};
    harness_start_server(env, true);
}

static void suite_teardown(void)
{
    harness_stop_all();
}

static void test_setup(void)
{
    harness_reset();
}

/* ---- small helpers ---- */

static const char *jstr(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "(none)";
}

static long long jint(json_t *obj, const char *key)
{
    return (long long)json_integer_value(json_object_get(obj, key));
}

/* "2026-11-20T10:00:00.473457Z" (or a date) → µs since the epoch. */
static long long parse_us(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int n = sscanf(s, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                   &tm.tm_min, &tm.tm_sec);
    ck_assert_msg(n == 3 || n == 6, "not a time: %s", s);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    long long us = (long long)timegm(&tm) * US;
    const char *dot = strchr(s, '.');
    if (dot != NULL) {
        long long frac = 0;
        int digits = 0;
        for (const char *p = dot + 1; *p >= '0' && *p <= '9'; p++, digits++)
            frac = frac * 10 + (*p - '0');
        for (; digits < 6; digits++)
            frac *= 10;
        us += frac;
    }
    return us;
}

/* "YYYY-MM-DD" of a Unix time (out: 16 bytes). */
static void date_of(long long t, char out[16])
{
    char buf[32];
    iso((time_t)t, buf);
    snprintf(out, 16, "%.10s", buf);
}

static struct resp *get_ok(const char *path)
{
    struct resp *r = admin("GET", path, NULL);
    ck_assert_msg(r->status == 200, "GET %s: %ld %s", path, r->status, r->body);
    ck_assert_ptr_nonnull(r->json);
    return r;
}

static int cell_index(const char *key)
{
    for (int i = 0; key != NULL && i < NCELLS; i++)
        if (strcmp(CELLS[i], key) == 0)
            return i;
    return -1;
}

static bool same_cell(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* ---- the model: the test's own list of transitions ---- */

struct event {
    char customer[16];
    bool b2b;         /* the kind the customer is in after it */
    const char *from; /* NULL: no cell (for `profile`, a cell of the other kind) */
    const char *to;
    long long at_us;
    const char *reason;
};

static struct event events[MAX_EVENTS];
static size_t nevents;

/* Customers in `cell` of the kind at the start of the day at `day_us`: the latest event of each
 * customer before that moment decides (later in the list wins a tie). */
static long long model_size(bool b2b, const char *cell, long long day_us)
{
    long long n = 0;
    for (size_t i = 0; i < nevents; i++) {
        if (events[i].at_us >= day_us)
            continue;
        bool latest = true;
        for (size_t j = 0; j < nevents && latest; j++) {
            if (j == i || strcmp(events[j].customer, events[i].customer) != 0 ||
                events[j].at_us >= day_us)
                continue;
            if (events[j].at_us > events[i].at_us || (events[j].at_us == events[i].at_us && j > i))
                latest = false;
        }
        if (latest && events[i].b2b == b2b && same_cell(events[i].to, cell))
            n++;
    }
    return n;
}

struct flow {
    const char *from, *to;
    long long count;
};

static void flow_add(struct flow *fl, size_t *n, const char *from, const char *to)
{
    if (same_cell(from, to))
        return;
    for (size_t i = 0; i < *n; i++) {
        if (same_cell(fl[i].from, from) && same_cell(fl[i].to, to)) {
            fl[i].count++;
            return;
        }
    }
    fl[(*n)++] = (struct flow){from, to, 1};
}

/* NULL first, then byte order. */
static int cell_cmp(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int flow_cmp(const void *x, const void *y)
{
    const struct flow *a = x, *b = y;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    int c = cell_cmp(a->from, b->from);
    return c ? c : cell_cmp(a->to, b->to);
}

/* The flows of a kind in [from, to): a change of kind leaves the old kind for no cell and enters
 * the new one from no cell. */
static size_t model_flows(bool b2b, long long from_us, long long to_us, const char *reason,
                          struct flow *fl)
{
    size_t n = 0;
    for (size_t i = 0; i < nevents; i++) {
        const struct event *e = &events[i];
        if (e->at_us < from_us || e->at_us >= to_us ||
            (reason != NULL && strcmp(reason, e->reason) != 0))
            continue;
        bool profile = strcmp(e->reason, "profile") == 0;
        if (e->b2b == b2b)
            flow_add(fl, &n, profile ? NULL : e->from, e->to);
        else if (profile && e->from != NULL)
            flow_add(fl, &n, e->from, NULL);
    }
    qsort(fl, n, sizeof *fl, flow_cmp);
    return n;
}

/* ---- building the dataset through the API ---- */

static time_t now0;  /* when the dataset was made */
static time_t today; /* its UTC midnight */

/* Appends the customer's newest transition, checked against what the test expects. */
static void record(const char *customer, bool b2b, const char *from, const char *to,
                   const char *reason)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/customers/%s", customer);
    struct resp *r = get_ok(path);
    json_t *t = json_array_get(json_object_get(r->json, "transitions"), 0);
    ck_assert_ptr_nonnull(t);
    json_t *f = json_object_get(t, "from"), *to_j = json_object_get(t, "to");
    ck_assert_msg(strcmp(jstr(t, "kind"), b2b ? "b2b" : "b2c") == 0 &&
                      same_cell(json_string_value(f), from) &&
                      same_cell(json_string_value(to_j), to) &&
                      strcmp(jstr(t, "reason"), reason) == 0,
                  "%s: unexpected transition %s", customer, r->body);
    ck_assert(nevents < MAX_EVENTS);
    struct event *e = &events[nevents++];
    snprintf(e->customer, sizeof e->customer, "%s", customer);
    e->b2b = b2b;
    e->from = from;
    e->to = to;
    e->at_us = parse_us(jstr(t, "at"));
    e->reason = reason;
    resp_free(r);
}

/* Imported history: `orders` orders 3 days apart, the last `days_ago` days (and 6 hours) before
 * now; the customer lands in `cell`, entered at the last purchase or, for a later recency
 * column, when time crossed into it (`crossed_days` after the last purchase). */
struct imported {
    const char *id;
    bool b2b;
    int orders;
    int days_ago;
    const char *cell;
    int crossed_days;
};

static const struct imported IMPORTED[] = {
    {"i1", false, 1, 10, "new/active", 0},       {"i2", false, 2, 45, "promising/sleeping", 30},
    {"i3", false, 5, 120, "regular/asleep", 90}, {"i4", false, 1, 60, "new/sleeping", 30},
    {"i5", true, 2, 20, "promising/active", 0},  {"i6", true, 1, 100, "new/sleeping", 90},
    {"i7", false, 1, 5, "new/active", 0},        {"i8", false, 1, 35, "new/sleeping", 30},
    {"i9", true, 6, 200, "regular/asleep", 180}, {"i10", false, 3, 95, "promising/asleep", 90},
};
#define NIMPORTED (sizeof IMPORTED / sizeof IMPORTED[0])

static long long last_purchase(const struct imported *c)
{
    return (long long)now0 - c->days_ago * DAY - 6 * HOUR;
}

static void run_import(void)
{
    char body[8192], when[32];
    size_t n =
        (size_t)snprintf(body, sizeof body, "order_id,customer_id,amount,purchased_at,kind\n");
    for (size_t i = 0; i < NIMPORTED; i++) {
        for (int k = 0; k < IMPORTED[i].orders; k++) {
            iso((time_t)(last_purchase(&IMPORTED[i]) - k * 3 * DAY), when);
            n += (size_t)snprintf(body + n, sizeof body - n, "o%d,%s,25.00,%s,%s\n", k,
                                  IMPORTED[i].id, when, IMPORTED[i].b2b ? "b2b" : "b2c");
        }
    }
    const char *headers[] = {"Authorization: Bearer " ADMIN_KEY, "Content-Type: text/csv", NULL};
    struct resp *r = http_raw("POST", "/v1/imports", headers, body, n);
    ck_assert_msg(r->status == 202, "import: %ld %s", r->status, r->body);
    char path[64];
    snprintf(path, sizeof path, "/v1/imports/%lld", jint(r->json, "id"));
    resp_free(r);
    for (int i = 0; i < 300; i++) {
        r = get_ok(path);
        bool running = strcmp(jstr(r->json, "status"), "running") == 0;
        if (!running) {
            ck_assert_msg(strcmp(jstr(r->json, "status"), "done") == 0 &&
                              jint(r->json, "rejected") == 0,
                          "import: %s", r->body);
            resp_free(r);
            break;
        }
        resp_free(r);
        usleep(100 * 1000);
    }
    for (size_t i = 0; i < NIMPORTED; i++) {
        const struct imported *c = &IMPORTED[i];
        size_t before = nevents;
        record(c->id, c->b2b, NULL, c->cell, "import");
        ck_assert_int_eq(events[before].at_us, (last_purchase(c) + c->crossed_days * DAY) * US);
    }
}

static void post(const char *path, const char *body)
{
    struct resp *r = admin("POST", path, body);
    ck_assert_msg(r->status == 200, "POST %s: %ld %s", path, r->status, r->body);
    resp_free(r);
}

static void purchase(const char *customer, const char *order, long long at, const char *kind)
{
    char when[32], body[512];
    iso((time_t)at, when);
    snprintf(body, sizeof body,
             "{\"order_id\":\"%s\",\"customer_id\":\"%s\",\"amount\":\"40.00\","
             "\"purchased_at\":\"%s\"%s%s%s}",
             order, customer, when, kind ? ",\"customer\":{\"kind\":\"" : "", kind ? kind : "",
             kind ? "\"}" : "");
    post("/v1/purchases", body);
}

static void cancel(const char *customer, const char *order)
{
    char body[256];
    snprintf(body, sizeof body, "{\"customer_id\":\"%s\",\"order_id\":\"%s\"}", customer, order);
    post("/v1/cancellations", body);
}

static void build_dataset(void)
{
    now0 = time(NULL);
    today = now0 - now0 % DAY;
    nevents = 0;
    run_import();
    purchase("p1", "a", now0 - 2 * DAY, NULL);
    record("p1", false, NULL, "new/active", "purchase");
    post("/v1/purchases", "[{\"order_id\":\"a\",\"customer_id\":\"p2\",\"amount\":\"5\"},"
                          "{\"order_id\":\"b\",\"customer_id\":\"p2\",\"amount\":\"7\"}]");
    record("p2", false, NULL, "promising/active", "purchase");
    purchase("i8", "again", now0 - 1 * DAY, NULL);
    record("i8", false, "new/sleeping", "promising/active", "purchase");
    purchase("p3", "a", now0 - 4 * DAY, "b2b");
    record("p3", true, NULL, "new/active", "purchase");
    cancel("p1", "a");
    record("p1", false, "new/active", NULL, "cancellation");
    cancel("p2", "b");
    record("p2", false, "promising/active", "new/active", "cancellation");
    struct resp *r = admin("PATCH", "/v1/customers/i7", "{\"kind\":\"b2b\"}");
    ck_assert_msg(r->status == 200, "PATCH: %ld %s", r->status, r->body);
    resp_free(r);
    record("i7", true, "new/active", "new/active", "profile");
    /* a cancellation that moves up a row and to the right: i2's remaining order is older */
    cancel("i2", "o0");
    record("i2", false, "promising/sleeping", "new/sleeping", "cancellation");
}

/* ---- reading the answers ---- */

/* GET history and asserts the common shape; returns the answer. */
static struct resp *get_history(const char *query)
{
    char path[512];
    snprintf(path, sizeof path, "/v1/segments/history%s%s", query[0] ? "?" : "", query);
    struct resp *r = get_ok(path);
    json_t *cells = json_object_get(r->json, "cells");
    ck_assert_int_eq(json_array_size(cells), NCELLS);
    for (size_t i = 0; i < NCELLS; i++)
        ck_assert_str_eq(json_string_value(json_array_get(cells, i)), CELLS[i]);
    ck_assert(json_is_array(json_object_get(r->json, "days")));
    return r;
}

static struct resp *get_flows(const char *query)
{
    char path[512];
    snprintf(path, sizeof path, "/v1/segments/flows%s%s", query[0] ? "?" : "", query);
    struct resp *r = get_ok(path);
    json_t *cells = json_object_get(r->json, "cells");
    ck_assert_int_eq(json_array_size(cells), NCELLS);
    for (size_t i = 0; i < NCELLS; i++)
        ck_assert_str_eq(jstr(json_array_get(cells, i), "cell"), CELLS[i]);
    return r;
}

static long long size_of(json_t *day, const char *cell)
{
    json_t *v = json_object_get(json_object_get(day, "sizes"), cell);
    ck_assert_msg(json_is_integer(v), "%s: no size of %s", jstr(day, "day"), cell);
    return (long long)json_integer_value(v);
}

/* Compares the flows answer with the model over the answer's own period. */
static void expect_flows(struct resp *r, bool b2b, const char *reason)
{
    long long from = parse_us(jstr(r->json, "from")), to = parse_us(jstr(r->json, "to"));
    struct flow want[MAX_EVENTS];
    size_t n = model_flows(b2b, from, to, reason, want);
    json_t *flows = json_object_get(r->json, "flows");
    ck_assert_msg(json_array_size(flows) == n, "%zu flows, want %zu: %s", json_array_size(flows), n,
                  r->body);
    long long entries[NCELLS] = {0}, exits[NCELLS] = {0};
    for (size_t i = 0; i < n; i++) {
        json_t *f = json_array_get(flows, i);
        const char *from_c = json_string_value(json_object_get(f, "from"));
        const char *to_c = json_string_value(json_object_get(f, "to"));
        ck_assert_msg(same_cell(from_c, want[i].from) && same_cell(to_c, want[i].to) &&
                          jint(f, "count") == want[i].count,
                      "flow %zu: %s -> %s x%lld, want %s -> %s x%lld", i, from_c ? from_c : "null",
                      to_c ? to_c : "null", jint(f, "count"), want[i].from ? want[i].from : "null",
                      want[i].to ? want[i].to : "null", want[i].count);
        ck_assert(json_is_null(json_object_get(f, "from")) || from_c != NULL);
        if (cell_index(from_c) >= 0)
            exits[cell_index(from_c)] += want[i].count;
        if (cell_index(to_c) >= 0)
            entries[cell_index(to_c)] += want[i].count;
    }
    json_t *cells = json_object_get(r->json, "cells");
    for (int c = 0; c < NCELLS; c++) {
        json_t *cell = json_array_get(cells, (size_t)c);
        ck_assert_msg(jint(cell, "entries") == entries[c] && jint(cell, "exits") == exits[c],
                      "%s: entries %lld exits %lld, want %lld %lld", CELLS[c],
                      jint(cell, "entries"), jint(cell, "exits"), entries[c], exits[c]);
    }
}

/* The same sizes, straight from the log with DISTINCT ON (the latest transition of each customer
 * before each midnight): day × cell → count, for [first, first + ndays). */
static void distinct_on_sizes(bool b2b, long long first, int ndays, long long out[][NCELLS])
{
    char sql[1024], a[32], b[32];
    iso((time_t)first, a);
    iso((time_t)(first + (ndays - 1) * DAY), b);
    snprintf(sql, sizeof sql,
             "SELECT ((d AT TIME ZONE 'UTC')::date - '%.10s'::date), x.to_cell, count(*) "
             "FROM generate_series('%s'::timestamptz, '%s'::timestamptz, '1 day') d "
             "CROSS JOIN LATERAL (SELECT DISTINCT ON (customer_id) kind, to_cell FROM transitions "
             "WHERE at < d ORDER BY customer_id, at DESC, id DESC) x "
             "WHERE x.kind = '%s' AND x.to_cell IS NOT NULL GROUP BY 1, 2",
             a, a, b, b2b ? "b2b" : "b2c");
    memset(out, 0, sizeof(long long) * NCELLS * (size_t)ndays);
    PGconn *c = harness_db();
    PGresult *res = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    for (int i = 0; i < PQntuples(res); i++) {
        int d = atoi(PQgetvalue(res, i, 0)), cell = cell_index(PQgetvalue(res, i, 1));
        ck_assert(d >= 0 && d < ndays && cell >= 0);
        out[d][cell] = atoll(PQgetvalue(res, i, 2));
    }
    PQclear(res);
    PQfinish(c);
}

static void plant_snapshot(const char *day, const char *kind, const char *cell, long long n)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO segment_snapshots (workspace_id, day, kind, cell, customers) "
             "SELECT id, '%s', '%s', '%s', %lld FROM workspaces WHERE name = 'default' "
             "RETURNING customers",
             day, kind, cell, n);
    ck_assert_int_eq(harness_sql_long(sql), n);
}

/* ---- tests ---- */

/* The planted snapshots: one b2c day, one b2b day (the other kind's rows of those days absent). */
static char snap_day[2][16];

static long long snapshot_size(bool b2b, const char *cell)
{
    if (!b2b && strcmp(cell, "new/active") == 0)
        return 777;
    if (b2b && strcmp(cell, "promising/active") == 0)
        return 42;
    return 0;
}

/* GET history for `ndays` days from the midnight `first` and checks every day: the snapshot on
 * the planted day, else the model and the DISTINCT ON reading of the log. Returns the answer. */
static struct resp *check_history(bool b2b, long long first, int ndays)
{
    char query[256], from[32], to[32];
    iso((time_t)first, from);
    iso((time_t)(first + ndays * DAY), to);
    snprintf(query, sizeof query, "kind=%s&from=%.10s&to=%.10s", b2b ? "b2b" : "b2c", from, to);
    struct resp *r = get_history(query);
    ck_assert_str_eq(jstr(r->json, "kind"), b2b ? "b2b" : "b2c");
    ck_assert_str_eq(jstr(r->json, "from"), from);
    ck_assert_str_eq(jstr(r->json, "to"), to);
    json_t *days = json_object_get(r->json, "days");
    ck_assert_int_eq(json_array_size(days), ndays);
    static long long sql_sizes[MAX_DAYS][NCELLS];
    ck_assert(ndays <= MAX_DAYS);
    distinct_on_sizes(b2b, first, ndays, sql_sizes);
    for (int d = 0; d < ndays; d++) {
        json_t *day = json_array_get(days, (size_t)d);
        long long day_start = first + d * DAY;
        char want_day[16];
        date_of(day_start, want_day);
        ck_assert_str_eq(jstr(day, "day"), want_day);
        ck_assert_int_eq(json_object_size(json_object_get(day, "sizes")), NCELLS);
        bool snap = strcmp(want_day, snap_day[b2b]) == 0;
        ck_assert_str_eq(jstr(day, "source"), snap ? "snapshot" : "transitions");
        for (int c = 0; c < NCELLS; c++) {
            long long got = size_of(day, CELLS[c]);
            long long want =
                snap ? snapshot_size(b2b, CELLS[c]) : model_size(b2b, CELLS[c], day_start * US);
            ck_assert_msg(got == want, "%s %s %s (%s): %lld, want %lld", b2b ? "b2b" : "b2c",
                          want_day, CELLS[c], query, got, want);
            ck_assert_msg(snap || sql_sizes[d][c] == want, "DISTINCT ON disagrees on %s %s: %lld",
                          want_day, CELLS[c], sql_sizes[d][c]);
        }
    }
    return r;
}

START_TEST(history_matches_the_model)
{
    build_dataset();
    date_of(today - 12 * DAY, snap_day[0]);
    date_of(today - 3 * DAY, snap_day[1]);
    plant_snapshot(snap_day[0], "b2c", "new/active", 777);
    plant_snapshot(snap_day[0], "b2c", "gone/away", 5); /* a cell of an earlier matrix */
    plant_snapshot(snap_day[1], "b2b", "promising/active", 42);

    /* Periods read forward (from the start of the log) and backward (from the current sizes),
     * whichever is shorter: before all data to after it; the last weeks; a stretch in the
     * middle (forward, with moves before it folded in); the last weeks but the last two days
     * (backward, with moves after it). */
    static const struct {
        int first, ndays;
    } periods[] = {{-210, 215}, {-20, 23}, {-28, 10}, {-20, 18}};
    for (int k = 0; k < 2; k++) {
        bool b2b = k == 1;
        for (size_t p = 0; p < sizeof periods / sizeof periods[0]; p++) {
            struct resp *r = check_history(b2b, today + periods[p].first * DAY, periods[p].ndays);
            if (p > 0) {
                resp_free(r);
                continue;
            }
            /* the last day has seen every event: it is the matrix report */
            json_t *days = json_object_get(r->json, "days");
            json_t *last = json_array_get(days, json_array_size(days) - 1);
            long long total = 0;
            char path[64];
            snprintf(path, sizeof path, "/v1/segments?kind=%s", b2b ? "b2b" : "b2c");
            struct resp *rep = get_ok(path);
            json_t *cells = json_object_get(rep->json, "cells");
            for (size_t i = 0; i < json_array_size(cells); i++) {
                json_t *cell = json_array_get(cells, i);
                ck_assert_msg(size_of(last, jstr(cell, "key")) == jint(cell, "customers"),
                              "%s: history %lld, report %lld", jstr(cell, "key"),
                              size_of(last, jstr(cell, "key")), jint(cell, "customers"));
                total += jint(cell, "customers");
            }
            ck_assert_int_gt(total, 2);
            resp_free(rep);
            resp_free(r);
        }
    }
}
END_TEST

START_TEST(flows_match_the_model)
{
    build_dataset();
    char query[256], from[32], to[32];
    iso((time_t)(today - 250 * DAY), from);
    iso((time_t)(today + 2 * DAY), to);
    static const char *const reasons[] = {NULL,      "import", "purchase",     "cancellation",
                                          "profile", "time",   "matrix_change"};
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
            snprintf(query, sizeof query, "kind=%s&from=%s&to=%s%s%s", k ? "b2b" : "b2c", from, to,
                     reasons[i] ? "&reason=" : "", reasons[i] ? reasons[i] : "");
            struct resp *r = get_flows(query);
            ck_assert_str_eq(jstr(r->json, "kind"), k ? "b2b" : "b2c");
            if (reasons[i])
                ck_assert_str_eq(jstr(r->json, "reason"), reasons[i]);
            else
                ck_assert(json_is_null(json_object_get(r->json, "reason")));
            expect_flows(r, k == 1, reasons[i]);
            resp_free(r);
        }
    }
    /* the change of kind: an exit of b2c to no cell, an entry of b2b from no cell */
    snprintf(query, sizeof query, "kind=b2c&reason=profile&from=%s&to=%s", from, to);
    struct resp *r = get_flows(query);
    json_t *f = json_array_get(json_object_get(r->json, "flows"), 0);
    ck_assert_str_eq(jstr(f, "from"), "new/active");
    ck_assert(json_is_null(json_object_get(f, "to")));
    resp_free(r);
    snprintf(query, sizeof query, "kind=b2b&reason=profile&from=%s&to=%s", from, to);
    r = get_flows(query);
    f = json_array_get(json_object_get(r->json, "flows"), 0);
    ck_assert(json_is_null(json_object_get(f, "from")));
    ck_assert_str_eq(jstr(f, "to"), "new/active");
    resp_free(r);
    /* the default period (the last 30 days): i3's import lies just before it */
    r = get_flows("");
    expect_flows(r, false, NULL);
    resp_free(r);
    r = get_flows("kind=b2b");
    expect_flows(r, true, NULL);
    resp_free(r);

    /* what flowed is what the sizes changed by, from one midnight to another */
    char a[32], b[32], c[32];
    iso((time_t)(today - 40 * DAY), a);
    iso((time_t)(today + 2 * DAY), b);
    iso((time_t)(today + 3 * DAY), c);
    for (int k = 0; k < 2; k++) {
        snprintf(query, sizeof query, "kind=%s&from=%s&to=%s", k ? "b2b" : "b2c", a, c);
        struct resp *h = get_history(query);
        json_t *days = json_object_get(h->json, "days");
        ck_assert_int_eq(json_array_size(days), 43);
        json_t *d0 = json_array_get(days, 0), *d1 = json_array_get(days, 42);
        snprintf(query, sizeof query, "kind=%s&from=%s&to=%s", k ? "b2b" : "b2c", a, b);
        r = get_flows(query);
        json_t *cells = json_object_get(r->json, "cells");
        long long moved = 0;
        for (int i = 0; i < NCELLS; i++) {
            json_t *cell = json_array_get(cells, (size_t)i);
            long long change = size_of(d1, CELLS[i]) - size_of(d0, CELLS[i]);
            ck_assert_msg(change == jint(cell, "entries") - jint(cell, "exits"),
                          "%s: size changed by %lld, flows say %lld - %lld", CELLS[i], change,
                          jint(cell, "entries"), jint(cell, "exits"));
            moved += jint(cell, "entries");
        }
        ck_assert_int_gt(moved, 0);
        resp_free(r);
        resp_free(h);
    }
}
END_TEST

START_TEST(periods)
{
    /* default: the 30 days before now, one entry per midnight in them, today's last */
    time_t before = time(NULL);
    struct resp *r = get_history("");
    time_t after = time(NULL);
    ck_assert_str_eq(jstr(r->json, "kind"), "b2c");
    long long from = parse_us(jstr(r->json, "from")), to = parse_us(jstr(r->json, "to"));
    ck_assert(to >= before * US && to <= (after + 1) * US);
    ck_assert_int_eq(to - from, 30 * DAY * US);
    json_t *days = json_object_get(r->json, "days");
    ck_assert_int_eq(json_array_size(days), 30);
    char want[16];
    date_of(to / US, want);
    ck_assert_str_eq(jstr(json_array_get(days, 29), "day"), want);
    for (size_t i = 0; i < 30; i++) {
        json_t *day = json_array_get(days, i);
        ck_assert_str_eq(jstr(day, "source"), "transitions");
        for (int c = 0; c < NCELLS; c++)
            ck_assert_int_eq(size_of(day, CELLS[c]), 0);
    }
    resp_free(r);

    /* `to` alone: `from` is 30 days earlier */
    r = get_history("to=2026-01-31");
    ck_assert_str_eq(jstr(r->json, "from"), "2026-01-01T00:00:00Z");
    ck_assert_str_eq(jstr(r->json, "to"), "2026-01-31T00:00:00Z");
    days = json_object_get(r->json, "days");
    ck_assert_int_eq(json_array_size(days), 30);
    ck_assert_str_eq(jstr(json_array_get(days, 0), "day"), "2026-01-01");
    ck_assert_str_eq(jstr(json_array_get(days, 29), "day"), "2026-01-30");
    resp_free(r);

    /* an offset is normalised to UTC; a midday start skips that day's midnight */
    r = get_history("from=2026-01-01T02:00:00%2B02:00&to=2026-01-03");
    ck_assert_str_eq(jstr(r->json, "from"), "2026-01-01T00:00:00Z");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "days")), 2);
    resp_free(r);
    r = get_history("from=2026-01-01T12:00:00Z&to=2026-01-03T00:00:00.000001Z");
    days = json_object_get(r->json, "days");
    ck_assert_int_eq(json_array_size(days), 2);
    ck_assert_str_eq(jstr(json_array_get(days, 0), "day"), "2026-01-02");
    ck_assert_str_eq(jstr(json_array_get(days, 1), "day"), "2026-01-03");
    resp_free(r);

    /* a period holding no midnight, and flows over it */
    r = get_history("kind=b2b&from=2026-01-01T01:00:00Z&to=2026-01-01T02:00:00Z");
    ck_assert_str_eq(jstr(r->json, "kind"), "b2b");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "days")), 0);
    resp_free(r);
    r = get_flows("from=2026-01-01T01:00:00Z&to=2026-01-01T02:00:00Z");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "flows")), 0);
    for (int c = 0; c < NCELLS; c++) {
        json_t *cell = json_array_get(json_object_get(r->json, "cells"), (size_t)c);
        ck_assert_int_eq(jint(cell, "entries") + jint(cell, "exits"), 0);
    }
    resp_free(r);

    /* before any data: zeros (with data present now) */
    build_dataset();
    r = get_history("from=2001-01-01&to=2001-01-04");
    days = json_object_get(r->json, "days");
    ck_assert_int_eq(json_array_size(days), 3);
    for (size_t i = 0; i < 3; i++)
        for (int c = 0; c < NCELLS; c++)
            ck_assert_int_eq(size_of(json_array_get(days, i), CELLS[c]), 0);
    resp_free(r);
    r = get_flows("from=2001-01-01&to=2001-01-04");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "flows")), 0);
    resp_free(r);

    /* at most 3660 days: 2000-01-01 + 3660 days = 2010-01-08 */
    r = get_history("from=2000-01-01&to=2010-01-08");
    days = json_object_get(r->json, "days");
    ck_assert_int_eq(json_array_size(days), 3660);
    ck_assert_str_eq(jstr(json_array_get(days, 3659), "day"), "2010-01-07");
    resp_free(r);
    r = admin("GET", "/v1/segments/history?from=2000-01-01&to=2010-01-08T00:00:01Z", NULL);
    assert_problem(r, 422);
    resp_free(r);
    /* flows have no such limit: their cost does not grow with the days */
    r = get_flows("from=1990-01-01&to=2030-01-01");
    expect_flows(r, false, NULL);
    resp_free(r);
}
END_TEST

START_TEST(bad_input)
{
    static const char *const bad_period[] = {
        "from=2026-01-02&to=2026-01-01",
        "from=2026-01-01&to=2026-01-01",
        "from=2026-01-01T00:00:00Z&to=2026-01-01",
        "from=2026-02-30",
        "from=2026-1-01",
        "to=yesterday",
        "from=",
        "to=2026-01-01T25:00:00Z",
        "to=2026-01-01T10:00:00",
        "from=1899-12-31",
    };
    char path[256];
    for (size_t i = 0; i < sizeof bad_period / sizeof bad_period[0]; i++) {
        for (int e = 0; e < 2; e++) {
            snprintf(path, sizeof path, "/v1/segments/%s?%s", e ? "flows" : "history",
                     bad_period[i]);
            struct resp *r = admin("GET", path, NULL);
            assert_problem(r, 422);
            ck_assert_str_eq(jstr(r->json, "type"), "/problems/validation-error");
            ck_assert_msg(json_is_string(json_object_get(r->json, "detail")), "%s", path);
            resp_free(r);
        }
    }
    static const char *const bad_kind[] = {"kind=b2x", "kind=B2C", "kind="};
    for (size_t i = 0; i < sizeof bad_kind / sizeof bad_kind[0]; i++) {
        for (int e = 0; e < 2; e++) {
            snprintf(path, sizeof path, "/v1/segments/%s?%s", e ? "flows" : "history", bad_kind[i]);
            struct resp *r = admin("GET", path, NULL);
            assert_problem(r, 400);
            resp_free(r);
        }
    }
    static const char *const bad_reason[] = {"reason=bogus", "reason=Purchase",
                                             "reason=", "reason=purchase,time"};
    for (size_t i = 0; i < sizeof bad_reason / sizeof bad_reason[0]; i++) {
        snprintf(path, sizeof path, "/v1/segments/flows?%s", bad_reason[i]);
        struct resp *r = admin("GET", path, NULL);
        assert_problem(r, 422);
        resp_free(r);
    }
    /* too long a history */
    struct resp *r = admin("GET", "/v1/segments/history?from=2000-01-01&to=2030-01-01", NULL);
    assert_problem(r, 422);
    resp_free(r);
    /* other methods */
    r = admin("POST", "/v1/segments/history", "{}");
    ck_assert_int_eq(r->status, 405);
    resp_free(r);
}
END_TEST

START_TEST(scopes)
{
    char read_key[256], ingest_key[256];
    snprintf(read_key, sizeof read_key, "%s", make_key(NULL, "[\"read\"]"));
    snprintf(ingest_key, sizeof ingest_key, "%s", make_key(NULL, "[\"ingest\"]"));
    static const char *const paths[] = {"/v1/segments/history", "/v1/segments/flows"};
    for (size_t i = 0; i < 2; i++) {
        struct resp *r = with_key(read_key, "GET", paths[i], NULL);
        ck_assert_msg(r->status == 200, "%s: %ld %s", paths[i], r->status, r->body);
        resp_free(r);
        r = http("GET", paths[i], NULL, NULL);
        assert_problem(r, 401);
        resp_free(r);
        r = with_key("sdk_1_not-a-key", "GET", paths[i], NULL);
        assert_problem(r, 401);
        resp_free(r);
        r = with_key(ingest_key, "GET", paths[i], NULL);
        assert_problem(r, 403);
        resp_free(r);
    }
}
END_TEST

static Suite *history_suite(void)
{
    Suite *s = suite_create("history");
    TCase *tc = tcase_create("history");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_checked_fixture(tc, test_setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, history_matches_the_model);
    tcase_add_test(tc, flows_match_the_model);
    tcase_add_test(tc, periods);
    tcase_add_test(tc, bad_input);
    tcase_add_test(tc, scopes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(history_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
