/* SPEC §3: "While PostgreSQL is unreachable, requests get 503 with Retry-After; the service
 * reconnects by itself and never exits for it." PostgreSQL is stopped for ~5 s under load (client
 * threads posting purchases and reading /v1/segments); during the outage every answer is a 503
 * with Retry-After and /healthz stays 200; afterwards requests succeed again within seconds, the
 * scheduler moves a customer who fell asleep during the outage and the dispatcher delivers a
 * webhook whose retry fell due during it. Runs without forking (CK_NOFORK): the test stops and
 * starts the cluster itself. The load threads have their own libcurl easy handles. */
#include <check.h>
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "segmentd/embedded.h"

enum {
    LOADERS = 4,
    OUTAGE_MS = 5000,
};

static struct receiver R;

static const char *const env[] = {
    "SEGMENTD_SCHEDULER_INTERVAL=1s", "SEGMENTD_WEBHOOKS_ALLOW_PRIVATE=true",
    "SEGMENTD_WEBHOOKS_RETRY_SCHEDULE=1s,1s", "SEGMENTD_WEBHOOKS_POLL_INTERVAL=200ms", NULL};

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

static void test_teardown(void)
{
    if (H.server_pid > 0)
        harness_stop_server(SIGTERM);
}

/* Wall clock in ms (the receiver logs received_at_ms on the same clock). */
static long long now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* ---- the load: each thread its own easy handle ---- */

static atomic_llong down_at; /* the cluster is stopped (pg_ctl stop returned); 0: not yet */
static atomic_llong up_from; /* sd_embedded_resume was called */
static atomic_llong up_at;   /* the database answers again */
static atomic_bool stop;

struct loader {
    pthread_t thread;
    int index;
    long ok, unavailable, during_outage, no_retry_after, other, refused;
    long other_status;
    char other_body[256];
    long long first_ok_after_up; /* ms, 0: none */
};

static struct loader loaders[LOADERS];

struct body {
    char data[2048];
    size_t len;
    bool retry_after;
};

static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct body *b = userdata;
    size_t n = size * nmemb, room = sizeof b->data - 1 - b->len;
    size_t take = n < room ? n : room;
    memcpy(b->data + b->len, ptr, take);
    b->len += take;
    b->data[b->len] = '\0';
    return n;
}

static size_t header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct body *b = userdata;
    size_t n = size * nmemb;
    if (n > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0)
        b->retry_after = true;
    return n;
}

static long request(CURL *c, const char *method, const char *path, const char *json,
                    struct body *out)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", H.port, path);
    struct curl_slist *hl = curl_slist_append(NULL, "Authorization: Bearer " ADMIN_KEY);
    hl = curl_slist_append(hl, "Content-Type: application/json");
    out->len = 0;
    out->data[0] = '\0';
    out->retry_after = false;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    if (json != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hl);
    return status;
}

static void tally(struct loader *l, long status, const struct body *b, long long started)
{
    long long ended = now_ms(), down = atomic_load(&down_at), from = atomic_load(&up_from),
              up = atomic_load(&up_at);
    if (status >= 200 && status < 300) {
        l->ok++;
        if (up && started >= up && (l->first_ok_after_up == 0 || ended < l->first_ok_after_up))
            l->first_ok_after_up = ended;
    } else if (status == 503) {
        l->unavailable++;
        l->no_retry_after += !b->retry_after;
        if (down && started >= down && (from == 0 || ended <= from))
            l->during_outage++;
    } else {
        if (status == 0)
            l->refused++;
        else
            l->other++;
        if (l->other_status == 0) {
            l->other_status = status == 0 ? -1 : status;
            snprintf(l->other_body, sizeof l->other_body, "%.200s", b->data);
        }
    }
}

static void *loader_main(void *arg)
{
    struct loader *l = arg;
    CURL *c = curl_easy_init();
    struct body b;
    char json[512], when[32];
    for (int seq = 0; !atomic_load(&stop); seq++) {
        /* b2b customers: the b2c matrix and campaigns of the test do not see them */
        iso(time(NULL) - 60, when);
        snprintf(json, sizeof json,
                 "{\"order_id\":\"l%d-%d\",\"customer_id\":\"load-%d-%d\",\"amount\":\"%d.50\","
                 "\"purchased_at\":\"%s\",\"customer\":{\"kind\":\"b2b\"}}",
                 l->index, seq, l->index, seq % 20, 10 + seq % 90, when);
        long long started = now_ms();
        long status = request(c, "POST", "/v1/purchases", json, &b);
        tally(l, status, &b, started);
        started = now_ms();
        status = request(c, "GET", "/v1/segments?kind=b2b", NULL, &b);
        tally(l, status, &b, started);
        usleep(20 * 1000);
    }
    curl_easy_cleanup(c);
    return NULL;
}

/* ---- helpers ---- */

static void campaign(const char *cells, const char *path)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"name\":\"outage %s\",\"kind\":\"b2c\",\"cells\":%s,\"channel\":\"email\","
             "\"strategy\":\"retention\",\"action\":\"Say hello\","
             "\"webhook_url\":\"http://127.0.0.1:%d%s\"}",
             path, cells, R.port, path);
    struct resp *r = admin("POST", "/v1/campaigns", body);
    ck_assert_msg(r->status == 201, "campaign: %ld %s", r->status, r->body);
    const char *secret = json_string_value(json_object_get(r->json, "secret"));
    ck_assert_ptr_nonnull(secret);
    receiver_secret(&R, path, secret, NULL);
    resp_free(r);
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
    return lines;
}

/* On failure: the state of the deliveries and the server log. */
static void show_deliveries(void)
{
    PGconn *db = harness_db();
    PGresult *q =
        PQexec(db, "SELECT id, status, reason, attempts, due_at, now(), lease_owner, lease_until, "
                   "last_status, last_error FROM deliveries ORDER BY id");
    for (int i = 0; i < PQntuples(q); i++) {
        fprintf(stderr, "test_outage: delivery");
        for (int j = 0; j < PQnfields(q); j++)
            fprintf(stderr, " %s=%s", PQfname(q, j), PQgetvalue(q, i, j));
        fprintf(stderr, "\n");
    }
    PQclear(q);
    PQfinish(db);
    harness_dump_log();
}

static bool server_alive(void)
{
    int status;
    return waitpid(H.server_pid, &status, WNOHANG) == 0;
}

START_TEST(database_outage_under_load)
{
    harness_start_server(env, true);
    harness_reset();
    ck_assert_int_eq(harness_put_recency("[\"3s\", \"1d\"]", NULL), 200);
    /* the first attempt gets 503 + Retry-After: 2, so the retry falls due during the outage;
     * falling asleep keeps the customer in the campaign's cells (no left_cells suppression) */
    campaign("[\"new/active\", \"new/sleeping\"]", "/retry-after/2/outage");
    campaign("[\"new/sleeping\"]", "/ok/asleep");
    atomic_store(&down_at, 0);
    atomic_store(&up_from, 0);
    atomic_store(&up_at, 0);
    atomic_store(&stop, false);
    for (int i = 0; i < LOADERS; i++) {
        loaders[i] = (struct loader){.index = i};
        ck_assert_int_eq(pthread_create(&loaders[i].thread, NULL, loader_main, &loaders[i]), 0);
    }

    /* a b2c customer who falls asleep 3 s after this purchase: during the outage */
    time_t last = time(NULL);
    char when[32], body[256];
    iso(last, when);
    snprintf(body, sizeof body,
             "{\"order_id\":\"o-1\",\"customer_id\":\"sleepy\",\"amount\":\"12.50\","
             "\"purchased_at\":\"%s\",\"customer\":{\"kind\":\"b2c\"}}",
             when);
    struct resp *r = admin("POST", "/v1/purchases", body);
    ck_assert_msg(r->status == 200, "purchase: %ld %s", r->status, r->body);
    resp_free(r);
    /* its welcome webhook was tried once (503) and the failure recorded: a retry is pending */
    ck_assert_msg(wait_sql("SELECT count(*) FROM deliveries WHERE status = 'failed' AND "
                           "attempts = 1 AND last_status = 503",
                           1, 10),
                  "the first attempt of the welcome webhook was not recorded");
    ck_assert_int_lt(time(NULL) - last, 3); /* still awake when the database goes */

    ck_assert(sd_embedded_pause(H.pg) == SD_OK);
    long long down = now_ms();
    atomic_store(&down_at, down);
    /* during the outage: 503 + Retry-After, /healthz 200, the process alive */
    long healthz = 0, probes = 0;
    while (now_ms() - down < OUTAGE_MS) {
        r = http("GET", "/healthz", NULL, NULL);
        ck_assert_msg(r->status == 200, "/healthz during the outage: %ld", r->status);
        resp_free(r);
        healthz++;
        r = admin("GET", "/v1/segments", NULL);
        ck_assert_msg(r->status == 503, "/v1/segments during the outage: %ld %s", r->status,
                      r->body);
        ck_assert_ptr_nonnull(resp_header(r, "Retry-After"));
        resp_free(r);
        probes++;
        ck_assert_msg(server_alive(), "segmentd died during the outage");
        usleep(200 * 1000);
    }
    atomic_store(&up_from, now_ms());
    ck_assert(sd_embedded_resume(H.pg) == SD_OK);
    long long up = now_ms();
    atomic_store(&up_at, up);
    long long first_ok = 0;
    for (int i = 0; i < 1000 && first_ok == 0; i++) {
        r = admin("GET", "/v1/segments", NULL);
        if (r->status == 200)
            first_ok = now_ms();
        resp_free(r);
        if (first_ok == 0)
            usleep(10 * 1000);
    }
    ck_assert_msg(first_ok != 0, "no 2xx within 10 s of the database coming back");
    usleep(1500 * 1000); /* the load goes on a little after the recovery */
    atomic_store(&stop, true);
    long ok = 0, unavailable = 0, during = 0, no_ra = 0, other = 0, refused = 0;
    long long first_load_ok = 0;
    for (int i = 0; i < LOADERS; i++) {
        pthread_join(loaders[i].thread, NULL);
        struct loader *l = &loaders[i];
        ok += l->ok;
        unavailable += l->unavailable;
        during += l->during_outage;
        no_ra += l->no_retry_after;
        other += l->other;
        refused += l->refused;
        if (l->other_status != 0)
            fprintf(stderr, "test_outage: loader %d got %ld: %s\n", i, l->other_status,
                    l->other_body);
        if (l->first_ok_after_up && (first_load_ok == 0 || l->first_ok_after_up < first_load_ok))
            first_load_ok = l->first_ok_after_up;
    }
    fprintf(stderr,
            "test_outage: database down %.1f s (pg_ctl stop returned to resume called), back "
            "%.2f s after resume was called; load: %ld 2xx, %ld 503 (%ld entirely inside the "
            "outage, %ld without Retry-After), %ld other statuses, %ld without an answer; "
            "/healthz 200 %ld times in the outage\n",
            (double)(atomic_load(&up_from) - down) / 1000,
            (double)(up - atomic_load(&up_from)) / 1000, ok, unavailable, during, no_ra, other,
            refused, healthz);
    fprintf(stderr,
            "test_outage: recovery: first 2xx %lld ms after the database answered again "
            "(main thread probe), load threads' first 2xx after it: %lld ms\n",
            first_ok - up, first_load_ok ? first_load_ok - up : -1);
    ck_assert_int_gt(probes, 0);
    ck_assert_int_gt(during, 0); /* the load did meet the outage */
    ck_assert_int_eq(no_ra, 0);
    ck_assert_int_eq(other, 0);
    ck_assert_int_eq(refused, 0);
    ck_assert_int_gt(first_load_ok, 0);
    ck_assert_msg(first_ok - up < 5000, "recovery took %lld ms", first_ok - up);
    ck_assert(server_alive());

    /* the scheduler resumed: the customer's crossing, at its exact boundary */
    char expect[32], sql[512];
    iso(last + 3, expect);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM transitions t JOIN customers c ON c.workspace_id = "
             "t.workspace_id AND c.id = t.customer_id WHERE c.external_id = 'sleepy' AND "
             "t.reason = 'time' AND t.from_cell = 'new/active' AND t.to_cell = 'new/sleeping' "
             "AND t.at = '%s'",
             expect);
    ck_assert_msg(wait_sql(sql, 1, 20), "no time transition after the outage");
    /* the dispatcher resumed: the retry that fell due in the outage went out after it */
    json_t *got = wait_received("/retry-after/2/outage", 2, 20);
    if (json_array_size(got) != 2)
        show_deliveries();
    ck_assert_msg(json_array_size(got) == 2, "welcome webhook: %zu requests", json_array_size(got));
    json_t *second = json_array_get(got, 1);
    ck_assert_int_eq(json_integer_value(json_object_get(second, "status")), 200);
    ck_assert(json_is_true(json_object_get(second, "verified")));
    long long retried_at = (long long)json_integer_value(json_object_get(second, "received_at_ms"));
    ck_assert_msg(retried_at >= up, "the retry went out %lld ms before the database was back",
                  up - retried_at);
    json_decref(got);
    /* and the webhook of the crossing (enqueued by the scheduler after the outage) */
    got = wait_received("/ok/asleep", 1, 20);
    ck_assert_msg(json_array_size(got) == 1, "asleep webhook: %zu requests", json_array_size(got));
    json_t *data = json_object_get(json_object_get(json_array_get(got, 0), "body"), "data");
    ck_assert_str_eq(json_string_value(json_object_get(data, "to")), "new/sleeping");
    ck_assert(json_is_true(json_object_get(json_array_get(got, 0), "verified")));
    json_decref(got);
    ck_assert(wait_sql("SELECT count(*) FROM deliveries WHERE status = 'delivered'", 2, 10));
    fprintf(stderr,
            "test_outage: after the outage: the time transition at %s recorded, the welcome "
            "retry delivered %lld ms after the database was back, the asleep webhook sent\n",
            expect, retried_at - up);
    ck_assert_int_eq(harness_stop_server(SIGTERM), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("outage");
    TCase *tc = tcase_create("database");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_checked_fixture(tc, NULL, test_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, database_outage_under_load);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
