/* Classification and the read side, against the real server and a real PostgreSQL: every band
 * boundary of the presets and of a custom matrix, the matrix report checked cell by cell against
 * a model computed here (not by our code), re-segmentation on PUT, suggestions, segment lists
 * (keyset pages, filters, errors) and the CSV export. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define DAY 86400L
#define HOUR 3600L

/* ---- helpers ---- */

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
} /* Percent-encodes everything but RFC 3986 unreserved characters. */ /* A purchase object (new
                                                                          reference). `kind` may be
                                                                          NULL. */
static json_t *purchase(const char *order, const char *cust, long long cents, time_t at,
                        const char *kind)
{
    char ts[32], amount[32];
    iso(at, ts);
    money(cents, amount);
    json_t *p = json_pack("{s:s, s:s, s:s, s:s}", "order_id", order, "customer_id", cust, "amount",
                          amount, "purchased_at", ts);
    if (kind != NULL)
        json_object_set_new(p, "customer", json_pack("{s:s}", "kind", kind));
    return p;
}

/* Sends `body` (stolen) with the bootstrap admin key. */
static struct resp *send_json(const char *method, const char *path, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    struct resp *r = admin(method, path, text);
    free(text);
    return r;
}

static struct resp *get_ok(const char *path)
{
    struct resp *r = admin("GET", path, NULL);
    ck_assert_msg(r->status == 200, "GET %s: %ld %s", path, r->status, r->body);
    ck_assert_ptr_nonnull(r->json);
    return r;
}

/* Posts a batch of purchases (stolen); every item must be created. */
static void post_created(json_t *batch)
{
    size_t n = json_array_size(batch);
    struct resp *r = send_json("POST", "/v1/purchases", batch);
    ck_assert_msg(r->status == 200, "purchases: %ld %s", r->status, r->body);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "accepted")), (long long)n);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "duplicates")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "conflicts")), 0);
    resp_free(r);
}

/* A string member, or "(none)" when absent or not a string (never NULL, for strcmp). */
static const char *jstr(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "(none)";
}

/* GET /v1/customers/{id} (new resp; 200 asserted). */
static struct resp *get_customer(const char *id)
{
    char enc[2048], path[2100];
    pct(id, enc, sizeof enc);
    snprintf(path, sizeof path, "/v1/customers/%s", enc);
    return get_ok(path);
}

/* Asserts a customer's cell, monetary band and next_change_at (0: null). */
static void expect_customer(const char *id, const char *cell, const char *mon, time_t next)
{
    struct resp *r = get_customer(id);
    json_t *c = json_object_get(r->json, "cell");
    ck_assert_msg(json_is_string(c) && strcmp(json_string_value(c), cell) == 0,
                  "%s: cell %s, want %s", id, json_is_string(c) ? json_string_value(c) : "null",
                  cell);
    ck_assert_msg(strcmp(jstr(r->json, "monetary"), mon) == 0, "%s: monetary %s, want %s", id,
                  jstr(r->json, "monetary"), mon);
    json_t *nc = json_object_get(r->json, "next_change_at");
    if (next == 0) {
        ck_assert_msg(json_is_null(nc), "%s: next_change_at should be null", id);
    } else {
        char want[32];
        iso(next, want);
        ck_assert_msg(json_is_string(nc) && strcmp(json_string_value(nc), want) == 0,
                      "%s: next_change_at %s, want %s", id,
                      json_is_string(nc) ? json_string_value(nc) : "null", want);
    }
    resp_free(r);
}

/* ---- the model: the test's own reading of SPEC §1 ---- */

struct mdef {
    int nf, nr, nm;
    long long fb[4]; /* largest count of the band */
    long long rb[4]; /* seconds: smallest age of the next band */
    long long mb[4]; /* cents: smallest total of the next band */
    const char *fl[5], *rl[5], *ml[5];
    bool sleeping[5];
};

static const struct mdef B2C = {3,
                                3,
                                3,
                                {1, 3},
                                {30 * DAY, 90 * DAY},
                                {10000, 100000},
                                {"new", "promising", "regular"},
                                {"active", "sleeping", "asleep"},
                                {"low", "mid", "high"},
                                {false, true, true}};
static const struct mdef B2B = {3,
                                3,
                                3,
                                {1, 5},
                                {90 * DAY, 180 * DAY},
                                {100000, 1000000},
                                {"new", "promising", "regular"},
                                {"active", "sleeping", "asleep"},
                                {"low", "mid", "high"},
                                {false, true, true}};

/* A customer as the model sees it: non-cancelled aggregates. */
struct mcust {
    char id[64];
    bool b2b;
    long long n, rev;
    time_t last;
};

static void model_place(const struct mdef *m, const struct mcust *c, time_t now, int *f, int *r,
                        int *mo)
{
    *f = m->nf - 1;
    for (int i = m->nf - 2; i >= 0; i--)
        if (c->n <= m->fb[i])
            *f = i;
    long long age = (long long)(now - c->last);
    *r = m->nr - 1;
    for (int i = m->nr - 2; i >= 0; i--)
        if (age < m->rb[i])
            *r = i;
    *mo = m->nm - 1;
    for (int i = m->nm - 2; i >= 0; i--)
        if (c->rev < m->mb[i])
            *mo = i;
}

static int label_index(const char *const *labels, int n, const char *s, size_t len)
{
    for (int i = 0; i < n; i++)
        if (strlen(labels[i]) == len && strncmp(labels[i], s, len) == 0)
            return i;
    return -1;
}

struct ecell {
    long long customers, orders, revenue, mc[5], mr[5];
};

/* GET /v1/segments?kind= and compares every figure with the model. */
static void expect_report(bool b2b, const struct mdef *m, const struct mcust *cs, size_t ncs,
                          time_t now)
{
    struct ecell e[5][5];
    memset(e, 0, sizeof e);
    long long total = 0, active = 0;
    for (size_t i = 0; i < ncs; i++) {
        if (cs[i].b2b != b2b || cs[i].n == 0)
            continue;
        int f, r, mo;
        model_place(m, &cs[i], now, &f, &r, &mo);
        e[f][r].customers++;
        e[f][r].orders += cs[i].n;
        e[f][r].revenue += cs[i].rev;
        e[f][r].mc[mo]++;
        e[f][r].mr[mo] += cs[i].rev;
        total++;
        active += r == 0;
    }
    struct resp *rep = get_ok(b2b ? "/v1/segments?kind=b2b" : "/v1/segments?kind=b2c");
    json_t *doc = rep->json;
    ck_assert_str_eq(jstr(doc, "kind"), b2b ? "b2b" : "b2c");
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "total_customers")), total);
    json_t *as = json_object_get(doc, "active_share");
    if (total == 0) {
        ck_assert(json_is_null(as));
    } else {
        ck_assert_msg(json_is_number(as) &&
                          fabs(json_number_value(as) - (double)active / (double)total) < 1e-12,
                      "active_share %g, want %lld/%lld", json_number_value(as), active, total);
    }
    json_t *cells = json_object_get(doc, "cells");
    ck_assert_int_eq(json_array_size(cells), (size_t)(m->nf * m->nr));
    bool seen[5][5];
    memset(seen, 0, sizeof seen);
    size_t i;
    json_t *cell;
    json_array_foreach(cells, i, cell)
    {
        const char *key = jstr(cell, "key");
        ck_assert_ptr_nonnull(key);
        const char *slash = strchr(key, '/');
        ck_assert_ptr_nonnull(slash);
        int f = label_index(m->fl, m->nf, key, (size_t)(slash - key));
        int r = label_index(m->rl, m->nr, slash + 1, strlen(slash + 1));
        ck_assert_msg(f >= 0 && r >= 0, "unexpected cell %s", key);
        ck_assert_msg(!seen[f][r], "cell %s twice", key);
        seen[f][r] = true;
        ck_assert_str_eq(jstr(cell, "frequency"), m->fl[f]);
        ck_assert_str_eq(jstr(cell, "recency"), m->rl[r]);
        ck_assert(json_is_string(json_object_get(cell, "name")));
        ck_assert(json_is_boolean(json_object_get(cell, "sleeping")));
        ck_assert_msg(json_is_true(json_object_get(cell, "sleeping")) == m->sleeping[r],
                      "%s: sleeping flag", key);
        const struct ecell *x = &e[f][r];
        ck_assert_msg(json_integer_value(json_object_get(cell, "customers")) == x->customers,
                      "%s: customers %lld, want %lld", key,
                      json_integer_value(json_object_get(cell, "customers")), x->customers);
        ck_assert_msg(json_integer_value(json_object_get(cell, "orders")) == x->orders,
                      "%s: orders %lld, want %lld", key,
                      json_integer_value(json_object_get(cell, "orders")), x->orders);
        char want[32];
        money(x->revenue, want);
        ck_assert_msg(strcmp(jstr(cell, "revenue"), want) == 0, "%s: revenue %s, want %s", key,
                      jstr(cell, "revenue"), want);
        double share = total ? (double)x->customers / (double)total : 0.0;
        ck_assert_msg(fabs(json_number_value(json_object_get(cell, "share")) - share) < 1e-12,
                      "%s: share %g, want %g", key,
                      json_number_value(json_object_get(cell, "share")), share);
        json_t *aov = json_object_get(cell, "avg_order_value");
        if (x->orders == 0) {
            ck_assert_msg(json_is_null(aov), "%s: avg_order_value of an empty cell", key);
        } else {
            /* half-up rounding of revenue / orders, in cents */
            money((2 * x->revenue + x->orders) / (2 * x->orders), want);
            ck_assert_msg(json_is_string(aov) && strcmp(json_string_value(aov), want) == 0,
                          "%s: avg_order_value %s, want %s", key, json_string_value(aov), want);
        }
        json_t *mon = json_object_get(cell, "monetary");
        ck_assert_int_eq(json_object_size(mon), (size_t)m->nm);
        for (int k = 0; k < m->nm; k++) {
            json_t *band = json_object_get(mon, m->ml[k]);
            ck_assert_msg(band != NULL, "%s: no monetary band %s", key, m->ml[k]);
            ck_assert_msg(json_integer_value(json_object_get(band, "customers")) == x->mc[k],
                          "%s/%s: customers %lld, want %lld", key, m->ml[k],
                          json_integer_value(json_object_get(band, "customers")), x->mc[k]);
            money(x->mr[k], want);
            ck_assert_msg(strcmp(jstr(band, "revenue"), want) == 0, "%s/%s: revenue %s, want %s",
                          key, m->ml[k], jstr(band, "revenue"), want);
        }
    }
    resp_free(rep);
}

/* ---- boundaries ---- */

struct bcase {
    const char *id;
    int n;           /* purchases */
    long long cents; /* each */
    long age;        /* seconds since the latest */
    const char *cell, *mon;
    long next; /* next_change_at − latest purchase, seconds; 0: null */
};

/* Posts every case in one batch (the latest order at now − age, earlier ones a minute apart
 * before it), then checks each customer, the per-item cells, and the whole report. */
static void run_cases(const struct bcase *cases, size_t n, const char *kind, const struct mdef *m)
{
    time_t now = time(NULL);
    json_t *batch = json_array();
    struct mcust *model = calloc(n, sizeof *model);
    for (size_t i = 0; i < n; i++) {
        const struct bcase *c = &cases[i];
        for (int k = 0; k < c->n; k++) {
            char oid[64];
            snprintf(oid, sizeof oid, "%s-o%d", c->id, k);
            json_array_append_new(batch,
                                  purchase(oid, c->id, c->cents, now - c->age - 60 * k, kind));
        }
        snprintf(model[i].id, sizeof model[i].id, "%s", c->id);
        model[i].b2b = kind != NULL && strcmp(kind, "b2b") == 0;
        model[i].n = c->n;
        model[i].rev = c->cents * c->n;
        model[i].last = now - c->age;
    }
    char *text = json_dumps(batch, JSON_COMPACT);
    struct resp *r = admin("POST", "/v1/purchases", text);
    free(text);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "accepted")),
                     (long long)json_array_size(batch));
    /* each item's "cell" is its customer's cell after the request */
    json_t *results = json_object_get(r->json, "results");
    size_t j;
    json_t *res;
    json_array_foreach(results, j, res)
    {
        const char *cust = jstr(res, "customer_id");
        ck_assert_str_eq(jstr(res, "status"), "created");
        for (size_t i = 0; i < n; i++)
            if (strcmp(cases[i].id, cust) == 0)
                ck_assert_msg(strcmp(jstr(res, "cell"), cases[i].cell) == 0,
                              "%s: result cell %s, want %s", cust, jstr(res, "cell"),
                              cases[i].cell);
    }
    resp_free(r);
    json_decref(batch);
    for (size_t i = 0; i < n; i++)
        expect_customer(cases[i].id, cases[i].cell, cases[i].mon,
                        cases[i].next ? now - cases[i].age + cases[i].next : 0);
    expect_report(model[0].b2b, m, model, n, now);
    free(model);
}

START_TEST(b2c_preset_boundaries)
{
    static const struct bcase cases[] = {
        {"f1", 1, 1000, HOUR, "new/active", "low", 30 * DAY},
        {"f2", 2, 1000, HOUR, "promising/active", "low", 30 * DAY},
        {"f3", 3, 1000, HOUR, "promising/active", "low", 30 * DAY},
        {"f4", 4, 1000, HOUR, "regular/active", "low", 30 * DAY},
        {"f9", 9, 1000, HOUR, "regular/active", "low", 30 * DAY},
        {"r30-", 1, 1000, 30 * DAY - 60, "new/active", "low", 30 * DAY},
        {"r30+", 1, 1000, 30 * DAY + 60, "new/sleeping", "low", 90 * DAY},
        {"r90-", 1, 1000, 90 * DAY - 60, "new/sleeping", "low", 90 * DAY},
        {"r90+", 1, 1000, 90 * DAY + 60, "new/asleep", "low", 0},
        {"m0", 1, 0, HOUR, "new/active", "low", 30 * DAY},
        {"m99.99", 1, 9999, HOUR, "new/active", "low", 30 * DAY},
        {"m100", 1, 10000, HOUR, "new/active", "mid", 30 * DAY},
        {"m999.99", 1, 99999, HOUR, "new/active", "mid", 30 * DAY},
        {"m1000", 1, 100000, HOUR, "new/active", "high", 30 * DAY},
        /* the band reads the total of the orders, not one order */
        {"m2x50", 2, 5000, HOUR, "promising/active", "mid", 30 * DAY},
        {"m4x250", 4, 25000, 40 * DAY, "regular/sleeping", "high", 90 * DAY},
    };
    run_cases(cases, sizeof cases / sizeof cases[0], NULL, &B2C);
    /* nothing leaks into the other kind */
    expect_report(true, &B2B, NULL, 0, time(NULL));
    /* default display names */
    struct resp *r = get_ok("/v1/segments");
    ck_assert_str_eq(jstr(r->json, "kind"), "b2c");
    size_t i;
    json_t *cell;
    int found = 0;
    json_array_foreach(json_object_get(r->json, "cells"), i, cell)
    {
        if (strcmp(jstr(cell, "key"), "regular/sleeping") == 0) {
            ck_assert_str_eq(jstr(cell, "name"), "Regular sleeping");
            found++;
        }
        if (strcmp(jstr(cell, "key"), "new/active") == 0) {
            ck_assert_str_eq(jstr(cell, "name"), "New active");
            found++;
        }
    }
    ck_assert_int_eq(found, 2);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "matrix_version")), 0);
    resp_free(r);
}
END_TEST

START_TEST(b2b_preset_boundaries)
{
    static const struct bcase cases[] = {
        {"b-f1", 1, 1000, HOUR, "new/active", "low", 90 * DAY},
        {"b-f2", 2, 1000, HOUR, "promising/active", "low", 90 * DAY},
        {"b-f5", 5, 1000, HOUR, "promising/active", "low", 90 * DAY},
        {"b-f6", 6, 1000, HOUR, "regular/active", "low", 90 * DAY},
        {"b-r30", 1, 1000, 30 * DAY + 60, "new/active", "low", 90 * DAY},
        {"b-r90-", 1, 1000, 90 * DAY - 60, "new/active", "low", 90 * DAY},
        {"b-r90+", 1, 1000, 90 * DAY + 60, "new/sleeping", "low", 180 * DAY},
        {"b-r180-", 1, 1000, 180 * DAY - 60, "new/sleeping", "low", 180 * DAY},
        {"b-r180+", 1, 1000, 180 * DAY + 60, "new/asleep", "low", 0},
        {"b-m999.99", 1, 99999, HOUR, "new/active", "low", 90 * DAY},
        {"b-m1000", 1, 100000, HOUR, "new/active", "mid", 90 * DAY},
        {"b-m9999.99", 1, 999999, HOUR, "new/active", "mid", 90 * DAY},
        {"b-m10000", 1, 1000000, HOUR, "new/active", "high", 90 * DAY},
    };
    run_cases(cases, sizeof cases / sizeof cases[0], "b2b", &B2B);
    expect_report(false, &B2C, NULL, 0, time(NULL));
    struct resp *r = get_customer("b-f6");
    ck_assert_str_eq(jstr(r->json, "kind"), "b2b");
    resp_free(r);
}
END_TEST

static const char *const CUSTOM_MATRIX =
    "{\"frequency\": {\"bounds\": [1, 2, 4, 8], \"labels\": [\"once\", \"twice\", \"few\", "
    "\"many\", \"loyal\"]},"
    " \"recency\": {\"bounds\": [\"12h\", \"7d\", \"30d\", 60], \"labels\": [\"hot\", \"warm\", "
    "\"cool\", \"cold\", \"frozen\"], \"sleeping\": [\"cool\", \"cold\", \"frozen\"]},"
    " \"monetary\": {\"bounds\": [\"10\", \"50.50\", 200, \"5000.00\"], \"labels\": [\"m0\", "
    "\"m1\", \"m2\", \"m3\", \"m4\"]},"
    " \"names\": {\"loyal/frozen\": \"Lost fans\"}}";

static const struct mdef CUSTOM = {5,
                                   5,
                                   5,
                                   {1, 2, 4, 8},
                                   {12 * HOUR, 7 * DAY, 30 * DAY, 60 * DAY},
                                   {1000, 5050, 20000, 500000},
                                   {"once", "twice", "few", "many", "loyal"},
                                   {"hot", "warm", "cool", "cold", "frozen"},
                                   {"m0", "m1", "m2", "m3", "m4"},
                                   {false, false, true, true, true}};

START_TEST(custom_5x5_boundaries)
{
    struct resp *r = admin("PUT", "/v1/matrices/b2c", CUSTOM_MATRIX);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "version")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "moved")), 0);
    resp_free(r);
    /* the stored matrix in canonical form */
    r = get_ok("/v1/matrices/b2c");
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "version")), 1);
    json_t *want = json_loads("{\"bounds\": [\"12h\", \"7d\", \"30d\", \"60d\"], \"labels\": "
                              "[\"hot\", \"warm\", \"cool\", \"cold\", \"frozen\"], "
                              "\"sleeping\": [\"cool\", \"cold\", \"frozen\"]}",
                              0, NULL);
    ck_assert(json_equal(json_object_get(r->json, "recency"), want));
    json_decref(want);
    want = json_loads("[\"10.00\", \"50.50\", \"200.00\", \"5000.00\"]", 0, NULL);
    ck_assert(json_equal(json_object_get(json_object_get(r->json, "monetary"), "bounds"), want));
    json_decref(want);
    resp_free(r);

    static const struct bcase cases[] = {
        {"c-f1", 1, 100, HOUR, "once/hot", "m0", 12 * HOUR},
        {"c-f2", 2, 100, HOUR, "twice/hot", "m0", 12 * HOUR},
        {"c-f3", 3, 100, HOUR, "few/hot", "m0", 12 * HOUR},
        {"c-f4", 4, 100, HOUR, "few/hot", "m0", 12 * HOUR},
        {"c-f5", 5, 100, HOUR, "many/hot", "m0", 12 * HOUR},
        {"c-f8", 8, 100, HOUR, "many/hot", "m0", 12 * HOUR},
        {"c-f9", 9, 100, HOUR, "loyal/hot", "m0", 12 * HOUR},
        {"c-r12h-", 1, 100, 12 * HOUR - 60, "once/hot", "m0", 12 * HOUR},
        {"c-r12h+", 1, 100, 12 * HOUR + 60, "once/warm", "m0", 7 * DAY},
        {"c-r7d-", 1, 100, 7 * DAY - 60, "once/warm", "m0", 7 * DAY},
        {"c-r7d+", 1, 100, 7 * DAY + 60, "once/cool", "m0", 30 * DAY},
        {"c-r30d-", 1, 100, 30 * DAY - 60, "once/cool", "m0", 30 * DAY},
        {"c-r30d+", 1, 100, 30 * DAY + 60, "once/cold", "m0", 60 * DAY},
        {"c-r60d-", 1, 100, 60 * DAY - 60, "once/cold", "m0", 60 * DAY},
        {"c-r60d+", 1, 100, 60 * DAY + 60, "once/frozen", "m0", 0},
        {"c-m9.99", 1, 999, HOUR, "once/hot", "m0", 12 * HOUR},
        {"c-m10", 1, 1000, HOUR, "once/hot", "m1", 12 * HOUR},
        {"c-m50.49", 1, 5049, HOUR, "once/hot", "m1", 12 * HOUR},
        {"c-m50.50", 1, 5050, HOUR, "once/hot", "m2", 12 * HOUR},
        {"c-m199.99", 1, 19999, HOUR, "once/hot", "m2", 12 * HOUR},
        {"c-m200", 1, 20000, HOUR, "once/hot", "m3", 12 * HOUR},
        {"c-m4999.99", 1, 499999, HOUR, "once/hot", "m3", 12 * HOUR},
        {"c-m5000", 1, 500000, HOUR, "once/hot", "m4", 12 * HOUR},
        {"c-lost", 9, 100000, 61 * DAY, "loyal/frozen", "m4", 0},
    };
    run_cases(cases, sizeof cases / sizeof cases[0], NULL, &CUSTOM);

    r = get_ok("/v1/segments?kind=b2c");
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "matrix_version")), 1);
    size_t i;
    json_t *cell;
    json_array_foreach(json_object_get(r->json, "cells"), i, cell)
    {
        if (strcmp(jstr(cell, "key"), "loyal/frozen") == 0)
            ck_assert_str_eq(jstr(cell, "name"), "Lost fans");
        if (strcmp(jstr(cell, "key"), "many/warm") == 0)
            ck_assert_str_eq(jstr(cell, "name"), "Many warm");
    }
    resp_free(r);
    /* the preset of the other kind is untouched */
    r = get_ok("/v1/matrices/b2b");
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "version")), 0);
    resp_free(r);
}
END_TEST

/* ---- a dataset and its independently computed report ---- */

#define DS_B2C 60
#define DS_B2B 14
#define DS_N (DS_B2C + DS_B2B)

struct dorder {
    char oid[32];
    long long cents;
    time_t at;
    bool cancelled;
};

struct dcust {
    char id[16];
    bool b2b;
    int n;
    struct dorder o[8];
};

static struct dcust DS[DS_N];
static unsigned long long rng_state;

static unsigned rnd(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(rng_state >> 33);
}

/* Deterministic: varied counts, amounts and ages (each at least 3 h away from any whole day, so
 * from every day-sized bound), some cancellations, two customers who cancel everything. */
static void dataset_build(time_t now)
{
    rng_state = 20261120;
    memset(DS, 0, sizeof DS);
    for (int i = 0; i < DS_N; i++) {
        struct dcust *c = &DS[i];
        c->b2b = i >= DS_B2C;
        snprintf(c->id, sizeof c->id, "%s%03d", c->b2b ? "b" : "d", i);
        c->n = 1 + (int)(rnd() % 7);
        for (int k = 0; k < c->n; k++) {
            struct dorder *o = &c->o[k];
            snprintf(o->oid, sizeof o->oid, "o-%d-%d", i, k);
            o->cents = c->b2b ? rnd() % 400000 : rnd() % 50000;
            o->at = now - (time_t)(rnd() % 200) * DAY - 3 * HOUR - (time_t)(rnd() % 3000);
        }
        if (i % 7 == 3)
            c->o[0].cancelled = true;
        if (i % 5 == 1) { /* the latest */
            int latest = 0;
            for (int k = 1; k < c->n; k++)
                if (c->o[k].at > c->o[latest].at)
                    latest = k;
            c->o[latest].cancelled = true;
        }
        if (i == 11 || i == 47 || i == DS_B2C + 5)
            for (int k = 0; k < c->n; k++)
                c->o[k].cancelled = true;
    }
}

static void dataset_load(void)
{
    json_t *batch = json_array();
    json_t *cancels = json_array();
    long long ncancel = 0;
    for (int i = 0; i < DS_N; i++) {
        for (int k = 0; k < DS[i].n; k++) {
            const struct dorder *o = &DS[i].o[k];
            json_array_append_new(
                batch, purchase(o->oid, DS[i].id, o->cents, o->at, DS[i].b2b ? "b2b" : NULL));
            if (o->cancelled) {
                json_array_append_new(
                    cancels, json_pack("{s:s, s:s}", "customer_id", DS[i].id, "order_id", o->oid));
                ncancel++;
            }
        }
    }
    /* the first 25 items again: duplicates change nothing */
    json_t *again = json_array();
    for (size_t k = 0; k < 25; k++)
        json_array_append(again, json_array_get(batch, k));
    post_created(batch);
    struct resp *r = send_json("POST", "/v1/purchases", again);
    ck_assert_int_eq(r->status, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "duplicates")), 25);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "accepted")), 0);
    resp_free(r);
    r = send_json("POST", "/v1/cancellations", cancels);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "cancelled")), ncancel);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "not_found")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "already_cancelled")), 0);
    resp_free(r);
}

static void dataset_model(struct mcust *out)
{
    for (int i = 0; i < DS_N; i++) {
        struct mcust *m = &out[i];
        memset(m, 0, sizeof *m);
        snprintf(m->id, sizeof m->id, "%.63s", DS[i].id); /* dataset ids are short */
        m->b2b = DS[i].b2b;
        for (int k = 0; k < DS[i].n; k++) {
            const struct dorder *o = &DS[i].o[k];
            if (o->cancelled)
                continue;
            m->n++;
            m->rev += o->cents;
            if (o->at > m->last)
                m->last = o->at;
        }
    }
}

START_TEST(dataset_report_matches_model)
{
    time_t now = time(NULL);
    dataset_build(now);
    dataset_load();
    struct mcust model[DS_N];
    dataset_model(model);
    expect_report(false, &B2C, model, DS_N, now);
    expect_report(true, &B2B, model, DS_N, now);
    /* every customer individually, too */
    for (int i = 0; i < DS_N; i++) {
        struct resp *r = get_customer(model[i].id);
        ck_assert_int_eq(json_integer_value(json_object_get(r->json, "purchases")), model[i].n);
        char rev[32];
        money(model[i].rev, rev);
        ck_assert_str_eq(jstr(r->json, "revenue"), rev);
        if (model[i].n == 0) {
            ck_assert(json_is_null(json_object_get(r->json, "cell")));
        } else {
            const struct mdef *m = model[i].b2b ? &B2B : &B2C;
            int f, rr, mo;
            model_place(m, &model[i], now, &f, &rr, &mo);
            char key[80], last[32];
            snprintf(key, sizeof key, "%s/%s", m->fl[f], m->rl[rr]);
            ck_assert_str_eq(jstr(r->json, "cell"), key);
            ck_assert_str_eq(jstr(r->json, "monetary"), m->ml[mo]);
            iso(model[i].last, last);
            ck_assert_str_eq(jstr(r->json, "last_purchase_at"), last);
        }
        resp_free(r);
    }
}
END_TEST

/* ---- PUT re-segments ---- */

static const char *const M2_TEXT =
    "{\"frequency\": {\"bounds\": [2, 5], \"labels\": [\"new\", \"promising\", \"regular\"]},"
    " \"recency\": {\"bounds\": [\"14d\", \"60d\"], \"labels\": [\"active\", \"sleeping\", "
    "\"asleep\"]},"
    " \"monetary\": {\"bounds\": [\"250\", \"2000\"], \"labels\": [\"low\", \"mid\", \"high\"]},"
    " \"names\": {\"regular/asleep\": \"Lost regulars\"}}";

static const struct mdef M2 = {3,
                               3,
                               3,
                               {2, 5},
                               {14 * DAY, 60 * DAY},
                               {25000, 200000},
                               {"new", "promising", "regular"},
                               {"active", "sleeping", "asleep"},
                               {"low", "mid", "high"},
                               {false, true, true}};

START_TEST(put_matrix_resegments)
{
    time_t now = time(NULL);
    dataset_build(now);
    dataset_load();
    struct mcust model[DS_N];
    dataset_model(model);
    long long moved = 0, cell_moves = 0;
    for (int i = 0; i < DS_N; i++) {
        if (model[i].b2b || model[i].n == 0)
            continue;
        int f1, r1, m1, f2, r2, m2;
        model_place(&B2C, &model[i], now, &f1, &r1, &m1);
        model_place(&M2, &model[i], now, &f2, &r2, &m2);
        cell_moves += f1 != f2 || r1 != r2;
        moved += f1 != f2 || r1 != r2 || m1 != m2;
    }
    ck_assert(cell_moves > 5 && moved > cell_moves); /* the dataset exercises both */
    long transitions_before = harness_sql_long("SELECT count(*) FROM transitions");

    struct resp *r = admin("PUT", "/v1/matrices/b2c", M2_TEXT);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "version")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "moved")), moved);
    ck_assert_str_eq(jstr(r->json, "kind"), "b2c");
    json_t *fb = json_object_get(json_object_get(r->json, "frequency"), "bounds");
    ck_assert_int_eq(json_integer_value(json_array_get(fb, 1)), 5);
    resp_free(r);

    expect_report(false, &M2, model, DS_N, now);
    expect_report(true, &B2B, model, DS_N, now); /* the other kind is not touched */
    ck_assert_int_eq(
        harness_sql_long("SELECT count(*) FROM transitions WHERE reason = 'matrix_change'"),
        cell_moves);
    ck_assert_int_eq(harness_sql_long("SELECT count(DISTINCT customer_id) FROM transitions "
                                      "WHERE reason = 'matrix_change'"),
                     cell_moves);
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM transitions WHERE reason = "
                                      "'matrix_change' AND (kind <> 'b2c' OR from_cell IS NULL "
                                      "OR to_cell IS NULL OR from_cell = to_cell)"),
                     0);
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM transitions"),
                     transitions_before + cell_moves);
    /* every customer's stored cell agrees with the last transition written for them */
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM customers c WHERE c.cell IS DISTINCT "
                                      "FROM (SELECT t.to_cell FROM transitions t WHERE "
                                      "t.customer_id = c.id ORDER BY t.id DESC LIMIT 1)"),
                     0);

    r = get_ok("/v1/matrices/b2c");
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "version")), 1);
    ck_assert_str_eq(jstr(json_object_get(r->json, "names"), "regular/asleep"), "Lost regulars");
    resp_free(r);
    r = get_ok("/v1/segments?kind=b2c");
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "matrix_version")), 1);
    size_t i;
    json_t *cell;
    json_array_foreach(json_object_get(r->json, "cells"), i, cell)
    {
        if (strcmp(jstr(cell, "key"), "regular/asleep") == 0)
            ck_assert_str_eq(jstr(cell, "name"), "Lost regulars");
    }
    resp_free(r);

    /* the same matrix again: a new version, nobody moves */
    r = admin("PUT", "/v1/matrices/b2c", M2_TEXT);
    ck_assert_int_eq(r->status, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "version")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "moved")), 0);
    resp_free(r);
    r = get_ok("/v1/matrices/b2c/versions");
    json_t *items = json_object_get(r->json, "items");
    ck_assert_int_eq(json_array_size(items), 2);
    bool v1 = false, v2 = false;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        long long v = json_integer_value(json_object_get(it, "version"));
        v1 |= v == 1;
        v2 |= v == 2;
        json_t *rb =
            json_object_get(json_object_get(json_object_get(it, "matrix"), "recency"), "bounds");
        ck_assert_str_eq(json_string_value(json_array_get(rb, 0)), "14d");
        ck_assert(json_is_string(json_object_get(it, "created_at")));
    }
    ck_assert(v1 && v2);
    resp_free(r);
    r = get_ok("/v1/matrices/b2b/versions");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    resp_free(r);

    /* back to the preset bounds: the report is the preset's again */
    r = admin("PUT", "/v1/matrices/b2c",
              "{\"frequency\": {\"bounds\": [1, 3], \"labels\": [\"new\", \"promising\", "
              "\"regular\"]}, \"recency\": {\"bounds\": [\"30d\", \"90d\"], \"labels\": "
              "[\"active\", \"sleeping\", \"asleep\"]}, \"monetary\": {\"bounds\": [\"100\", "
              "\"1000\"], \"labels\": [\"low\", \"mid\", \"high\"]}}");
    ck_assert_int_eq(r->status, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "moved")), moved);
    resp_free(r);
    expect_report(false, &B2C, model, DS_N, now);
}
END_TEST

START_TEST(put_matrix_relabel_moves_everyone)
{
    time_t now = time(NULL);
    dataset_build(now);
    dataset_load();
    struct mcust model[DS_N];
    dataset_model(model);
    long long in_cell = 0;
    for (int i = 0; i < DS_B2C; i++)
        in_cell += model[i].n > 0;
    struct resp *r = admin("PUT", "/v1/matrices/b2c", CUSTOM_MATRIX);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "moved")), in_cell);
    resp_free(r);
    expect_report(false, &CUSTOM, model, DS_N, now);
    /* the old labels are gone from the read side */
    r = admin("GET", "/v1/segments/new/active/customers", NULL);
    ck_assert_int_eq(r->status, 404);
    resp_free(r);
}
END_TEST

struct bad_matrix {
    const char *body;
    const char *pointer;
};

static bool has_pointer(json_t *doc, const char *pointer)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(doc, "errors"), i, e)
    {
        if (json_is_string(json_object_get(e, "message")) &&
            strcmp(jstr(e, "pointer"), pointer) == 0)
            return true;
    }
    return false;
}

#define FREQ_OK                                                                                    \
    "\"frequency\": {\"bounds\": [1, 3], \"labels\": [\"new\", \"promising\", \"regular\"]}"
#define REC_OK                                                                                     \
    "\"recency\": {\"bounds\": [\"30d\", \"90d\"], \"labels\": [\"active\", \"sleeping\", "        \
    "\"asleep\"]}"
#define MON_OK                                                                                     \
    "\"monetary\": {\"bounds\": [\"100\", \"1000\"], \"labels\": [\"low\", \"mid\", \"high\"]}"

START_TEST(put_matrix_validation)
{
    /* a few customers, so that a wrongly applied PUT would show */
    time_t now = time(NULL);
    json_t *b = json_array();
    json_array_append_new(b, purchase("o1", "v1", 5000, now - HOUR, NULL));
    json_array_append_new(b, purchase("o2", "v2", 50000, now - 40 * DAY, NULL));
    post_created(b);
    long transitions = harness_sql_long("SELECT count(*) FROM transitions");

    static const struct bad_matrix cases[] = {
        {"{\"frequency\": {\"bounds\": [3, 1], \"labels\": [\"new\", \"promising\", "
         "\"regular\"]}, " REC_OK ", " MON_OK "}",
         "/frequency/bounds/1"},
        {"{\"frequency\": {\"bounds\": [0, 3], \"labels\": [\"new\", \"promising\", "
         "\"regular\"]}, " REC_OK ", " MON_OK "}",
         "/frequency/bounds/0"},
        {"{\"frequency\": {\"bounds\": [1.5, 3], \"labels\": [\"new\", \"promising\", "
         "\"regular\"]}, " REC_OK ", " MON_OK "}",
         "/frequency/bounds/0"},
        {"{" FREQ_OK ", \"recency\": {\"bounds\": [\"30d\"], \"labels\": [\"active\", "
         "\"sleeping\", \"asleep\"]}, " MON_OK "}",
         "/recency/bounds"},
        {"{" FREQ_OK ", \"recency\": {\"bounds\": [\"30x\", \"90d\"], \"labels\": [\"active\", "
         "\"sleeping\", \"asleep\"]}, " MON_OK "}",
         "/recency/bounds/0"},
        {"{" FREQ_OK ", \"recency\": {\"bounds\": [\"90d\", \"30d\"], \"labels\": [\"active\", "
         "\"sleeping\", \"asleep\"]}, " MON_OK "}",
         "/recency/bounds/1"},
        {"{" FREQ_OK ", \"recency\": {\"bounds\": [\"30d\", \"90d\"], \"labels\": [\"Active\", "
         "\"sleeping\", \"asleep\"]}, " MON_OK "}",
         "/recency/labels/0"},
        {"{" FREQ_OK ", \"recency\": {\"bounds\": [\"30d\", \"90d\"], \"labels\": [\"active\", "
         "\"sleeping\", \"asleep\"], \"sleeping\": [\"active\"]}, " MON_OK "}",
         "/recency/sleeping"},
        {"{" FREQ_OK ", \"recency\": {\"bounds\": [\"30d\", \"90d\"], \"labels\": [\"active\", "
         "\"sleeping\", \"asleep\"], \"sleeping\": [\"dozing\"]}, " MON_OK "}",
         "/recency/sleeping/0"},
        {"{\"frequency\": {\"bounds\": [1, 3], \"labels\": [\"new\", \"new\", "
         "\"regular\"]}, " REC_OK ", " MON_OK "}",
         "/frequency/labels/1"},
        {"{" FREQ_OK ", " REC_OK ", \"monetary\": {\"bounds\": [\"1.005\", \"1000\"], "
         "\"labels\": [\"low\", \"mid\", \"high\"]}}",
         "/monetary/bounds/0"},
        {"{" FREQ_OK ", " REC_OK ", \"monetary\": {\"bounds\": [1, 2, 3, 4, 5], \"labels\": "
         "[\"a\", \"b\", \"c\", \"d\", \"e\", \"f\"]}}",
         "/monetary/labels"},
        {"{" FREQ_OK ", " REC_OK ", \"monetary\": {\"bounds\": [\"-5\", \"1000\"], \"labels\": "
         "[\"low\", \"mid\", \"high\"]}}",
         "/monetary/bounds/0"},
        {"{" FREQ_OK ", " REC_OK ", \"monetary\": {\"bounds\": [\"100\", \"1000\"], \"labels\": "
         "[\"low\", \"mid\", \"high\"], \"step\": 1}}",
         "/monetary/step"},
        {"{" FREQ_OK ", " REC_OK ", " MON_OK ", \"extra\": true}", "/extra"},
        {"{" FREQ_OK ", " REC_OK ", " MON_OK ", \"names\": {\"foo/bar\": \"x\"}}",
         "/names/foo~1bar"},
        {"{" FREQ_OK ", " REC_OK ", " MON_OK ", \"names\": {\"new/active\": \"\"}}",
         "/names/new~1active"},
        {"{" REC_OK ", " MON_OK "}", "/frequency"},
        {"{\"frequency\": [1, 3], " REC_OK ", " MON_OK "}", "/frequency"},
        {"[]", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct resp *r = admin("PUT", "/v1/matrices/b2c", cases[i].body);
        ck_assert_msg(r->status == 422, "case %zu: %ld %s", i, r->status, r->body);
        ck_assert_str_eq(resp_header(r, "Content-Type"), "application/problem+json");
        ck_assert_msg(has_pointer(r->json, cases[i].pointer), "case %zu: no pointer %s in %s", i,
                      cases[i].pointer, r->body);
        resp_free(r);
    }
    /* one PUT reports every problem */
    struct resp *r = admin("PUT", "/v1/matrices/b2c",
                           "{\"frequency\": {\"bounds\": [3, 1], \"labels\": [\"new\", "
                           "\"promising\", \"regular\"]}, \"recency\": {\"bounds\": [\"30x\", "
                           "\"90d\"], \"labels\": [\"active\", \"sleeping\", \"asleep\"]}, "
                           "\"monetary\": {\"bounds\": [\"100\", \"1000\"], \"labels\": [\"low\", "
                           "\"Mid\", \"high\"]}}");
    ck_assert_int_eq(r->status, 422);
    ck_assert(has_pointer(r->json, "/frequency/bounds/1"));
    ck_assert(has_pointer(r->json, "/recency/bounds/0"));
    ck_assert(has_pointer(r->json, "/monetary/labels/1"));
    resp_free(r);
    r = admin("PUT", "/v1/matrices/b2c", "{\"frequency\": ");
    ck_assert_int_eq(r->status, 400);
    resp_free(r);

    /* nothing stored, nobody moved */
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM matrices"), 0);
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM transitions"), transitions);
    r = get_ok("/v1/matrices/b2c/versions");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    resp_free(r);
    r = get_ok("/v1/matrices/b2c");
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "version")), 0);
    resp_free(r);
    expect_customer("v1", "new/active", "low", now - HOUR + 30 * DAY);
    expect_customer("v2", "new/sleeping", "mid", now - 40 * DAY + 90 * DAY);

    /* unknown kinds */
    const char *paths[] = {"/v1/matrices/b2x", "/v1/matrices/B2C", "/v1/matrices/b2x/versions",
                           "/v1/matrices/b2x/suggestion"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        r = admin("GET", paths[i], NULL);
        ck_assert_msg(r->status == 404, "%s: %ld", paths[i], r->status);
        resp_free(r);
    }
    r = admin("PUT", "/v1/matrices/b2x", "{" FREQ_OK ", " REC_OK ", " MON_OK "}");
    ck_assert_int_eq(r->status, 404);
    resp_free(r);
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM matrices"), 0);
    /* PUT needs admin */
    char key[256];
    snprintf(key, sizeof key, "%s", make_key(NULL, "[\"read\", \"ingest\"]"));
    r = with_key(key, "PUT", "/v1/matrices/b2c", "{" FREQ_OK ", " REC_OK ", " MON_OK "}");
    ck_assert_int_eq(r->status, 403);
    resp_free(r);
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM matrices"), 0);
}
END_TEST

/* ---- suggestion ---- */

START_TEST(suggestion_is_puttable)
{
    /* with no history the presets come back, and are accepted */
    struct resp *r = get_ok("/v1/matrices/b2b/suggestion");
    ck_assert_str_eq(jstr(json_object_get(r->json, "basis"), "recency"), "preset");
    char *text = json_dumps(json_object_get(r->json, "matrix"), JSON_COMPACT);
    resp_free(r);
    r = admin("PUT", "/v1/matrices/b2b", text);
    free(text);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    resp_free(r);

    /* 40 customers, 2..6 orders each, a known gap per customer */
    time_t now = time(NULL);
    json_t *batch = json_array();
    long long intervals = 0, orders = 0;
    double gaps[200];
    for (int i = 0; i < 40; i++) {
        char cust[16];
        snprintf(cust, sizeof cust, "s%02d", i);
        int n = 2 + i % 5;
        long gap = (3 + i % 25) * DAY;
        for (int k = 0; k < n; k++) {
            char oid[16];
            snprintf(oid, sizeof oid, "o%d", k);
            json_array_append_new(batch, purchase(oid, cust, 1500 + 700 * (i % 9) + 100 * k,
                                                  now - 2 * HOUR - gap * (n - 1 - k), NULL));
            if (k > 0)
                gaps[intervals++] = (double)gap / DAY;
            orders++;
        }
    }
    post_created(batch);
    r = get_ok("/v1/matrices/b2c/suggestion");
    json_t *basis = json_object_get(r->json, "basis");
    ck_assert_str_eq(jstr(basis, "recency"), "history");
    ck_assert_str_eq(jstr(basis, "frequency"), "history");
    ck_assert_str_eq(jstr(basis, "monetary"), "history");
    json_t *fig = json_object_get(r->json, "figures");
    ck_assert_int_eq(json_integer_value(json_object_get(fig, "customers")), 40);
    ck_assert_int_eq(json_integer_value(json_object_get(fig, "orders")), orders);
    json_t *ri = json_object_get(fig, "repeat_intervals");
    ck_assert_int_eq(json_integer_value(json_object_get(ri, "count")), intervals);
    /* the median of the gaps, computed here (linear interpolation, as percentile_cont) */
    for (long long a = 1; a < intervals; a++)
        for (long long c = a; c > 0 && gaps[c - 1] > gaps[c]; c--) {
            double t = gaps[c];
            gaps[c] = gaps[c - 1];
            gaps[c - 1] = t;
        }
    double pos = 0.5 * (double)(intervals - 1);
    long long lo = (long long)pos;
    double median =
        gaps[lo] + (pos - (double)lo) * (gaps[lo + 1 < intervals ? lo + 1 : lo] - gaps[lo]);
    ck_assert_msg(fabs(json_number_value(json_object_get(ri, "median_days")) - median) < 1e-6,
                  "median_days %g, want %g", json_number_value(json_object_get(ri, "median_days")),
                  median);
    json_t *m = json_object_get(r->json, "matrix");
    ck_assert(json_is_object(m));
    text = json_dumps(m, JSON_COMPACT);
    resp_free(r);
    r = admin("PUT", "/v1/matrices/b2c", text);
    free(text);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "version")), 1);
    resp_free(r);
    /* and the re-segmented report still counts everyone */
    r = get_ok("/v1/segments?kind=b2c");
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "total_customers")), 40);
    resp_free(r);
}
END_TEST

/* ---- segment lists ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

#define LIST_N 250

/* 250 customers in new/active: ids whose byte order differs from any locale's, amounts that
 * put 200 in low, 45 in mid and 5 in high. Returns ids sorted byte-wise (static storage). */
static char LIST_IDS[LIST_N][24];

static const char *list_monetary(int i)
{
    return i % 50 == 0 ? "high" : i % 5 == 0 ? "mid" : "low";
}

static void list_load(time_t now)
{
    static const char *const prefixes[] = {"A-", "a-", "_", "", "Z", "\xc3\xa9-"};
    json_t *batch = json_array();
    for (int i = 0; i < LIST_N; i++) {
        snprintf(LIST_IDS[i], sizeof LIST_IDS[i], "%s%03d", prefixes[(i * 7) % 6], i);
        long long cents = i % 50 == 0 ? 150000 : i % 5 == 0 ? 15000 : 2000;
        json_array_append_new(batch, purchase("o1", LIST_IDS[i], cents, now - HOUR - i, NULL));
    }
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "B-%d", i);
        json_array_append_new(batch, purchase("o1", id, 2000, now - HOUR, "b2b"));
    }
    post_created(batch);
}

/* Reads every page of `query` (path + query string without after) and appends the ids. */
static size_t read_pages(const char *query, const char **out, size_t max, int *pages)
{
    char path[2048], next[1024] = "";
    size_t n = 0;
    *pages = 0;
    for (;;) {
        if (next[0])
            snprintf(path, sizeof path, "%s&after=%s", query, next);
        else
            snprintf(path, sizeof path, "%s", query);
        struct resp *r = get_ok(path);
        (*pages)++;
        json_t *items = json_object_get(r->json, "items");
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it)
        {
            ck_assert(n < max);
            out[n++] = strdup(jstr(it, "customer_id"));
        }
        json_t *nx = json_object_get(r->json, "next");
        ck_assert(json_is_null(nx) || json_is_string(nx));
        if (json_is_null(nx)) {
            resp_free(r);
            return n;
        }
        ck_assert_msg(json_array_size(items) > 0, "a next after an empty page");
        snprintf(next, sizeof next, "%s", json_string_value(nx));
        resp_free(r);
        ck_assert(*pages < 100);
    }
}

START_TEST(segment_list_keyset_pages)
{
    time_t now = time(NULL);
    list_load(now);
    const char *expect[LIST_N];
    for (int i = 0; i < LIST_N; i++)
        expect[i] = LIST_IDS[i];
    qsort(expect, LIST_N, sizeof expect[0], cmp_str);

    /* page by page, checking each page's shape */
    char path[1024], next[256] = "";
    const char *got[LIST_N + 10];
    size_t n = 0;
    for (int page = 0; page < 3; page++) {
        if (page == 0)
            snprintf(path, sizeof path, "/v1/segments/new/active/customers?limit=100");
        else
            snprintf(path, sizeof path, "/v1/segments/new/active/customers?limit=100&after=%s",
                     next);
        struct resp *r = get_ok(path);
        json_t *items = json_object_get(r->json, "items");
        ck_assert_int_eq(json_array_size(items), page < 2 ? 100 : 50);
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it)
        {
            const char *id = jstr(it, "customer_id");
            got[n++] = strdup(id);
            int idx = -1;
            for (int k = 0; k < LIST_N && idx < 0; k++)
                if (strcmp(LIST_IDS[k], id) == 0)
                    idx = k;
            ck_assert_msg(idx >= 0, "unexpected %s", id);
            ck_assert_int_eq(json_integer_value(json_object_get(it, "purchases")), 1);
            ck_assert_str_eq(jstr(it, "monetary"), list_monetary(idx));
            char ts[32];
            iso(now - HOUR - idx, ts);
            ck_assert_str_eq(jstr(it, "last_purchase_at"), ts);
            ck_assert(json_object_get(it, "name") != NULL && json_object_get(it, "phone") != NULL &&
                      json_object_get(it, "email") != NULL);
        }
        json_t *nx = json_object_get(r->json, "next");
        if (page < 2) {
            ck_assert(json_is_string(nx));
            snprintf(next, sizeof next, "%s", json_string_value(nx));
        } else {
            ck_assert(json_is_null(nx));
        }
        resp_free(r);
    }
    ck_assert_int_eq(n, LIST_N);
    for (int i = 0; i < LIST_N; i++) {
        ck_assert_msg(strcmp(got[i], expect[i]) == 0, "position %d: %s, want %s", i, got[i],
                      expect[i]);
        free((void *)got[i]);
    }

    /* limit=1000 and the default: one page */
    struct resp *r = get_ok("/v1/segments/new/active/customers?limit=1000");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), LIST_N);
    ck_assert(json_is_null(json_object_get(r->json, "next")));
    resp_free(r);
    r = get_ok("/v1/segments/new/active/customers");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 100);
    resp_free(r);
    /* an empty cell */
    r = get_ok("/v1/segments/regular/asleep/customers");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    ck_assert(json_is_null(json_object_get(r->json, "next")));
    resp_free(r);
}
END_TEST

START_TEST(segment_list_filters)
{
    time_t now = time(NULL);
    list_load(now);
    const char *got[LIST_N + 10];
    int pages;
    static const char *const bands[] = {"low", "mid", "high"};
    static const size_t counts[] = {200, 45, 5};
    for (int b = 0; b < 3; b++) {
        char q[128];
        snprintf(q, sizeof q, "/v1/segments/new/active/customers?monetary=%s&limit=100", bands[b]);
        size_t n = read_pages(q, got, LIST_N + 10, &pages);
        ck_assert_msg(n == counts[b], "%s: %zu customers, want %zu", bands[b], n, counts[b]);
        ck_assert_int_eq(pages, (int)(counts[b] + 99) / 100);
        for (size_t i = 0; i < n; i++) {
            int idx = -1;
            for (int k = 0; k < LIST_N && idx < 0; k++)
                if (strcmp(LIST_IDS[k], got[i]) == 0)
                    idx = k;
            ck_assert_msg(idx >= 0, "%s not of b2c", got[i]);
            ck_assert_str_eq(list_monetary(idx), bands[b]);
            if (i > 0)
                ck_assert_msg(strcmp(got[i - 1], got[i]) < 0, "order %s, %s", got[i - 1], got[i]);
        }
        for (size_t i = 0; i < n; i++)
            free((void *)got[i]);
    }
    /* kind: b2b customers only in the b2b list */
    size_t n = read_pages("/v1/segments/new/active/customers?kind=b2b&limit=2", got, 20, &pages);
    ck_assert_int_eq(n, 5);
    ck_assert_int_eq(pages, 3);
    for (size_t i = 0; i < n; i++) {
        char want[32];
        snprintf(want, sizeof want, "B-%zu", i);
        ck_assert_str_eq(got[i], want);
        free((void *)got[i]);
    }
    n = read_pages("/v1/segments/new/active/customers?kind=b2c&limit=1000", got, LIST_N + 10,
                   &pages);
    ck_assert_int_eq(n, LIST_N);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(strncmp(got[i], "B-", 2) != 0, "b2b customer %s in the b2c list", got[i]);
        free((void *)got[i]);
    }
}
END_TEST

START_TEST(segment_list_errors)
{
    time_t now = time(NULL);
    list_load(now);
    static const struct {
        const char *path;
        long status;
    } cases[] = {
        {"/v1/segments/nope/active/customers", 404},
        {"/v1/segments/new/nope/customers", 404},
        {"/v1/segments/new/active/customers?kind=b2x", 400},
        {"/v1/segments?kind=b2x", 400},
        {"/v1/segments/new/active/customers?monetary=huge", 400},
        {"/v1/segments/new/active/customers?limit=0", 400},
        {"/v1/segments/new/active/customers?limit=1001", 400},
        {"/v1/segments/new/active/customers?limit=x", 400},
        {"/v1/segments/new/active/customers?limit=-1", 400},
        {"/v1/segments/new/active/customers?limit=10x", 400},
        {"/v1/segments/new/active/customers?limit=", 400},
        {"/v1/segments/new/active/customers?after=!!!", 400},
        {"/v1/segments/new/active/customers?after=a", 400},
        {"/v1/segments/new/active/customers?after=AA", 400},
        {"/v1/segments/new/active/customers?after=", 400},
        {"/v1/segments/new/active/customers?after=%25%25%25%25", 400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct resp *r = admin("GET", cases[i].path, NULL);
        ck_assert_msg(r->status == cases[i].status, "%s: %ld, want %ld (%s)", cases[i].path,
                      r->status, cases[i].status, r->body);
        ck_assert_str_eq(resp_header(r, "Content-Type"), "application/problem+json");
        resp_free(r);
    }
    /* a read key reads; no key does not */
    char key[256];
    snprintf(key, sizeof key, "%s", make_key(NULL, "[\"read\"]"));
    struct resp *r = with_key(key, "GET", "/v1/segments/new/active/customers?limit=1", NULL);
    ck_assert_int_eq(r->status, 200);
    resp_free(r);
    r = http("GET", "/v1/segments/new/active/customers", NULL, NULL);
    ck_assert_int_eq(r->status, 401);
    resp_free(r);
}
END_TEST

/* The longest customer ids (128 characters of 4 bytes): every cursor the server hands out must
 * be accepted back. */
START_TEST(segment_list_longest_ids)
{
    time_t now = time(NULL);
    static const char emoji[] = "\xf0\x9f\x8e\x89"; /* U+1F389 */
    char ids[3][600];
    json_t *batch = json_array();
    for (int i = 0; i < 3; i++) {
        size_t n = 0;
        for (int k = 0; k < 127; k++, n += 4)
            memcpy(ids[i] + n, emoji, 4);
        memcpy(ids[i] + n, "\xf0\x9f\x8e", 3); /* the last character differs */
        ids[i][n + 3] = (char)(0x8a + i);
        ids[i][n + 4] = '\0';
        json_array_append_new(batch, purchase("o1", ids[i], 1000, now - HOUR, NULL));
    }
    json_array_append_new(batch, purchase("o1", "zz-short", 1000, now - HOUR, NULL));
    post_created(batch);
    struct resp *r = get_customer(ids[1]);
    ck_assert_str_eq(jstr(r->json, "customer_id"), ids[1]);
    resp_free(r);
    const char *got[8];
    int pages;
    size_t n = read_pages("/v1/segments/new/active/customers?limit=1", got, 8, &pages);
    ck_assert_int_eq(n, 4);
    ck_assert_int_eq(pages, 4);
    ck_assert_str_eq(got[0], "zz-short"); /* 'z' < 0xF0: byte order */
    for (int i = 0; i < 3; i++)
        ck_assert_msg(strcmp(got[i + 1], ids[i]) == 0, "position %d", i + 1);
    for (size_t i = 0; i < n; i++)
        free((void *)got[i]);
}
END_TEST

/* ---- CSV export ---- */

struct csv_cust {
    char id[32];
    const char *name, *phone_in, *phone, *email_in, *email;
    long long cents;
    time_t at;
};

static void csv_quote(const char *s, char *out, size_t outlen)
{
    bool q = strpbrk(s, ",\"\r\n") != NULL;
    size_t n = 0;
    if (q)
        out[n++] = '"';
    for (; *s && n + 3 < outlen; s++) {
        out[n++] = *s;
        if (*s == '"')
            out[n++] = '"';
    }
    if (q)
        out[n++] = '"';
    out[n] = '\0';
}

static int cmp_csv_cust(const void *a, const void *b)
{
    return strcmp(((const struct csv_cust *)a)->id, ((const struct csv_cust *)b)->id);
}

#define CSV_N 1503

START_TEST(segment_csv_export)
{
    time_t now = time(NULL);
    static struct csv_cust cs[CSV_N];
    memset(cs, 0, sizeof cs);
    for (int i = 0; i < CSV_N - 3; i++) {
        snprintf(cs[i].id, sizeof cs[i].id, "csv-%04d", i);
        cs[i].cents = 1000 + i;
        cs[i].at = now - 2 * HOUR - i;
    }
    struct csv_cust special[3] = {
        {"q1", "Smith, \"Bob\"", "+33 6 12 34 56 78", "+33612345678", "Bob@Example.ORG",
         "bob@example.org", 2000, 0},
        {"c,1", "Line\"only", NULL, "", NULL, "", 15000, 0},
        {"plain", "Zoë", "(555) 010-9999", "+5550109999", NULL, "", 0, 0},
    };
    for (int k = 0; k < 3; k++) {
        special[k].at = now - 3 * HOUR;
        cs[CSV_N - 3 + k] = special[k];
    }
    /* two requests: a batch holds at most 1000 */
    for (int part = 0; part < 2; part++) {
        json_t *batch = json_array();
        for (int i = part * 800; i < (part ? CSV_N : 800); i++) {
            json_t *p = purchase("o1", cs[i].id, cs[i].cents, cs[i].at, NULL);
            if (cs[i].name != NULL) {
                json_t *c = json_pack("{s:s}", "name", cs[i].name);
                if (cs[i].phone_in)
                    json_object_set_new(c, "phone", json_string(cs[i].phone_in));
                if (cs[i].email_in)
                    json_object_set_new(c, "email", json_string(cs[i].email_in));
                json_object_set_new(p, "customer", c);
            }
            json_array_append_new(batch, p);
        }
        post_created(batch);
    }
    /* the expected file, built here */
    qsort(cs, CSV_N, sizeof cs[0], cmp_csv_cust);
    size_t cap = 256 * CSV_N, len = 0;
    char *want = malloc(cap);
    len += (size_t)snprintf(want, cap,
                            "customer_id,name,phone,email,purchases,revenue,last_purchase_at,"
                            "monetary\r\n");
    for (int i = 0; i < CSV_N; i++) {
        char id[80], name[80], rev[32], ts[32];
        csv_quote(cs[i].id, id, sizeof id);
        csv_quote(cs[i].name ? cs[i].name : "", name, sizeof name);
        money(cs[i].cents, rev);
        iso(cs[i].at, ts);
        len += (size_t)snprintf(want + len, cap - len, "%s,%s,%s,%s,1,%s,%s,%s\r\n", id, name,
                                cs[i].phone ? cs[i].phone : "", cs[i].email ? cs[i].email : "", rev,
                                ts,
                                cs[i].cents >= 100000  ? "high"
                                : cs[i].cents >= 10000 ? "mid"
                                                       : "low");
    }
    const char *h[] = {"Authorization: Bearer " ADMIN_KEY, "Accept: text/csv", NULL};
    struct resp *r = http("GET", "/v1/segments/new/active/customers", h, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strncmp(resp_header(r, "Content-Type"), "text/csv", 8) == 0, "%s",
                  resp_header(r, "Content-Type"));
    ck_assert_str_eq(resp_header(r, "Content-Disposition"),
                     "attachment; filename=\"b2c-new-active.csv\"");
    ck_assert_ptr_nonnull(strstr(r->body, "\r\nq1,\"Smith, \"\"Bob\"\"\",+33612345678,"
                                          "bob@example.org,1,20.00,"));
    ck_assert_ptr_nonnull(strstr(r->body, "\r\n\"c,1\",\"Line\"\"only\",,,1,150.00,"));
    size_t lines = 0;
    for (const char *p = r->body; (p = strstr(p, "\r\n")) != NULL; p += 2)
        lines++;
    ck_assert_int_eq(lines, CSV_N + 1);
    ck_assert_int_eq(r->len, len);
    ck_assert_msg(memcmp(r->body, want, len) == 0, "the CSV differs from the expected file");
    resp_free(r);

    /* a filter and an empty cell */
    r = http("GET", "/v1/segments/new/active/customers?monetary=mid", h, NULL);
    ck_assert_int_eq(r->status, 200);
    lines = 0;
    for (const char *p = r->body; (p = strstr(p, "\r\n")) != NULL; p += 2)
        lines++;
    ck_assert_int_eq(lines, 2); /* header and "c,1" */
    resp_free(r);
    r = http("GET", "/v1/segments/regular/asleep/customers", h, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(r->body, "customer_id,name,phone,email,purchases,revenue,last_purchase_at,"
                              "monetary\r\n");
    resp_free(r);
    /* errors are still problem+json */
    r = http("GET", "/v1/segments/nope/active/customers", h, NULL);
    ck_assert_int_eq(r->status, 404);
    resp_free(r);
    free(want);
}
END_TEST

static Suite *segments_suite(void)
{
    Suite *s = suite_create("segments");
    TCase *tc = tcase_create("segments");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_checked_fixture(tc, test_setup, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, b2c_preset_boundaries);
    tcase_add_test(tc, b2b_preset_boundaries);
    tcase_add_test(tc, custom_5x5_boundaries);
    tcase_add_test(tc, dataset_report_matches_model);
    tcase_add_test(tc, put_matrix_resegments);
    tcase_add_test(tc, put_matrix_relabel_moves_everyone);
    tcase_add_test(tc, put_matrix_validation);
    tcase_add_test(tc, suggestion_is_puttable);
    tcase_add_test(tc, segment_list_keyset_pages);
    tcase_add_test(tc, segment_list_filters);
    tcase_add_test(tc, segment_list_errors);
    tcase_add_test(tc, segment_list_longest_ids);
    tcase_add_test(tc, segment_csv_export);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(segments_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
