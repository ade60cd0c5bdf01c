/* Time moves customers: the scheduler against the real server and PostgreSQL. Durations come
 * from the API and the config (recency bounds of seconds, a 1 s interval): the clock is never
 * faked. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static void suite_setup(void)
{
    harness_start_db();
}

static void suite_teardown(void)
{
    harness_stop_all();
}

static void test_setup(void)
{
    const char *env[] = {"SEGMENTD_SCHEDULER_INTERVAL=1s", NULL};
    harness_start_server(env, true);
    harness_reset();
}

static void test_teardown(void)
{
    if (H.server_pid > 0)
        harness_stop_server(SIGTERM);
}
static void post_purchase(const char *customer, const char *order, time_t at)
{
    char when[32], body[256];
    iso(at, when);
    snprintf(
        body, sizeof body,
        "{\"order_id\":\"%s\",\"customer_id\":\"%s\",\"amount\":\"10\",\"purchased_at\":\"%s\"}",
        order, customer, when);
    struct resp *r = admin("POST", "/v1/purchases", body);
    ck_assert_msg(r->status == 200, "purchase: %ld %s", r->status, r->body);
    resp_free(r);
}

/* Polls until `sql` counts `want` (up to `seconds`). */
static bool wait_count(const char *sql, long want, int seconds)
{
    for (int i = 0; i < seconds * 10; i++) {
        if (harness_sql_long(sql) == want)
            return true;
        usleep(100 * 1000);
    }
    return false;
}

START_TEST(falls_asleep_at_the_exact_boundary)
{
    /* the b2c preset: 30 days; the purchase crosses into sleeping 3 s from now */
    time_t last = time(NULL) - 30 * 86400 + 3;
    post_purchase("c-1", "o-1", last);
    ck_assert(wait_count("SELECT count(*) FROM transitions WHERE reason = 'time'", 1, 30));
    char expect[64], sql[256];
    iso(last + 30 * 86400, expect);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM transitions WHERE reason = 'time' AND from_cell = "
             "'new/active' AND to_cell = 'new/sleeping' AND at = '%s'",
             expect);
    ck_assert_int_eq(harness_sql_long(sql), 1);
    struct resp *r = admin("GET", "/v1/customers/c-1", NULL);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "cell")), "new/sleeping");
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "cell_since")), expect);
    resp_free(r);
    /* the report follows */
    r = admin("GET", "/v1/segments", NULL);
    json_t *cells = json_object_get(r->json, "cells");
    for (size_t i = 0; i < json_array_size(cells); i++) {
        json_t *c = json_array_get(cells, i);
        const char *key = json_string_value(json_object_get(c, "key"));
        long n = (long)json_integer_value(json_object_get(c, "customers"));
        ck_assert_int_eq(n, strcmp(key, "new/sleeping") == 0 ? 1 : 0);
    }
    resp_free(r);
}
END_TEST

START_TEST(a_long_sleep_records_every_crossing)
{
    /* a scheduler that was not running for a while: both crossings, each at its own boundary */
    harness_stop_server(SIGTERM);
    const char *slow[] = {"SEGMENTD_SCHEDULER_INTERVAL=1h", NULL};
    harness_start_server(slow, true);
    ck_assert_int_eq(harness_put_recency("[\"2s\", \"4s\"]", NULL), 200);
    time_t last = time(NULL);
    post_purchase("c-2", "o-1", last);
    sleep(5);
    harness_stop_server(SIGTERM);
    const char *fast[] = {"SEGMENTD_SCHEDULER_INTERVAL=1s", NULL};
    harness_start_server(fast, true);
    ck_assert(wait_count("SELECT count(*) FROM transitions WHERE reason = 'time'", 2, 30));
    char a1[64], a2[64], sql[512];
    iso(last + 2, a1);
    iso(last + 4, a2);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM transitions WHERE reason = 'time' AND ("
             "(from_cell = 'new/active' AND to_cell = 'new/sleeping' AND at = '%s') OR "
             "(from_cell = 'new/sleeping' AND to_cell = 'new/asleep' AND at = '%s'))",
             a1, a2);
    ck_assert_int_eq(harness_sql_long(sql), 2);
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM customers WHERE cell = 'new/asleep'"),
                     1);
}
END_TEST

START_TEST(a_purchase_moves_back_and_time_moves_again)
{
    ck_assert_int_eq(harness_put_recency("[\"2s\", \"1d\"]", NULL), 200);
    post_purchase("c-3", "o-1", time(NULL));
    ck_assert(wait_count("SELECT count(*) FROM customers WHERE cell = 'new/sleeping'", 1, 30));
    post_purchase("c-3", "o-2", time(NULL));
    ck_assert_int_eq(
        harness_sql_long("SELECT count(*) FROM customers WHERE cell = 'promising/active'"), 1);
    ck_assert(
        wait_count("SELECT count(*) FROM customers WHERE cell = 'promising/sleeping'", 1, 30));
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM transitions WHERE reason = 'time'"), 2);
}
END_TEST

/* ---- several processes on one database ---- */

static const char *const other_env[] = {"SEGMENTD_SCHEDULER_INTERVAL=1s", "SEGMENTD_LOG_LEVEL=warn",
                                        NULL};

static long moved_by(int port)
{
    return (long)harness_metric(port, "segmentd_scheduler_customers_moved_total");
}

START_TEST(three_processes_move_each_customer_once)
{
    enum {
        N = 10000
    }; /* SPEC's "10 000 falling asleep at once": enough for every process to get some */
    /* long enough for the posting below to end before anyone is due, even under ASan */
    ck_assert_int_eq(harness_put_recency("[\"45s\", \"1d\"]", NULL), 200);
    /* N customers whose purchases all cross into sleeping at the same second */
    harness_post_purchases("m", N, time(NULL));
    int ports[2] = {harness_free_port(), harness_free_port()};
    pid_t others[2] = {harness_spawn_server(ports[0], other_env),
                       harness_spawn_server(ports[1], other_env)};
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM customers WHERE cell = 'new/active'"),
                     N);
    bool all = wait_count("SELECT count(*) FROM transitions WHERE reason = 'time'", N, 120);
    ck_assert_msg(all, "time transitions: %ld of %d",
                  harness_sql_long("SELECT count(*) FROM transitions WHERE reason = 'time'"), N);
    sleep(2); /* a duplicate would show up now */
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM transitions WHERE reason = 'time'"), N);
    ck_assert_int_eq(harness_sql_long("SELECT count(DISTINCT customer_id) FROM transitions "
                                      "WHERE reason = 'time'"),
                     N);
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM customers WHERE cell = 'new/sleeping'"),
                     N);
    ck_assert_int_eq(harness_sql_long("SELECT sum(customers) FROM cell_counts "
                                      "WHERE cell = 'new/sleeping'"),
                     N);
    long a = moved_by(H.port), b = moved_by(ports[0]), c = moved_by(ports[1]);
    ck_assert_int_eq(a + b + c, N);
    ck_assert_msg((a > 0) + (b > 0) + (c > 0) >= 2, "one process did all the work: %ld %ld %ld", a,
                  b, c);
    for (int i = 0; i < 2; i++) {
        kill(others[i], SIGTERM);
        int status;
        waitpid(others[i], &status, 0);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scheduler");
    TCase *tc = tcase_create("time");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_checked_fixture(tc, test_setup, test_teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, falls_asleep_at_the_exact_boundary);
    tcase_add_test(tc, a_long_sleep_records_every_crossing);
    tcase_add_test(tc, a_purchase_moves_back_and_time_moves_again);
    tcase_add_test(tc, three_processes_move_each_customer_once);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
