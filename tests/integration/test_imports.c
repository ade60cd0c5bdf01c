/* Bulk imports (SPEC §2 "POST /v1/imports") against the real server and a real PostgreSQL: the
 * matrix an import builds (checked against one computed here), transitions with reason import,
 * 1C-style exports, rejected lines with their numbers, duplicates and conflicts, fatal inputs that
 * write nothing, NDJSON, refusals before the body, workspace isolation and `segmentd import`. */
#include <check.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define DAY 86400L
#define HOUR 3600L
#define CSV_HEADER "order_id,customer_id,amount,purchased_at\n"

/* ---- fixtures ---- */

static void suite_setup(void)
{
    harness_start_db();
    const char *env[] = {"SEGMENTD_LIMITS_MAX_IMPORT_BYTES=2M", NULL};
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

/* A growing text buffer for generated bodies. */
struct text {
    char *data;
    size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    ck_assert_int_ge(n, 0);
    size_t need = t->len + (size_t)n + 1;
    if (need > t->cap) {
        size_t cap = t->cap > 0 ? t->cap : 4096;
        while (cap < need)
            cap *= 2;
        t->data = realloc(t->data, cap);
        ck_assert_ptr_nonnull(t->data);
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static void text_free(struct text *t)
{
    free(t->data);
    *t = (struct text){0};
} /* Percent-encodes everything but the unreserved characters. */ /* A string member, or "(none)"
                                                                     (never NULL, for strcmp). */
static const char *jstr(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_null(v))
        return "(null)";
    const char *s = json_string_value(v);
    return s ? s : "(none)";
}

static long long jint(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    ck_assert_msg(json_is_integer(v), "member %s is not an integer", key);
    return json_integer_value(v);
}

static long count_of(const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    return harness_sql_long(sql);
}
/* POSTs an import body. `key` NULL: no Authorization; `ctype` NULL: no Content-Type of ours;
 * `ws` NULL: no workspace header; `query` without the '?'. */
static struct resp *post_import_as(const char *key, const char *ws, const char *ctype,
                                   const char *query, const char *body, size_t len)
{
    char auth[300], ct[200], wsh[160], path[2048];
    const char *headers[4];
    size_t n = 0;
    if (key != NULL) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
        headers[n++] = auth;
    }
    if (ctype != NULL) {
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
        headers[n++] = ct;
    }
    if (ws != NULL) {
        snprintf(wsh, sizeof wsh, "Segmentd-Workspace: %s", ws);
        headers[n++] = wsh;
    }
    headers[n] = NULL;
    snprintf(path, sizeof path, "/v1/imports%s%s", query && *query ? "?" : "", query ? query : "");
    return http_raw("POST", path, headers, body, len);
}

/* Checks a 202 answer and returns the import's id. */
static long long accepted_id(struct resp *r)
{
    ck_assert_msg(r->status == 202, "POST /v1/imports: %ld %s", r->status, r->body);
    ck_assert_str_eq(jstr(r->json, "status"), "running");
    long long id = jint(r->json, "id");
    ck_assert_int_gt(id, 0);
    char want[64];
    snprintf(want, sizeof want, "/v1/imports/%lld", id);
    const char *loc = resp_header(r, "Location");
    ck_assert_ptr_nonnull(loc);
    ck_assert_str_eq(loc, want);
    return id;
}

/* Polls GET /v1/imports/{id} (as `key`, in `ws`) until it is no longer running (30 s at most);
 * returns the last answer (json_decref it). */
static json_t *wait_import_as(const char *key, const char *ws, long long id)
{
    char path[64], auth[300], wsh[160];
    snprintf(path, sizeof path, "/v1/imports/%lld", id);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    snprintf(wsh, sizeof wsh, "Segmentd-Workspace: %s", ws ? ws : "default");
    const char *headers[] = {auth, ws ? wsh : NULL, NULL};
    for (int i = 0; i < 300; i++) {
        struct resp *r = http("GET", path, headers, NULL);
        ck_assert_msg(r->status == 200, "GET %s: %ld %s", path, r->status, r->body);
        ck_assert_int_eq(jint(r->json, "id"), id);
        const char *status = jstr(r->json, "status");
        ck_assert_msg(strcmp(status, "running") == 0 || strcmp(status, "done") == 0 ||
                          strcmp(status, "failed") == 0,
                      "status %s", status);
        if (strcmp(status, "running") != 0) {
            json_t *doc = json_incref(r->json);
            resp_free(r);
            return doc;
        }
        resp_free(r);
        usleep(100 * 1000);
    }
    ck_abort_msg("import %lld still running after 30 s", id);
    return NULL;
}

/* Posts with the bootstrap key in the default workspace, expects 202, waits for the end. */
static json_t *run_import(const char *ctype, const char *query, const char *body, size_t len)
{
    struct resp *r = post_import_as(ADMIN_KEY, NULL, ctype, query, body, len);
    long long id = accepted_id(r);
    resp_free(r);
    return wait_import_as(ADMIN_KEY, NULL, id);
}

static json_t *run_csv(const char *query, const struct text *t)
{
    return run_import("text/csv", query, t->data, t->len);
}

/* Asserts a finished import's counters. */
static void expect_done(json_t *doc, long long rows, long long rejected, long long created,
                        long long duplicates, long long conflicts)
{
    char *dump = json_dumps(doc, JSON_COMPACT);
    ck_assert_msg(strcmp(jstr(doc, "status"), "done") == 0, "import not done: %s", dump);
    ck_assert_msg(jint(doc, "rows") == rows, "rows %lld, want %lld: %s", jint(doc, "rows"), rows,
                  dump);
    ck_assert_msg(jint(doc, "rejected") == rejected, "rejected %lld, want %lld: %s",
                  jint(doc, "rejected"), rejected, dump);
    ck_assert_msg(jint(doc, "created") == created, "created %lld, want %lld: %s",
                  jint(doc, "created"), created, dump);
    ck_assert_msg(jint(doc, "duplicates") == duplicates, "duplicates %lld, want %lld: %s",
                  jint(doc, "duplicates"), duplicates, dump);
    ck_assert_msg(jint(doc, "conflicts") == conflicts, "conflicts %lld, want %lld: %s",
                  jint(doc, "conflicts"), conflicts, dump);
    ck_assert_str_eq(jstr(doc, "phase"), "done");
    ck_assert(json_is_string(json_object_get(doc, "finished_at")));
    ck_assert(json_is_string(json_object_get(doc, "created_at")));
    ck_assert(json_is_string(json_object_get(doc, "updated_at")));
    json_t *progress = json_object_get(doc, "progress");
    ck_assert_msg(json_number_value(json_object_get(progress, "fraction")) == 1.0, "%s", dump);
    ck_assert_msg(json_number_value(json_object_get(progress, "bytes_read")) ==
                      json_number_value(json_object_get(progress, "bytes_total")),
                  "%s", dump);
    ck_assert_msg(json_array_size(json_object_get(doc, "errors")) ==
                      (size_t)(rejected < 100 ? rejected : 100),
                  "errors do not match rejected: %s", dump);
    free(dump);
}

/* The reason recorded for `line`, or NULL. */
static const char *error_at(json_t *doc, long line)
{
    json_t *errors = json_object_get(doc, "errors"), *e;
    size_t i;
    json_array_foreach(errors, i, e)
    {
        if (json_integer_value(json_object_get(e, "line")) == line)
            return json_string_value(json_object_get(e, "reason"));
    }
    return NULL;
}

static void expect_error(json_t *doc, long line, const char *fragment)
{
    const char *reason = error_at(doc, line);
    char *dump = json_dumps(json_object_get(doc, "errors"), JSON_COMPACT);
    ck_assert_msg(reason != NULL, "no error for line %ld: %s", line, dump);
    ck_assert_msg(strstr(reason, fragment) != NULL, "line %ld: \"%s\", want \"%s\"", line, reason,
                  fragment);
    free(dump);
}

/* GET /v1/customers/{id} with the bootstrap key; NULL when 404. */
static json_t *get_customer(const char *id)
{
    char enc[600], path[700];
    pct(id, enc, sizeof enc);
    snprintf(path, sizeof path, "/v1/customers/%s", enc);
    struct resp *r = admin("GET", path, NULL);
    ck_assert_msg(r->status == 200 || r->status == 404, "GET %s: %ld %s", path, r->status, r->body);
    json_t *doc = r->status == 200 ? json_incref(r->json) : NULL;
    resp_free(r);
    return doc;
}

static void expect_customer(const char *id, long long purchases, const char *revenue,
                            const char *first, const char *last)
{
    json_t *c = get_customer(id);
    ck_assert_msg(c != NULL, "customer %s not found", id);
    ck_assert_msg(jint(c, "purchases") == purchases, "%s: %lld purchases, want %lld", id,
                  jint(c, "purchases"), purchases);
    ck_assert_msg(strcmp(jstr(c, "revenue"), revenue) == 0, "%s: revenue %s, want %s", id,
                  jstr(c, "revenue"), revenue);
    if (first != NULL)
        ck_assert_msg(strcmp(jstr(c, "first_purchase_at"), first) == 0,
                      "%s: first_purchase_at %s, want %s", id, jstr(c, "first_purchase_at"), first);
    if (last != NULL)
        ck_assert_msg(strcmp(jstr(c, "last_purchase_at"), last) == 0,
                      "%s: last_purchase_at %s, want %s", id, jstr(c, "last_purchase_at"), last);
    json_decref(c);
}

/* ---- the default matrix, computed here independently of the server ---- */

static const char *const FREQ[] = {"new", "promising", "regular"};
static const char *const REC[] = {"active", "sleeping", "asleep"};
static const char *const MON[] = {"low", "mid", "high"};

static int freq_band(int purchases)
{
    return purchases <= 1 ? 0 : purchases <= 3 ? 1 : 2;
}

static int rec_band(time_t now, time_t last)
{
    time_t age = now - last;
    return age < 30 * DAY ? 0 : age < 90 * DAY ? 1 : 2;
}

static int mon_band(long long cents)
{
    return cents < 10000 ? 0 : cents < 100000 ? 1 : 2;
}

/* When a customer entered their column: at the last purchase, or when time crossed a bound. */
static time_t entered(time_t last, int rec)
{
    return rec == 0 ? last : rec == 1 ? last + 30 * DAY : last + 90 * DAY;
}

static int label_index(const char *const labels[3], const char *s)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(labels[i], s) == 0)
            return i;
    return -1;
}

struct expect {
    long long customers[3][3], revenue[3][3];
    long long mon_customers[3][3][3], mon_revenue[3][3][3];
};

static void expect_add(struct expect *e, int f, int c, int m, long long cents)
{
    e->customers[f][c]++;
    e->revenue[f][c] += cents;
    e->mon_customers[f][c][m]++;
    e->mon_revenue[f][c][m] += cents;
}

/* GET /v1/segments must match `e` exactly, cell by cell and monetary split by split. */
static void check_report(const struct expect *e, long long total)
{
    struct resp *r = admin("GET", "/v1/segments", NULL);
    ck_assert_msg(r->status == 200, "GET /v1/segments: %ld %s", r->status, r->body);
    ck_assert_int_eq(jint(r->json, "total_customers"), total);
    json_t *cells = json_object_get(r->json, "cells"), *cell;
    ck_assert_int_eq(json_array_size(cells), 9);
    int seen[3][3] = {{0}};
    size_t i;
    json_array_foreach(cells, i, cell)
    {
        int f = label_index(FREQ, jstr(cell, "frequency")),
            c = label_index(REC, jstr(cell, "recency"));
        ck_assert_msg(f >= 0 && c >= 0, "unexpected cell %s", jstr(cell, "key"));
        seen[f][c]++;
        char want[32];
        money(e->revenue[f][c], want);
        ck_assert_msg(jint(cell, "customers") == e->customers[f][c],
                      "%s: %lld customers, want %lld", jstr(cell, "key"), jint(cell, "customers"),
                      e->customers[f][c]);
        ck_assert_msg(strcmp(jstr(cell, "revenue"), want) == 0, "%s: revenue %s, want %s",
                      jstr(cell, "key"), jstr(cell, "revenue"), want);
        json_t *mon = json_object_get(cell, "monetary");
        for (int m = 0; m < 3; m++) {
            json_t *split = json_object_get(mon, MON[m]);
            ck_assert_msg(split != NULL, "%s: no monetary %s", jstr(cell, "key"), MON[m]);
            money(e->mon_revenue[f][c][m], want);
            ck_assert_msg(jint(split, "customers") == e->mon_customers[f][c][m],
                          "%s/%s: %lld customers, want %lld", jstr(cell, "key"), MON[m],
                          jint(split, "customers"), e->mon_customers[f][c][m]);
            ck_assert_msg(strcmp(jstr(split, "revenue"), want) == 0, "%s/%s: revenue %s, want %s",
                          jstr(cell, "key"), MON[m], jstr(split, "revenue"), want);
        }
    }
    for (int f = 0; f < 3; f++)
        for (int c = 0; c < 3; c++)
            ck_assert_int_eq(seen[f][c], 1);
    resp_free(r);
}

/* The one transition with reason import of a customer, checked against what it must be. */
static void check_import_transition(json_t *customer, const char *from, const char *to, time_t at)
{
    json_t *list = json_object_get(customer, "transitions"), *t, *found = NULL;
    size_t i;
    int n = 0;
    json_array_foreach(list, i, t)
    {
        if (strcmp(jstr(t, "reason"), "import") == 0) {
            found = t;
            n++;
        }
    }
    char *dump = json_dumps(list, JSON_COMPACT);
    ck_assert_msg(n == 1, "%s: %d import transitions: %s", jstr(customer, "customer_id"), n, dump);
    char want_at[32];
    iso(at, want_at);
    ck_assert_msg(strcmp(jstr(found, "from"), from) == 0, "from %s, want %s: %s",
                  jstr(found, "from"), from, dump);
    ck_assert_msg(strcmp(jstr(found, "to"), to) == 0, "to %s, want %s: %s", jstr(found, "to"), to,
                  dump);
    ck_assert_msg(strcmp(jstr(found, "at"), want_at) == 0, "%s: at %s, want %s: %s",
                  jstr(customer, "customer_id"), jstr(found, "at"), want_at, dump);
    ck_assert_str_eq(jstr(found, "kind"), "b2c");
    free(dump);
}

/* ---- a generated history: the report must come out exactly as computed here ---- */

#define NCUST 100
#define GAP (2 * DAY + 3 * HOUR)

struct history {
    time_t now;
    int n[NCUST], rec[NCUST];
    time_t last[NCUST];
    long long revenue[NCUST];
};

/* 300 orders of 100 customers (1 to 5 each), the last purchase 0.5 to 199.5 days ago, rows
 * interleaved across customers; plus an old order of a customer who already bought live. */
static void generate(struct history *h, struct text *t, time_t live_old)
{
    add(t, "order_id,customer_id,amount,purchased_at,name\n");
    for (int i = 0; i < NCUST; i++) {
        h->n[i] = 1 + (i * 7) % 5;
        h->last[i] = h->now - ((i * 37) % 200) * DAY - 12 * HOUR;
        h->rec[i] = rec_band(h->now, h->last[i]);
        h->revenue[i] = 0;
    }
    for (int j = 0; j < 5; j++) {
        for (int i = 0; i < NCUST; i++) {
            if (j >= h->n[i])
                continue;
            long long cents = 99 + ((i * 131 + j * 71) % 700) * 50;
            char at[32];
            iso(h->last[i] - j * GAP, at);
            h->revenue[i] += cents;
            add(t, "ORD-%03d-%d,c-%03d,%lld.%02lld,%s,Customer %d\n", i, j, i, cents / 100,
                cents % 100, at, i);
        }
        if (j == 2) {
            char at[32];
            iso(live_old, at);
            add(t, "L-0,live-1,2000.00,%s,Live One\n", at);
        }
    }
}

START_TEST(csv_history_builds_the_exact_matrix)
{
    struct history h = {.now = time(NULL)};
    /* a customer who bought live before the import: counters must still include them */
    time_t live_at = h.now - HOUR, live_old = h.now - 200 * DAY;
    char at[32], body[256];
    iso(live_at, at);
    snprintf(body, sizeof body,
             "{\"order_id\": \"L-1\", \"customer_id\": \"live-1\", \"amount\": \"50.00\", "
             "\"purchased_at\": \"%s\"}",
             at);
    struct resp *r = admin("POST", "/v1/purchases", body);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    resp_free(r);

    struct text t = {0};
    generate(&h, &t, live_old);
    json_t *doc = run_csv("", &t);
    expect_done(doc, NCUST * 3 + 1, 0, NCUST * 3 + 1, 0, 0);
    ck_assert_int_eq(jint(doc, "customers"), NCUST + 1);
    ck_assert_str_eq(jstr(doc, "format"), "csv");
    ck_assert(json_is_null(json_object_get(doc, "message")));
    json_decref(doc);

    struct expect e = {0};
    int nonempty = 0, mon_used[3] = {0};
    for (int i = 0; i < NCUST; i++) {
        int f = freq_band(h.n[i]), m = mon_band(h.revenue[i]);
        nonempty += e.customers[f][h.rec[i]] == 0;
        mon_used[m]++;
        expect_add(&e, f, h.rec[i], m, h.revenue[i]);
    }
    expect_add(&e, 1, 0, 2, 205000); /* live-1: 2 orders, 2050.00, bought an hour ago */
    /* the generated history is spread enough to mean something */
    ck_assert_int_eq(nonempty, 9);
    ck_assert(mon_used[0] > 0 && mon_used[1] > 0 && mon_used[2] > 0);
    check_report(&e, NCUST + 1);

    ck_assert_int_eq(count_of("orders"), NCUST * 3 + 2);
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM transitions WHERE reason = 'import'"),
                     NCUST + 1);

    /* a few customers, one per column, with their import transition and its time */
    bool checked[3] = {false, false, false};
    for (int i = 0; i < NCUST; i++) {
        if (checked[h.rec[i]])
            continue;
        checked[h.rec[i]] = true;
        char id[16], cell[64], first[32], last[32], revenue[32], since[32], name[32];
        snprintf(id, sizeof id, "c-%03d", i);
        snprintf(cell, sizeof cell, "%s/%s", FREQ[freq_band(h.n[i])], REC[h.rec[i]]);
        iso(h.last[i] - (h.n[i] - 1) * GAP, first);
        iso(h.last[i], last);
        money(h.revenue[i], revenue);
        expect_customer(id, h.n[i], revenue, first, last);
        json_t *c = get_customer(id);
        ck_assert_str_eq(jstr(c, "cell"), cell);
        ck_assert_str_eq(jstr(c, "monetary"), MON[mon_band(h.revenue[i])]);
        snprintf(name, sizeof name, "Customer %d", i);
        ck_assert_str_eq(jstr(c, "name"), name);
        time_t in_cell = entered(h.last[i], h.rec[i]);
        iso(in_cell, since);
        ck_assert_str_eq(jstr(c, "cell_since"), since);
        check_import_transition(c, "(null)", cell, in_cell);
        json_decref(c);
    }
    ck_assert(checked[0] && checked[1] && checked[2]);

    /* the live customer: merged with the imported order, moved by the import */
    char first[32], last[32];
    iso(live_old, first);
    iso(live_at, last);
    expect_customer("live-1", 2, "2050.00", first, last);
    json_t *c = get_customer("live-1");
    ck_assert_str_eq(jstr(c, "cell"), "promising/active");
    ck_assert_str_eq(jstr(c, "name"), "Live One");
    check_import_transition(c, "new/active", "promising/active", live_at);
    json_decref(c);

    /* the same file again: nothing new, the counters are rebuilt, not added to */
    doc = run_csv("", &t);
    expect_done(doc, NCUST * 3 + 1, 0, 0, NCUST * 3 + 1, 0);
    json_decref(doc);
    check_report(&e, NCUST + 1);
    ck_assert_int_eq(count_of("orders"), NCUST * 3 + 2);
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM transitions WHERE reason = 'import'"),
                     NCUST + 1);
    text_free(&t);
}
END_TEST

/* ---- a 1C export ---- */

START_TEST(one_c_export_loads_as_it_is)
{
    struct text t = {0};
    add(&t, "\xEF\xBB\xBF"
            "Номер;Дата;Телефон;Сумма;Контрагент\r\n"
            "0001;05.03.2026 14:30;79161234567;1 234,56;\"Иванов; Иван\"\r\n"
            "0002;01.02.2026 9:05;79161234567;99,90;Иванов\r\n"
            "0003;10.01.2026;79990000000;12 000;\"Петров \"\"Пётр\"\"\"\r\n"
            "0004;15.06.2026 23:59:59;79990000000;1\xC2\xA0"
            "000,00;\r\n");
    char map[512], query[700];
    pct("order_id:Номер,customer_id:Телефон,amount:Сумма,purchased_at:Дата", map, sizeof map);
    snprintf(query, sizeof query, "map=%s&timezone=Europe%%2FMoscow", map);
    json_t *doc = run_import("text/csv; charset=utf-8", query, t.data, t.len);
    expect_done(doc, 4, 0, 4, 0, 0);
    ck_assert_int_eq(jint(doc, "customers"), 2);
    json_decref(doc);
    /* Moscow is UTC+3: 14:30 there is 11:30Z; a bare date is local midnight */
    expect_customer("79161234567", 2, "1334.46", "2026-02-01T06:05:00Z", "2026-03-05T11:30:00Z");
    expect_customer("79990000000", 2, "13000.00", "2026-01-09T21:00:00Z", "2026-06-15T20:59:59Z");
    ck_assert_int_eq(
        harness_sql_long("SELECT count(*) FROM orders WHERE order_id = '0001' AND "
                         "purchased_at = '2026-03-05 11:30:00+00' AND amount = 1234.56"),
        1);
    text_free(&t);
}
END_TEST

START_TEST(local_times_default_to_utc)
{
    struct text t = {0};
    add(&t, "order_id;customer_id;amount;purchased_at\n"
            "u-1;utc-1;10,00;05.03.2026 14:30\n"
            "u-2;utc-1;10,00;2026-03-06 08:00\n");
    json_t *doc = run_csv("", &t);
    expect_done(doc, 2, 0, 2, 0, 0);
    json_decref(doc);
    expect_customer("utc-1", 2, "20.00", "2026-03-05T14:30:00Z", "2026-03-06T08:00:00Z");
    text_free(&t);
}
END_TEST

/* ---- broken input ---- */

START_TEST(bad_lines_are_rejected_with_their_numbers)
{
    time_t now = time(NULL);
    char t1[32], t2[32], future[32];
    iso(now - 10 * DAY, t1);
    iso(now - 5 * DAY, t2);
    iso(now + DAY, future);
    struct text t = {0};
    add(&t, CSV_HEADER);                      /* 1 */
    add(&t, "ok-1,b1,10.00,%s\n", t1);        /* 2 */
    add(&t, "q-1,b1,\"10.00\"x,%s\n", t1);    /* 3: text after a closing quote */
    add(&t, "f-1,b1,10.00\n");                /* 4: too few fields */
    add(&t, "f-2,b1,10.00,%s,extra\n", t1);   /* 5: too many */
    add(&t, "a-1,b1,12.345,%s\n", t1);        /* 6: three decimals */
    add(&t, "a-2,b1,-5,%s\n", t1);            /* 7: negative */
    add(&t, "a-3,b1,ten,%s\n", t1);           /* 8 */
    add(&t, "d-1,b1,10.00,31.02.2026\n");     /* 9: no such day */
    add(&t, "d-2,b1,10.00,yesterday\n");      /* 10 */
    add(&t, "fut-1,b1,10.00,%s\n", future);   /* 11: a day ahead */
    add(&t, "ok-2,b2,\"1,234.50\",%s\n", t1); /* 12 */
    add(&t, "\n");                            /* 13: blank */
    add(&t, ",b2,5.00,%s\n", t1);             /* 14: no order_id */
    add(&t, "ml-1,\"b\n5\",x,%s\n", t1);      /* 15-16: one record, bad amount */
    add(&t, "ok-3,b3,7.00,%s\n", t2);         /* 17 */
    add(&t, "q-2,b3,\"never closed,%s", t2);  /* 18: open quote up to the end */
    json_t *doc = run_csv("", &t);
    expect_done(doc, 15, 12, 3, 0, 0);
    ck_assert_int_eq(jint(doc, "customers"), 3);
    expect_error(doc, 3, "closing quote");
    expect_error(doc, 4, "expected 4 fields, got 3");
    expect_error(doc, 5, "expected 4 fields, got 5");
    expect_error(doc, 6, "amount");
    expect_error(doc, 7, "amount");
    expect_error(doc, 8, "amount");
    expect_error(doc, 9, "purchased_at");
    expect_error(doc, 10, "purchased_at");
    expect_error(doc, 11, "future");
    expect_error(doc, 14, "order_id");
    expect_error(doc, 15, "amount");
    expect_error(doc, 18, "never closes");
    const long good[] = {1, 2, 12, 13, 16, 17};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ck_assert_msg(error_at(doc, good[i]) == NULL, "line %ld reported: %s", good[i],
                      error_at(doc, good[i]));
    json_decref(doc);
    expect_customer("b1", 1, "10.00", NULL, NULL);
    expect_customer("b2", 1, "1234.50", NULL, NULL);
    expect_customer("b3", 1, "7.00", NULL, NULL);
    ck_assert_int_eq(count_of("orders"), 3);
    ck_assert_int_eq(count_of("customers"), 3);
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM orders WHERE order_id = 'fut-1'"), 0);
    text_free(&t);
}
END_TEST

/* ---- duplicates and conflicts ---- */

START_TEST(duplicates_and_conflicts)
{
    time_t now = time(NULL);
    char t1[32], t2[32], t3[32], t2b[32], t4[32];
    iso(now - 40 * DAY, t1);
    iso(now - 20 * DAY, t2);
    iso(now - 10 * DAY, t3);
    iso(now - 20 * DAY + HOUR, t2b);
    iso(now - 5 * DAY, t4);
    struct text a = {0};
    add(&a, CSV_HEADER "d1,u1,10.00,%s\nd2,u1,20.00,%s\nd3,u2,30.00,%s\n", t1, t2, t3);
    json_t *doc = run_csv("", &a);
    expect_done(doc, 3, 0, 3, 0, 0);
    json_decref(doc);
    long transitions = count_of("transitions");
    ck_assert_int_eq(transitions, 2);

    /* the same file again */
    doc = run_csv("", &a);
    expect_done(doc, 3, 0, 0, 3, 0);
    json_decref(doc);
    ck_assert_int_eq(count_of("orders"), 3);
    ck_assert_int_eq(count_of("transitions"), transitions);
    expect_customer("u1", 2, "30.00", t1, t2);

    /* changed amount, changed time, unchanged, new */
    struct text b = {0};
    add(&b, CSV_HEADER "d1,u1,11.00,%s\nd2,u1,20.00,%s\nd3,u2,30.00,%s\nd4,u2,40.00,%s\n", t1, t2b,
        t3, t4);
    doc = run_csv("", &b);
    expect_done(doc, 4, 0, 1, 1, 2);
    json_decref(doc);
    expect_customer("u1", 2, "30.00", t1, t2); /* a conflict writes nothing */
    expect_customer("u2", 2, "70.00", t3, t4);
    ck_assert_int_eq(count_of("orders"), 4);

    /* an order repeated inside one file: the first occurrence wins */
    struct text c = {0};
    add(&c,
        CSV_HEADER "r1,u3,5.00,%s\nr1,u3,5.00,%s\nr2,u3,6.00,%s\nr2,u3,9.00,%s\nr2,u3,6.00,%s\n"
                   "r1,u4,5.00,%s\n",
        t3, t3, t3, t3, t3, t4);
    doc = run_csv("", &c);
    expect_done(doc, 6, 0, 3, 2, 1);
    json_decref(doc);
    expect_customer("u3", 2, "11.00", t3, t3);
    expect_customer("u4", 1, "5.00", t4, t4);
    ck_assert_int_eq(
        harness_sql_long("SELECT (amount * 100)::bigint FROM orders WHERE order_id = 'r2'"), 600);
    text_free(&a);
    text_free(&b);
    text_free(&c);
}
END_TEST

/* ---- fatal input ---- */

static void expect_failed(json_t *doc, const char *fragment)
{
    char *dump = json_dumps(doc, JSON_COMPACT);
    ck_assert_msg(strcmp(jstr(doc, "status"), "failed") == 0, "not failed: %s", dump);
    ck_assert_str_eq(jstr(doc, "phase"), "failed");
    ck_assert(json_is_string(json_object_get(doc, "finished_at")));
    const char *message = json_string_value(json_object_get(doc, "message"));
    ck_assert_msg(message != NULL && strstr(message, fragment) != NULL, "message lacks %s: %s",
                  fragment, dump);
    ck_assert_int_eq(jint(doc, "created"), 0);
    free(dump);
}

static void expect_empty_database(void)
{
    ck_assert_int_eq(count_of("customers"), 0);
    ck_assert_int_eq(count_of("orders"), 0);
    ck_assert_int_eq(count_of("transitions"), 0);
    ck_assert_int_eq(count_of("cell_counts"), 0);
}

START_TEST(missing_column_fails_and_writes_nothing)
{
    struct text t = {0};
    add(&t, "order_id,customer_id,purchased_at\nx1,m1,2026-01-01T00:00:00Z\n");
    json_t *doc = run_csv("", &t);
    expect_failed(doc, "amount");
    json_decref(doc);
    expect_empty_database();

    /* a mapped column is named as it was looked for */
    struct text m = {0};
    add(&m, "Номер;Телефон;Дата\n1;79160000000;01.01.2026\n");
    char map[512], query[600];
    pct("order_id:Номер,customer_id:Телефон,amount:Сумма,purchased_at:Дата", map, sizeof map);
    snprintf(query, sizeof query, "map=%s", map);
    doc = run_csv(query, &m);
    expect_failed(doc, "Сумма");
    json_decref(doc);
    expect_empty_database();

    /* nothing at all */
    doc = run_import("text/csv", "", "", 0);
    expect_failed(doc, "empty");
    json_decref(doc);
    expect_empty_database();
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM imports WHERE status = 'failed'"), 3);
    text_free(&t);
    text_free(&m);
}
END_TEST

/* ---- NDJSON ---- */

START_TEST(ndjson_import)
{
    time_t now = time(NULL);
    char t1[32], t2[32];
    iso(now - 3 * DAY, t1);
    iso(now - 2 * DAY, t2);
    struct text t = {0};
    add(&t,
        "{\"order_id\":\"n1\",\"customer_id\":\"j1\",\"amount\":\"10.50\",\"purchased_at\":\"%s\","
        "\"customer\":{\"name\":\"Jo\",\"email\":\"JO@Example.ORG\",\"phone\":\"+33 6 12 34 56 "
        "78\"}}\n",
        t1); /* 1 */
    add(&t, "{\"order_id\":\"n2\",\"customer_id\":\"j1\",\"amount\":12,\"purchased_at\":\"%s\"}\n",
        t2);                                   /* 2 */
    add(&t, "{\"order_id\":\"n3\", broken\n"); /* 3 */
    add(&t, "\n");                             /* 4 */
    add(&t,
        "{\"order_id\":\"n4\",\"customer_id\":\"j2\",\"amount\":\"-1\",\"purchased_at\":\"%s\"}\n",
        t1);            /* 5 */
    add(&t, "[1,2]\n"); /* 6 */
    add(&t,
        "{\"order_id\":\"n5\",\"customer_id\":\"j2\",\"amount\":\"5\",\"purchased_at\":\"%s\","
        "\"coupon\":\"X\"}\n",
        t1); /* 7 */
    add(&t, "{\"order_id\":\"n6\",\"customer_id\":\"j3\",\"amount\":\"7.00\",\"purchased_at\":"
            "\"not a time\"}\n");                                                  /* 8 */
    add(&t, "{\"order_id\":\"n7\",\"customer_id\":\"j3\",\"amount\":\"7.00\"}\n"); /* 9 */
    add(&t,
        "{\"order_id\":\"n8\",\"customer_id\":\"j4\",\"amount\":\"7.00\",\"purchased_at\":\"%s\"}",
        t2); /* 10 */
    json_t *doc = run_import("application/x-ndjson", "", t.data, t.len);
    expect_done(doc, 9, 6, 3, 0, 0);
    ck_assert_str_eq(jstr(doc, "format"), "ndjson");
    ck_assert_int_eq(jint(doc, "customers"), 2);
    expect_error(doc, 3, "malformed JSON");
    expect_error(doc, 5, "amount");
    expect_error(doc, 6, "not a JSON object");
    expect_error(doc, 7, "coupon");
    expect_error(doc, 8, "purchased_at");
    expect_error(doc, 9, "purchased_at");
    json_decref(doc);
    expect_customer("j1", 2, "22.50", t1, t2);
    expect_customer("j4", 1, "7.00", t2, t2);
    json_t *c = get_customer("j1");
    ck_assert_str_eq(jstr(c, "name"), "Jo");
    ck_assert_str_eq(jstr(c, "email"), "jo@example.org");
    ck_assert_str_eq(jstr(c, "phone"), "+33612345678");
    ck_assert_str_eq(jstr(c, "cell"), "promising/active");
    check_import_transition(c, "(null)", "promising/active", now - 2 * DAY);
    json_decref(c);
    ck_assert_ptr_null(get_customer("j2"));
    ck_assert_ptr_null(get_customer("j3"));
    text_free(&t);
}
END_TEST

/* Per field, the last row that gives it (as POST /v1/purchases does within one request). */
START_TEST(profile_fields_keep_the_last_value_given)
{
    time_t now = time(NULL);
    char t1[32], t2[32], t3[32];
    iso(now - 3 * DAY, t1);
    iso(now - 2 * DAY, t2);
    iso(now - DAY, t3);
    struct text t = {0};
    add(&t,
        "order_id,customer_id,amount,purchased_at,kind,name,phone,email\n"
        "p-1,pc,10.00,%s,b2b,Anna,+33 6 12 34 56 78,Anna@Example.org\n"
        "p-2,pc,10.00,%s,,,,\n"
        "p-3,pc,10.00,%s,,Anna B,,\n",
        t1, t2, t3);
    json_t *doc = run_csv("", &t);
    expect_done(doc, 3, 0, 3, 0, 0);
    json_decref(doc);
    json_t *c = get_customer("pc");
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(jstr(c, "kind"), "b2b");
    ck_assert_str_eq(jstr(c, "name"), "Anna B");
    ck_assert_str_eq(jstr(c, "phone"), "+33612345678");
    ck_assert_str_eq(jstr(c, "email"), "anna@example.org");
    ck_assert_str_eq(jstr(c, "cell"), "promising/active");
    json_decref(c);
    struct resp *r = admin("GET", "/v1/segments?kind=b2b", NULL);
    ck_assert_int_eq(jint(r->json, "total_customers"), 1);
    resp_free(r);
    r = admin("GET", "/v1/segments?kind=b2c", NULL);
    ck_assert_int_eq(jint(r->json, "total_customers"), 0);
    resp_free(r);
    text_free(&t);
}
END_TEST

/* ---- refusals before the body ---- */

START_TEST(refusals_leave_no_import)
{
    char ingest[256], reader[256];
    snprintf(ingest, sizeof ingest, "%s", make_key(NULL, "[\"ingest\"]"));
    snprintf(reader, sizeof reader, "%s", make_key(NULL, "[\"read\"]"));
    const char *csv = CSV_HEADER "x1,z1,1.00,2026-01-01T00:00:00Z\n";
    struct {
        const char *key, *ctype, *query;
        long status;
    } cases[] = {
        {ingest, "application/json", "", 415},
        {ingest, "text/plain", "", 415},
        {ingest, NULL, "", 415},
        {ingest, "text/csv", "timezone=Mars%2FOlympus", 400},
        {ingest, "text/csv", "timezone=Not%2FA_Zone", 400},
        {ingest, "text/csv", "map=bogus%3AX", 400},
        {ingest, "text/csv", "map=order_id", 400},
        {ingest, "text/csv", "map=order_id%3AA%2Corder_id%3AB", 400},
        {ingest, "text/csv", "map=amount%3A", 400},
        {ingest, "application/x-ndjson", "map=order_id%3AA", 400},
        {NULL, "text/csv", "", 401},
        {"sdk_1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "text/csv", "", 401},
        {reader, "text/csv", "", 403},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct resp *r =
            post_import_as(cases[i].key, NULL, cases[i].ctype, cases[i].query, csv, strlen(csv));
        assert_problem(r, cases[i].status);
        if (cases[i].status == 415)
            ck_assert_ptr_nonnull(resp_header(r, "Accept-Post"));
        resp_free(r);
        ck_assert_msg(count_of("imports") == 0, "case %zu left an imports row", i);
    }

    /* over [limits] max_import_bytes (2M here) */
    struct text big = {0};
    add(&big, CSV_HEADER);
    for (int i = 0; big.len <= 2 * 1024 * 1024 + 100000; i++)
        add(&big, "big-%07d,big-%04d,12.34,2026-01-01T00:00:00Z\n", i, i % 1000);
    struct resp *r = post_import_as(ingest, NULL, "text/csv", "", big.data, big.len);
    assert_problem(r, 413);
    resp_free(r);
    ck_assert_int_eq(count_of("imports"), 0);
    ck_assert_int_eq(count_of("customers"), 0);
    text_free(&big);

    /* the same key and body, properly sent: one row */
    r = post_import_as(ingest, NULL, "text/csv", "timezone=Europe%2FParis", csv, strlen(csv));
    long long id = accepted_id(r);
    resp_free(r);
    ck_assert_int_eq(count_of("imports"), 1);
    json_t *doc = wait_import_as(ingest, NULL, id);
    expect_done(doc, 1, 0, 1, 0, 0);
    json_decref(doc);
    /* reading an import needs the ingest scope */
    char path[64];
    snprintf(path, sizeof path, "/v1/imports/%lld", id);
    r = with_key(reader, "GET", path, NULL);
    assert_problem(r, 403);
    resp_free(r);
    r = http("GET", path, NULL, NULL);
    assert_problem(r, 401);
    resp_free(r);
}
END_TEST

START_TEST(a_body_under_the_limit_is_taken)
{
    struct text t = {0};
    add(&t, CSV_HEADER);
    int rows = 0;
    time_t base = time(NULL) - 100 * DAY;
    while (t.len < 1536 * 1024) {
        char at[32];
        iso(base + rows * 60, at);
        add(&t, "big-%07d,big-%04d,12.34,%s\n", rows, rows % 500, at);
        rows++;
    }
    json_t *doc = run_csv("", &t);
    expect_done(doc, rows, 0, rows, 0, 0);
    ck_assert_int_eq(jint(doc, "customers"), 500);
    ck_assert(json_number_value(json_object_get(json_object_get(doc, "progress"), "bytes_total")) ==
              (double)t.len);
    json_decref(doc);
    ck_assert_int_eq(count_of("orders"), rows);
    struct resp *r = admin("GET", "/v1/segments", NULL);
    ck_assert_int_eq(jint(r->json, "total_customers"), 500);
    resp_free(r);
    text_free(&t);
}
END_TEST

/* ---- workspaces ---- */

START_TEST(imports_are_isolated_by_workspace)
{
    struct resp *r = admin("POST", "/v1/workspaces", "{\"name\": \"shop-b\"}");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    resp_free(r);
    char ka[256], kb[256];
    snprintf(ka, sizeof ka, "%s", make_key(NULL, "[\"ingest\", \"read\"]"));
    snprintf(kb, sizeof kb, "%s", make_key("shop-b", "[\"ingest\", \"read\"]"));
    const char *csv_a = CSV_HEADER "wa-1,only-a,10.00,2026-01-01T00:00:00Z\n";
    const char *csv_b = CSV_HEADER "wb-1,only-b,20.00,2026-01-01T00:00:00Z\n";

    r = post_import_as(ka, NULL, "text/csv", "", csv_a, strlen(csv_a));
    long long a = accepted_id(r);
    resp_free(r);
    json_t *doc = wait_import_as(ka, NULL, a);
    expect_done(doc, 1, 0, 1, 0, 0);
    json_decref(doc);
    r = post_import_as(kb, NULL, "text/csv", "", csv_b, strlen(csv_b));
    long long b = accepted_id(r);
    resp_free(r);
    doc = wait_import_as(kb, NULL, b);
    expect_done(doc, 1, 0, 1, 0, 0);
    json_decref(doc);

    char pa[64], pb[64];
    snprintf(pa, sizeof pa, "/v1/imports/%lld", a);
    snprintf(pb, sizeof pb, "/v1/imports/%lld", b);
    r = with_key(kb, "GET", pa, NULL);
    assert_problem(r, 404);
    resp_free(r);
    r = with_key(ka, "GET", pb, NULL);
    assert_problem(r, 404);
    resp_free(r);
    r = admin("GET", pb, NULL); /* the bootstrap key in the default workspace */
    assert_problem(r, 404);
    resp_free(r);
    r = with_key(kb, "GET", pb, NULL);
    ck_assert_int_eq(r->status, 200);
    resp_free(r);

    /* each import's data stayed in its own workspace */
    r = with_key(kb, "GET", "/v1/customers/only-a", NULL);
    ck_assert_int_eq(r->status, 404);
    resp_free(r);
    r = with_key(ka, "GET", "/v1/customers/only-b", NULL);
    ck_assert_int_eq(r->status, 404);
    resp_free(r);
    r = with_key(ka, "GET", "/v1/segments", NULL);
    ck_assert_int_eq(jint(r->json, "total_customers"), 1);
    resp_free(r);
    r = with_key(kb, "GET", "/v1/segments", NULL);
    ck_assert_int_eq(jint(r->json, "total_customers"), 1);
    resp_free(r);

    const char *nowhere[] = {"/v1/imports/0", "/v1/imports/abc", "/v1/imports/99999999",
                             "/v1/imports/-1"};
    for (size_t i = 0; i < sizeof nowhere / sizeof nowhere[0]; i++) {
        r = admin("GET", nowhere[i], NULL);
        assert_problem(r, 404);
        resp_free(r);
    }
}
END_TEST

/* ---- the command line ---- */

static int run_cli(const char *const *args, char *out, size_t outlen)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        char db[300], asan[512];
        const char *asan_opts = getenv("ASAN_OPTIONS");
        snprintf(db, sizeof db, "DATABASE_URL=%s", H.database_url);
        snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s", asan_opts ? asan_opts : "");
        const char *env[] = {"PATH=/usr/bin:/bin", db, "SEGMENTD_LOG_LEVEL=warn",
                             asan_opts ? asan : NULL, NULL};
        const char *argv[16] = {SEGMENTD_BINARY};
        size_t n = 1;
        for (size_t i = 0; args[i] && n < 15; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        execve(SEGMENTD_BINARY, (char *const *)argv, (char *const *)env);
        _exit(127);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t k;
    while (got + 1 < outlen && (k = read(fds[0], out + got, outlen - 1 - got)) > 0)
        got += (size_t)k;
    out[got] = '\0';
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

/* The id in "import N: done (see GET /v1/imports/N)", or -1. */
static long long cli_import_id(const char *out, const char *outcome)
{
    for (const char *p = strstr(out, "import "); p != NULL; p = strstr(p + 1, "import ")) {
        long long id;
        char word[16];
        if (sscanf(p, "import %lld: %15s", &id, word) == 2 && strcmp(word, outcome) == 0)
            return id;
    }
    return -1;
}

START_TEST(cli_import_loads_a_file)
{
    char path[300], out[8192];
    snprintf(path, sizeof path, "%s/cli-orders.csv", H.dir);
    write_file(path, "order_id;customer_id;amount;purchased_at;name\n"
                     "cli-1;k1;100,50;01.06.2026 09:00;Kenji\n"
                     "cli-2;k1;200;2026-06-02T00:00:00Z;Kenji\n"
                     "bad;k2;abc;01.06.2026;X\n");
    const char *args[] = {"import", path, "--timezone", "Asia/Tokyo", NULL};
    int rc = run_cli(args, out, sizeof out);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
    long long id = cli_import_id(out, "done");
    ck_assert_msg(id > 0, "no import id in: %s", out);
    /* visible through the API like any import */
    json_t *doc = wait_import_as(ADMIN_KEY, NULL, id);
    expect_done(doc, 3, 1, 2, 0, 0);
    expect_error(doc, 4, "amount");
    json_decref(doc);
    expect_customer("k1", 2, "300.50", "2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z");
    json_t *c = get_customer("k1");
    ck_assert_str_eq(jstr(c, "name"), "Kenji");
    json_decref(c);
    ck_assert_ptr_null(get_customer("k2"));
    struct resp *r = admin("GET", "/v1/segments", NULL);
    ck_assert_int_eq(jint(r->json, "total_customers"), 1);
    resp_free(r);
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM transitions WHERE reason = 'import'"),
                     1);

    /* NDJSON by extension, into another workspace */
    r = admin("POST", "/v1/workspaces", "{\"name\": \"shop-c\"}");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    resp_free(r);
    char nd[300];
    snprintf(nd, sizeof nd, "%s/cli-orders.ndjson", H.dir);
    write_file(nd, "{\"order_id\":\"n1\",\"customer_id\":\"kc\",\"amount\":\"5.00\","
                   "\"purchased_at\":\"2026-05-01T10:00:00Z\"}\n");
    const char *ws_args[] = {"import", nd, "--workspace", "shop-c", NULL};
    rc = run_cli(ws_args, out, sizeof out);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
    ck_assert_int_gt(cli_import_id(out, "done"), 0);
    ck_assert_ptr_null(get_customer("kc"));
    char kc[256];
    snprintf(kc, sizeof kc, "%s", make_key("shop-c", "[\"read\"]"));
    r = with_key(kc, "GET", "/v1/customers/kc", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(jstr(r->json, "revenue"), "5.00");
    resp_free(r);

    /* failures: a fatal file, an unknown workspace, no file, bad arguments */
    char badpath[300];
    snprintf(badpath, sizeof badpath, "%s/cli-bad.csv", H.dir);
    write_file(badpath, "order_id,customer_id,purchased_at\nz,z,2026-01-01T00:00:00Z\n");
    const char *fatal[] = {"import", badpath, NULL};
    rc = run_cli(fatal, out, sizeof out);
    ck_assert_msg(rc == 1, "exit %d: %s", rc, out);
    ck_assert_msg(cli_import_id(out, "failed") > 0, "%s", out);
    const char *ghost[] = {"import", path, "--workspace", "ghost", NULL};
    rc = run_cli(ghost, out, sizeof out);
    ck_assert_msg(rc == 1, "exit %d: %s", rc, out);
    ck_assert_ptr_nonnull(strstr(out, "ghost"));
    const char *missing[] = {"import", "/nonexistent/orders.csv", NULL};
    rc = run_cli(missing, out, sizeof out);
    ck_assert_msg(rc == 1, "exit %d: %s", rc, out);
    const char *none[] = {"import", NULL};
    ck_assert_int_eq(run_cli(none, out, sizeof out), 2);
    const char *badfmt[] = {"import", path, "--format", "xml", NULL};
    ck_assert_int_ne(run_cli(badfmt, out, sizeof out), 0);
    /* none of that changed the data */
    ck_assert_int_eq(count_of("orders"), 3);
}
END_TEST

static Suite *imports_suite(void)
{
    Suite *s = suite_create("imports");
    TCase *tc = tcase_create("imports");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_checked_fixture(tc, test_setup, NULL);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, csv_history_builds_the_exact_matrix);
    tcase_add_test(tc, one_c_export_loads_as_it_is);
    tcase_add_test(tc, local_times_default_to_utc);
    tcase_add_test(tc, bad_lines_are_rejected_with_their_numbers);
    tcase_add_test(tc, duplicates_and_conflicts);
    tcase_add_test(tc, missing_column_fails_and_writes_nothing);
    tcase_add_test(tc, ndjson_import);
    tcase_add_test(tc, profile_fields_keep_the_last_value_given);
    tcase_add_test(tc, refusals_leave_no_import);
    tcase_add_test(tc, a_body_under_the_limit_is_taken);
    tcase_add_test(tc, imports_are_isolated_by_workspace);
    tcase_add_test(tc, cli_import_loads_a_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(imports_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
