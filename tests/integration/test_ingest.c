/* Ingestion and customers, against the real server and a real PostgreSQL: idempotency,
 * cancellations, out-of-order orders, concurrent writers, transitions, the customer resource,
 * hostile input (which must change nothing) and workspace isolation. */
#include <check.h>
#include <pthread.h>
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
}
static void customer_path(const char *id, char *out, size_t outlen)
{
    char enc[1024];
    pct(id, enc, sizeof enc);
    snprintf(out, outlen, "/v1/customers/%s", enc);
}

/* A string member, or "(none)" (never NULL, for strcmp). */
static const char *jstr(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "(none)";
}

static long long jint(json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

static json_t *purchase(const char *order, const char *cust, const char *amount, time_t at)
{
    char ts[32];
    iso(at, ts);
    return json_pack("{s:s, s:s, s:s, s:s}", "order_id", order, "customer_id", cust, "amount",
                     amount, "purchased_at", ts);
}

static json_t *cancel(const char *cust, const char *order)
{
    return json_pack("{s:s, s:s}", "customer_id", cust, "order_id", order);
}

/* Sends `body` (stolen) with the bootstrap admin key. */
static struct resp *send_json(const char *method, const char *path, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
    struct resp *r = admin(method, path, text);
    free(text);
    return r;
}

static struct resp *post_ok(const char *path, json_t *body)
{
    struct resp *r = send_json("POST", path, body);
    ck_assert_msg(r->status == 200, "POST %s: %ld %s", path, r->status, r->body);
    return r;
}

/* POST one purchase and return its result's status. */
static void buy(const char *order, const char *cust, const char *amount, time_t at,
                const char *want_status)
{
    struct resp *r = post_ok("/v1/purchases", purchase(order, cust, amount, at));
    json_t *res = json_array_get(json_object_get(r->json, "results"), 0);
    ck_assert_msg(strcmp(jstr(res, "status"), want_status) == 0, "%s/%s: %s, want %s", cust, order,
                  jstr(res, "status"), want_status);
    resp_free(r);
}

static struct resp *get_customer(const char *id)
{
    char path[1200];
    customer_path(id, path, sizeof path);
    struct resp *r = admin("GET", path, NULL);
    ck_assert_msg(r->status == 200, "GET %s: %ld %s", path, r->status, r->body);
    return r;
}

static long customer_status(const char *id)
{
    char path[1200];
    customer_path(id, path, sizeof path);
    struct resp *r = admin("GET", path, NULL);
    long s = r->status;
    resp_free(r);
    return s;
}

/* A fingerprint of every row the service writes: equal before and after means "unchanged". */
static char *db_fingerprint(void)
{
    PGconn *c = harness_db();
    PGresult *r = PQexec(
        c, "SELECT concat_ws('|', "
           "(SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM customers t),"
           "(SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM orders t),"
           "(SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) "
           " FROM transitions t),"
           "(SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM matrices t),"
           "(SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) "
           " FROM (SELECT workspace_id, kind, cell, monetary, sum(customers), sum(orders), "
           " sum(revenue_cents) FROM cell_counts GROUP BY 1, 2, 3, 4 "
           " HAVING sum(customers) <> 0 OR sum(orders) <> 0 OR sum(revenue_cents) <> 0) t),"
           "(SELECT count(*) FROM customers), (SELECT count(*) FROM orders),"
           "(SELECT count(*) FROM transitions), (SELECT count(*) FROM matrices))");
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    char *s = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return s;
}

static bool has_pointer(json_t *doc, const char *pointer)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(doc, "errors"), i, e)
    {
        if (strcmp(jstr(e, "pointer"), pointer) == 0 &&
            json_is_string(json_object_get(e, "message")))
            return true;
    }
    return false;
}

/* Sends raw bytes with the admin key as JSON; expects `status` (and, for 422, an error at
 * `pointer` unless NULL), and the database unchanged. */
static void reject(const char *method, const char *path, const char *body, size_t len, long status,
                   const char *pointer)
{
    char *before = db_fingerprint();
    const char *h[] = {"Authorization: Bearer " ADMIN_KEY, "Content-Type: application/json", NULL};
    struct resp *r = http_raw(method, path, h, body, len);
    ck_assert_msg(r->status == status, "%s %s %.200s: %ld, want %ld: %s", method, path, body,
                  r->status, status, r->body);
    ck_assert_str_eq(resp_header(r, "Content-Type"), "application/problem+json");
    if (pointer != NULL)
        ck_assert_msg(has_pointer(r->json, pointer), "%.200s: no error at '%s': %s", body, pointer,
                      r->body);
    resp_free(r);
    char *after = db_fingerprint();
    ck_assert_msg(strcmp(before, after) == 0, "%s %s %.200s changed the database", method, path,
                  body);
    free(before);
    free(after);
}

static void reject_s(const char *method, const char *path, const char *body, long status,
                     const char *pointer)
{
    reject(method, path, body, strlen(body), status, pointer);
}

/* The report's totals of a kind. */
static void report_totals(const char *kind, long long *customers, long long *orders,
                          long long *revenue_cents)
{
    char path[64];
    snprintf(path, sizeof path, "/v1/segments?kind=%s", kind);
    struct resp *r = admin("GET", path, NULL);
    ck_assert_int_eq(r->status, 200);
    *customers = jint(r->json, "total_customers");
    *orders = 0;
    if (revenue_cents)
        *revenue_cents = 0;
    size_t i;
    json_t *cell;
    json_array_foreach(json_object_get(r->json, "cells"), i, cell)
    {
        *orders += jint(cell, "orders");
        const char *rev = jstr(cell, "revenue");
        long long whole = 0, cents = 0;
        ck_assert(sscanf(rev, "%lld.%lld", &whole, &cents) == 2);
        if (revenue_cents)
            *revenue_cents += whole * 100 + cents;
    }
    resp_free(r);
}

static long sql(const char *q)
{
    return harness_sql_long(q);
}

/* Prints the server log's warnings and errors (diagnostics for a failure). */
static void print_log_problems(void)
{
    FILE *f = fopen(H.log_path, "r");
    char line[4096];
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (strstr(line, "\"level\":\"warn") || strstr(line, "\"level\":\"error") ||
            strstr(line, "\"status\":5"))
            fputs(line, stderr);
    }
    if (f != NULL)
        fclose(f);
}

/* The report's counters agree with the customers they count (every cell and band). */
static void assert_counters_consistent(void)
{
    ck_assert_int_eq(
        sql("SELECT count(*) FROM (SELECT workspace_id, kind, cell, monetary, count(*) AS n, "
            "sum(purchases) AS o, sum(revenue_cents) AS r FROM customers WHERE cell IS NOT NULL "
            "GROUP BY 1, 2, 3, 4) a FULL JOIN (SELECT workspace_id, kind, cell, monetary, "
            "sum(customers) AS n, sum(orders) AS o, sum(revenue_cents) AS r FROM cell_counts "
            "GROUP BY 1, 2, 3, 4 HAVING sum(customers) <> 0 OR sum(orders) <> 0 OR "
            "sum(revenue_cents) <> 0) b USING (workspace_id, kind, cell, monetary) "
            "WHERE a.n IS DISTINCT FROM b.n OR a.o IS DISTINCT FROM b.o "
            "OR a.r IS DISTINCT FROM b.r"),
        0);
}

/* ---- idempotency ---- */

START_TEST(duplicates_and_conflicts)
{
    time_t now = time(NULL);
    char t1[32], t2[32];
    iso(now - 2 * HOUR, t1);
    iso(now - HOUR, t2);
    json_t *batch = json_array();
    json_array_append_new(batch, purchase("A-1", "c1", "10.00", now - 2 * HOUR));
    json_array_append_new(batch, purchase("A-1", "c1", "10", now - 2 * HOUR)); /* same */
    json_array_append_new(batch, purchase("A-2", "c1", "20.00", now - HOUR));
    json_array_append_new(batch, purchase("A-2", "c1", "21.00", now - HOUR)); /* first wins */
    json_array_append_new(batch, purchase("A-1", "c2", "5.00", now - HOUR));  /* other customer */
    struct resp *r = post_ok("/v1/purchases", batch);
    ck_assert_int_eq(jint(r->json, "accepted"), 3);
    ck_assert_int_eq(jint(r->json, "duplicates"), 1);
    ck_assert_int_eq(jint(r->json, "conflicts"), 1);
    json_t *res = json_object_get(r->json, "results");
    ck_assert_int_eq(json_array_size(res), 5);
    static const char *const st[] = {"created", "duplicate", "created", "conflict", "created"};
    for (size_t i = 0; i < 5; i++) {
        json_t *it = json_array_get(res, i);
        ck_assert_str_eq(jstr(it, "status"), st[i]);
        ck_assert_str_eq(jstr(it, "order_id"), i == 4 ? "A-1" : i < 2 ? "A-1" : "A-2");
    }
    json_t *stored = json_object_get(json_array_get(res, 3), "stored");
    ck_assert_str_eq(jstr(stored, "amount"), "20.00");
    ck_assert_str_eq(jstr(stored, "purchased_at"), t2);
    ck_assert_str_eq(jstr(json_array_get(res, 0), "cell"), "promising/active");
    resp_free(r);

    char *before = db_fingerprint();
    long transitions = sql("SELECT count(*) FROM transitions");
    /* across requests: the same order is a duplicate, however the values are written */
    char t1_offset[40];
    {
        time_t shifted = now - 2 * HOUR + 2 * HOUR; /* the same instant at +02:00 */
        struct tm tm;
        gmtime_r(&shifted, &tm);
        strftime(t1_offset, sizeof t1_offset, "%Y-%m-%dT%H:%M:%S+02:00", &tm);
    }
    json_t *again = json_array();
    json_array_append_new(again, purchase("A-1", "c1", "10.00", now - 2 * HOUR));
    json_array_append_new(again, json_pack("{s:s, s:s, s:i, s:s}", "order_id", "A-2", "customer_id",
                                           "c1", "amount", 20, "purchased_at", t2));
    json_array_append_new(again, json_pack("{s:s, s:s, s:f, s:s}", "order_id", "A-1", "customer_id",
                                           "c2", "amount", 5.0, "purchased_at", t2));
    json_array_append_new(again, json_pack("{s:s, s:s, s:s, s:s}", "order_id", "A-1", "customer_id",
                                           "c1", "amount", "10.0", "purchased_at", t1_offset));
    r = post_ok("/v1/purchases", again);
    ck_assert_msg(jint(r->json, "duplicates") == 4, "%s", r->body);
    ck_assert_int_eq(jint(r->json, "accepted"), 0);
    resp_free(r);
    /* conflicts: a different amount or time; not written, the stored values come back */
    json_t *conf = json_array();
    json_array_append_new(conf, purchase("A-1", "c1", "11.00", now - 2 * HOUR));
    json_array_append_new(conf, purchase("A-1", "c1", "10.00", now - 2 * HOUR + 1));
    r = post_ok("/v1/purchases", conf);
    ck_assert_int_eq(jint(r->json, "conflicts"), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *it = json_array_get(json_object_get(r->json, "results"), i);
        ck_assert_str_eq(jstr(it, "status"), "conflict");
        ck_assert_str_eq(jstr(json_object_get(it, "stored"), "amount"), "10.00");
        ck_assert_str_eq(jstr(json_object_get(it, "stored"), "purchased_at"), t1);
    }
    resp_free(r);
    char *after = db_fingerprint();
    ck_assert_msg(strcmp(before, after) == 0, "duplicates or conflicts changed the database");
    free(before);
    free(after);
    ck_assert_int_eq(sql("SELECT count(*) FROM transitions"), transitions);
    r = get_customer("c1");
    ck_assert_int_eq(jint(r->json, "purchases"), 2);
    ck_assert_str_eq(jstr(r->json, "revenue"), "30.00");
    resp_free(r);

    /* a cancelled order posted again stays cancelled */
    r = post_ok("/v1/cancellations", cancel("c1", "A-2"));
    ck_assert_int_eq(jint(r->json, "cancelled"), 1);
    resp_free(r);
    buy("A-2", "c1", "20.00", now - HOUR, "duplicate");
    r = get_customer("c1");
    ck_assert_int_eq(jint(r->json, "purchases"), 1);
    ck_assert_str_eq(jstr(r->json, "revenue"), "10.00");
    ck_assert_str_eq(jstr(r->json, "cell"), "new/active");
    resp_free(r);
    ck_assert_int_eq(sql("SELECT count(*) FROM orders WHERE order_id = 'A-2' AND cancelled_at IS "
                         "NOT NULL"),
                     1);
    long long customers, orders, revenue;
    report_totals("b2c", &customers, &orders, &revenue);
    ck_assert_int_eq(customers, 2);
    ck_assert_int_eq(orders, 2);
    ck_assert_int_eq(revenue, 1500);
}
END_TEST

/* ---- cancellations ---- */

START_TEST(cancellation_moves_up_a_row)
{
    time_t now = time(NULL);
    json_t *b = json_array();
    const char *oids[] = {"o1", "o2", "o3", "o4"};
    for (int i = 0; i < 4; i++)
        json_array_append_new(b, purchase(oids[i], "reg", "30.00", now - (4 - i) * HOUR));
    resp_free(post_ok("/v1/purchases", b));
    struct resp *r = get_customer("reg");
    ck_assert_str_eq(jstr(r->json, "cell"), "regular/active");
    ck_assert_str_eq(jstr(r->json, "monetary"), "mid");
    resp_free(r);
    r = post_ok("/v1/cancellations", cancel("reg", "o2"));
    ck_assert_int_eq(jint(r->json, "cancelled"), 1);
    json_t *it = json_array_get(json_object_get(r->json, "results"), 0);
    ck_assert_str_eq(jstr(it, "status"), "cancelled");
    ck_assert_str_eq(jstr(it, "cell"), "promising/active");
    resp_free(r);
    r = get_customer("reg");
    ck_assert_str_eq(jstr(r->json, "cell"), "promising/active");
    ck_assert_int_eq(jint(r->json, "purchases"), 3);
    ck_assert_str_eq(jstr(r->json, "revenue"), "90.00");
    ck_assert_str_eq(jstr(r->json, "monetary"), "low");
    json_t *t = json_array_get(json_object_get(r->json, "transitions"), 0);
    ck_assert_str_eq(jstr(t, "reason"), "cancellation");
    ck_assert_str_eq(jstr(t, "from"), "regular/active");
    ck_assert_str_eq(jstr(t, "to"), "promising/active");
    resp_free(r);
    long long customers, orders, revenue;
    report_totals("b2c", &customers, &orders, &revenue);
    ck_assert_int_eq(orders, 3);
    ck_assert_int_eq(revenue, 9000);
}
END_TEST

START_TEST(cancelling_latest_moves_back_in_time)
{
    time_t now = time(NULL);
    time_t old = now - 40 * DAY, recent = now - DAY;
    buy("old", "mover", "50.00", old, "created");
    buy("new", "mover", "60.00", recent, "created");
    struct resp *r = get_customer("mover");
    ck_assert_str_eq(jstr(r->json, "cell"), "promising/active");
    resp_free(r);
    r = post_ok("/v1/cancellations", cancel("mover", "new"));
    ck_assert_str_eq(jstr(json_array_get(json_object_get(r->json, "results"), 0), "cell"),
                     "new/sleeping");
    resp_free(r);
    r = get_customer("mover");
    char want[32];
    iso(old, want);
    ck_assert_str_eq(jstr(r->json, "cell"), "new/sleeping");
    ck_assert_str_eq(jstr(r->json, "last_purchase_at"), want);
    ck_assert_str_eq(jstr(r->json, "first_purchase_at"), want);
    iso(old + 90 * DAY, want);
    ck_assert_str_eq(jstr(r->json, "next_change_at"), want);
    ck_assert_str_eq(jstr(r->json, "revenue"), "50.00");
    json_t *t = json_array_get(json_object_get(r->json, "transitions"), 0);
    ck_assert_str_eq(jstr(t, "from"), "promising/active");
    ck_assert_str_eq(jstr(t, "to"), "new/sleeping");
    resp_free(r);
}
END_TEST

START_TEST(cancellation_statuses)
{
    time_t now = time(NULL);
    buy("o1", "k1", "10.00", now - HOUR, "created");
    buy("o2", "k1", "10.00", now - HOUR, "created");
    json_t *b = json_array();
    json_array_append_new(b, cancel("k1", "o1"));
    json_array_append_new(b, cancel("k1", "o1")); /* named twice */
    struct resp *r = post_ok("/v1/cancellations", b);
    ck_assert_int_eq(jint(r->json, "cancelled"), 1);
    ck_assert_int_eq(jint(r->json, "already_cancelled"), 1);
    json_t *res = json_object_get(r->json, "results");
    ck_assert_str_eq(jstr(json_array_get(res, 0), "status"), "cancelled");
    ck_assert_str_eq(jstr(json_array_get(res, 1), "status"), "already_cancelled");
    resp_free(r);
    r = post_ok("/v1/cancellations", cancel("k1", "o1"));
    ck_assert_int_eq(jint(r->json, "already_cancelled"), 1);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(r->json, "results"), 0), "status"),
                     "already_cancelled");
    resp_free(r);

    /* unknown order, unknown customer: not_found, and nothing remembered */
    char *before = db_fingerprint();
    b = json_array();
    json_array_append_new(b, cancel("k1", "nope"));
    json_array_append_new(b, cancel("ghost", "o1"));
    r = post_ok("/v1/cancellations", b);
    ck_assert_int_eq(jint(r->json, "not_found"), 2);
    ck_assert_int_eq(jint(r->json, "cancelled"), 0);
    res = json_object_get(r->json, "results");
    ck_assert_str_eq(jstr(json_array_get(res, 0), "status"), "not_found");
    ck_assert_str_eq(jstr(json_array_get(res, 1), "status"), "not_found");
    resp_free(r);
    char *after = db_fingerprint();
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    ck_assert_int_eq(sql("SELECT count(*) FROM customers WHERE external_id = 'ghost'"), 0);
    ck_assert_int_eq(customer_status("ghost"), 404);
    /* an order cancelled before it existed is a normal order when it arrives */
    buy("nope", "k1", "10.00", now - HOUR, "created");
    r = get_customer("k1");
    ck_assert_int_eq(jint(r->json, "purchases"), 2);
    resp_free(r);
}
END_TEST

START_TEST(cancelling_everything_leaves_the_matrix)
{
    time_t now = time(NULL);
    buy("o1", "gone", "10.00", now - 2 * HOUR, "created");
    buy("o2", "gone", "10.00", now - HOUR, "created");
    buy("o1", "stays", "10.00", now - HOUR, "created");
    json_t *b = json_array();
    json_array_append_new(b, cancel("gone", "o1"));
    json_array_append_new(b, cancel("gone", "o2"));
    struct resp *r = post_ok("/v1/cancellations", b);
    ck_assert_int_eq(jint(r->json, "cancelled"), 2);
    ck_assert(json_is_null(
        json_object_get(json_array_get(json_object_get(r->json, "results"), 1), "cell")));
    resp_free(r);
    r = get_customer("gone");
    ck_assert(json_is_null(json_object_get(r->json, "cell")));
    ck_assert(json_is_null(json_object_get(r->json, "monetary")));
    ck_assert(json_is_null(json_object_get(r->json, "next_change_at")));
    ck_assert(json_is_null(json_object_get(r->json, "last_purchase_at")));
    ck_assert_int_eq(jint(r->json, "purchases"), 0);
    ck_assert_str_eq(jstr(r->json, "revenue"), "0.00");
    json_t *t = json_array_get(json_object_get(r->json, "transitions"), 0);
    ck_assert_str_eq(jstr(t, "reason"), "cancellation");
    ck_assert_str_eq(jstr(t, "from"), "promising/active");
    ck_assert(json_is_null(json_object_get(t, "to")));
    resp_free(r);
    long long customers, orders, revenue;
    report_totals("b2c", &customers, &orders, &revenue);
    ck_assert_int_eq(customers, 1);
    ck_assert_int_eq(orders, 1);
    ck_assert_int_eq(revenue, 1000);
    r = admin("GET", "/v1/segments/promising/active/customers", NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    resp_free(r);
    /* and a new purchase brings them back */
    buy("o3", "gone", "10.00", now - 60, "created");
    r = get_customer("gone");
    ck_assert_str_eq(jstr(r->json, "cell"), "new/active");
    resp_free(r);
}
END_TEST

/* ---- order of arrival ---- */

START_TEST(older_order_does_not_move_last_purchase_back)
{
    time_t now = time(NULL);
    buy("recent", "ooo", "10.00", now - DAY, "created");
    buy("older", "ooo", "10.00", now - 50 * DAY, "created");
    struct resp *r = get_customer("ooo");
    char want[32];
    iso(now - DAY, want);
    ck_assert_str_eq(jstr(r->json, "last_purchase_at"), want);
    iso(now - 50 * DAY, want);
    ck_assert_str_eq(jstr(r->json, "first_purchase_at"), want);
    ck_assert_str_eq(jstr(r->json, "cell"), "promising/active");
    iso(now - DAY + 30 * DAY, want);
    ck_assert_str_eq(jstr(r->json, "next_change_at"), want);
    resp_free(r);
    /* an old first order alone places by its own date */
    buy("only", "old-only", "10.00", now - 50 * DAY, "created");
    r = get_customer("old-only");
    ck_assert_str_eq(jstr(r->json, "cell"), "new/sleeping");
    resp_free(r);
}
END_TEST

/* ---- concurrency ---- */

#define THREADS 50
#define CUSTOMERS 100
#define SINGLES 20
#define BATCHES 2
#define BATCH 50

struct worker {
    int idx;
    unsigned seed;
    long long orders, cents;
    int bad;  /* non-200 answers */
    int five; /* 5xx answers */
    int wrong;
    bool hit[CUSTOMERS];
    char first_error[256];
};

static void worker_note(struct worker *w, struct resp *r, long long items)
{
    if (r->status != 200) {
        w->bad++;
        w->five += r->status >= 500 || r->status == 0;
        if (w->first_error[0] == '\0')
            snprintf(w->first_error, sizeof w->first_error, "%ld %.200s", r->status, r->body);
    } else if (json_integer_value(json_object_get(r->json, "accepted")) != items) {
        w->wrong++;
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    char *body = malloc(64 * 1024);
    for (int s = 0; s < SINGLES + BATCHES; s++) {
        int items = s < SINGLES ? 1 : BATCH;
        size_t n = 0;
        if (items > 1)
            body[n++] = '[';
        for (int k = 0; k < items; k++) {
            int c = (int)(rand_r(&w->seed) % CUSTOMERS);
            long long cents = 100 + rand_r(&w->seed) % 10000;
            w->hit[c] = true;
            w->cents += cents;
            w->orders++;
            n += (size_t)snprintf(body + n, 64 * 1024 - n,
                                  "%s{\"order_id\":\"t%02d-%02d-%02d\",\"customer_id\":\"cc-%03d\","
                                  "\"amount\":\"%lld.%02lld\"}",
                                  k ? "," : "", w->idx, s, k, c, cents / 100, cents % 100);
        }
        if (items > 1)
            body[n++] = ']';
        body[n] = '\0';
        struct resp *r = admin("POST", "/v1/purchases", body);
        worker_note(w, r, items);
        resp_free(r);
    }
    free(body);
    return NULL;
}

START_TEST(concurrent_writers_lose_nothing)
{
    /* the hash seed is set before any thread creates JSON */
    json_decref(json_object());
    static struct worker workers[THREADS];
    pthread_t tid[THREADS];
    memset(workers, 0, sizeof workers);
    for (int i = 0; i < THREADS; i++) {
        workers[i].idx = i;
        workers[i].seed = 1000u + (unsigned)i;
        ck_assert_int_eq(pthread_create(&tid[i], NULL, worker_main, &workers[i]), 0);
    }
    long long orders = 0, cents = 0;
    int bad = 0, five = 0, wrong = 0, distinct = 0;
    bool hit[CUSTOMERS] = {false};
    const char *first = NULL;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(tid[i], NULL);
        orders += workers[i].orders;
        cents += workers[i].cents;
        bad += workers[i].bad;
        five += workers[i].five;
        wrong += workers[i].wrong;
        if (first == NULL && workers[i].first_error[0])
            first = workers[i].first_error;
        for (int c = 0; c < CUSTOMERS; c++)
            hit[c] |= workers[i].hit[c];
    }
    for (int c = 0; c < CUSTOMERS; c++)
        distinct += hit[c];
    ck_assert_msg(five == 0 && bad == 0, "%d failed answers (%d 5xx), first: %s", bad, five,
                  first ? first : "");
    ck_assert_int_eq(wrong, 0);
    ck_assert_int_eq(orders, THREADS * (SINGLES + BATCHES * BATCH));
    ck_assert_int_eq(sql("SELECT count(*) FROM orders"), orders);
    ck_assert_int_eq(sql("SELECT sum(purchases) FROM customers"), orders);
    ck_assert_int_eq(sql("SELECT sum(revenue_cents) FROM customers"), cents);
    ck_assert_int_eq(sql("SELECT count(*) FROM customers"), distinct);
    ck_assert_int_eq(sql("SELECT count(*) FROM customers c WHERE purchases <> (SELECT count(*) "
                         "FROM orders o WHERE o.customer_id = c.id)"),
                     0);
    long long customers, rep_orders, revenue;
    report_totals("b2c", &customers, &rep_orders, &revenue);
    ck_assert_int_eq(customers, distinct);
    ck_assert_int_eq(rep_orders, orders);
    ck_assert_int_eq(revenue, cents);
    /* every customer's cell is the last one their transitions lead to */
    ck_assert_int_eq(sql("SELECT count(*) FROM customers c WHERE c.cell IS DISTINCT FROM (SELECT "
                         "t.to_cell FROM transitions t WHERE t.customer_id = c.id ORDER BY t.id "
                         "DESC LIMIT 1)"),
                     0);
    assert_counters_consistent();
}
END_TEST

/* Matrix PUTs while purchases stream in: afterwards every customer is placed by the last
 * matrix, and the counters still add up. */
struct streamer {
    int idx, bad;
    char first_error[256];
};

static void *streamer_main(void *arg)
{
    struct streamer *w = arg;
    char body[512];
    for (int k = 0; k < 60; k++) {
        snprintf(body, sizeof body,
                 "{\"order_id\":\"s%02d-%03d\",\"customer_id\":\"mc-%02d\",\"amount\":\"%d.00\"}",
                 w->idx, k, (w->idx * 7 + k) % 40, 5 + k % 50);
        struct resp *r = admin("POST", "/v1/purchases", body);
        if (r->status != 200) {
            if (w->bad++ == 0)
                snprintf(w->first_error, sizeof w->first_error, "%ld %.200s", r->status, r->body);
        }
        resp_free(r);
    }
    return NULL;
}

#define MATRIX_WITH(fb, mb)                                                                        \
    "{\"frequency\": {\"bounds\": " fb ", \"labels\": [\"new\", \"promising\", "                   \
    "\"regular\"]}, \"recency\": {\"bounds\": [\"30d\", \"90d\"], \"labels\": [\"active\", "       \
    "\"sleeping\", \"asleep\"]}, \"monetary\": {\"bounds\": " mb ", \"labels\": [\"low\", "        \
    "\"mid\", \"high\"]}}"

START_TEST(matrix_change_during_ingest)
{
    json_decref(json_object());
    static const char *const matrices[] = {MATRIX_WITH("[1, 3]", "[\"100\", \"1000\"]"),
                                           MATRIX_WITH("[2, 5]", "[\"50\", \"300\"]")};
    struct streamer w[10];
    pthread_t tid[10];
    memset(w, 0, sizeof w);
    for (int i = 0; i < 10; i++) {
        w[i].idx = i;
        ck_assert_int_eq(pthread_create(&tid[i], NULL, streamer_main, &w[i]), 0);
    }
    for (int k = 0; k < 8; k++) {
        struct resp *r = admin("PUT", "/v1/matrices/b2c", matrices[k % 2]);
        ck_assert_msg(r->status == 200, "PUT: %ld %s", r->status, r->body);
        resp_free(r);
    }
    int bad = 0;
    for (int i = 0; i < 10; i++) {
        pthread_join(tid[i], NULL);
        bad += w[i].bad;
    }
    if (bad > 0)
        print_log_problems();
    for (int i = 0; i < 10; i++)
        ck_assert_msg(w[i].bad == 0, "%d failed purchases, first: %s", w[i].bad, w[i].first_error);
    /* the last PUT was matrices[1]: 1-2 | 3-5 | 6+, low < 50 <= mid < 300 <= high */
    ck_assert_int_eq(sql("SELECT count(*) FROM orders"), 600);
    ck_assert_int_eq(
        sql("SELECT count(*) FROM customers WHERE cell IS DISTINCT FROM (CASE WHEN purchases <= 2 "
            "THEN 'new' WHEN purchases <= 5 THEN 'promising' ELSE 'regular' END) || '/active' "
            "OR monetary IS DISTINCT FROM (CASE WHEN revenue_cents < 5000 THEN 'low' WHEN "
            "revenue_cents < 30000 THEN 'mid' ELSE 'high' END)"),
        0);
    ck_assert_int_eq(sql("SELECT count(*) FROM customers c WHERE c.cell IS DISTINCT FROM (SELECT "
                         "t.to_cell FROM transitions t WHERE t.customer_id = c.id ORDER BY t.id "
                         "DESC LIMIT 1)"),
                     0);
    assert_counters_consistent();
    long long customers, orders, revenue;
    report_totals("b2c", &customers, &orders, &revenue);
    ck_assert_int_eq(customers, 40);
    ck_assert_int_eq(orders, 600);
    ck_assert_int_eq(revenue, sql("SELECT sum(amount * 100)::bigint FROM orders"));
}
END_TEST

/* ---- transitions ---- */

struct want_transition {
    const char *from, *to, *reason, *kind;
};

START_TEST(every_cell_change_is_a_transition)
{
    time_t now = time(NULL);
    buy("o1", "tr", "10.00", now - 5 * HOUR, "created");   /* → new/active */
    buy("o2", "tr", "10.00", now - 4 * HOUR, "created");   /* → promising/active */
    buy("o3", "tr", "10.00", now - 3 * HOUR, "created");   /* stays */
    buy("o3", "tr", "10.00", now - 3 * HOUR, "duplicate"); /* nothing */
    buy("o4", "tr", "2000.00", now - 2 * HOUR, "created"); /* → regular/active, high */
    buy("o5", "tr", "1.00", now - HOUR, "created");        /* stays */
    ck_assert_int_eq(sql("SELECT count(*) FROM transitions"), 3);
    resp_free(post_ok("/v1/cancellations", cancel("tr", "o4"))); /* high → low only */
    ck_assert_int_eq(sql("SELECT count(*) FROM transitions"), 3);
    resp_free(post_ok("/v1/cancellations", cancel("tr", "o5"))); /* → promising/active */
    json_t *b = json_array();
    json_array_append_new(b, cancel("tr", "o1"));
    json_array_append_new(b, cancel("tr", "o2"));
    json_array_append_new(b, cancel("tr", "o3"));
    resp_free(post_ok("/v1/cancellations", b)); /* → no cell */
    /* back, as a business */
    json_t *p = purchase("o6", "tr", "10.00", now - 60);
    json_object_set_new(p, "customer", json_pack("{s:s}", "kind", "b2b"));
    resp_free(post_ok("/v1/purchases", p));

    static const struct want_transition want[] = {
        {NULL, "new/active", "purchase", "b2b"},
        {"promising/active", NULL, "cancellation", "b2c"},
        {"regular/active", "promising/active", "cancellation", "b2c"},
        {"promising/active", "regular/active", "purchase", "b2c"},
        {"new/active", "promising/active", "purchase", "b2c"},
        {NULL, "new/active", "purchase", "b2c"},
    };
    struct resp *r = get_customer("tr");
    json_t *ts = json_object_get(r->json, "transitions");
    ck_assert_int_eq(json_array_size(ts), 6);
    for (size_t i = 0; i < 6; i++) {
        json_t *t = json_array_get(ts, i);
        json_t *from = json_object_get(t, "from"), *to = json_object_get(t, "to");
        if (want[i].from)
            ck_assert_str_eq(jstr(t, "from"), want[i].from);
        else
            ck_assert_msg(json_is_null(from), "transition %zu: from should be null", i);
        if (want[i].to)
            ck_assert_str_eq(jstr(t, "to"), want[i].to);
        else
            ck_assert_msg(json_is_null(to), "transition %zu: to should be null", i);
        ck_assert_str_eq(jstr(t, "reason"), want[i].reason);
        ck_assert_str_eq(jstr(t, "kind"), want[i].kind);
        ck_assert(json_is_string(json_object_get(t, "at")));
    }
    ck_assert_str_eq(jstr(r->json, "kind"), "b2b");
    resp_free(r);

    /* many purchases in one request: one move */
    b = json_array();
    for (int i = 0; i < 4; i++) {
        char oid[8];
        snprintf(oid, sizeof oid, "b%d", i);
        json_array_append_new(b, purchase(oid, "tb", "10.00", now - HOUR - i));
    }
    resp_free(post_ok("/v1/purchases", b));
    ck_assert_int_eq(sql("SELECT count(*) FROM transitions t JOIN customers c ON c.id = "
                         "t.customer_id WHERE c.external_id = 'tb'"),
                     1);
    ck_assert_int_eq(sql("SELECT count(*) FROM transitions t JOIN customers c ON c.id = "
                         "t.customer_id WHERE c.external_id = 'tb' AND t.from_cell IS NULL AND "
                         "t.to_cell = 'regular/active' AND t.reason = 'purchase'"),
                     1);
    ck_assert_int_eq(sql("SELECT count(*) FROM transitions"), 7);
    assert_counters_consistent();
}
END_TEST

/* A purchase that names another kind: a "profile" move into the other matrix, then the
 * purchase's own move, both recorded, and the counters of both kinds right. */
START_TEST(purchase_changes_kind)
{
    time_t now = time(NULL);
    buy("o1", "pk", "500.00", now - 40 * DAY, "created"); /* b2c new/sleeping, mid */
    json_t *p = purchase("o2", "pk", "600.00", now - HOUR);
    json_object_set_new(p, "customer", json_pack("{s:s}", "kind", "b2b"));
    struct resp *r = post_ok("/v1/purchases", p);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(r->json, "results"), 0), "cell"),
                     "promising/active");
    resp_free(r);
    r = get_customer("pk");
    ck_assert_str_eq(jstr(r->json, "kind"), "b2b");
    ck_assert_str_eq(jstr(r->json, "cell"), "promising/active");
    ck_assert_str_eq(jstr(r->json, "monetary"), "mid"); /* 1100.00: b2b mid */
    json_t *ts = json_object_get(r->json, "transitions");
    ck_assert_int_eq(json_array_size(ts), 3);
    json_t *t0 = json_array_get(ts, 0), *t1 = json_array_get(ts, 1);
    ck_assert_str_eq(jstr(t0, "reason"), "purchase");
    ck_assert_str_eq(jstr(t0, "from"), "new/active");
    ck_assert_str_eq(jstr(t0, "to"), "promising/active");
    ck_assert_str_eq(jstr(t1, "reason"), "profile");
    ck_assert_str_eq(jstr(t1, "from"), "new/sleeping");
    ck_assert_str_eq(jstr(t1, "to"), "new/active");
    ck_assert_str_eq(jstr(t1, "kind"), "b2b");
    resp_free(r);
    long long customers, orders, revenue;
    report_totals("b2c", &customers, &orders, &revenue);
    ck_assert_int_eq(customers, 0);
    ck_assert_int_eq(orders, 0);
    report_totals("b2b", &customers, &orders, &revenue);
    ck_assert_int_eq(customers, 1);
    ck_assert_int_eq(orders, 2);
    ck_assert_int_eq(revenue, 110000);
    assert_counters_consistent();
}
END_TEST

/* ---- customers ---- */

START_TEST(customer_profile)
{
    time_t now = time(NULL), at = now - 2 * DAY;
    json_t *p = purchase("A-1001", "c-42", "129.90", at);
    json_object_set_new(p, "customer",
                        json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", "b2c", "name", "Anna",
                                  "phone", "+33 6 12 34 56 78", "email", "Anna@Example.ORG",
                                  "birthday", "1990-03-08"));
    resp_free(post_ok("/v1/purchases", p));
    struct resp *r = get_customer("c-42");
    json_t *c = r->json;
    char want[32];
    ck_assert_str_eq(jstr(c, "customer_id"), "c-42");
    ck_assert_str_eq(jstr(c, "kind"), "b2c");
    ck_assert_str_eq(jstr(c, "name"), "Anna");
    ck_assert_str_eq(jstr(c, "phone"), "+33612345678");
    ck_assert_str_eq(jstr(c, "email"), "anna@example.org");
    ck_assert_str_eq(jstr(c, "birthday"), "1990-03-08");
    ck_assert(json_is_false(json_object_get(c, "contact_opt_out")));
    ck_assert_int_eq(jint(c, "purchases"), 1);
    ck_assert_str_eq(jstr(c, "revenue"), "129.90");
    iso(at, want);
    ck_assert_str_eq(jstr(c, "first_purchase_at"), want);
    ck_assert_str_eq(jstr(c, "last_purchase_at"), want);
    ck_assert_str_eq(jstr(c, "cell"), "new/active");
    ck_assert_str_eq(jstr(c, "monetary"), "mid");
    iso(at + 30 * DAY, want);
    ck_assert_str_eq(jstr(c, "next_change_at"), want);
    json_t *ts = json_object_get(c, "transitions");
    ck_assert_int_eq(json_array_size(ts), 1);
    ck_assert(json_is_null(json_object_get(json_array_get(ts, 0), "from")));
    ck_assert_str_eq(jstr(json_array_get(ts, 0), "to"), "new/active");
    ck_assert_str_eq(jstr(json_array_get(ts, 0), "reason"), "purchase");
    resp_free(r);

    /* a later purchase without a profile keeps it; one with a field updates only that field */
    p = purchase("A-1002", "c-42", "1.00", now - DAY);
    json_object_set_new(p, "customer", json_pack("{s:s}", "email", "NEW@example.org"));
    resp_free(post_ok("/v1/purchases", p));
    r = get_customer("c-42");
    ck_assert_str_eq(jstr(r->json, "name"), "Anna");
    ck_assert_str_eq(jstr(r->json, "email"), "new@example.org");
    resp_free(r);

    /* PATCH every field, then clear them with null */
    r = admin("PATCH", "/v1/customers/c-42",
              "{\"name\": \"Anna B\", \"phone\": \"+1 (555) 010-9999\", \"email\": \"X@Y.COM\", "
              "\"birthday\": \"1991-01-02\", \"contact_opt_out\": true}");
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_str_eq(jstr(r->json, "name"), "Anna B");
    ck_assert_str_eq(jstr(r->json, "phone"), "+15550109999");
    ck_assert_str_eq(jstr(r->json, "email"), "x@y.com");
    ck_assert_str_eq(jstr(r->json, "birthday"), "1991-01-02");
    ck_assert(json_is_true(json_object_get(r->json, "contact_opt_out")));
    resp_free(r);
    r = get_customer("c-42");
    ck_assert_str_eq(jstr(r->json, "name"), "Anna B");
    ck_assert(json_is_true(json_object_get(r->json, "contact_opt_out")));
    resp_free(r);
    r = admin("PATCH", "/v1/customers/c-42", "{\"name\": \"Anna C\"}");
    ck_assert_str_eq(jstr(r->json, "name"), "Anna C");
    ck_assert_str_eq(jstr(r->json, "phone"), "+15550109999"); /* absent: unchanged */
    resp_free(r);
    r = admin("PATCH", "/v1/customers/c-42",
              "{\"name\": null, \"phone\": null, \"email\": null, \"birthday\": null, "
              "\"contact_opt_out\": false}");
    ck_assert_int_eq(r->status, 200);
    const char *fields[] = {"name", "phone", "email", "birthday"};
    for (int i = 0; i < 4; i++)
        ck_assert_msg(json_is_null(json_object_get(r->json, fields[i])), "%s not cleared",
                      fields[i]);
    ck_assert(json_is_false(json_object_get(r->json, "contact_opt_out")));
    ck_assert_str_eq(jstr(r->json, "cell"), "promising/active"); /* a profile edit moves nobody */
    resp_free(r);
    r = get_customer("c-42");
    for (int i = 0; i < 4; i++)
        ck_assert(json_is_null(json_object_get(r->json, fields[i])));
    resp_free(r);
    /* unknown customer: 404, and not created */
    r = admin("PATCH", "/v1/customers/nobody", "{\"name\": \"X\"}");
    ck_assert_int_eq(r->status, 404);
    resp_free(r);
    ck_assert_int_eq(sql("SELECT count(*) FROM customers"), 1);
    /* an ingest key may PATCH, a read key may not */
    char key[256];
    snprintf(key, sizeof key, "%s", make_key(NULL, "[\"read\"]"));
    r = with_key(key, "PATCH", "/v1/customers/c-42", "{\"name\": \"X\"}");
    ck_assert_int_eq(r->status, 403);
    resp_free(r);
    snprintf(key, sizeof key, "%s", make_key(NULL, "[\"ingest\"]"));
    r = with_key(key, "PATCH", "/v1/customers/c-42", "{\"name\": \"Y\"}");
    ck_assert_int_eq(r->status, 200);
    resp_free(r);
}
END_TEST

START_TEST(customer_kind_change_replaces)
{
    time_t now = time(NULL), at = now - 40 * DAY;
    buy("o1", "biz", "129.90", at, "created");
    struct resp *r = get_customer("biz");
    ck_assert_str_eq(jstr(r->json, "cell"), "new/sleeping");
    ck_assert_str_eq(jstr(r->json, "monetary"), "mid");
    resp_free(r);
    r = admin("PATCH", "/v1/customers/biz", "{\"kind\": \"b2b\"}");
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_str_eq(jstr(r->json, "kind"), "b2b");
    ck_assert_str_eq(jstr(r->json, "cell"), "new/active"); /* 40 days: active for a business */
    ck_assert_str_eq(jstr(r->json, "monetary"), "low");
    char want[32];
    iso(at + 90 * DAY, want);
    ck_assert_str_eq(jstr(r->json, "next_change_at"), want);
    json_t *t = json_array_get(json_object_get(r->json, "transitions"), 0);
    ck_assert_str_eq(jstr(t, "reason"), "profile");
    ck_assert_str_eq(jstr(t, "from"), "new/sleeping");
    ck_assert_str_eq(jstr(t, "to"), "new/active");
    ck_assert_str_eq(jstr(t, "kind"), "b2b");
    resp_free(r);
    long long customers, orders;
    report_totals("b2c", &customers, &orders, NULL);
    ck_assert_int_eq(customers, 0);
    ck_assert_int_eq(orders, 0);
    report_totals("b2b", &customers, &orders, NULL);
    ck_assert_int_eq(customers, 1);
    ck_assert_int_eq(orders, 1);
    r = admin("GET", "/v1/segments/new/active/customers?kind=b2b", NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 1);
    resp_free(r);
    /* the same kind again: nothing moves */
    long transitions = sql("SELECT count(*) FROM transitions");
    r = admin("PATCH", "/v1/customers/biz", "{\"kind\": \"b2b\"}");
    ck_assert_int_eq(r->status, 200);
    resp_free(r);
    ck_assert_int_eq(sql("SELECT count(*) FROM transitions"), transitions);
    /* and back */
    r = admin("PATCH", "/v1/customers/biz", "{\"kind\": \"b2c\"}");
    ck_assert_str_eq(jstr(r->json, "cell"), "new/sleeping");
    resp_free(r);
    report_totals("b2b", &customers, &orders, NULL);
    ck_assert_int_eq(customers, 0);
    report_totals("b2c", &customers, &orders, NULL);
    ck_assert_int_eq(customers, 1);
}
END_TEST

START_TEST(customer_delete_erases)
{
    time_t now = time(NULL);
    const char *odd = "shop/42 a?b#c%d";
    buy("o1", odd, "10.00", now - HOUR, "created");
    buy("o2", odd, "15.00", now - HOUR, "created");
    buy("o1", "keep", "7.00", now - HOUR, "created");
    char path[1200];
    customer_path(odd, path, sizeof path);
    ck_assert_ptr_nonnull(strstr(path, "%2F"));
    struct resp *r = admin("GET", path, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(jstr(r->json, "customer_id"), odd);
    resp_free(r);
    r = admin("PATCH", path, "{\"name\": \"Odd\", \"email\": \"odd@example.org\"}");
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(jstr(r->json, "name"), "Odd");
    resp_free(r);
    /* deletion needs admin */
    char key[256];
    snprintf(key, sizeof key, "%s", make_key(NULL, "[\"read\", \"ingest\"]"));
    r = with_key(key, "DELETE", path, NULL);
    ck_assert_int_eq(r->status, 403);
    resp_free(r);
    r = admin("DELETE", path, NULL);
    ck_assert_msg(r->status == 204, "%ld %s", r->status, r->body);
    resp_free(r);
    r = admin("GET", path, NULL);
    ck_assert_int_eq(r->status, 404);
    resp_free(r);
    r = admin("DELETE", path, NULL);
    ck_assert_int_eq(r->status, 404);
    resp_free(r);
    ck_assert_int_eq(sql("SELECT count(*) FROM orders"), 1);
    ck_assert_int_eq(sql("SELECT count(*) FROM customers"), 1);
    ck_assert_int_eq(sql("SELECT count(*) FROM customers WHERE email = 'odd@example.org' OR name "
                         "= 'Odd'"),
                     0);
    ck_assert_int_eq(sql("SELECT count(*) FROM transitions t WHERE NOT EXISTS (SELECT 1 FROM "
                         "customers c WHERE c.id = t.customer_id)"),
                     0);
    long long customers, orders, revenue;
    report_totals("b2c", &customers, &orders, &revenue);
    ck_assert_int_eq(customers, 1);
    ck_assert_int_eq(orders, 1);
    ck_assert_int_eq(revenue, 700);
    r = admin("GET", "/v1/segments/promising/active/customers", NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    resp_free(r);
    /* the id is free again */
    buy("o1", odd, "10.00", now - HOUR, "created");
    r = get_customer(odd);
    ck_assert_int_eq(jint(r->json, "purchases"), 1);
    ck_assert(json_is_null(json_object_get(r->json, "name")));
    resp_free(r);
}
END_TEST

/* ---- hostile input ---- */

START_TEST(hostile_purchases)
{
    time_t now = time(NULL);
    buy("seed", "existing", "10.00", now - HOUR, "created");
    char future10[32], future1[32], body[4096];
    iso(now + 10 * 60, future10);
    iso(now + 60, future1);
    struct {
        const char *body;
        long status;
        const char *pointer;
    } cases[] = {
        {"{\"order_id\": \"x\", ", 400, NULL},
        {"[", 400, NULL},
        {"{\"order_id\": \"x\" \"customer_id\": \"y\"}", 400, NULL},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"1\", \"amount\": \"2\"}", 400,
         NULL},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": true}", 422, "/amount"},
        {"{\"order_id\": 5, \"customer_id\": \"y\", \"amount\": \"1.00\"}", 422, "/order_id"},
        {"{\"order_id\": \"x\", \"customer_id\": [\"y\"], \"amount\": \"1.00\"}", 422,
         "/customer_id"},
        {"{\"order_id\": \"\", \"customer_id\": \"y\", \"amount\": \"1.00\"}", 422, "/order_id"},
        {"{\"customer_id\": \"y\", \"amount\": \"1.00\"}", 422, "/order_id"},
        {"{\"order_id\": \"x\", \"amount\": \"1.00\"}", 422, "/customer_id"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\"}", 422, "/amount"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": -1}", 422, "/amount"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"-1.00\"}", 422, "/amount"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": -0.01}", 422, "/amount"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"1.005\"}", 422, "/amount"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": 1.005}", 422, "/amount"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"1,00\"}", 422, "/amount"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \" 1.00\"}", 422, "/amount"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"1e3\"}", 422, "/amount"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"\"}", 422, "/amount"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": 1e400}", 422, NULL},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": 123456789012345.00}", 422,
         "/amount"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"123456789012345.00\"}", 422,
         "/amount"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": 99999999999999999999}", 422,
         NULL},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"NaN\"}", 422, "/amount"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"1.00\", \"purchased_at\": "
         "\"2026-02-30T00:00:00Z\"}",
         422, "/purchased_at"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"1.00\", \"purchased_at\": "
         "\"2025-13-01T00:00:00Z\"}",
         422, "/purchased_at"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"1.00\", \"purchased_at\": "
         "\"2025-01-01T24:00:00Z\"}",
         422, "/purchased_at"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"1.00\", \"purchased_at\": "
         "\"yesterday\"}",
         422, "/purchased_at"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"1.00\", \"purchased_at\": "
         "\"2025-01-01T00:00:00\"}",
         422, "/purchased_at"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"1.00\", \"purchased_at\": "
         "1735689600}",
         422, "/purchased_at"},
        {"[]", 422, ""},
        {"\"hello\"", 422, ""},
        {"42", 422, ""},
        {"[1]", 422, "/0"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"1.00\", \"coupon\": \"x\"}",
         422, "/coupon"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"1.00\", \"customer\": "
         "{\"kind\": \"b2x\"}}",
         422, "/customer/kind"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"1.00\", \"customer\": "
         "{\"age\": 5}}",
         422, "/customer/age"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"1.00\", \"customer\": "
         "\"anna\"}",
         422, "/customer"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"1.00\", \"customer\": "
         "{\"phone\": \"call me\"}}",
         422, "/customer/phone"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"1.00\", \"customer\": "
         "{\"email\": \"no-at-sign\"}}",
         422, "/customer/email"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"1.00\", \"customer\": "
         "{\"birthday\": \"2999-01-01\"}}",
         422, "/customer/birthday"},
        {"{\"order_id\": \"x\", \"customer_id\": \"a\\u0000b\", \"amount\": \"1.00\"}", 422,
         "/customer_id"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"1\\u00002\"}", 422,
         "/amount"},
        {"{\"order_id\": \"x\", \"customer_id\": \"y\", \"amount\": \"1.00\", \"customer\": "
         "{\"name\": \"\\u0000\"}}",
         422, "/customer/name"},
        {"{\"order_id\": \"x\", \"customer_id\": \"\\ud800\", \"amount\": \"1.00\"}", 400, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        reject_s("POST", "/v1/purchases", cases[i].body, cases[i].status, cases[i].pointer);

    /* the future: more than 5 minutes refused, 1 minute accepted */
    snprintf(body, sizeof body,
             "{\"order_id\": \"f\", \"customer_id\": \"y\", \"amount\": \"1.00\", "
             "\"purchased_at\": \"%s\"}",
             future10);
    reject_s("POST", "/v1/purchases", body, 422, "/purchased_at");
    /* too long: 129 characters */
    char longid[200];
    memset(longid, 'x', 129);
    longid[129] = '\0';
    snprintf(body, sizeof body,
             "{\"order_id\": \"%s\", \"customer_id\": \"y\", \"amount\": \"1.00\"}", longid);
    reject_s("POST", "/v1/purchases", body, 422, "/order_id");
    /* invalid UTF-8 */
    const char bad_utf8[] = "{\"order_id\": \"x\", \"customer_id\": \"\xff\xfe\", \"amount\": 1}";
    reject("POST", "/v1/purchases", bad_utf8, sizeof bad_utf8 - 1, 400, NULL);
    const char overlong[] = "{\"order_id\": \"x\", \"customer_id\": \"\xc0\xaf\", \"amount\": 1}";
    reject("POST", "/v1/purchases", overlong, sizeof overlong - 1, 400, NULL);
    const char surrogate[] =
        "{\"order_id\": \"x\", \"customer_id\": \"\xed\xa0\x80\", \"amount\": 1}";
    reject("POST", "/v1/purchases", surrogate, sizeof surrogate - 1, 400, NULL);
    /* deep nesting */
    char *deep = malloc(20001);
    for (int i = 0; i < 10000; i++) {
        deep[i] = '[';
        deep[19999 - i] = ']';
    }
    deep[20000] = '\0';
    reject("POST", "/v1/purchases", deep, 20000, 400, NULL);
    free(deep);

    /* 1001 items: 422; 1000 items: fine */
    json_t *big = json_array();
    for (int i = 0; i < 1001; i++) {
        char oid[16];
        snprintf(oid, sizeof oid, "big-%d", i);
        json_array_append_new(big, purchase(oid, "bulk", "1.00", now - HOUR));
    }
    char *text = json_dumps(big, JSON_COMPACT);
    reject_s("POST", "/v1/purchases", text, 422, "");
    free(text);
    json_array_remove(big, 1000);
    struct resp *r = post_ok("/v1/purchases", big);
    ck_assert_int_eq(jint(r->json, "accepted"), 1000);
    resp_free(r);

    /* all or nothing: one bad item in ten */
    json_t *ten = json_array();
    for (int i = 0; i < 10; i++) {
        char oid[16];
        snprintf(oid, sizeof oid, "ten-%d", i);
        json_array_append_new(ten, purchase(oid, "ten", i == 7 ? "1.001" : "1.00", now - HOUR));
    }
    text = json_dumps(ten, JSON_COMPACT);
    reject_s("POST", "/v1/purchases", text, 422, "/7/amount");
    free(text);
    json_object_del(json_array_get(ten, 2), "order_id");
    text = json_dumps(ten, JSON_COMPACT);
    {
        char *before = db_fingerprint();
        r = admin("POST", "/v1/purchases", text);
        ck_assert_int_eq(r->status, 422);
        ck_assert(has_pointer(r->json, "/7/amount"));
        ck_assert(has_pointer(r->json, "/2/order_id"));
        resp_free(r);
        char *after = db_fingerprint();
        ck_assert_str_eq(before, after);
        free(before);
        free(after);
    }
    free(text);
    json_decref(ten);
    ck_assert_int_eq(customer_status("ten"), 404);
    ck_assert_int_eq(customer_status("y"), 404);

    /* one minute ahead is tolerated */
    snprintf(body, sizeof body,
             "{\"order_id\": \"f\", \"customer_id\": \"soon\", \"amount\": 1, "
             "\"purchased_at\": \"%s\"}",
             future1);
    r = admin("POST", "/v1/purchases", body);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(r->json, "results"), 0), "status"),
                     "created");
    resp_free(r);
    /* 128 characters is fine */
    longid[128] = '\0';
    buy(longid, longid, "0", now - HOUR, "created");
    /* numbers: integer, real and string amounts */
    r = admin("POST", "/v1/purchases",
              "[{\"order_id\": \"n1\", \"customer_id\": \"num\", \"amount\": 129.9},"
              " {\"order_id\": \"n2\", \"customer_id\": \"num\", \"amount\": 0.1},"
              " {\"order_id\": \"n3\", \"customer_id\": \"num\", \"amount\": 999999999999.99}]");
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    resp_free(r);
    r = get_customer("num");
    ck_assert_str_eq(jstr(r->json, "revenue"), "1000000000129.99");
    resp_free(r);
}
END_TEST

START_TEST(injection_strings_stored_verbatim)
{
    time_t now = time(NULL);
    const char *cust = "x'); DROP TABLE customers;--";
    const char *order = "1' OR '1'='1";
    const char *name = "Robert'); DROP TABLE students;-- \"\\ <script>alert(1)</script> Zoë 🎉";
    json_t *p = purchase(order, cust, "10.00", now - HOUR);
    json_object_set_new(p, "customer", json_pack("{s:s}", "name", name));
    struct resp *r = post_ok("/v1/purchases", p);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(r->json, "results"), 0), "customer_id"),
                     cust);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(r->json, "results"), 0), "order_id"),
                     order);
    resp_free(r);
    buy("o2", "100% légit?&=#", "1.00", now - HOUR, "created");
    r = get_customer(cust);
    ck_assert_str_eq(jstr(r->json, "customer_id"), cust);
    ck_assert_str_eq(jstr(r->json, "name"), name);
    resp_free(r);
    r = get_customer("100% légit?&=#");
    ck_assert_str_eq(jstr(r->json, "customer_id"), "100% légit?&=#");
    resp_free(r);
    ck_assert_int_eq(sql("SELECT count(*) FROM customers"), 2);
    ck_assert_int_eq(sql("SELECT count(*) FROM orders WHERE order_id = '1'' OR ''1''=''1'"), 1);
    r = post_ok("/v1/cancellations", cancel(cust, order));
    ck_assert_int_eq(jint(r->json, "cancelled"), 1);
    resp_free(r);
    /* in a segment list and a PATCH */
    char path[1200];
    customer_path(cust, path, sizeof path);
    r = admin("PATCH", path, "{\"name\": \"'; DELETE FROM orders; --\"}");
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(jstr(r->json, "name"), "'; DELETE FROM orders; --");
    resp_free(r);
    ck_assert_int_eq(sql("SELECT count(*) FROM orders"), 2);
}
END_TEST

START_TEST(hostile_cancellations)
{
    time_t now = time(NULL);
    buy("o1", "k", "10.00", now - HOUR, "created");
    buy("o2", "k", "10.00", now - HOUR, "created");
    static const struct {
        const char *body;
        long status;
        const char *pointer;
    } cases[] = {
        {"{\"customer_id\": \"k\", ", 400, NULL},
        {"{\"customer_id\": 5, \"order_id\": \"o1\"}", 422, "/customer_id"},
        {"{\"customer_id\": \"k\", \"order_id\": null}", 422, "/order_id"},
        {"{\"customer_id\": \"k\"}", 422, "/order_id"},
        {"{\"customer_id\": \"k\", \"order_id\": \"o1\", \"reason\": \"x\"}", 422, "/reason"},
        {"{\"customer_id\": \"k\", \"order_id\": \"o1\\u0000\"}", 422, "/order_id"},
        {"[]", 422, ""},
        {"[\"k/o1\"]", 422, "/0"},
        {"[{\"customer_id\": \"k\", \"order_id\": \"o1\"}, {\"customer_id\": \"k\", "
         "\"order_id\": \"o2\"}, {\"customer_id\": \"k\", \"order_id\": \"\"}]",
         422, "/2/order_id"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        reject_s("POST", "/v1/cancellations", cases[i].body, cases[i].status, cases[i].pointer);
    const char bad_utf8[] = "{\"customer_id\": \"k\", \"order_id\": \"\xff\"}";
    reject("POST", "/v1/cancellations", bad_utf8, sizeof bad_utf8 - 1, 400, NULL);
    json_t *big = json_array();
    for (int i = 0; i < 1001; i++)
        json_array_append_new(big, cancel("k", "o1"));
    char *text = json_dumps(big, JSON_COMPACT);
    json_decref(big);
    reject_s("POST", "/v1/cancellations", text, 422, "");
    free(text);
    struct resp *r = get_customer("k");
    ck_assert_int_eq(jint(r->json, "purchases"), 2);
    resp_free(r);
}
END_TEST

START_TEST(hostile_patch)
{
    time_t now = time(NULL);
    json_t *p = purchase("o1", "pc", "10.00", now - HOUR);
    json_object_set_new(p, "customer", json_pack("{s:s, s:s}", "name", "Pat", "phone", "+4912345"));
    resp_free(post_ok("/v1/purchases", p));
    char longname[300];
    memset(longname, 'n', 201);
    longname[201] = '\0';
    char long_body[400];
    snprintf(long_body, sizeof long_body, "{\"name\": \"%s\"}", longname);
    struct {
        const char *body;
        long status;
        const char *pointer;
    } cases[] = {
        {"{\"name\": ", 400, NULL},
        {"[{\"name\": \"x\"}]", 422, ""},
        {"\"x\"", 422, ""},
        {long_body, 422, "/name"},
        {"{\"name\": \"\"}", 422, "/name"},
        {"{\"name\": 5}", 422, "/name"},
        {"{\"name\": \"a\\u0000b\"}", 422, "/name"},
        {"{\"kind\": \"b2x\"}", 422, "/kind"},
        {"{\"kind\": 5}", 422, "/kind"},
        {"{\"kind\": null}", 422, "/kind"},
        {"{\"contact_opt_out\": \"yes\"}", 422, "/contact_opt_out"},
        {"{\"contact_opt_out\": 1}", 422, "/contact_opt_out"},
        {"{\"phone\": \"abc\"}", 422, "/phone"},
        {"{\"phone\": \"+1 2\"}", 422, "/phone"},
        {"{\"email\": \"nope\"}", 422, "/email"},
        {"{\"email\": \"a b@example.org\"}", 422, "/email"},
        {"{\"birthday\": \"2999-01-01\"}", 422, "/birthday"},
        {"{\"birthday\": \"1990-02-30\"}", 422, "/birthday"},
        {"{\"birthday\": \"08.03.1990\"}", 422, "/birthday"},
        {"{\"age\": 30}", 422, "/age"},
        {"{\"name\": \"ok\", \"phone\": \"abc\"}", 422, "/phone"},
        {"{\"customer_id\": \"other\"}", 422, "/customer_id"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        reject_s("PATCH", "/v1/customers/pc", cases[i].body, cases[i].status, cases[i].pointer);
    const char bad_utf8[] = "{\"name\": \"\xc3\x28\"}";
    reject("PATCH", "/v1/customers/pc", bad_utf8, sizeof bad_utf8 - 1, 400, NULL);
    struct resp *r = get_customer("pc");
    ck_assert_str_eq(jstr(r->json, "name"), "Pat");
    ck_assert_str_eq(jstr(r->json, "phone"), "+4912345");
    ck_assert_str_eq(jstr(r->json, "kind"), "b2c");
    resp_free(r);
}
END_TEST

START_TEST(hostile_matrix_put)
{
    static const struct {
        const char *body;
        long status;
        const char *pointer;
    } cases[] = {
        {"{\"frequency\": {", 400, NULL},
        {"[]", 422, ""},
        {"null", 422, ""},
        {"{\"frequency\": {\"bounds\": [1e400, 3], \"labels\": [\"a\", \"b\", \"c\"]}}", 422, NULL},
        {"{\"frequency\": {\"bounds\": [true, 3], \"labels\": [\"a\", \"b\", \"c\"]}, "
         "\"recency\": {\"bounds\": [\"30d\", \"90d\"], \"labels\": [\"x\", \"y\", \"z\"]}, "
         "\"monetary\": {\"bounds\": [\"100\", \"1000\"], \"labels\": [\"l\", \"m\", \"h\"]}}",
         422, "/frequency/bounds/0"},
        {"{\"frequency\": {\"bounds\": [1, 3], \"labels\": [\"a\\u0000\", \"b\", \"c\"]}, "
         "\"recency\": {\"bounds\": [\"30d\", \"90d\"], \"labels\": [\"x\", \"y\", \"z\"]}, "
         "\"monetary\": {\"bounds\": [\"100\", \"1000\"], \"labels\": [\"l\", \"m\", \"h\"]}}",
         422, "/frequency/labels/0"},
        {"{\"frequency\": {\"bounds\": [1, 3], \"labels\": \"a,b,c\"}, "
         "\"recency\": {\"bounds\": [\"30d\", \"90d\"], \"labels\": [\"x\", \"y\", \"z\"]}, "
         "\"monetary\": {\"bounds\": [\"100\", \"1000\"], \"labels\": [\"l\", \"m\", \"h\"]}}",
         422, "/frequency/labels"},
        {"{\"frequency\": {\"bounds\": [1, 3], \"labels\": [\"a\", \"b\", \"c\"]}, "
         "\"recency\": {\"bounds\": [\"30d\", \"99999999999999999999d\"], \"labels\": [\"x\", "
         "\"y\", \"z\"]}, "
         "\"monetary\": {\"bounds\": [\"100\", \"1000\"], \"labels\": [\"l\", \"m\", \"h\"]}}",
         422, "/recency/bounds/1"},
        {"{\"frequency\": {\"bounds\": [1, 3], \"labels\": [\"a\", \"b\", \"c\"]}, "
         "\"recency\": {\"bounds\": [\"30d\", \"90d\"], \"labels\": [\"x\", \"y\", \"z\"]}, "
         "\"monetary\": {\"bounds\": [\"100\", 123456789012345.00], \"labels\": [\"l\", \"m\", "
         "\"h\"]}}",
         422, "/monetary/bounds/1"},
        {"{\"frequency\": {\"bounds\": [1, 3], \"labels\": [\"a\", \"b\", \"c\"]}, "
         "\"recency\": {\"bounds\": [\"30d\", \"90d\"], \"labels\": [\"x\", \"y\", \"z\"]}, "
         "\"monetary\": {\"bounds\": [\"100\", \"1000\"], \"labels\": [\"l\", \"m\", \"h\"]}, "
         "\"names\": {\"a/x\": \"x'); DROP TABLE matrices;--\", \"b/y\": "
         "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}",
         422, "/names/b~1y"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        reject_s("PUT", "/v1/matrices/b2c", cases[i].body, cases[i].status, cases[i].pointer);
    const char bad_utf8[] = "{\"frequency\": {\"bounds\": [1, 3], \"labels\": [\"\xff\"]}}";
    reject("PUT", "/v1/matrices/b2c", bad_utf8, sizeof bad_utf8 - 1, 400, NULL);
    reject_s("PUT", "/v1/matrices/nope",
             "{\"frequency\": {\"bounds\": [1, 3], \"labels\": [\"a\", \"b\", \"c\"]}}", 404, NULL);
    /* the name with SQL in it is just a name */
    struct resp *r =
        admin("PUT", "/v1/matrices/b2c",
              "{\"frequency\": {\"bounds\": [1, 3], \"labels\": [\"a\", \"b\", \"c\"]}, "
              "\"recency\": {\"bounds\": [\"30d\", \"90d\"], \"labels\": [\"x\", \"y\", \"z\"]}, "
              "\"monetary\": {\"bounds\": [\"100\", \"1000\"], \"labels\": [\"l\", \"m\", \"h\"]}, "
              "\"names\": {\"a/x\": \"x'); DROP TABLE matrices;--\"}}");
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    resp_free(r);
    r = admin("GET", "/v1/matrices/b2c", NULL);
    ck_assert_str_eq(jstr(json_object_get(r->json, "names"), "a/x"), "x'); DROP TABLE matrices;--");
    resp_free(r);
}
END_TEST

/* Bytes that are not UTF-8 in a path or query: a clear 4xx, never a 500 from the database. */
START_TEST(invalid_utf8_in_url)
{
    time_t now = time(NULL);
    buy("o1", "u1", "10.00", now - HOUR, "created");
    char *before = db_fingerprint();
    static const struct {
        const char *method, *path, *body;
    } cases[] = {
        {"GET", "/v1/customers/%FF", NULL},
        {"GET", "/v1/customers/u1%C3", NULL},
        {"PATCH", "/v1/customers/%ED%A0%80", "{\"name\": \"x\"}"},
        {"DELETE", "/v1/customers/%C0%AF", NULL},
        {"GET", "/v1/segments/new/active/customers?after=_w", NULL}, /* the cursor of "\xff" */
        {"GET", "/v1/segments/%FF/active/customers", NULL},
        {"GET", "/v1/segments?kind=%FF", NULL},
        {"GET", "/v1/segments/new/active/customers?monetary=%FF", NULL},
        {"GET", "/v1/matrices/%FF", NULL},
    };
    char failed[1024] = "";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct resp *r = admin(cases[i].method, cases[i].path, cases[i].body);
        if (r->status != 400 && r->status != 404) {
            size_t n = strlen(failed);
            snprintf(failed + n, sizeof failed - n, " [%s %s: %ld]", cases[i].method, cases[i].path,
                     r->status);
        }
        resp_free(r);
    }
    ck_assert_msg(failed[0] == '\0', "not a 400 or 404:%s", failed);
    char *after = db_fingerprint();
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
}
END_TEST

/* ---- workspaces ---- */

static struct resp *ws_admin(const char *ws, const char *method, const char *path, const char *body)
{
    char h[128];
    snprintf(h, sizeof h, "Segmentd-Workspace: %s", ws);
    const char *headers[] = {"Authorization: Bearer " ADMIN_KEY, "Content-Type: application/json",
                             h, NULL};
    return http(method, path, headers, body);
}

START_TEST(workspaces_are_isolated)
{
    struct resp *r = admin("POST", "/v1/workspaces", "{\"name\": \"shop-b\"}");
    ck_assert_int_eq(r->status, 201);
    resp_free(r);
    char ka[256], kb[256];
    snprintf(ka, sizeof ka, "%s", make_key(NULL, "[\"ingest\", \"read\"]"));
    snprintf(kb, sizeof kb, "%s", make_key("shop-b", "[\"ingest\", \"read\"]"));

    r = with_key(ka, "POST", "/v1/purchases",
                 "[{\"order_id\": \"o1\", \"customer_id\": \"c1\", \"amount\": \"10.00\"},"
                 " {\"order_id\": \"o1\", \"customer_id\": \"only-a\", \"amount\": \"20.00\"}]");
    ck_assert_int_eq(r->status, 200);
    ck_assert_int_eq(jint(r->json, "accepted"), 2);
    resp_free(r);
    /* the same (customer, order) in B is B's own order: created, not a conflict */
    r = with_key(kb, "POST", "/v1/purchases",
                 "{\"order_id\": \"o1\", \"customer_id\": \"c1\", \"amount\": \"999.00\"}");
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(r->json, "results"), 0), "status"),
                     "created");
    resp_free(r);

    r = with_key(ka, "GET", "/v1/segments", NULL);
    ck_assert_int_eq(jint(r->json, "total_customers"), 2);
    resp_free(r);
    r = with_key(kb, "GET", "/v1/segments", NULL);
    ck_assert_int_eq(jint(r->json, "total_customers"), 1);
    resp_free(r);
    r = with_key(kb, "GET", "/v1/customers/only-a", NULL);
    ck_assert_int_eq(r->status, 404);
    resp_free(r);
    r = with_key(kb, "PATCH", "/v1/customers/only-a", "{\"name\": \"stolen\"}");
    ck_assert_int_eq(r->status, 404);
    resp_free(r);
    r = with_key(ka, "GET", "/v1/customers/c1", NULL);
    ck_assert_str_eq(jstr(r->json, "revenue"), "10.00");
    resp_free(r);
    r = with_key(kb, "GET", "/v1/customers/c1", NULL);
    ck_assert_str_eq(jstr(r->json, "revenue"), "999.00");
    ck_assert_str_eq(jstr(r->json, "monetary"), "mid");
    resp_free(r);
    r = with_key(kb, "GET", "/v1/segments/new/active/customers", NULL);
    json_t *items = json_object_get(r->json, "items");
    ck_assert_int_eq(json_array_size(items), 1);
    ck_assert_str_eq(jstr(json_array_get(items, 0), "customer_id"), "c1");
    resp_free(r);
    r = with_key(ka, "GET", "/v1/segments/new/active/customers", NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 2);
    resp_free(r);

    /* B cannot cancel A's order; cancelling its own leaves A's alone */
    r = with_key(kb, "POST", "/v1/cancellations",
                 "{\"customer_id\": \"only-a\", \"order_id\": \"o1\"}");
    ck_assert_str_eq(jstr(json_array_get(json_object_get(r->json, "results"), 0), "status"),
                     "not_found");
    resp_free(r);
    r = with_key(kb, "POST", "/v1/cancellations",
                 "{\"customer_id\": \"c1\", \"order_id\": \"o1\"}");
    ck_assert_int_eq(jint(r->json, "cancelled"), 1);
    resp_free(r);
    r = with_key(ka, "GET", "/v1/customers/c1", NULL);
    ck_assert_int_eq(jint(r->json, "purchases"), 1);
    ck_assert_str_eq(jstr(r->json, "cell"), "new/active");
    resp_free(r);

    /* a matrix of B changes nothing in A */
    r = ws_admin("shop-b", "PUT", "/v1/matrices/b2c",
                 "{\"frequency\": {\"bounds\": [1, 3], \"labels\": [\"a\", \"b\", \"c\"]}, "
                 "\"recency\": {\"bounds\": [\"30d\", \"90d\"], \"labels\": [\"x\", \"y\", "
                 "\"z\"]}, \"monetary\": {\"bounds\": [\"100\", \"1000\"], \"labels\": [\"l\", "
                 "\"m\", \"h\"]}}");
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    resp_free(r);
    r = with_key(ka, "GET", "/v1/matrices/b2c", NULL);
    ck_assert_int_eq(jint(r->json, "version"), 0);
    resp_free(r);
    r = with_key(kb, "GET", "/v1/matrices/b2c", NULL);
    ck_assert_int_eq(jint(r->json, "version"), 1);
    resp_free(r);
    r = with_key(ka, "GET", "/v1/customers/only-a", NULL);
    ck_assert_str_eq(jstr(r->json, "cell"), "new/active");
    resp_free(r);
    r = with_key(ka, "GET", "/v1/segments/new/active/customers", NULL);
    ck_assert_int_eq(r->status, 200);
    resp_free(r);
    r = with_key(kb, "GET", "/v1/segments/new/active/customers", NULL);
    ck_assert_int_eq(r->status, 404);
    resp_free(r);
    r = with_key(ka, "GET", "/v1/matrices/b2c/versions", NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    resp_free(r);
    /* admin deletion of A's customer by B's workspace: not found */
    r = ws_admin("shop-b", "DELETE", "/v1/customers/only-a", NULL);
    ck_assert_int_eq(r->status, 404);
    resp_free(r);
    ck_assert_int_eq(sql("SELECT count(*) FROM customers WHERE external_id = 'only-a'"), 1);
    /* deleting B takes B's data, and only B's */
    r = admin("DELETE", "/v1/workspaces/shop-b", NULL);
    ck_assert_msg(r->status == 204, "%ld %s", r->status, r->body);
    resp_free(r);
    ck_assert_int_eq(sql("SELECT count(*) FROM customers"), 2);
    ck_assert_int_eq(sql("SELECT count(*) FROM orders"), 2);
    ck_assert_int_eq(sql("SELECT count(*) FROM matrices"), 0);
    r = with_key(ka, "GET", "/v1/segments", NULL);
    ck_assert_int_eq(jint(r->json, "total_customers"), 2);
    resp_free(r);
    assert_counters_consistent();
}
END_TEST

static Suite *ingest_suite(void)
{
    Suite *s = suite_create("ingest");
    TCase *tc = tcase_create("ingest");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_checked_fixture(tc, test_setup, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, duplicates_and_conflicts);
    tcase_add_test(tc, cancellation_moves_up_a_row);
    tcase_add_test(tc, cancelling_latest_moves_back_in_time);
    tcase_add_test(tc, cancellation_statuses);
    tcase_add_test(tc, cancelling_everything_leaves_the_matrix);
    tcase_add_test(tc, older_order_does_not_move_last_purchase_back);
    tcase_add_test(tc, concurrent_writers_lose_nothing);
    tcase_add_test(tc, matrix_change_during_ingest);
    tcase_add_test(tc, every_cell_change_is_a_transition);
    tcase_add_test(tc, purchase_changes_kind);
    tcase_add_test(tc, customer_profile);
    tcase_add_test(tc, customer_kind_change_replaces);
    tcase_add_test(tc, customer_delete_erases);
    tcase_add_test(tc, hostile_purchases);
    tcase_add_test(tc, injection_strings_stored_verbatim);
    tcase_add_test(tc, hostile_cancellations);
    tcase_add_test(tc, hostile_patch);
    tcase_add_test(tc, hostile_matrix_put);
    tcase_add_test(tc, invalid_utf8_in_url);
    tcase_add_test(tc, workspaces_are_isolated);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ingest_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
