/* Secrets stay secret (issue 7, security review): with the most verbose log level, neither the
 * bootstrap key, nor a minted API key, nor a wrong key somebody tried, nor a campaign's webhook
 * secrets (before and after a rotation) ever reach the log, through requests, deliveries or
 * errors. Keys are stored hashed: the database holds no key either. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static struct receiver R;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = calloc((size_t)n + 1, 1);
    ck_assert_int_eq(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return text;
}

/* The part of a secret worth hiding: a key's random tail, a whsec_ secret's base64. */
static void assert_absent(const char *haystack, const char *what, const char *secret)
{
    ck_assert_msg(strstr(haystack, secret) == NULL, "%s found in the log", what);
    const char *tail = strrchr(secret, '_');
    if (tail != NULL && strlen(tail + 1) >= 16)
        ck_assert_msg(strstr(haystack, tail + 1) == NULL, "%s (its secret part) in the log", what);
}

START_TEST(no_secret_reaches_the_log)
{
    const char *env[] = {"SEGMENTD_LOG_LEVEL=debug", "SEGMENTD_WEBHOOKS_ALLOW_PRIVATE=true", NULL};
    harness_start_server(env, true);
    harness_reset();
    char key[128];
    snprintf(key, sizeof key, "%s", make_key(NULL, "[\"admin\"]"));
    struct resp *r = with_key(key, "GET", "/v1/segments", NULL);
    ck_assert_int_eq(r->status, 200);
    resp_free(r);
    const char *wrong = "sdk_1_ThisIsAWrongKeyThatSomebodyTriedXXXXXXXXXXXX";
    r = with_key(wrong, "GET", "/v1/segments", NULL);
    ck_assert_int_eq(r->status, 401);
    resp_free(r);
    char body[512];
    snprintf(body, sizeof body,
             "{\"name\":\"s\",\"cells\":[\"new/active\"],\"channel\":\"email\","
             "\"webhook_url\":\"http://127.0.0.1:%d/ok/secret\"}",
             R.port);
    r = with_key(key, "POST", "/v1/campaigns", body);
    ck_assert_int_eq(r->status, 201);
    char first[64], second[64], path[64];
    snprintf(first, sizeof first, "%s", json_string_value(json_object_get(r->json, "secret")));
    snprintf(path, sizeof path, "/v1/campaigns/%lld/rotate-secret",
             (long long)json_integer_value(json_object_get(r->json, "id")));
    resp_free(r);
    r = with_key(key, "POST", path, NULL);
    ck_assert_int_eq(r->status, 200);
    snprintf(second, sizeof second, "%s", json_string_value(json_object_get(r->json, "secret")));
    resp_free(r);
    receiver_secret(&R, "/ok/secret", second, first);
    r = with_key(key, "POST", "/v1/purchases",
                 "{\"order_id\":\"o\",\"customer_id\":\"c\",\"amount\":1}");
    ck_assert_int_eq(r->status, 200);
    resp_free(r);
    bool delivered = false;
    for (int i = 0; i < 200 && !delivered; i++) {
        delivered =
            harness_sql_long("SELECT count(*) FROM deliveries WHERE status = 'delivered'") == 1;
        usleep(100 * 1000);
    }
    ck_assert(delivered);
    json_t *got = receiver_lines(&R, "/ok/secret");
    ck_assert_int_eq(json_array_size(got), 1);
    ck_assert(json_is_true(json_object_get(json_array_get(got, 0), "verified")));
    json_decref(got);
    ck_assert_int_eq(harness_stop_server(SIGTERM), 0);
    char *log = slurp(H.log_path);
    ck_assert_ptr_nonnull(strstr(log, "\"level\":\"debug\"")); /* the log was verbose */
    assert_absent(log, "the bootstrap admin key", ADMIN_KEY);
    assert_absent(log, "a minted API key", key);
    assert_absent(log, "a refused key", wrong);
    assert_absent(log, "the first webhook secret", first);
    assert_absent(log, "the rotated webhook secret", second);
    free(log);
    /* stored hashed: no table holds the key */
    char sql[256];
    snprintf(
        sql, sizeof sql,
        "SELECT count(*) FROM api_keys WHERE position('%s' IN row_to_json(api_keys)::text) > 0",
        strrchr(key, '_') + 1);
    ck_assert_int_eq(harness_sql_long(sql), 0);
}
END_TEST

static void setup(void)
{
    harness_start_db();
    receiver_start(&R, 0);
}

static void teardown(void)
{
    receiver_stop(&R);
    harness_stop_all();
}

int main(void)
{
    Suite *s = suite_create("secrets");
    TCase *tc = tcase_create("logs");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, no_secret_reaches_the_log);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
