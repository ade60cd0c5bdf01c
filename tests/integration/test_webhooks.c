/* Campaigns react: transitions enqueue deliveries in the same transaction, the dispatcher signs
 * and sends them to a real receiver on 127.0.0.1 that verifies every request with the reference
 * `standardwebhooks` library (tests/receiver). Durations come from the API and the config (short
 * retry schedules, second-long recency bounds): the clock is never faked. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static struct receiver R;

static void suite_setup(void)
{
    harness_start_db();
    receiver_start(&R, 0);
}

static void suite_teardown(void)
{
    receiver_stop(&R);
    harness_stop_all();
}

/* Fast everything: 1 s ticks, a short retry schedule; the receiver is on 127.0.0.1. */
static const char *const fast_env[] = {
    "SEGMENTD_SCHEDULER_INTERVAL=1s", "SEGMENTD_WEBHOOKS_ALLOW_PRIVATE=true",
    "SEGMENTD_WEBHOOKS_RETRY_SCHEDULE=1s,1s", "SEGMENTD_WEBHOOKS_POLL_INTERVAL=200ms", NULL};

static void test_setup(void)
{
    harness_start_server(fast_env, true);
    harness_reset();
}

static void test_teardown(void)
{
    if (H.server_pid > 0)
        harness_stop_server(SIGTERM);
}

/* ---- helpers ---- */

static void post(const char *path, const char *body)
{
    struct resp *r = admin("POST", path, body);
    ck_assert_msg(r->status == 200, "POST %s: %ld %s", path, r->status, r->body);
    resp_free(r);
}

static void purchase(const char *customer, const char *order, time_t at)
{
    char when[32], body[256];
    iso(at, when);
    snprintf(body, sizeof body,
             "{\"order_id\":\"%s\",\"customer_id\":\"%s\",\"amount\":\"12.50\","
             "\"purchased_at\":\"%s\",\"customer\":{\"name\":\"Anna\","
             "\"email\":\"Anna@Example.org\"}}",
             order, customer, when);
    post("/v1/purchases", body);
}

static void cancel(const char *customer, const char *order)
{
    char body[128];
    snprintf(body, sizeof body, "{\"customer_id\":\"%s\",\"order_id\":\"%s\"}", customer, order);
    post("/v1/cancellations", body);
}

/* Creates a campaign on `cells` (JSON array) whose webhook goes to the receiver's `path`; the
 * receiver learns the secret. `extra` adds members (",\"reentry\":\"once\""). Returns the id. */
static long campaign(const char *cells, const char *path, const char *extra)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"name\":\"test %s\",\"cells\":%s,\"channel\":\"email\",\"strategy\":\"retention\","
             "\"action\":\"Say hello\",\"webhook_url\":\"http://127.0.0.1:%d%s\"%s}",
             path, cells, R.port, path, extra ? extra : "");
    struct resp *r = admin("POST", "/v1/campaigns", body);
    ck_assert_msg(r->status == 201, "campaign: %ld %s", r->status, r->body);
    const char *secret = json_string_value(json_object_get(r->json, "secret"));
    ck_assert_ptr_nonnull(secret);
    receiver_secret(&R, path, secret, NULL);
    long id = (long)json_integer_value(json_object_get(r->json, "id"));
    resp_free(r);
    return id;
}

/* Waits until the receiver has `want` requests under `path` (up to `seconds`). */
static json_t *wait_received(const char *path, size_t want, int seconds)
{
    json_t *lines = NULL;
    for (int i = 0; i < seconds * 10; i++) {
        json_decref(lines);
        lines = receiver_lines(&R, path);
        if (json_array_size(lines) >= want)
            break;
        usleep(100 * 1000);
    }
    /* every body matches the webhook payload schema of openapi.yaml (the receiver checks) */
    size_t i;
    json_t *line;
    json_array_foreach(lines, i, line)
    {
        ck_assert_msg(json_is_true(json_object_get(line, "schema_valid")),
                      "webhook body does not match openapi.yaml's webhooks: %s",
                      json_string_value(json_object_get(line, "schema_error")));
    }
    return lines;
}

static bool wait_sql(const char *sql, long want, int seconds)
{
    for (int i = 0; i < seconds * 10; i++) {
        if (harness_sql_long(sql) == want)
            return true;
        usleep(100 * 1000);
    }
    return false;
}

/* The deliveries of a campaign, as the API shows them (status filter may be NULL). */
static json_t *deliveries(long campaign_id, const char *status)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/campaigns/%ld/deliveries%s%s", campaign_id,
             status ? "?status=" : "", status ? status : "");
    struct resp *r = admin("GET", path, NULL);
    ck_assert_msg(r->status == 200, "deliveries: %ld %s", r->status, r->body);
    json_t *list = json_incref(json_object_get(r->json, "deliveries"));
    resp_free(r);
    return list;
}

static const char *str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static long delivery_count(const char *where)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM deliveries WHERE %s", where);
    return harness_sql_long(sql);
}

/* ---- a customer falls asleep, the bot hears of it ---- */

START_TEST(falling_asleep_sends_a_verified_webhook)
{
    long id = campaign("[\"new/sleeping\", \"new/asleep\"]", "/ok/asleep", NULL);
    /* the b2c preset: 30 days; the purchase crosses into sleeping 3 s from now */
    time_t last = time(NULL) - 30 * 86400 + 3;
    purchase("c-1", "o-1", last);
    json_t *got = wait_received("/ok/asleep", 1, 30);
    ck_assert_msg(json_array_size(got) == 1, "received %zu", json_array_size(got));
    json_t *req = json_array_get(got, 0);
    ck_assert(json_is_true(json_object_get(req, "verified")));
    ck_assert_str_eq(str(req, "content_type"), "application/json");
    ck_assert_int_eq(strncmp(str(req, "webhook-id"), "msg_", 4), 0);
    json_t *body = json_object_get(req, "body");
    ck_assert_str_eq(str(body, "type"), "customer.cell_entered");
    json_t *data = json_object_get(body, "data");
    ck_assert_str_eq(str(data, "from"), "new/active");
    ck_assert_str_eq(str(data, "to"), "new/sleeping");
    json_t *customer = json_object_get(data, "customer");
    ck_assert_str_eq(str(customer, "customer_id"), "c-1");
    ck_assert_str_eq(str(customer, "name"), "Anna");
    ck_assert_str_eq(str(customer, "email"), "anna@example.org");
    ck_assert_str_eq(str(customer, "revenue"), "12.50");
    ck_assert_str_eq(str(customer, "cell"), "new/sleeping");
    ck_assert_int_eq(json_integer_value(json_object_get(customer, "purchases")), 1);
    char expect[32];
    iso(last, expect);
    ck_assert_str_eq(str(customer, "last_purchase_at"), expect);
    json_t *camp = json_object_get(data, "campaign");
    ck_assert_int_eq(json_integer_value(json_object_get(camp, "id")), id);
    ck_assert_str_eq(str(camp, "channel"), "email");
    ck_assert_str_eq(str(camp, "action"), "Say hello");
    /* the transition is at the exact boundary, not when the scheduler noticed */
    iso(last + 30 * 86400, expect);
    ck_assert_str_eq(str(body, "timestamp"), expect);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM transitions WHERE reason = 'time' AND to_cell = 'new/sleeping' "
             "AND at = '%s'",
             expect);
    ck_assert_int_eq(harness_sql_long(sql), 1);
    /* the log shows it delivered, with its attempt */
    ck_assert(wait_sql("SELECT count(*) FROM deliveries WHERE status = 'delivered'", 1, 10));
    json_t *list = deliveries(id, "delivered");
    ck_assert_int_eq(json_array_size(list), 1);
    json_t *d = json_array_get(list, 0);
    ck_assert_str_eq(str(d, "webhook_id"), str(req, "webhook-id"));
    ck_assert_int_eq(json_array_size(json_object_get(d, "attempts")), 1);
    json_decref(list);
    json_decref(got);
}
END_TEST

START_TEST(a_purchase_entry_is_sent_and_moves_between_cells_are_not)
{
    /* new customers: an entry from no cell at all; the second purchase moves them to promising */
    campaign("[\"new/active\"]", "/ok/welcome", NULL);
    purchase("w-1", "o-1", time(NULL));
    json_t *got = wait_received("/ok/welcome", 1, 20);
    ck_assert_int_eq(json_array_size(got), 1);
    json_t *data = json_object_get(json_object_get(json_array_get(got, 0), "body"), "data");
    ck_assert(json_is_null(json_object_get(data, "from")));
    ck_assert_str_eq(str(data, "to"), "new/active");
    json_decref(got);
    /* an import never notifies, though it places a new customer in the campaign's cell */
    const char *csv_headers[] = {"Authorization: Bearer " ADMIN_KEY, "Content-Type: text/csv",
                                 NULL};
    struct resp *r = http("POST", "/v1/imports", csv_headers,
                          "order_id,customer_id,amount,purchased_at\no-1,imp-1,5,"
                          "2026-11-01T10:00:00Z\n");
    ck_assert_msg(r->status == 202, "import: %ld %s", r->status, r->body);
    resp_free(r);
    ck_assert(wait_sql("SELECT count(*) FROM imports WHERE status = 'done'", 1, 20));
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM customers WHERE cell = 'new/active'"),
                     2);
    ck_assert_int_eq(delivery_count("true"), 1);
    long promising = campaign("[\"promising/active\", \"regular/active\"]", "/ok/grow", NULL);
    purchase("w-1", "o-2", time(NULL));
    got = wait_received("/ok/grow", 1, 20);
    ck_assert_int_eq(json_array_size(got), 1);
    json_decref(got);
    /* promising → regular stays inside the campaign's cells: not an entry */
    purchase("w-1", "o-3", time(NULL));
    purchase("w-1", "o-4", time(NULL));
    sleep(1);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM deliveries WHERE campaign_id = %ld", promising);
    ck_assert_int_eq(harness_sql_long(sql), 1);
}
END_TEST

START_TEST(a_matrix_change_notifies_only_when_asked)
{
    campaign("[\"new/sleeping\"]", "/ok/matrix", NULL);
    purchase("y-1", "o-1", time(NULL) - 10 * 86400);
    /* silent: the customer moves to new/sleeping, nothing is enqueued */
    ck_assert_int_eq(harness_put_recency("[\"5d\", \"90d\"]", ""), 200);
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM customers WHERE cell = 'new/sleeping'"),
                     1);
    ck_assert_int_eq(delivery_count("true"), 0);
    ck_assert_int_eq(harness_put_recency("[\"30d\", \"90d\"]", "?notify=false"), 200);
    ck_assert_int_eq(harness_put_recency("[\"5d\", \"90d\"]", "?notify=maybe"), 400);
    ck_assert_int_eq(delivery_count("true"), 0);
    /* asked: the same move now reaches the bot */
    ck_assert_int_eq(harness_put_recency("[\"5d\", \"90d\"]", "?notify=true"), 200);
    json_t *got = wait_received("/ok/matrix", 1, 20);
    ck_assert_int_eq(json_array_size(got), 1);
    json_t *data = json_object_get(json_object_get(json_array_get(got, 0), "body"), "data");
    ck_assert_str_eq(str(data, "from"), "new/active");
    ck_assert_str_eq(str(data, "to"), "new/sleeping");
    json_decref(got);
}
END_TEST

/* ---- retries ---- */

START_TEST(two_failures_then_success_is_three_attempts_with_one_id)
{
    long id = campaign("[\"new/active\"]", "/seq/500,500,200/a", NULL);
    purchase("r-1", "o-1", time(NULL));
    json_t *got = wait_received("/seq/500,500,200/a", 3, 30);
    ck_assert_int_eq(json_array_size(got), 3);
    const char *first = str(json_array_get(got, 0), "webhook-id");
    for (size_t i = 0; i < 3; i++) {
        json_t *req = json_array_get(got, i);
        ck_assert_str_eq(str(req, "webhook-id"), first);
        ck_assert(json_is_true(json_object_get(req, "verified")));
    }
    ck_assert(wait_sql("SELECT count(*) FROM deliveries WHERE status = 'delivered'", 1, 10));
    json_t *list = deliveries(id, NULL);
    ck_assert_int_eq(json_array_size(list), 1);
    json_t *attempts = json_object_get(json_array_get(list, 0), "attempts");
    ck_assert_int_eq(json_array_size(attempts), 3);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_array_get(attempts, 0), "status_code")), 500);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_array_get(attempts, 2), "status_code")), 200);
    json_decref(list);
    json_decref(got);
}
END_TEST

START_TEST(a_dead_endpoint_ends_dead_and_a_manual_retry_delivers)
{
    /* nothing listens on this port yet */
    int port = harness_free_port();
    char body[512];
    snprintf(body, sizeof body,
             "{\"name\":\"down\",\"cells\":[\"new/active\"],\"channel\":\"sms\","
             "\"webhook_url\":\"http://127.0.0.1:%d/ok/down\"}",
             port);
    struct resp *r = admin("POST", "/v1/campaigns", body);
    ck_assert_int_eq(r->status, 201);
    long id = (long)json_integer_value(json_object_get(r->json, "id"));
    char secret[64];
    snprintf(secret, sizeof secret, "%s", str(r->json, "secret"));
    resp_free(r);
    purchase("d-1", "o-1", time(NULL));
    /* the schedule 1s,1s: three attempts, then dead */
    ck_assert(wait_sql("SELECT count(*) FROM deliveries WHERE status = 'dead'", 1, 30));
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM delivery_attempts"), 3);
    json_t *list = deliveries(id, "dead");
    ck_assert_int_eq(json_array_size(list), 1);
    json_t *d = json_array_get(list, 0);
    ck_assert_ptr_nonnull(str(d, "last_error"));
    long delivery = (long)json_integer_value(json_object_get(d, "id"));
    json_decref(list);
    /* the bot comes back; an operator re-queues the delivery */
    struct receiver back;
    receiver_start(&back, port);
    receiver_secret(&back, "/ok/down", secret, NULL);
    char path[64];
    snprintf(path, sizeof path, "/v1/deliveries/%ld/retry", delivery);
    r = admin("POST", path, NULL);
    ck_assert_msg(r->status == 202, "retry: %ld %s", r->status, r->body);
    resp_free(r);
    ck_assert(wait_sql("SELECT count(*) FROM deliveries WHERE status = 'delivered'", 1, 20));
    json_t *got = receiver_lines(&back, "/ok/down");
    ck_assert_int_eq(json_array_size(got), 1);
    ck_assert(json_is_true(json_object_get(json_array_get(got, 0), "verified")));
    json_decref(got);
    receiver_stop(&back);
}
END_TEST

START_TEST(gone_pauses_the_campaign)
{
    long id = campaign("[\"new/active\"]", "/status/410/gone", NULL);
    purchase("g-1", "o-1", time(NULL));
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM campaigns WHERE id = %ld AND NOT active", id);
    ck_assert(wait_sql(sql, 1, 20));
    char path[64];
    snprintf(path, sizeof path, "/v1/campaigns/%ld", id);
    struct resp *r = admin("GET", path, NULL);
    ck_assert(json_is_false(json_object_get(r->json, "active")));
    ck_assert_ptr_nonnull(strstr(str(r->json, "paused_reason"), "410"));
    resp_free(r);
    /* paused: a further entry enqueues nothing */
    purchase("g-2", "o-1", time(NULL));
    sleep(1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM deliveries WHERE campaign_id = %ld", id);
    ck_assert_int_eq(harness_sql_long(sql), 1);
}
END_TEST

START_TEST(retry_after_timeouts_and_redirects)
{
    harness_stop_server(SIGTERM);
    const char *env[] = {
        "SEGMENTD_WEBHOOKS_ALLOW_PRIVATE=true",  "SEGMENTD_WEBHOOKS_RETRY_SCHEDULE=1s,1s",
        "SEGMENTD_WEBHOOKS_TIMEOUT=1s",          "SEGMENTD_WEBHOOKS_DISABLE_AFTER=1500ms",
        "SEGMENTD_WEBHOOKS_POLL_INTERVAL=200ms", NULL};
    harness_start_server(env, true);
    long later = campaign("[\"new/active\"]", "/retry-after/3/a", NULL);
    long slow = campaign("[\"new/active\"]", "/slow/3000/a", NULL);
    long moved = campaign("[\"new/active\"]", "/status/302/a", NULL);
    purchase("t-1", "o-1", time(NULL));
    /* 503 + Retry-After: 3 → the second attempt waits 3 s, not the schedule's 1 s */
    json_t *got = wait_received("/retry-after/3/a", 2, 30);
    ck_assert_int_eq(json_array_size(got), 2);
    json_int_t gap = json_integer_value(json_object_get(json_array_get(got, 1), "received_at_ms")) -
                     json_integer_value(json_object_get(json_array_get(got, 0), "received_at_ms"));
    ck_assert_msg(gap >= 2900, "second attempt after %lld ms", (long long)gap);
    json_decref(got);
    /* a timeout and a redirect are failures, retried; endpoints that never succeed for
     * disable_after (1.5 s here) get their campaign paused, with the reason */
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM campaigns WHERE id IN (%ld, %ld) AND NOT active "
             "AND paused_reason LIKE '%%no successful delivery%%'",
             slow, moved);
    ck_assert(wait_sql(sql, 2, 30));
    snprintf(sql, sizeof sql,
             "SELECT (count(*) >= 2 AND bool_and(a.status_code IS NULL AND a.error ILIKE "
             "'%%time%%'))::int"
             " FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id "
             "WHERE d.campaign_id = %ld",
             slow);
    ck_assert_int_eq(harness_sql_long(sql), 1);
    snprintf(
        sql, sizeof sql,
        "SELECT (count(*) >= 2 AND bool_and(a.status_code = 302))::int FROM delivery_attempts a "
        "JOIN deliveries d ON d.id = a.delivery_id WHERE d.campaign_id = %ld",
        moved);
    ck_assert_int_eq(harness_sql_long(sql), 1);
    got = receiver_lines(&R, "/ok/");
    size_t elsewhere = 0; /* a followed redirect would land on the receiver's root */
    for (size_t i = 0; i < json_array_size(got); i++)
        elsewhere += strcmp(str(json_array_get(got, i), "method"), "GET") == 0;
    ck_assert_uint_eq(elsewhere, 0);
    json_decref(got);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM campaigns WHERE id = %ld AND active", later);
    ck_assert_int_eq(harness_sql_long(sql), 1); /* it succeeded in the end */
}
END_TEST

/* ---- rotation: both secrets sign for a day ---- */

/* Points campaign `id` at the receiver's `path`, which verifies with `secret` only. */
static void repoint(long id, const char *path, const char *secret)
{
    char patch[256], url[64];
    snprintf(patch, sizeof patch, "{\"webhook_url\":\"http://127.0.0.1:%d%s\"}", R.port, path);
    snprintf(url, sizeof url, "/v1/campaigns/%ld", id);
    struct resp *r = admin("PATCH", url, patch);
    ck_assert_msg(r->status == 200, "PATCH: %ld %s", r->status, r->body);
    resp_free(r);
    receiver_secret(&R, path, secret, NULL);
}

START_TEST(after_a_rotation_old_and_new_secrets_both_verify)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"name\":\"rotating\",\"cells\":[\"new/active\"],\"channel\":\"email\","
             "\"webhook_url\":\"http://127.0.0.1:%d/ok/rot\"}",
             R.port);
    struct resp *r = admin("POST", "/v1/campaigns", body);
    ck_assert_int_eq(r->status, 201);
    long id = (long)json_integer_value(json_object_get(r->json, "id"));
    char old[64], fresh[64], path[64];
    snprintf(old, sizeof old, "%s", str(r->json, "secret"));
    resp_free(r);
    snprintf(path, sizeof path, "/v1/campaigns/%ld/rotate-secret", id);
    r = admin("POST", path, NULL);
    ck_assert_msg(r->status == 200, "rotate: %ld %s", r->status, r->body);
    snprintf(fresh, sizeof fresh, "%s", str(r->json, "secret"));
    resp_free(r);
    ck_assert_str_ne(old, fresh);
    /* a receiver that knows only the new secret, then one that knows only the old one */
    repoint(id, "/ok/rot-new", fresh);
    purchase("k-1", "o-1", time(NULL));
    json_t *got = wait_received("/ok/rot-new", 1, 20);
    ck_assert_int_eq(json_array_size(got), 1);
    ck_assert(json_is_true(json_object_get(json_array_get(got, 0), "verified")));
    /* two signatures, space-separated */
    ck_assert_ptr_nonnull(strchr(str(json_array_get(got, 0), "webhook-signature"), ' '));
    json_decref(got);
    repoint(id, "/ok/rot-old", old);
    purchase("k-2", "o-1", time(NULL));
    got = wait_received("/ok/rot-old", 1, 20);
    ck_assert_int_eq(json_array_size(got), 1);
    ck_assert(json_is_true(json_object_get(json_array_get(got, 0), "verified")));
    json_decref(got);
}
END_TEST

/* ---- the contact policy holds back what it should ---- */

START_TEST(quiet_hours_delay_to_their_end)
{
    /* a window around now, in UTC */
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    int from = (tm.tm_hour * 60 + tm.tm_min + 1440 - 60) % 1440;
    int to = (tm.tm_hour * 60 + tm.tm_min + 120) % 1440;
    char body[256];
    snprintf(body, sizeof body,
             "{\"quiet_hours\":{\"from\":\"%02d:%02d\",\"to\":\"%02d:%02d\",\"timezone\":\"UTC\"}}",
             from / 60, from % 60, to / 60, to % 60);
    struct resp *r = admin("PUT", "/v1/contact-policy", body);
    ck_assert_msg(r->status == 200, "policy: %ld %s", r->status, r->body);
    resp_free(r);
    campaign("[\"new/active\"]", "/ok/quiet", NULL);
    purchase("q-1", "o-1", time(NULL));
    /* held: still pending, due when the window ends (between 1 and 2 hours from now) */
    ck_assert(wait_sql("SELECT count(*) FROM deliveries WHERE status = 'pending' "
                       "AND due_at > now() + interval '59 minutes' "
                       "AND due_at <= now() + interval '2 hours'",
                       1, 20));
    sleep(1);
    json_t *got = receiver_lines(&R, "/ok/quiet");
    ck_assert_int_eq(json_array_size(got), 0);
    json_decref(got);
}
END_TEST

START_TEST(opted_out_customers_get_nothing)
{
    campaign("[\"new/active\"]", "/ok/optout", NULL);
    purchase("x-1", "o-1", time(NULL) - 60);
    ck_assert(wait_sql("SELECT count(*) FROM deliveries WHERE status = 'delivered'", 1, 20));
    struct resp *r = admin("PATCH", "/v1/customers/x-1", "{\"contact_opt_out\":true}");
    ck_assert_int_eq(r->status, 200);
    resp_free(r);
    /* leave the cell and come back: a new entry, held back */
    cancel("x-1", "o-1");
    purchase("x-1", "o-2", time(NULL));
    ck_assert(wait_sql("SELECT count(*) FROM deliveries WHERE status = 'suppressed' "
                       "AND reason = 'opted_out'",
                       1, 20));
    json_t *got = receiver_lines(&R, "/ok/optout");
    ck_assert_int_eq(json_array_size(got), 1);
    json_decref(got);
}
END_TEST

START_TEST(max_messages_of_a_campaign_and_of_the_policy)
{
    /* the campaign allows one message a day */
    long id =
        campaign("[\"new/active\"]", "/ok/max", ",\"max_messages\":{\"count\":1,\"per_days\":1}");
    purchase("m-1", "o-1", time(NULL) - 60);
    ck_assert(wait_sql("SELECT count(*) FROM deliveries WHERE status = 'delivered'", 1, 20));
    cancel("m-1", "o-1");
    purchase("m-1", "o-2", time(NULL));
    ck_assert(wait_sql("SELECT count(*) FROM deliveries WHERE status = 'suppressed' "
                       "AND reason = 'max_messages'",
                       1, 20));
    json_t *list = deliveries(id, "suppressed");
    ck_assert_int_eq(json_array_size(list), 1);
    ck_assert_str_eq(str(json_array_get(list, 0), "reason"), "max_messages");
    json_decref(list);
    /* the policy: at most one message a week across campaigns */
    struct resp *r =
        admin("PUT", "/v1/contact-policy", "{\"max_messages\":{\"count\":1,\"per_days\":7}}");
    ck_assert_int_eq(r->status, 200);
    resp_free(r);
    campaign("[\"promising/active\"]", "/ok/max-other", NULL);
    purchase("m-1", "o-3", time(NULL)); /* promising now: another campaign */
    ck_assert(wait_sql("SELECT count(*) FROM deliveries WHERE status = 'suppressed' "
                       "AND reason = 'max_messages'",
                       2, 20));
    ck_assert_int_eq(delivery_count("status = 'delivered'"), 1);
}
END_TEST

START_TEST(reentry_once_holds_back_a_second_entry)
{
    long once = campaign("[\"new/active\"]", "/ok/once", ",\"reentry\":\"once\"");
    long always = campaign("[\"new/active\"]", "/ok/always", ",\"reentry\":\"always\"");
    purchase("e-1", "o-1", time(NULL) - 60);
    ck_assert(wait_sql("SELECT count(*) FROM deliveries WHERE status = 'delivered'", 2, 20));
    cancel("e-1", "o-1");
    purchase("e-1", "o-2", time(NULL));
    ck_assert(wait_sql("SELECT count(*) FROM deliveries WHERE status = 'delivered'", 3, 20));
    char where[128];
    snprintf(where, sizeof where,
             "campaign_id = %ld AND status = 'suppressed' AND reason = 'reentry'", once);
    ck_assert_int_eq(delivery_count(where), 1);
    snprintf(where, sizeof where, "campaign_id = %ld AND status = 'delivered'", always);
    ck_assert_int_eq(delivery_count(where), 2);
}
END_TEST

/* ---- schedule and date campaigns, the daily snapshot ---- */

static void purchase_born(const char *customer, const char *birthday)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"order_id\":\"o-1\",\"customer_id\":\"%s\",\"amount\":5,"
             "\"customer\":{\"birthday\":\"%s\"}}",
             customer, birthday);
    post("/v1/purchases", body);
}

START_TEST(schedule_campaigns_send_each_period_once)
{
    purchase("s-1", "o-1", time(NULL));
    purchase("s-2", "o-1", time(NULL));
    long id = campaign("[\"new/active\"]", "/ok/weekly",
                       ",\"trigger\":{\"type\":\"schedule\",\"every\":\"7d\"},"
                       "\"reentry\":\"always\"");
    json_t *got = wait_received("/ok/weekly", 2, 20);
    ck_assert_int_eq(json_array_size(got), 2);
    ck_assert_str_eq(str(json_object_get(json_array_get(got, 0), "body"), "type"),
                     "customer.scheduled");
    json_decref(got);
    sleep(2); /* later ticks of the same period add nothing */
    char where[96];
    snprintf(where, sizeof where, "campaign_id = %ld", id);
    ck_assert_int_eq(delivery_count(where), 2);
    /* the next period (brought forward by hand): everyone again, since reentry is always */
    char sql[160];
    PGconn *c = harness_db();
    snprintf(sql, sizeof sql, "UPDATE campaigns SET next_run_at = now() WHERE id = %ld", id);
    PQclear(PQexec(c, sql));
    PQfinish(c);
    ck_assert(wait_sql("SELECT count(DISTINCT occasion) FROM deliveries", 2, 20));
    ck_assert_int_eq(delivery_count(where), 4);
}
END_TEST

START_TEST(date_campaigns_greet_birthdays_and_fixed_days)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char today[40], other[40], month_day[32];
    snprintf(today, sizeof today, "1990-%02d-%02d", tm.tm_mon + 1, tm.tm_mday);
    snprintf(other, sizeof other, "1990-%02d-%02d", (tm.tm_mon + 6) % 12 + 1, 10);
    snprintf(month_day, sizeof month_day, "%02d-%02d", tm.tm_mon + 1, tm.tm_mday);
    purchase_born("b-today", today);
    purchase_born("b-other", other);
    campaign("[\"new/active\"]", "/ok/birthday",
             ",\"trigger\":{\"type\":\"date\",\"field\":\"birthday\",\"days_before\":0}");
    char trigger[128];
    snprintf(trigger, sizeof trigger,
             ",\"trigger\":{\"type\":\"date\",\"month_day\":\"%s\",\"days_before\":0}", month_day);
    campaign("[\"new/active\"]", "/ok/holiday", trigger);
    json_t *got = wait_received("/ok/birthday", 1, 20);
    ck_assert_int_eq(json_array_size(got), 1);
    json_t *body = json_object_get(json_array_get(got, 0), "body");
    ck_assert_str_eq(str(body, "type"), "customer.occasion");
    json_t *data = json_object_get(body, "data");
    ck_assert_str_eq(str(json_object_get(data, "customer"), "customer_id"), "b-today");
    json_decref(got);
    got = wait_received("/ok/holiday", 2, 20);
    ck_assert_int_eq(json_array_size(got), 2);
    json_decref(got);
    sleep(2);
    got = receiver_lines(&R, "/ok/birthday");
    ck_assert_int_eq(json_array_size(got), 1); /* once a day, whatever the ticks */
    json_decref(got);
}
END_TEST

START_TEST(the_daily_snapshot_is_taken_once)
{
    /* one request: a tick between two would see one customer */
    post("/v1/purchases", "[{\"order_id\":\"o-1\",\"customer_id\":\"n-1\",\"amount\":1},"
                          "{\"order_id\":\"o-1\",\"customer_id\":\"n-2\",\"amount\":1}]");
    ck_assert(wait_sql("SELECT customers FROM segment_snapshots WHERE day = "
                       "(now() AT TIME ZONE 'UTC')::date AND cell = 'new/active'",
                       2, 20));
    /* taken once a day: a later purchase does not change today's row */
    purchase("n-3", "o-1", time(NULL));
    sleep(2);
    ck_assert_int_eq(harness_sql_long("SELECT customers FROM segment_snapshots WHERE "
                                      "cell = 'new/active'"),
                     2);
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM segment_snapshots WHERE "
                                      "cell = 'new/active'"),
                     1);
}
END_TEST

/* ---- nothing is lost ---- */

START_TEST(kill_9_between_enqueue_and_delivery_loses_nothing)
{
    enum { N = 20 };
    harness_stop_server(SIGTERM);
    /* one transfer at a time, each taking 1 s: most deliveries are still waiting at the kill */
    const char *slow_env[] = {"SEGMENTD_WEBHOOKS_ALLOW_PRIVATE=true",
                              "SEGMENTD_WEBHOOKS_MAX_PER_ENDPOINT=1", "SEGMENTD_WEBHOOKS_LEASE=2s",
                              "SEGMENTD_WEBHOOKS_POLL_INTERVAL=200ms", NULL};
    harness_start_server(slow_env, true);
    campaign("[\"new/active\"]", "/slow/1000/k", NULL);
    char body[N * 160] = "[";
    size_t n = 1;
    for (int i = 0; i < N; i++)
        n += (size_t)snprintf(body + n, sizeof body - n,
                              "%s{\"order_id\":\"o\",\"customer_id\":\"k-%02d\",\"amount\":1}",
                              i ? "," : "", i);
    snprintf(body + n, sizeof body - n, "]");
    post("/v1/purchases", body);
    ck_assert_int_eq(delivery_count("true"), N); /* committed with the purchases */
    sleep(2);
    ck_assert_int_eq(harness_stop_server(SIGKILL), -1);
    ck_assert_int_lt(delivery_count("status = 'delivered'"), N);
    harness_start_server(slow_env, true);
    ck_assert(wait_sql("SELECT count(*) FROM deliveries WHERE status = 'delivered'", N, 60));
    /* at least once: every webhook-id arrived, verified */
    json_t *got = receiver_lines(&R, "/slow/1000/k");
    size_t verified = 0;
    char sql[128];
    for (size_t i = 0; i < json_array_size(got); i++)
        verified += json_is_true(json_object_get(json_array_get(got, i), "verified"));
    ck_assert_uint_eq(verified, json_array_size(got));
    snprintf(sql, sizeof sql, "SELECT count(DISTINCT msg_id) FROM deliveries");
    ck_assert_int_eq(harness_sql_long(sql), N);
    json_t *ids = json_object();
    for (size_t i = 0; i < json_array_size(got); i++)
        json_object_set_new(ids, str(json_array_get(got, i), "webhook-id"), json_true());
    ck_assert_int_eq(json_object_size(ids), N);
    json_decref(ids);
    json_decref(got);
}
END_TEST

START_TEST(three_processes_deliver_each_webhook_exactly_once)
{
    enum { N = 10000 };
    ck_assert_int_eq(harness_put_recency("[\"45s\", \"1d\"]", NULL), 200);
    campaign("[\"new/sleeping\"]", "/ok/many", NULL);
    harness_post_purchases("p", N, time(NULL));
    const char *env[] = {"SEGMENTD_SCHEDULER_INTERVAL=1s", "SEGMENTD_WEBHOOKS_ALLOW_PRIVATE=true",
                         "SEGMENTD_WEBHOOKS_POLL_INTERVAL=200ms", NULL};
    int ports[2] = {harness_free_port(), harness_free_port()};
    pid_t others[2] = {harness_spawn_server(ports[0], env), harness_spawn_server(ports[1], env)};
    ck_assert_msg(wait_sql("SELECT count(*) FROM deliveries WHERE status = 'delivered'", N, 180),
                  "delivered %ld of %d",
                  harness_sql_long("SELECT count(*) FROM deliveries WHERE status = 'delivered'"),
                  N);
    sleep(2); /* a duplicate would show up now */
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM transitions WHERE reason = 'time'"), N);
    ck_assert_int_eq(delivery_count("true"), N);
    json_t *got = receiver_lines(&R, "/ok/many");
    ck_assert_uint_eq(json_array_size(got), N);
    json_t *ids = json_object();
    for (size_t i = 0; i < json_array_size(got); i++)
        json_object_set_new(ids, str(json_array_get(got, i), "webhook-id"), json_true());
    ck_assert_uint_eq(json_object_size(ids), N); /* never twice */
    json_decref(ids);
    json_decref(got);
    ck_assert_int_ge(harness_sql_long("SELECT count(DISTINCT process) FROM delivery_attempts"), 2);
    for (int i = 0; i < 2; i++) {
        kill(others[i], SIGTERM);
        int status;
        waitpid(others[i], &status, 0);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
}
END_TEST

/* ---- SSRF ---- */

START_TEST(private_addresses_are_refused_unless_allowed)
{
    harness_stop_server(SIGTERM);
    const char *strict_env[] = {"SEGMENTD_WEBHOOKS_RETRY_SCHEDULE=1s",
                                "SEGMENTD_WEBHOOKS_POLL_INTERVAL=200ms", NULL};
    harness_start_server(strict_env, true);
    char urls[4][128];
    snprintf(urls[0], sizeof urls[0], "http://127.0.0.1:%d/ok/ssrf-loopback", R.port);
    snprintf(urls[1], sizeof urls[1], "http://[::ffff:127.0.0.1]:%d/ok/ssrf-mapped", R.port);
    snprintf(urls[2], sizeof urls[2], "http://localhost:%d/ok/ssrf-name", R.port);
    snprintf(urls[3], sizeof urls[3], "http://169.254.169.254/latest/meta-data");
    for (int i = 0; i < 4; i++) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"name\":\"ssrf %d\",\"cells\":[\"new/active\"],\"channel\":\"chatbot\","
                 "\"webhook_url\":\"%s\"}",
                 i, urls[i]);
        struct resp *r = admin("POST", "/v1/campaigns", body);
        ck_assert_msg(r->status == 201, "%s: %ld %s", urls[i], r->status, r->body);
        resp_free(r);
    }
    purchase("s-1", "o-1", time(NULL));
    /* each is refused before connecting: two attempts (schedule 1s), then dead */
    ck_assert(wait_sql("SELECT count(*) FROM deliveries WHERE status = 'dead'", 4, 30));
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM delivery_attempts "
                                      "WHERE status_code IS NOT NULL"),
                     0);
    json_t *got = receiver_lines(&R, "/ok/ssrf");
    ck_assert_int_eq(json_array_size(got), 0);
    json_decref(got);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("webhooks");
    TCase *tc = tcase_create("deliveries");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_checked_fixture(tc, test_setup, test_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, falling_asleep_sends_a_verified_webhook);
    tcase_add_test(tc, a_purchase_entry_is_sent_and_moves_between_cells_are_not);
    tcase_add_test(tc, a_matrix_change_notifies_only_when_asked);
    tcase_add_test(tc, two_failures_then_success_is_three_attempts_with_one_id);
    tcase_add_test(tc, a_dead_endpoint_ends_dead_and_a_manual_retry_delivers);
    tcase_add_test(tc, gone_pauses_the_campaign);
    tcase_add_test(tc, retry_after_timeouts_and_redirects);
    tcase_add_test(tc, after_a_rotation_old_and_new_secrets_both_verify);
    tcase_add_test(tc, quiet_hours_delay_to_their_end);
    tcase_add_test(tc, opted_out_customers_get_nothing);
    tcase_add_test(tc, max_messages_of_a_campaign_and_of_the_policy);
    tcase_add_test(tc, reentry_once_holds_back_a_second_entry);
    tcase_add_test(tc, schedule_campaigns_send_each_period_once);
    tcase_add_test(tc, date_campaigns_greet_birthdays_and_fixed_days);
    tcase_add_test(tc, the_daily_snapshot_is_taken_once);
    tcase_add_test(tc, kill_9_between_enqueue_and_delivery_loses_nothing);
    tcase_add_test(tc, three_processes_deliver_each_webhook_exactly_once);
    tcase_add_test(tc, private_addresses_are_refused_unless_allowed);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
