/* KPIs and KPI targets against the real server and a real PostgreSQL. The figures of GET /v1/kpis
 * are checked against an independent computation in C over the test's own list of orders (the
 * ones posted through POST /v1/purchases, minus those cancelled through POST /v1/cancellations):
 * period bounds, first orders ever (an older first order, a cancelled one, a tie on time),
 * retention across the previous period, the kind filter, active share, null figures, the default
 * period and bad queries; then the targets' default, round trip, validation and scopes. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define DAY_US (86400LL * 1000000)
#define MAX_ORDERS 64

/* ---- the test's own order list ---- */

struct order {
    char cust[16], id[16], kind[4];
    long long cents;
    long long at; /* µs since the epoch */
    bool cancelled;
};

/* A fixed history around the period [2026-03-01, 2026-04-01) (31 days), whose previous period is
 * [2026-01-29, 2026-03-01). */
static const struct {
    const char *cust, *id;
    long long cents;
    const char *at, *kind;
    bool cancelled;
} FIXED[] = {
    /* a: first order long before: both orders of the period are repeats */
    {"a", "a-1", 10000, "2025-12-01T10:00:00Z", "b2c", false},
    {"a", "a-2", 5000, "2026-03-05T10:00:00Z", "b2c", false},
    /* b: first order in the previous period, two in this one: retained */
    {"b", "b-1", 2000, "2026-02-10T09:00:00Z", "b2c", false},
    {"b", "b-2", 3000, "2026-03-10T09:00:00Z", "b2c", false},
    {"b", "b-3", 4000, "2026-03-20T09:00:00Z", "b2c", false},
    /* c: new in the period with two orders at the same second: the smaller order_id is first */
    {"c", "c-2", 1000, "2026-03-15T12:00:00Z", "b2c", false},
    {"c", "c-1", 1550, "2026-03-15T12:00:00Z", "b2c", false},
    /* d: bought in the previous period only: not retained */
    {"d", "d-1", 2500, "2026-02-20T08:00:00Z", "b2c", false},
    /* e: an older order cancelled, so the period's order is the first */
    {"e", "e-1", 7000, "2026-01-05T08:00:00Z", "b2c", true},
    {"e", "e-2", 6000, "2026-03-25T08:00:00Z", "b2c", false},
    /* f: the only order cancelled: no buyer, in no cell */
    {"f", "f-1", 99900, "2026-03-12T08:00:00Z", "b2c", true},
    /* h: at `from` (counted) and at `to` (not) */
    {"h", "h-1", 1234, "2026-03-01T00:00:00Z", "b2c", false},
    {"h", "h-2", 4321, "2026-04-01T00:00:00Z", "b2c", false},
    /* i: at the previous period's start exactly, and again in this one: retained */
    {"i", "i-1", 800, "2026-01-29T00:00:00Z", "b2c", false},
    {"i", "i-2", 905, "2026-03-02T00:00:00Z", "b2c", false},
    /* j: a second before the previous period, and in this one: a repeat, not retained */
    {"j", "j-1", 700, "2026-01-28T23:59:59Z", "b2c", false},
    {"j", "j-2", 1100, "2026-03-03T00:00:00Z", "b2c", false},
    /* m: a cancelled order in the period beside a kept one */
    {"m", "m-1", 3300, "2025-06-01T00:00:00Z", "b2c", false},
    {"m", "m-2", 5500, "2026-03-18T00:00:00Z", "b2c", true},
    {"m", "m-3", 100, "2026-03-19T00:00:00Z", "b2c", false},
    /* g, k: the other kind */
    {"g", "g-1", 50000, "2026-02-08T08:00:00Z", "b2b", false},
    {"g", "g-2", 45000, "2026-03-08T08:00:00Z", "b2b", false},
    {"k", "k-1", 12345, "2026-03-09T08:00:00Z", "b2b", false},
};

static struct order orders[MAX_ORDERS];
static size_t norders;

static long long parse_utc(const char *s)
{
    struct tm tm = {0};
    int y, mo, d, h, mi, se;
    ck_assert_int_eq(sscanf(s, "%d-%d-%dT%d:%d:%dZ", &y, &mo, &d, &h, &mi, &se), 6);
    tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
    tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = se;
    return (long long)timegm(&tm) * 1000000;
}

/* "2026-11-20T10:00:00Z" or "2026-11-20T10:00:00.123456Z" → µs. */
static long long parse_utc_us(const char *s)
{
    long long us = parse_utc(s);
    const char *dot = strchr(s, '.');
    if (dot != NULL) {
        long long frac = 0;
        int n = 0;
        for (const char *p = dot + 1; *p >= '0' && *p <= '9'; p++, n++)
            frac = frac * 10 + (*p - '0');
        for (; n < 6; n++)
            frac *= 10;
        us += frac;
    }
    return us;
}

static void add_order(const char *cust, const char *id, long long cents, long long at,
                      const char *kind, bool cancelled)
{
    ck_assert_uint_lt(norders, MAX_ORDERS);
    struct order *o = &orders[norders++];
    snprintf(o->cust, sizeof o->cust, "%s", cust);
    snprintf(o->id, sizeof o->id, "%s", id);
    snprintf(o->kind, sizeof o->kind, "%s", kind);
    o->cents = cents;
    o->at = at;
    o->cancelled = cancelled;
}

/* Posts every order of the list in one request, then cancels the cancelled ones in another. */
static void post_orders(void)
{
    json_t *purchases = json_array(), *cancels = json_array();
    for (size_t i = 0; i < norders; i++) {
        const struct order *o = &orders[i];
        char at[32], amount[32];
        iso((time_t)(o->at / 1000000), at);
        money(o->cents, amount);
        json_array_append_new(purchases,
                              json_pack("{s:s, s:s, s:s, s:s, s:{s:s}}", "order_id", o->id,
                                        "customer_id", o->cust, "amount", amount, "purchased_at",
                                        at, "customer", "kind", o->kind));
        if (o->cancelled)
            json_array_append_new(
                cancels, json_pack("{s:s, s:s}", "customer_id", o->cust, "order_id", o->id));
    }
    char *text = json_dumps(purchases, JSON_COMPACT);
    struct resp *r = admin("POST", "/v1/purchases", text);
    ck_assert_msg(r->status == 200, "purchases: %ld %s", r->status, r->body);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "accepted")), (long)norders);
    resp_free(r);
    free(text);
    if (json_array_size(cancels) > 0) {
        text = json_dumps(cancels, JSON_COMPACT);
        r = admin("POST", "/v1/cancellations", text);
        ck_assert_msg(r->status == 200, "cancellations: %ld %s", r->status, r->body);
        for (size_t i = 0; i < json_array_size(cancels); i++) {
            json_t *it = json_array_get(json_object_get(r->json, "results"), i);
            ck_assert_str_eq(json_string_value(json_object_get(it, "status")), "cancelled");
        }
        resp_free(r);
        free(text);
    }
    json_decref(purchases);
    json_decref(cancels);
}

/* The fixed history, plus recent orders for active share: r1 a day ago (b2c, active), r2 two days
 * ago (b2b, active), r3 45 days ago (b2c, sleeping). */
static void load_history(long long now_us)
{
    norders = 0;
    for (size_t i = 0; i < sizeof FIXED / sizeof FIXED[0]; i++)
        add_order(FIXED[i].cust, FIXED[i].id, FIXED[i].cents, parse_utc(FIXED[i].at), FIXED[i].kind,
                  FIXED[i].cancelled);
    long long now_s = now_us / 1000000 * 1000000;
    add_order("r1", "r1-1", 4200, now_s - DAY_US, "b2c", false);
    add_order("r2", "r2-1", 4300, now_s - 2 * DAY_US, "b2b", false);
    add_order("r3", "r3-1", 4400, now_s - 45 * DAY_US, "b2c", false);
    post_orders();
}

/* ---- the expected figures, computed from the list ---- */

struct expect {
    long long orders, revenue, buyers, first_revenue, prev_buyers, retained;
    long long in_cell, active;
};

static bool kept(const struct order *o, const char *kind)
{
    return !o->cancelled && strcmp(o->kind, kind) == 0;
}

/* Was `o` its customer's first non-cancelled order ever (earliest time, then order_id)? */
static bool first_ever(const struct order *o)
{
    for (size_t i = 0; i < norders; i++) {
        const struct order *x = &orders[i];
        if (x == o || x->cancelled || strcmp(x->cust, o->cust) != 0)
            continue;
        if (x->at < o->at || (x->at == o->at && strcmp(x->id, o->id) < 0))
            return false;
    }
    return true;
}

static bool bought(const char *cust, const char *kind, long long from, long long to)
{
    for (size_t i = 0; i < norders; i++) {
        const struct order *o = &orders[i];
        if (kept(o, kind) && strcmp(o->cust, cust) == 0 && o->at >= from && o->at < to)
            return true;
    }
    return false;
}

/* Is orders[i] the first entry of its customer in the list (to visit each customer once)? */
static bool first_entry(size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (strcmp(orders[j].cust, orders[i].cust) == 0)
            return false;
    }
    return true;
}

static struct expect compute(const char *kind, long long from, long long to, long long now)
{
    struct expect e = {0};
    long long prev = from - (to - from);
    long long active_us = (strcmp(kind, "b2c") == 0 ? 30 : 90) * DAY_US;
    for (size_t i = 0; i < norders; i++) {
        const struct order *o = &orders[i];
        if (kept(o, kind) && o->at >= from && o->at < to) {
            e.orders++;
            e.revenue += o->cents;
            e.first_revenue += first_ever(o) ? o->cents : 0;
        }
        if (!first_entry(i) || strcmp(o->kind, kind) != 0)
            continue;
        bool now_buyer = bought(o->cust, kind, from, to);
        bool prev_buyer = bought(o->cust, kind, prev, from);
        e.buyers += now_buyer;
        e.prev_buyers += prev_buyer;
        e.retained += now_buyer && prev_buyer;
        long long last = 0;
        for (size_t j = 0; j < norders; j++) {
            if (kept(&orders[j], kind) && strcmp(orders[j].cust, o->cust) == 0 &&
                orders[j].at > last)
                last = orders[j].at;
        }
        if (last != 0) {
            e.in_cell++;
            e.active += now - last < active_us;
        }
    }
    return e;
}

static double round4(double x)
{
    return round(x * 10000.0) / 10000.0;
}

static void assert_ratio(json_t *doc, const char *key, long long num, long long den)
{
    json_t *v = json_object_get(doc, key);
    ck_assert_msg(v != NULL, "%s missing", key);
    if (den == 0) {
        ck_assert_msg(json_is_null(v), "%s should be null", key);
        return;
    }
    double want = round4((double)num / (double)den);
    ck_assert_msg(json_is_number(v) && fabs(json_number_value(v) - want) < 1e-9,
                  "%s: got %g, want %g", key, json_number_value(v), want);
}

static void assert_money(json_t *doc, const char *key, long long cents)
{
    char want[32];
    money(cents, want);
    const char *got = json_string_value(json_object_get(doc, key));
    ck_assert_msg(got != NULL && strcmp(got, want) == 0, "%s: got %s, want %s", key,
                  got ? got : "(none)", want);
}

/* Every member of the answer against the expectation. */
static void assert_kpis(json_t *doc, const char *kind, const struct expect *e)
{
    static const char *const members[] = {"kind",
                                          "from",
                                          "to",
                                          "orders",
                                          "revenue",
                                          "customers",
                                          "avg_order_value",
                                          "purchase_frequency",
                                          "repeat_sales_share",
                                          "retention_rate",
                                          "churn_rate",
                                          "active_share",
                                          "targets"};
    ck_assert_int_eq(json_object_size(doc), sizeof members / sizeof members[0]);
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++)
        ck_assert_msg(json_object_get(doc, members[i]) != NULL, "no %s", members[i]);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "kind")), kind);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "orders")), e->orders);
    assert_money(doc, "revenue", e->revenue);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "customers")), e->buyers);
    if (e->orders == 0)
        ck_assert(json_is_null(json_object_get(doc, "avg_order_value")));
    else
        assert_money(doc, "avg_order_value", (e->revenue + e->orders / 2) / e->orders);
    assert_ratio(doc, "purchase_frequency", e->orders, e->buyers);
    assert_ratio(doc, "repeat_sales_share", e->revenue - e->first_revenue, e->revenue);
    assert_ratio(doc, "retention_rate", e->retained, e->prev_buyers);
    assert_ratio(doc, "churn_rate", e->prev_buyers - e->retained, e->prev_buyers);
    assert_ratio(doc, "active_share", e->active, e->in_cell);
}

static struct resp *get_ok(const char *path)
{
    struct resp *r = admin("GET", path, NULL);
    ck_assert_msg(r->status == 200, "GET %s: %ld %s", path, r->status, r->body);
    ck_assert_ptr_nonnull(r->json);
    ck_assert_str_eq(resp_header(r, "Content-Type"), "application/json");
    return r;
}

/* ---- fixtures ---- */

static void suite_setup(void)
{
    harness_start_db();
    harness_start_server(NULL, true);
}

static void suite_teardown(void)
{
    harness_stop_all();
}

static void test_setup(void)
{
    harness_reset();
}

/* ---- KPIs ---- */

START_TEST(kpis_match_an_independent_computation)
{
    long long now = (long long)time(NULL) * 1000000;
    load_history(now);
    long long from = parse_utc("2026-03-01T00:00:00Z"), to = parse_utc("2026-04-01T00:00:00Z");

    struct resp *r = get_ok("/v1/kpis?from=2026-03-01&to=2026-04-01");
    struct expect e = compute("b2c", from, to, now);
    /* the hand count of the same list, so that a slip in compute() cannot hide one in the server:
     * orders a-2 b-2 b-3 c-2 c-1 e-2 h-1 i-2 j-2 m-3; firsts c-1 e-2 h-1 */
    ck_assert_int_eq(e.orders, 10);
    ck_assert_int_eq(e.revenue, 5000 + 3000 + 4000 + 1000 + 1550 + 6000 + 1234 + 905 + 1100 + 100);
    ck_assert_int_eq(e.first_revenue, 1550 + 6000 + 1234);
    ck_assert_int_eq(e.buyers, 8);      /* a b c e h i j m */
    ck_assert_int_eq(e.prev_buyers, 3); /* b d i */
    ck_assert_int_eq(e.retained, 2);    /* b i */
    ck_assert_int_eq(e.in_cell, 11);    /* every b2c customer but f */
    ck_assert_int_eq(e.active, 1);      /* r1 */
    assert_kpis(r->json, "b2c", &e);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "from")), "2026-03-01T00:00:00Z");
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "to")), "2026-04-01T00:00:00Z");
    /* printed as rounded: 4 decimals at most */
    ck_assert_msg(strstr(r->body, "\"retention_rate\":0.6667") != NULL, "%s", r->body);
    ck_assert_msg(strstr(r->body, "\"churn_rate\":0.3333") != NULL, "%s", r->body);
    ck_assert_msg(strstr(r->body, "\"purchase_frequency\":1.25") != NULL, "%s", r->body);
    /* active share is the segment report's figure */
    struct resp *seg = get_ok("/v1/segments?kind=b2c");
    ck_assert(fabs(json_number_value(json_object_get(seg->json, "active_share")) -
                   json_number_value(json_object_get(r->json, "active_share"))) < 1e-4);
    resp_free(seg);
    resp_free(r);

    /* the same period written as RFC 3339 times, one with an offset ('+' percent-encoded) */
    r = get_ok("/v1/kpis?kind=b2c&from=2026-03-01T01:00:00%2B01:00&to=2026-04-01T00:00:00Z");
    assert_kpis(r->json, "b2c", &e);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "from")), "2026-03-01T00:00:00Z");
    resp_free(r);

    /* the other kind */
    r = get_ok("/v1/kpis?kind=b2b&from=2026-03-01&to=2026-04-01");
    e = compute("b2b", from, to, now);
    ck_assert_int_eq(e.orders, 2);
    ck_assert_int_eq(e.prev_buyers, 1);
    assert_kpis(r->json, "b2b", &e);
    resp_free(r);

    /* a period that starts inside a customer's history: the first order stays the first ever */
    from = parse_utc("2026-03-10T00:00:00Z");
    to = parse_utc("2026-03-16T00:00:00Z");
    r = get_ok("/v1/kpis?from=2026-03-10&to=2026-03-16");
    e = compute("b2c", from, to, now);
    ck_assert_int_eq(e.orders, 3); /* b-2 c-2 c-1 */
    ck_assert_int_eq(e.first_revenue, 1550);
    assert_kpis(r->json, "b2c", &e);
    resp_free(r);

    /* the default period: the last 30 days up to now */
    long long before = (long long)time(NULL) * 1000000;
    r = get_ok("/v1/kpis");
    long long after = ((long long)time(NULL) + 1) * 1000000;
    to = parse_utc_us(json_string_value(json_object_get(r->json, "to")));
    from = parse_utc_us(json_string_value(json_object_get(r->json, "from")));
    ck_assert(to >= before && to <= after);
    ck_assert_int_eq(to - from, 30 * DAY_US);
    e = compute("b2c", from, to, now);
    ck_assert_int_eq(e.orders, 1);      /* r1 */
    ck_assert_int_eq(e.prev_buyers, 1); /* r3 */
    ck_assert_int_eq(e.retained, 0);
    assert_kpis(r->json, "b2c", &e);
    resp_free(r);

    /* only `to`: `from` is 30 days before it */
    r = get_ok("/v1/kpis?to=2026-03-31");
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "from")), "2026-03-01T00:00:00Z");
    e = compute("b2c", parse_utc("2026-03-01T00:00:00Z"), parse_utc("2026-03-31T00:00:00Z"), now);
    assert_kpis(r->json, "b2c", &e);
    resp_free(r);
}
END_TEST

START_TEST(empty_periods_give_nulls)
{
    /* nobody at all: every ratio is null, active share included */
    struct resp *r = get_ok("/v1/kpis?from=2020-01-01&to=2020-02-01");
    struct expect none = {0};
    assert_kpis(r->json, "b2c", &none);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "revenue")), "0.00");
    ck_assert(json_is_null(json_object_get(r->json, "active_share")));
    resp_free(r);

    /* history, but none of it in the period or the one before */
    long long now = (long long)time(NULL) * 1000000;
    load_history(now);
    r = get_ok("/v1/kpis?from=2020-01-01&to=2020-02-01");
    struct expect e =
        compute("b2c", parse_utc("2020-01-01T00:00:00Z"), parse_utc("2020-02-01T00:00:00Z"), now);
    ck_assert_int_eq(e.orders, 0);
    ck_assert_int_gt(e.in_cell, 0);
    assert_kpis(r->json, "b2c", &e);
    ck_assert(json_is_null(json_object_get(r->json, "retention_rate")));
    ck_assert(json_is_null(json_object_get(r->json, "churn_rate")));
    resp_free(r);

    /* buyers before, none now: retention 0, churn 1 */
    r = get_ok("/v1/kpis?from=2026-04-02&to=2026-06-01");
    e = compute("b2c", parse_utc("2026-04-02T00:00:00Z"), parse_utc("2026-06-01T00:00:00Z"), now);
    ck_assert_int_eq(e.orders, 0);
    ck_assert_int_gt(e.prev_buyers, 0);
    assert_kpis(r->json, "b2c", &e);
    ck_assert_double_eq(json_number_value(json_object_get(r->json, "churn_rate")), 1.0);
    resp_free(r);
}
END_TEST

START_TEST(bad_queries)
{
    static const struct {
        const char *query;
        long status;
    } bad[] = {
        {"from=2026-03-01&to=2026-03-01", 422},
        {"from=2026-03-02&to=2026-03-01", 422},
        {"from=2026-03-01T00:00:00Z&to=2026-03-01", 422},
        {"from=9999-01-01", 422}, /* after now, the default `to` */
        {"from=yesterday", 422},
        {"from=2026-02-30", 422},
        {"to=2026-03-01T25:00:00Z", 422},
        {"to=2026-03-01T00:00:00", 422}, /* no offset */
        {"from=", 422},
        {"kind=b2x", 400},
        {"kind=B2C&from=2026-03-01", 400},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[160];
        snprintf(path, sizeof path, "/v1/kpis?%s", bad[i].query);
        struct resp *r = admin("GET", path, NULL);
        ck_assert_msg(r->status == bad[i].status, "%s: %ld %s", bad[i].query, r->status, r->body);
        assert_problem(r, bad[i].status);
        resp_free(r);
    }
}
END_TEST

START_TEST(kpi_scopes)
{
    char read_key[256], ingest_key[256];
    snprintf(read_key, sizeof read_key, "%s", make_key(NULL, "[\"read\"]"));
    snprintf(ingest_key, sizeof ingest_key, "%s", make_key(NULL, "[\"ingest\"]"));
    struct resp *r = with_key(read_key, "GET", "/v1/kpis", NULL);
    ck_assert_int_eq(r->status, 200);
    resp_free(r);
    r = with_key(ingest_key, "GET", "/v1/kpis", NULL);
    assert_problem(r, 403);
    resp_free(r);
    r = http("GET", "/v1/kpis", NULL, NULL);
    assert_problem(r, 401);
    resp_free(r);
}
END_TEST

/* ---- targets ---- */

static void expect_invalid(struct resp *r, const char *pointer, const char *what)
{
    ck_assert_msg(r->status == 422, "%s: %ld %s", what, r->status, r->body);
    assert_problem(r, 422);
    json_t *errors = json_object_get(r->json, "errors");
    bool found = false;
    for (size_t i = 0; i < json_array_size(errors); i++) {
        json_t *e = json_array_get(errors, i);
        const char *p = json_string_value(json_object_get(e, "pointer"));
        ck_assert(json_is_string(json_object_get(e, "message")));
        found |= p != NULL && strcmp(p, pointer) == 0;
    }
    ck_assert_msg(found, "%s: no error at %s in %s", what, pointer, r->body);
}

/* The answer of GET /v1/kpis ends with "targets": `targets` as printed (the text, not re-dumped:
 * 0.3 must read 0.3). */
static void assert_targets_member(const struct resp *r, const char *targets)
{
    char tail[512];
    snprintf(tail, sizeof tail, "\"targets\":%s}", targets);
    size_t n = strlen(r->body), m = strlen(tail);
    ck_assert_msg(n >= m && strcmp(r->body + n - m, tail) == 0, "%s", r->body);
}

START_TEST(targets_round_trip)
{
    /* the default, in both places */
    struct resp *r = get_ok("/v1/kpi-targets");
    ck_assert_str_eq(r->body, "{\"active_share\":0.3}");
    resp_free(r);
    r = get_ok("/v1/kpis");
    assert_targets_member(r, "{\"active_share\":0.3}");
    resp_free(r);

    /* a PUT replaces them all; the answer and every later read list them in KPI order */
    const char *expected = "{\"orders\":120,\"avg_order_value\":45.5,\"repeat_sales_share\":0.4,"
                           "\"retention_rate\":0.6,\"churn_rate\":0,\"active_share\":0.35}";
    r = admin("PUT", "/v1/kpi-targets",
              "{\"active_share\":0.35,\"retention_rate\":0.6,\"repeat_sales_share\":0.4,"
              "\"orders\":120,\"avg_order_value\":45.5,\"churn_rate\":0,\"revenue\":null}");
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_str_eq(r->body, expected);
    resp_free(r);
    r = get_ok("/v1/kpi-targets");
    ck_assert_str_eq(r->body, expected);
    resp_free(r);
    r = get_ok("/v1/kpis?kind=b2b");
    assert_targets_member(r, expected);
    resp_free(r);
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM kpi_targets WHERE workspace_id = 1 "
                                      "AND targets->>'active_share' = '0.35'"),
                     1);

    /* invalid bodies: 422 with pointers (or 400), nothing changed */
    static const struct {
        const char *body, *pointer;
    } bad[] = {
        {"{\"colour\":0.3}", "/colour"},
        {"{\"active_share\":1.5}", "/active_share"},
        {"{\"retention_rate\":-0.1}", "/retention_rate"},
        {"{\"churn_rate\":\"0.2\"}", "/churn_rate"},
        {"{\"repeat_sales_share\":true}", "/repeat_sales_share"},
        {"{\"orders\":-1}", "/orders"},
        {"{\"customers\":1e16}", "/customers"},
        {"{\"revenue\":\"1000.00\"}", "/revenue"},
        {"{\"purchase_frequency\":[2]}", "/purchase_frequency"},
        {"{\"customers\":{}}", "/customers"},
        {"{\"active_share\":0.3,\"a/b\":1}", "/a~1b"},
        {"[]", ""},
        {"0.3", ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = admin("PUT", "/v1/kpi-targets", bad[i].body);
        expect_invalid(r, bad[i].pointer, bad[i].body);
        resp_free(r);
    }
    r = admin("PUT", "/v1/kpi-targets", "{\"active_share\":");
    assert_problem(r, 400);
    resp_free(r);

    /* scopes: read may look, not write; no key is 401 */
    char read_key[256];
    snprintf(read_key, sizeof read_key, "%s", make_key(NULL, "[\"read\"]"));
    r = with_key(read_key, "PUT", "/v1/kpi-targets", "{\"active_share\":0.9}");
    assert_problem(r, 403);
    resp_free(r);
    r = http("PUT", "/v1/kpi-targets", NULL, "{\"active_share\":0.9}");
    assert_problem(r, 401);
    resp_free(r);
    r = http("GET", "/v1/kpi-targets", NULL, NULL);
    assert_problem(r, 401);
    resp_free(r);
    r = with_key(read_key, "GET", "/v1/kpi-targets", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(r->body, expected);
    resp_free(r);

    /* an empty set is a set: no goals, not the default */
    r = admin("PUT", "/v1/kpi-targets", "{}");
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(r->body, "{}");
    resp_free(r);
    r = get_ok("/v1/kpi-targets");
    ck_assert_str_eq(r->body, "{}");
    resp_free(r);
}
END_TEST

START_TEST(targets_belong_to_their_workspace)
{
    struct resp *r = admin("POST", "/v1/workspaces", "{\"name\":\"brand-b\"}");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    resp_free(r);
    const char *headers[] = {"Authorization: Bearer " ADMIN_KEY, "Content-Type: application/json",
                             "Segmentd-Workspace: brand-b", NULL};
    r = http("PUT", "/v1/kpi-targets", headers, "{\"retention_rate\":0.5}");
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    resp_free(r);
    r = get_ok("/v1/kpi-targets"); /* default is untouched */
    ck_assert_str_eq(r->body, "{\"active_share\":0.3}");
    resp_free(r);
    r = http("GET", "/v1/kpi-targets", headers, NULL);
    ck_assert_str_eq(r->body, "{\"retention_rate\":0.5}");
    resp_free(r);

    r = admin("DELETE", "/v1/workspaces/brand-b", NULL);
    ck_assert_msg(r->status == 204, "%ld %s", r->status, r->body);
    resp_free(r);
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM kpi_targets"), 0);
}
END_TEST

static Suite *kpis_suite(void)
{
    Suite *s = suite_create("kpis");
    TCase *tc = tcase_create("http");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_checked_fixture(tc, test_setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, kpis_match_an_independent_computation);
    tcase_add_test(tc, empty_periods_give_nulls);
    tcase_add_test(tc, bad_queries);
    tcase_add_test(tc, kpi_scopes);
    tcase_add_test(tc, targets_round_trip);
    tcase_add_test(tc, targets_belong_to_their_workspace);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(kpis_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
