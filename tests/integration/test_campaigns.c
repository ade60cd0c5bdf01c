/* Campaigns, templates, the contact policy and the delivery log, against the real server and a
 * real PostgreSQL: CRUD, secrets shown once and rotated, pause and resume, every validation error
 * with its pointer (and nothing written), scopes, the delivery log's pages and filters, manual
 * retries, a customer's recent deliveries, and erasure of the new tables' rows. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define HOOK "https://bot.example.org/hooks/segmentd"
#define BASE_BODY                                                                                  \
    "{\"name\":\"Win back regulars\",\"kind\":\"b2c\","                                            \
    "\"cells\":[\"regular/sleeping\",\"regular/asleep\"],\"trigger\":{\"type\":\"enter\"},"        \
    "\"channel\":\"email\",\"strategy\":\"reactivation\","                                         \
    "\"action\":\"Personal e-mail with recommendations and a time-limited offer\","                \
    "\"webhook_url\":\"" HOOK "\",\"max_messages\":{\"count\":1,\"per_days\":14},"                 \
    "\"active\":true}"

/* ---- fixtures ---- */

static void exec_sql(const char *sql)
{
    PGconn *c = harness_db();
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql,
                  PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

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
    /* The new tables reference customers and workspaces: empty them before harness_reset. */
    exec_sql("TRUNCATE delivery_attempts, deliveries, campaigns, contact_policies, "
             "segment_snapshots");
    harness_reset();
}

/* ---- helpers ---- */

static long count_campaigns(void)
{
    return harness_sql_long("SELECT count(*) FROM campaigns");
}

static const char *jstr(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "(none)";
}

/* Creates a campaign from `body`; 201 asserted. Returns its id. */
static long create_ok(const char *body)
{
    struct resp *r = admin("POST", "/v1/campaigns", body);
    ck_assert_msg(r->status == 201, "create: %ld %s", r->status, r->body);
    long id = (long)json_integer_value(json_object_get(r->json, "id"));
    ck_assert_int_gt(id, 0);
    resp_free(r);
    return id;
}

/* Asserts a 422 whose errors include `pointer`. */
static void expect_invalid(struct resp *r, const char *pointer, const char *what)
{
    ck_assert_msg(r->status == 422, "%s: %ld %s", what, r->status, r->body);
    assert_problem(r, 422);
    json_t *errors = json_object_get(r->json, "errors");
    bool found = false;
    for (size_t i = 0; i < json_array_size(errors); i++) {
        json_t *e = json_array_get(errors, i);
        ck_assert(json_is_string(json_object_get(e, "message")));
        found |= strcmp(jstr(e, "pointer"), pointer) == 0;
    }
    ck_assert_msg(found, "%s: no error at %s in %s", what, pointer, r->body);
}

static bool is_secret(const char *s)
{
    if (s == NULL || strncmp(s, "whsec_", 6) != 0 || strlen(s) != 6 + 44)
        return false;
    for (const char *p = s + 6; *p; p++) {
        bool b64 = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                   (*p >= '0' && *p <= '9') || *p == '+' || *p == '/' || *p == '=';
        if (!b64)
            return false;
    }
    return true;
}

static struct resp *get_ok(const char *path)
{
    struct resp *r = admin("GET", path, NULL);
    ck_assert_msg(r->status == 200, "GET %s: %ld %s", path, r->status, r->body);
    ck_assert_ptr_nonnull(r->json);
    return r;
}

/* Posts one purchase for customer `cust` (created). */
static void buy(const char *cust, const char *order)
{
    char body[256];
    snprintf(body, sizeof body, "{\"order_id\":\"%s\",\"customer_id\":\"%s\",\"amount\":\"50.00\"}",
             order, cust);
    struct resp *r = admin("POST", "/v1/purchases", body);
    ck_assert_msg(r->status == 200, "purchase: %ld %s", r->status, r->body);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "accepted")), 1);
    resp_free(r);
}

/* Inserts a delivery of campaign `campaign` to customer `cust` behind the server's back; rows
 * that would still go out are due in a year, so no dispatcher touches them. Returns its id. */
static long insert_delivery(long campaign, const char *cust, const char *status, int age_minutes,
                            int attempts)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO deliveries (workspace_id, campaign_id, customer_id, msg_id, event_type, "
             "from_cell, to_cell, body, status, reason, attempts, due_at, created_at, "
             "last_status, last_error, delivered_at) "
             "SELECT 1, %ld, c.id, 'msg_' || md5(random()::text), 'customer.cell_entered', "
             "'regular/active', 'regular/sleeping', '{}', '%s', "
             "CASE WHEN '%s' = 'suppressed' THEN 'max_messages' END, %d, "
             "now() + interval '1 year', now() - interval '%d minutes', "
             "CASE WHEN %d > 0 THEN 503 END, CASE WHEN %d > 0 THEN 'HTTP 503' END, "
             "CASE WHEN '%s' = 'delivered' THEN now() END "
             "FROM customers c WHERE c.workspace_id = 1 AND c.external_id = '%s' RETURNING id",
             campaign, status, status, attempts, age_minutes, attempts, attempts, status, cust);
    long id = harness_sql_long(sql);
    ck_assert_int_gt(id, 0);
    for (int a = 0; a < attempts; a++) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO delivery_attempts (workspace_id, delivery_id, at, status_code, "
                 "latency_ms, error) VALUES (1, %ld, now() - interval '%d seconds', 503, %d, "
                 "'HTTP 503')",
                 id, 100 - a, 10 + a);
        exec_sql(sql);
    }
    return id;
}

/* ---- campaigns ---- */

START_TEST(campaign_crud_round_trip)
{
    struct resp *r = admin("POST", "/v1/campaigns", BASE_BODY);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    long id = (long)json_integer_value(json_object_get(r->json, "id"));
    char location[64];
    snprintf(location, sizeof location, "/v1/campaigns/%ld", id);
    ck_assert_str_eq(resp_header(r, "Location"), location);
    const char *secret = jstr(r->json, "secret");
    ck_assert_msg(is_secret(secret), "secret %s", secret);
    char saved[64];
    snprintf(saved, sizeof saved, "%s", secret);
    ck_assert_str_eq(jstr(r->json, "name"), "Win back regulars");
    ck_assert_str_eq(jstr(r->json, "kind"), "b2c");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "cells")), 2);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(r->json, "cells"), 1)),
                     "regular/asleep");
    ck_assert_str_eq(jstr(json_object_get(r->json, "trigger"), "type"), "enter");
    ck_assert_str_eq(jstr(r->json, "channel"), "email");
    ck_assert_str_eq(jstr(r->json, "strategy"), "reactivation");
    ck_assert_str_eq(jstr(r->json, "webhook_url"), HOOK);
    json_t *mm = json_object_get(r->json, "max_messages");
    ck_assert_int_eq(json_integer_value(json_object_get(mm, "count")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(mm, "per_days")), 14);
    ck_assert_str_eq(jstr(r->json, "reentry"), "after_exit");
    ck_assert(json_is_true(json_object_get(r->json, "active")));
    ck_assert(json_is_null(json_object_get(r->json, "paused_reason")));
    ck_assert(json_is_null(json_object_get(r->json, "secret_rotated_until")));
    ck_assert(json_is_null(json_object_get(r->json, "template")));
    ck_assert(json_is_string(json_object_get(r->json, "created_at")));
    resp_free(r);

    /* stored as given: the secret, the limit in ms, no schedule for an enter trigger */
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM campaigns WHERE id = %ld AND secret = '%s' AND max_count = 1 "
             "AND max_per_ms = 14 * 86400000::bigint AND next_run_at IS NULL",
             id, saved);
    ck_assert_int_eq(harness_sql_long(sql), 1);

    /* never shown again */
    r = get_ok(location);
    ck_assert_ptr_null(json_object_get(r->json, "secret"));
    ck_assert_ptr_null(strstr(r->body, saved));
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "id")), id);
    ck_assert_str_eq(jstr(r->json, "name"), "Win back regulars");
    resp_free(r);
    r = get_ok("/v1/campaigns");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 1);
    ck_assert_ptr_null(strstr(r->body, saved));
    resp_free(r);

    /* a partial update changes only what it names */
    r = admin("PATCH", location,
              "{\"name\":\"Win back\",\"max_messages\":null,\"reentry\":\"once\","
              "\"strategy\":null}");
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_str_eq(jstr(r->json, "name"), "Win back");
    ck_assert(json_is_null(json_object_get(r->json, "max_messages")));
    ck_assert(json_is_null(json_object_get(r->json, "strategy")));
    ck_assert_str_eq(jstr(r->json, "reentry"), "once");
    ck_assert_str_eq(jstr(r->json, "channel"), "email");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "cells")), 2);
    ck_assert_ptr_null(json_object_get(r->json, "secret"));
    resp_free(r);
    ck_assert_int_eq(harness_sql_long(sql), 0); /* max_count is gone… */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM campaigns WHERE id = %ld AND secret = '%s'", id,
             saved);
    ck_assert_int_eq(harness_sql_long(sql), 1); /* …the secret stays */

    r = admin("DELETE", location, NULL);
    ck_assert_int_eq(r->status, 204);
    resp_free(r);
    r = admin("GET", location, NULL);
    assert_problem(r, 404);
    resp_free(r);
    r = admin("DELETE", location, NULL);
    assert_problem(r, 404);
    resp_free(r);
    ck_assert_int_eq(count_campaigns(), 0);
}
END_TEST

START_TEST(list_is_ordered_by_id)
{
    long a = create_ok(BASE_BODY);
    long b = create_ok("{\"name\":\"B2B care\",\"kind\":\"b2b\",\"cells\":[\"regular/active\"],"
                       "\"channel\":\"call\",\"webhook_url\":\"http://crm.example.org/h\"}");
    struct resp *r = get_ok("/v1/campaigns");
    json_t *items = json_object_get(r->json, "items");
    ck_assert_int_eq(json_array_size(items), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(items, 0), "id")), a);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(items, 1), "id")), b);
    json_t *second = json_array_get(items, 1);
    ck_assert_str_eq(jstr(second, "kind"), "b2b");
    ck_assert(json_is_null(json_object_get(second, "max_messages")));
    ck_assert(json_is_null(json_object_get(second, "action")));
    ck_assert_str_eq(jstr(json_object_get(second, "trigger"), "type"), "enter");
    ck_assert(json_is_true(json_object_get(second, "active")));
    resp_free(r);
}
END_TEST

START_TEST(secret_rotation)
{
    struct resp *r = admin("POST", "/v1/campaigns", BASE_BODY);
    ck_assert_int_eq(r->status, 201);
    long id = (long)json_integer_value(json_object_get(r->json, "id"));
    char first[64];
    snprintf(first, sizeof first, "%s", jstr(r->json, "secret"));
    resp_free(r);

    char path[96];
    snprintf(path, sizeof path, "/v1/campaigns/%ld/rotate-secret", id);
    r = admin("POST", path, NULL);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    const char *second = jstr(r->json, "secret");
    ck_assert(is_secret(second));
    ck_assert_str_ne(second, first);
    ck_assert(json_is_string(json_object_get(r->json, "previous_valid_until")));
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM campaigns WHERE id = %ld AND secret = '%s' AND "
             "previous_secret = '%s' AND previous_until BETWEEN now() + interval '23 hours 59 "
             "minutes' AND now() + interval '24 hours 1 minute'",
             id, second, first);
    ck_assert_int_eq(harness_sql_long(sql), 1);
    resp_free(r);

    snprintf(path, sizeof path, "/v1/campaigns/%ld", id);
    r = get_ok(path);
    ck_assert(json_is_string(json_object_get(r->json, "secret_rotated_until")));
    ck_assert_ptr_null(json_object_get(r->json, "secret"));
    resp_free(r);

    r = admin("POST", "/v1/campaigns/999999/rotate-secret", NULL);
    assert_problem(r, 404);
    resp_free(r);
}
END_TEST

START_TEST(pause_and_resume)
{
    long id = create_ok(BASE_BODY);
    char path[64];
    snprintf(path, sizeof path, "/v1/campaigns/%ld", id);
    struct resp *r = admin("PATCH", path, "{\"active\":false}");
    ck_assert_int_eq(r->status, 200);
    ck_assert(json_is_false(json_object_get(r->json, "active")));
    resp_free(r);
    r = get_ok("/v1/campaigns");
    ck_assert(json_is_false(
        json_object_get(json_array_get(json_object_get(r->json, "items"), 0), "active")));
    resp_free(r);

    /* as the dispatcher pauses a failing endpoint */
    char sql[512];
    snprintf(sql, sizeof sql,
             "UPDATE campaigns SET paused_reason = 'endpoint failing since 5 days', "
             "failing_since = now() - interval '5 days' WHERE id = %ld",
             id);
    exec_sql(sql);
    r = get_ok(path);
    ck_assert_str_eq(jstr(r->json, "paused_reason"), "endpoint failing since 5 days");
    resp_free(r);

    r = admin("PATCH", path, "{\"active\":true}");
    ck_assert_int_eq(r->status, 200);
    ck_assert(json_is_true(json_object_get(r->json, "active")));
    ck_assert(json_is_null(json_object_get(r->json, "paused_reason")));
    resp_free(r);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM campaigns WHERE id = %ld AND failing_since IS NULL "
             "AND paused_reason IS NULL AND active",
             id);
    ck_assert_int_eq(harness_sql_long(sql), 1);
}
END_TEST

START_TEST(triggers_schedule_and_date)
{
    long s =
        create_ok("{\"name\":\"Weekly\",\"cells\":[\"promising/sleeping\"],\"channel\":\"sms\","
                  "\"webhook_url\":\"" HOOK "\",\"trigger\":{\"type\":\"schedule\","
                  "\"every\":\"7d\"}}");
    long d =
        create_ok("{\"name\":\"Birthday\",\"cells\":[\"regular/active\"],\"channel\":\"email\","
                  "\"webhook_url\":\"" HOOK "\",\"trigger\":{\"type\":\"date\","
                  "\"field\":\"birthday\",\"days_before\":7},\"reentry\":\"always\"}");
    long m = create_ok("{\"name\":\"8 March\",\"cells\":[\"new/active\",\"regular/active\"],"
                       "\"channel\":\"messenger\",\"webhook_url\":\"" HOOK "\","
                       "\"trigger\":{\"type\":\"date\",\"month_day\":\"03-08\"}}");
    char sql[512], path[64];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM campaigns WHERE id = %ld AND every_ms = 604800000 "
             "AND next_run_at IS NOT NULL",
             s);
    ck_assert_int_eq(harness_sql_long(sql), 1);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM campaigns WHERE id = %ld AND date_field = 'birthday' "
             "AND days_before = 7 AND next_run_at IS NOT NULL",
             d);
    ck_assert_int_eq(harness_sql_long(sql), 1);

    snprintf(path, sizeof path, "/v1/campaigns/%ld", s);
    struct resp *r = get_ok(path);
    json_t *t = json_object_get(r->json, "trigger");
    ck_assert_str_eq(jstr(t, "type"), "schedule");
    ck_assert_str_eq(jstr(t, "every"), "7d");
    resp_free(r);
    snprintf(path, sizeof path, "/v1/campaigns/%ld", d);
    r = get_ok(path);
    t = json_object_get(r->json, "trigger");
    ck_assert_str_eq(jstr(t, "field"), "birthday");
    ck_assert_int_eq(json_integer_value(json_object_get(t, "days_before")), 7);
    ck_assert_str_eq(jstr(r->json, "reentry"), "always");
    resp_free(r);
    snprintf(path, sizeof path, "/v1/campaigns/%ld", m);
    r = get_ok(path);
    t = json_object_get(r->json, "trigger");
    ck_assert_str_eq(jstr(t, "month_day"), "03-08");
    ck_assert_int_eq(json_integer_value(json_object_get(t, "days_before")), 0);
    resp_free(r);

    /* back to an enter trigger: no more runs */
    snprintf(path, sizeof path, "/v1/campaigns/%ld", s);
    r = admin("PATCH", path, "{\"trigger\":{\"type\":\"enter\"}}");
    ck_assert_int_eq(r->status, 200);
    ck_assert_ptr_null(json_object_get(json_object_get(r->json, "trigger"), "every"));
    resp_free(r);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM campaigns WHERE id = %ld AND trigger_type = 'enter' "
             "AND every_ms IS NULL AND next_run_at IS NULL",
             s);
    ck_assert_int_eq(harness_sql_long(sql), 1);
}
END_TEST

START_TEST(campaign_validation_is_422_and_writes_nothing)
{
    create_ok(BASE_BODY);
    struct resp *before = get_ok("/v1/campaigns");
    static const struct {
        const char *body, *pointer;
    } cases[] = {
        {"[]", ""},
        {"{\"name\":42,\"cells\":[\"new/active\"],\"channel\":\"email\",\"webhook_url\":\"" HOOK
         "\"}",
         "/name"},
        {"{\"cells\":[\"new/active\"],\"channel\":\"email\",\"webhook_url\":\"" HOOK "\"}",
         "/name"},
        {"{\"name\":\"x\",\"channel\":\"email\",\"webhook_url\":\"" HOOK "\"}", "/cells"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"webhook_url\":\"" HOOK "\"}", "/channel"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"channel\":\"email\"}", "/webhook_url"},
        {"{\"name\":\"x\",\"cells\":[\"vip/active\"],\"channel\":\"email\",\"webhook_url\":\"" HOOK
         "\"}",
         "/cells/0"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\",\"new/active\"],\"channel\":\"email\","
         "\"webhook_url\":\"" HOOK "\"}",
         "/cells/1"},
        {"{\"name\":\"x\",\"cells\":[],\"channel\":\"email\",\"webhook_url\":\"" HOOK "\"}",
         "/cells"},
        {"{\"name\":\"x\",\"cells\":\"new/active\",\"channel\":\"email\",\"webhook_url\":\"" HOOK
         "\"}",
         "/cells"},
        {"{\"name\":\"x\",\"cells\":[7],\"channel\":\"email\",\"webhook_url\":\"" HOOK "\"}",
         "/cells/0"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"channel\":\"fax\",\"webhook_url\":\"" HOOK
         "\"}",
         "/channel"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"channel\":\"email\","
         "\"webhook_url\":\"ftp://bot.example.org/x\"}",
         "/webhook_url"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"channel\":\"email\","
         "\"webhook_url\":\"https://\"}",
         "/webhook_url"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"channel\":\"email\",\"webhook_url\":7}",
         "/webhook_url"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"channel\":\"email\",\"webhook_url\":\"" HOOK
         "\",\"trigger\":{\"type\":\"leave\"}}",
         "/trigger/type"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"channel\":\"email\",\"webhook_url\":\"" HOOK
         "\",\"trigger\":\"enter\"}",
         "/trigger"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"channel\":\"email\",\"webhook_url\":\"" HOOK
         "\",\"trigger\":{\"type\":\"schedule\",\"every\":\"30s\"}}",
         "/trigger/every"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"channel\":\"email\",\"webhook_url\":\"" HOOK
         "\",\"trigger\":{\"type\":\"schedule\",\"every\":\"7x\"}}",
         "/trigger/every"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"channel\":\"email\",\"webhook_url\":\"" HOOK
         "\",\"trigger\":{\"type\":\"schedule\"}}",
         "/trigger/every"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"channel\":\"email\",\"webhook_url\":\"" HOOK
         "\",\"trigger\":{\"type\":\"date\",\"month_day\":\"02-30\"}}",
         "/trigger/month_day"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"channel\":\"email\",\"webhook_url\":\"" HOOK
         "\",\"trigger\":{\"type\":\"date\",\"field\":\"anniversary\"}}",
         "/trigger/field"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"channel\":\"email\",\"webhook_url\":\"" HOOK
         "\",\"trigger\":{\"type\":\"date\",\"field\":\"birthday\",\"days_before\":367}}",
         "/trigger/days_before"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"channel\":\"email\",\"webhook_url\":\"" HOOK
         "\",\"trigger\":{\"type\":\"date\"}}",
         "/trigger"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"channel\":\"email\",\"webhook_url\":\"" HOOK
         "\",\"trigger\":{\"type\":\"enter\",\"every\":\"7d\"}}",
         "/trigger/every"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"channel\":\"email\",\"webhook_url\":\"" HOOK
         "\",\"max_messages\":{\"count\":0,\"per_days\":7}}",
         "/max_messages/count"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"channel\":\"email\",\"webhook_url\":\"" HOOK
         "\",\"max_messages\":{\"count\":1,\"per_days\":1.5}}",
         "/max_messages/per_days"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"channel\":\"email\",\"webhook_url\":\"" HOOK
         "\",\"reentry\":\"never\"}",
         "/reentry"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"channel\":\"email\",\"webhook_url\":\"" HOOK
         "\",\"active\":\"yes\"}",
         "/active"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"channel\":\"email\",\"webhook_url\":\"" HOOK
         "\",\"kind\":\"b2g\"}",
         "/kind"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"channel\":\"email\",\"webhook_url\":\"" HOOK
         "\",\"secret\":\"whsec_AAAA\"}",
         "/secret"},
        {"{\"name\":\"x\",\"cells\":[\"new/active\"],\"channel\":\"email\",\"webhook_url\":\"" HOOK
         "\",\"strategy\":[]}",
         "/strategy"},
        {"{\"template\":\"b2c-nowhere\",\"webhook_url\":\"" HOOK "\"}", "/template"},
        {"{\"template\":\"b2c-regular-asleep\"}", "/webhook_url"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct resp *r = admin("POST", "/v1/campaigns", cases[i].body);
        expect_invalid(r, cases[i].pointer, cases[i].body);
        resp_free(r);
    }
    /* an oversized name (201 characters; 200 are fine) */
    char body[1024];
    char name[202];
    memset(name, 'n', 201);
    name[201] = '\0';
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"cells\":[\"new/active\"],\"channel\":\"email\","
             "\"webhook_url\":\"" HOOK "\"}",
             name);
    struct resp *r = admin("POST", "/v1/campaigns", body);
    expect_invalid(r, "/name", "201-character name");
    resp_free(r);
    /* malformed JSON: 400 */
    r = admin("POST", "/v1/campaigns", "{\"name\": \"x\",");
    assert_problem(r, 400);
    resp_free(r);

    ck_assert_int_eq(count_campaigns(), 1);
    struct resp *after = get_ok("/v1/campaigns");
    ck_assert_str_eq(after->body, before->body);
    resp_free(after);
    resp_free(before);

    name[200] = '\0';
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"cells\":[\"new/active\"],\"channel\":\"email\","
             "\"webhook_url\":\"" HOOK "\"}",
             name);
    create_ok(body);
}
END_TEST

START_TEST(patch_validation_changes_nothing)
{
    long id = create_ok(BASE_BODY);
    char path[64];
    snprintf(path, sizeof path, "/v1/campaigns/%ld", id);
    struct resp *before = get_ok(path);
    static const struct {
        const char *body, *pointer;
    } cases[] = {
        {"{\"cells\":[\"regular/asleep\",\"nowhere/asleep\"]}", "/cells/1"},
        {"{\"name\":null}", "/name"},
        {"{\"webhook_url\":\"file:///etc/passwd\"}", "/webhook_url"},
        {"{\"secret\":\"whsec_x\"}", "/secret"},
        {"{\"id\":5}", "/id"},
        {"{\"trigger\":{\"type\":\"schedule\",\"every\":\"10s\"}}", "/trigger/every"},
        {"{\"active\":1}", "/active"},
        {"{\"template\":\"nope\"}", "/template"},
        {"\"text\"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct resp *r = admin("PATCH", path, cases[i].body);
        expect_invalid(r, cases[i].pointer, cases[i].body);
        resp_free(r);
    }
    struct resp *after = get_ok(path);
    ck_assert_str_eq(after->body, before->body);
    resp_free(after);
    resp_free(before);

    struct resp *r = admin("PATCH", "/v1/campaigns/999999", "{\"name\":\"x\"}");
    assert_problem(r, 404);
    resp_free(r);
    r = admin("PATCH", "/v1/campaigns/abc", "{\"name\":\"x\"}");
    assert_problem(r, 404);
    resp_free(r);
}
END_TEST

START_TEST(campaign_scopes_and_ids)
{
    char read_key[256];
    snprintf(read_key, sizeof read_key, "%s", make_key(NULL, "[\"read\"]"));
    struct resp *r = with_key(read_key, "POST", "/v1/campaigns", BASE_BODY);
    assert_problem(r, 403);
    resp_free(r);
    r = http("POST", "/v1/campaigns", NULL, BASE_BODY);
    assert_problem(r, 401);
    resp_free(r);
    r = http("GET", "/v1/campaigns", NULL, NULL);
    assert_problem(r, 401);
    resp_free(r);
    ck_assert_int_eq(count_campaigns(), 0);

    long id = create_ok(BASE_BODY);
    char path[96];
    snprintf(path, sizeof path, "/v1/campaigns/%ld", id);
    /* read may look, not touch */
    r = with_key(read_key, "GET", path, NULL);
    ck_assert_int_eq(r->status, 200);
    resp_free(r);
    r = with_key(read_key, "GET", "/v1/campaigns", NULL);
    ck_assert_int_eq(r->status, 200);
    resp_free(r);
    r = with_key(read_key, "PATCH", path, "{\"name\":\"x\"}");
    assert_problem(r, 403);
    resp_free(r);
    r = with_key(read_key, "DELETE", path, NULL);
    assert_problem(r, 403);
    resp_free(r);
    snprintf(path, sizeof path, "/v1/campaigns/%ld/rotate-secret", id);
    r = with_key(read_key, "POST", path, NULL);
    assert_problem(r, 403);
    resp_free(r);

    const char *unknown[] = {"/v1/campaigns/999999", "/v1/campaigns/abc", "/v1/campaigns/0",
                             "/v1/campaigns/-1", "/v1/campaigns/99999999999999999999"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        r = admin("GET", unknown[i], NULL);
        assert_problem(r, 404);
        resp_free(r);
        r = admin("DELETE", unknown[i], NULL);
        assert_problem(r, 404);
        resp_free(r);
    }
    /* another workspace's campaign is not found either */
    r = admin("POST", "/v1/workspaces", "{\"name\":\"shop-b\"}");
    ck_assert_int_eq(r->status, 201);
    resp_free(r);
    char b_key[256];
    snprintf(b_key, sizeof b_key, "%s", make_key("shop-b", "[\"admin\"]"));
    snprintf(path, sizeof path, "/v1/campaigns/%ld", id);
    r = with_key(b_key, "GET", path, NULL);
    assert_problem(r, 404);
    resp_free(r);
    r = with_key(b_key, "DELETE", path, NULL);
    assert_problem(r, 404);
    resp_free(r);
    r = with_key(b_key, "GET", "/v1/campaigns", NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    resp_free(r);
    ck_assert_int_eq(count_campaigns(), 1);
}
END_TEST

/* ---- templates ---- */

START_TEST(templates_cover_every_default_cell)
{
    char read_key[256];
    snprintf(read_key, sizeof read_key, "%s", make_key(NULL, "[\"read\"]"));
    struct resp *r = with_key(read_key, "GET", "/v1/campaign-templates", NULL);
    ck_assert_int_eq(r->status, 200);
    json_t *list = json_object_get(r->json, "templates");
    ck_assert_int_eq(json_array_size(list), 18);
    const char *kinds[] = {"b2c", "b2b"};
    const char *rows[] = {"new", "promising", "regular"};
    const char *cols[] = {"active", "sleeping", "asleep"};
    for (int k = 0; k < 2; k++) {
        for (int f = 0; f < 3; f++) {
            for (int c = 0; c < 3; c++) {
                char cell[64], id[80];
                snprintf(cell, sizeof cell, "%s/%s", rows[f], cols[c]);
                snprintf(id, sizeof id, "%s-%s-%s", kinds[k], rows[f], cols[c]);
                int found = 0;
                for (size_t i = 0; i < json_array_size(list); i++) {
                    json_t *t = json_array_get(list, i);
                    if (strcmp(jstr(t, "kind"), kinds[k]) || strcmp(jstr(t, "cell"), cell))
                        continue;
                    found++;
                    ck_assert_str_eq(jstr(t, "id"), id);
                    ck_assert(strlen(jstr(t, "name")) > 0);
                    ck_assert(strlen(jstr(t, "strategy")) > 0);
                    ck_assert(strlen(jstr(t, "action")) > 0);
                    ck_assert(strlen(jstr(t, "channel")) > 0);
                    ck_assert_str_eq(jstr(json_object_get(t, "trigger"), "type"), "enter");
                }
                ck_assert_msg(found == 1, "%s %s: %d", kinds[k], cell, found);
            }
        }
    }
    resp_free(r);
    r = http("GET", "/v1/campaign-templates", NULL, NULL);
    assert_problem(r, 401);
    resp_free(r);
}
END_TEST

START_TEST(create_from_template)
{
    struct resp *r = admin("POST", "/v1/campaigns",
                           "{\"template\":\"b2c-regular-asleep\",\"webhook_url\":\"" HOOK "\"}");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    ck_assert_str_eq(jstr(r->json, "template"), "b2c-regular-asleep");
    ck_assert_str_eq(jstr(r->json, "kind"), "b2c");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "cells")), 1);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(r->json, "cells"), 0)),
                     "regular/asleep");
    ck_assert_str_eq(jstr(r->json, "channel"), "call");
    ck_assert_str_eq(jstr(r->json, "strategy"), "reactivation");
    ck_assert(strlen(jstr(r->json, "name")) > 0);
    ck_assert(strlen(jstr(r->json, "action")) > 0);
    ck_assert(is_secret(jstr(r->json, "secret")));
    resp_free(r);

    /* the body overrides the template's defaults */
    r = admin("POST", "/v1/campaigns",
              "{\"template\":\"b2b-new-active\",\"webhook_url\":\"" HOOK "\",\"name\":\"Onboarding"
              "\",\"channel\":\"email\",\"cells\":[\"new/active\",\"new/sleeping\"]}");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    ck_assert_str_eq(jstr(r->json, "kind"), "b2b");
    ck_assert_str_eq(jstr(r->json, "name"), "Onboarding");
    ck_assert_str_eq(jstr(r->json, "channel"), "email");
    ck_assert_str_eq(jstr(r->json, "strategy"), "engagement");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "cells")), 2);
    resp_free(r);
    ck_assert_int_eq(count_campaigns(), 2);
}
END_TEST

/* ---- the contact policy ---- */

START_TEST(contact_policy_round_trip)
{
    struct resp *r = get_ok("/v1/contact-policy");
    ck_assert(json_is_null(json_object_get(r->json, "max_messages")));
    ck_assert(json_is_null(json_object_get(r->json, "quiet_hours")));
    resp_free(r);

    const char *policy = "{\"max_messages\":{\"count\":2,\"per_days\":7},\"quiet_hours\":"
                         "{\"from\":\"21:00\",\"to\":\"09:00\",\"timezone\":\"Europe/Paris\"}}";
    r = admin("PUT", "/v1/contact-policy", policy);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    resp_free(r);
    r = get_ok("/v1/contact-policy");
    json_t *mm = json_object_get(r->json, "max_messages");
    ck_assert_int_eq(json_integer_value(json_object_get(mm, "count")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(mm, "per_days")), 7);
    json_t *q = json_object_get(r->json, "quiet_hours");
    ck_assert_str_eq(jstr(q, "from"), "21:00");
    ck_assert_str_eq(jstr(q, "to"), "09:00");
    ck_assert_str_eq(jstr(q, "timezone"), "Europe/Paris");
    char *saved = strdup(r->body);
    resp_free(r);
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM contact_policies WHERE "
                                      "workspace_id = 1 AND max_count = 2 AND max_per_ms = "
                                      "604800000 AND quiet_from_min = 1260 AND quiet_to_min = 540"),
                     1);

    static const struct {
        const char *body, *pointer;
    } bad[] = {
        {"{\"quiet_hours\":{\"from\":\"21:00\",\"to\":\"09:00\",\"timezone\":\"Mars/Olympus\"}}",
         "/quiet_hours/timezone"},
        {"{\"quiet_hours\":{\"from\":\"21:00\",\"to\":\"09:00\",\"timezone\":\"'; DROP TABLE "
         "campaigns; --\"}}",
         "/quiet_hours/timezone"},
        {"{\"quiet_hours\":{\"from\":\"24:00\",\"to\":\"09:00\",\"timezone\":\"UTC\"}}",
         "/quiet_hours/from"},
        {"{\"quiet_hours\":{\"from\":\"21:00\",\"to\":\"9:00\",\"timezone\":\"UTC\"}}",
         "/quiet_hours/to"},
        {"{\"quiet_hours\":{\"from\":\"21:00\",\"to\":\"21:00\",\"timezone\":\"UTC\"}}",
         "/quiet_hours/to"},
        {"{\"quiet_hours\":{\"from\":\"21:00\",\"to\":\"09:00\"}}", "/quiet_hours/timezone"},
        {"{\"quiet_hours\":\"night\"}", "/quiet_hours"},
        {"{\"max_messages\":{\"count\":2}}", "/max_messages/per_days"},
        {"{\"max_messages\":{\"count\":\"2\",\"per_days\":7}}", "/max_messages/count"},
        {"{\"max_messages\":{\"count\":2,\"per_days\":7,\"per\":\"week\"}}", "/max_messages/per"},
        {"{\"limit\":1}", "/limit"},
        {"[]", ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = admin("PUT", "/v1/contact-policy", bad[i].body);
        expect_invalid(r, bad[i].pointer, bad[i].body);
        resp_free(r);
    }
    r = admin("PUT", "/v1/contact-policy", "{\"max_messages\":");
    assert_problem(r, 400);
    resp_free(r);
    char read_key[256];
    snprintf(read_key, sizeof read_key, "%s", make_key(NULL, "[\"read\"]"));
    r = with_key(read_key, "PUT", "/v1/contact-policy", "{}");
    assert_problem(r, 403);
    resp_free(r);
    r = with_key(read_key, "GET", "/v1/contact-policy", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(r->body, saved);
    resp_free(r);
    free(saved);

    /* a PUT replaces: what it leaves out is gone */
    r = admin("PUT", "/v1/contact-policy",
              "{\"quiet_hours\":{\"from\":\"22:30\",\"to\":\"08:00\",\"timezone\":\"UTC\"}}");
    ck_assert_int_eq(r->status, 200);
    ck_assert(json_is_null(json_object_get(r->json, "max_messages")));
    ck_assert_str_eq(jstr(json_object_get(r->json, "quiet_hours"), "from"), "22:30");
    resp_free(r);
    r = admin("PUT", "/v1/contact-policy", "{\"max_messages\":null,\"quiet_hours\":null}");
    ck_assert_int_eq(r->status, 200);
    resp_free(r);
    r = get_ok("/v1/contact-policy");
    ck_assert(json_is_null(json_object_get(r->json, "max_messages")));
    ck_assert(json_is_null(json_object_get(r->json, "quiet_hours")));
    resp_free(r);
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM contact_policies"), 1);
}
END_TEST

/* ---- the delivery log ---- */

START_TEST(delivery_log_pages_filters_and_retries)
{
    buy("c-1", "A-1");
    long id = create_ok("{\"name\":\"Lost regulars\",\"cells\":[\"regular/asleep\"],"
                        "\"channel\":\"call\",\"webhook_url\":\"" HOOK "\"}");
    long delivered = insert_delivery(id, "c-1", "delivered", 40, 0);
    long dead = insert_delivery(id, "c-1", "dead", 30, 3);
    long failed = insert_delivery(id, "c-1", "failed", 20, 1);
    long suppressed = insert_delivery(id, "c-1", "suppressed", 10, 0);

    char path[128];
    snprintf(path, sizeof path, "/v1/campaigns/%ld/deliveries", id);
    struct resp *r = get_ok(path);
    json_t *list = json_object_get(r->json, "deliveries");
    ck_assert_int_eq(json_array_size(list), 4);
    ck_assert(json_is_null(json_object_get(r->json, "next_cursor")));
    long order[] = {suppressed, failed, dead, delivered}; /* newest first */
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, i), "id")),
                         order[i]);
    json_t *d = json_array_get(list, 2);
    ck_assert_int_eq(json_integer_value(json_object_get(d, "campaign_id")), id);
    ck_assert_str_eq(jstr(d, "customer_id"), "c-1");
    ck_assert_int_eq(strncmp(jstr(d, "webhook_id"), "msg_", 4), 0);
    ck_assert_str_eq(jstr(d, "type"), "customer.cell_entered");
    ck_assert_str_eq(jstr(d, "from"), "regular/active");
    ck_assert_str_eq(jstr(d, "to"), "regular/sleeping");
    ck_assert(json_is_null(json_object_get(d, "occasion")));
    ck_assert_str_eq(jstr(d, "status"), "dead");
    ck_assert_int_eq(json_integer_value(json_object_get(d, "attempt_count")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(d, "last_status")), 503);
    ck_assert_str_eq(jstr(d, "last_error"), "HTTP 503");
    ck_assert(json_is_string(json_object_get(d, "due_at")));
    ck_assert(json_is_null(json_object_get(d, "delivered_at")));
    json_t *attempts = json_object_get(d, "attempts");
    ck_assert_int_eq(json_array_size(attempts), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *a = json_array_get(attempts, i);
        ck_assert_int_eq(json_integer_value(json_object_get(a, "status_code")), 503);
        ck_assert_int_eq(json_integer_value(json_object_get(a, "latency_ms")), 10 + (long)i);
        ck_assert_str_eq(jstr(a, "error"), "HTTP 503");
        if (i > 0) /* oldest first */
            ck_assert(strcmp(jstr(json_array_get(attempts, i - 1), "at"), jstr(a, "at")) < 0);
    }
    ck_assert_str_eq(jstr(json_array_get(list, 0), "reason"), "max_messages");
    ck_assert(json_is_string(json_object_get(json_array_get(list, 3), "delivered_at")));
    ck_assert_int_eq(json_array_size(json_object_get(json_array_get(list, 3), "attempts")), 0);
    resp_free(r);

    /* filtered */
    char q[512];
    snprintf(q, sizeof q, "%s?status=dead", path);
    r = get_ok(q);
    list = json_object_get(r->json, "deliveries");
    ck_assert_int_eq(json_array_size(list), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 0), "id")), dead);
    resp_free(r);
    snprintf(q, sizeof q, "%s?status=pending", path);
    r = get_ok(q);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "deliveries")), 0);
    resp_free(r);

    /* pages of two, by cursor */
    snprintf(q, sizeof q, "%s?limit=2", path);
    r = get_ok(q);
    list = json_object_get(r->json, "deliveries");
    ck_assert_int_eq(json_array_size(list), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 1), "id")), failed);
    char cursor[128];
    snprintf(cursor, sizeof cursor, "%s", jstr(r->json, "next_cursor"));
    resp_free(r);
    snprintf(q, sizeof q, "%s?limit=2&cursor=%s", path, cursor);
    r = get_ok(q);
    list = json_object_get(r->json, "deliveries");
    ck_assert_int_eq(json_array_size(list), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 0), "id")), dead);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 1), "id")), delivered);
    ck_assert(json_is_null(json_object_get(r->json, "next_cursor")));
    resp_free(r);

    /* bad queries and unknown campaigns */
    const char *bad[] = {"?status=lost", "?status=",       "?limit=0",      "?limit=501",
                         "?limit=x",     "?cursor=%21%21", "?cursor=bm9wZQ"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(q, sizeof q, "%s%s", path, bad[i]);
        r = admin("GET", q, NULL);
        assert_problem(r, 422);
        resp_free(r);
    }
    r = admin("GET", "/v1/campaigns/999999/deliveries", NULL);
    assert_problem(r, 404);
    resp_free(r);
    r = admin("GET", "/v1/campaigns/x/deliveries", NULL);
    assert_problem(r, 404);
    resp_free(r);
    char read_key[256];
    snprintf(read_key, sizeof read_key, "%s", make_key(NULL, "[\"read\"]"));
    r = with_key(read_key, "GET", path, NULL);
    ck_assert_int_eq(r->status, 200);
    resp_free(r);

    /* retries: dead → pending (202); delivered, suppressed, pending → 409; unknown → 404. Once
     * re-queued, a running dispatcher may take the delivery at once (and suppress it: c-1 is not
     * in the campaign's cell), so the database is only asked whether it is still dead. */
    snprintf(q, sizeof q, "/v1/deliveries/%ld/retry", dead);
    r = with_key(read_key, "POST", q, NULL);
    assert_problem(r, 403);
    resp_free(r);
    r = admin("POST", q, NULL);
    ck_assert_msg(r->status == 202, "%ld %s", r->status, r->body);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "id")), dead);
    ck_assert_str_eq(jstr(r->json, "status"), "pending");
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "attempt_count")), 0);
    ck_assert(json_is_null(json_object_get(r->json, "reason")));
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "attempts")), 3); /* history kept */
    resp_free(r);
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM deliveries WHERE id = %ld AND status <> 'dead'",
             dead);
    ck_assert_int_eq(harness_sql_long(sql), 1);
    snprintf(q, sizeof q, "/v1/deliveries/%ld/retry", failed);
    r = admin("POST", q, NULL);
    ck_assert_int_eq(r->status, 202);
    resp_free(r);
    long refused[] = {delivered, suppressed};
    for (size_t i = 0; i < 2; i++) {
        snprintf(q, sizeof q, "/v1/deliveries/%ld/retry", refused[i]);
        r = admin("POST", q, NULL);
        assert_problem(r, 409);
        resp_free(r);
    }
    long pending = insert_delivery(id, "c-1", "pending", 5, 0);
    snprintf(q, sizeof q, "/v1/deliveries/%ld/retry", pending);
    r = admin("POST", q, NULL);
    assert_problem(r, 409);
    resp_free(r);
    r = admin("POST", "/v1/deliveries/999999/retry", NULL);
    assert_problem(r, 404);
    resp_free(r);
    r = admin("POST", "/v1/deliveries/abc/retry", NULL);
    assert_problem(r, 404);
    resp_free(r);

    /* the customer shows their recent deliveries */
    r = get_ok("/v1/customers/c-1");
    list = json_object_get(r->json, "recent_deliveries");
    ck_assert_int_eq(json_array_size(list), 5);
    d = json_array_get(list, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(d, "id")), pending);
    ck_assert_str_eq(jstr(d, "campaign_name"), "Lost regulars");
    ck_assert_str_eq(jstr(d, "customer_id"), "c-1");
    ck_assert_ptr_null(json_object_get(d, "attempts"));
    resp_free(r);

    /* erasure takes the customer's deliveries and attempts with it */
    r = admin("DELETE", "/v1/customers/c-1", NULL);
    ck_assert_int_eq(r->status, 204);
    resp_free(r);
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM deliveries"), 0);
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM delivery_attempts"), 0);
    ck_assert_int_eq(count_campaigns(), 1);
}
END_TEST

START_TEST(customer_without_deliveries_has_empty_list)
{
    buy("c-2", "B-1");
    struct resp *r = get_ok("/v1/customers/c-2");
    json_t *list = json_object_get(r->json, "recent_deliveries");
    ck_assert(json_is_array(list));
    ck_assert_int_eq(json_array_size(list), 0);
    resp_free(r);
}
END_TEST

START_TEST(recent_deliveries_are_capped_at_ten)
{
    buy("c-3", "C-1");
    long id = create_ok(BASE_BODY);
    for (int i = 0; i < 12; i++)
        insert_delivery(id, "c-3", "delivered", 100 - i, 0);
    struct resp *r = get_ok("/v1/customers/c-3");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "recent_deliveries")), 10);
    resp_free(r);
}
END_TEST

START_TEST(deleting_a_campaign_takes_its_deliveries)
{
    buy("c-4", "D-1");
    long id = create_ok(BASE_BODY);
    long other = create_ok(BASE_BODY);
    insert_delivery(id, "c-4", "dead", 10, 2);
    insert_delivery(id, "c-4", "delivered", 5, 1);
    long kept = insert_delivery(other, "c-4", "delivered", 5, 1);
    char path[64];
    snprintf(path, sizeof path, "/v1/campaigns/%ld", id);
    struct resp *r = admin("DELETE", path, NULL);
    ck_assert_int_eq(r->status, 204);
    resp_free(r);
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM deliveries"), 1);
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM delivery_attempts"), 1);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM deliveries WHERE id = %ld", kept);
    ck_assert_int_eq(harness_sql_long(sql), 1);
    ck_assert_int_eq(count_campaigns(), 1);
}
END_TEST

START_TEST(deleting_a_workspace_takes_campaign_data)
{
    struct resp *r = admin("POST", "/v1/workspaces", "{\"name\":\"shop-c\"}");
    ck_assert_int_eq(r->status, 201);
    resp_free(r);
    char key[256];
    snprintf(key, sizeof key, "%s", make_key("shop-c", "[\"admin\",\"ingest\"]"));
    r = with_key(key, "POST", "/v1/purchases",
                 "{\"order_id\":\"W-1\",\"customer_id\":\"w-1\",\"amount\":\"5.00\"}");
    ck_assert_int_eq(r->status, 200);
    resp_free(r);
    r = with_key(key, "POST", "/v1/campaigns", BASE_BODY);
    ck_assert_int_eq(r->status, 201);
    long id = (long)json_integer_value(json_object_get(r->json, "id"));
    resp_free(r);
    r = with_key(key, "PUT", "/v1/contact-policy",
                 "{\"max_messages\":{\"count\":1,\"per_days\":1}}");
    ck_assert_int_eq(r->status, 200);
    resp_free(r);
    char sql[768];
    snprintf(sql, sizeof sql,
             "WITH d AS (INSERT INTO deliveries (workspace_id, campaign_id, customer_id, msg_id, "
             "event_type, to_cell, body, status, due_at) SELECT c.workspace_id, %ld, c.id, "
             "'msg_w', 'customer.cell_entered', 'new/active', '{}', 'dead', now() FROM customers "
             "c WHERE c.external_id = 'w-1' RETURNING workspace_id, id) "
             "INSERT INTO delivery_attempts (workspace_id, delivery_id, at, latency_ms) "
             "SELECT workspace_id, id, now(), 5 FROM d",
             id);
    exec_sql(sql);
    exec_sql("INSERT INTO segment_snapshots (workspace_id, day, kind, cell, customers) "
             "SELECT id, current_date, 'b2c', 'new/active', 1 FROM workspaces "
             "WHERE name = 'shop-c'");
    r = admin("DELETE", "/v1/workspaces/shop-c", NULL);
    ck_assert_msg(r->status == 204, "%ld %s", r->status, r->body);
    resp_free(r);
    const char *tables[] = {"delivery_attempts", "deliveries", "campaigns", "contact_policies",
                            "segment_snapshots"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", tables[i]);
        ck_assert_msg(harness_sql_long(sql) == 0, "%s not emptied", tables[i]);
    }
}
END_TEST

static Suite *campaigns_suite(void)
{
    Suite *s = suite_create("campaigns");
    TCase *tc = tcase_create("http");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_checked_fixture(tc, test_setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, campaign_crud_round_trip);
    tcase_add_test(tc, list_is_ordered_by_id);
    tcase_add_test(tc, secret_rotation);
    tcase_add_test(tc, pause_and_resume);
    tcase_add_test(tc, triggers_schedule_and_date);
    tcase_add_test(tc, campaign_validation_is_422_and_writes_nothing);
    tcase_add_test(tc, patch_validation_changes_nothing);
    tcase_add_test(tc, campaign_scopes_and_ids);
    tcase_add_test(tc, templates_cover_every_default_cell);
    tcase_add_test(tc, create_from_template);
    tcase_add_test(tc, contact_policy_round_trip);
    tcase_add_test(tc, delivery_log_pages_filters_and_retries);
    tcase_add_test(tc, customer_without_deliveries_has_empty_list);
    tcase_add_test(tc, recent_deliveries_are_capped_at_ten);
    tcase_add_test(tc, deleting_a_campaign_takes_its_deliveries);
    tcase_add_test(tc, deleting_a_workspace_takes_campaign_data);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(campaigns_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
