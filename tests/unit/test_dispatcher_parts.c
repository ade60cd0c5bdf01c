/* The dispatcher's parts without I/O: endpoint keys (what max_per_endpoint counts), how an
 * attempt's end is classified, what a failure leads to, and the signed request headers. */
#include <check.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segmentd/dispatcher.h"
#include "segmentd/webhook_sign.h"

/* ---- endpoint keys ---- */

START_TEST(test_endpoint_key)
{
    static const struct {
        const char *url, *key;
    } cases[] = {
        {"https://bot.example.org/hooks/segmentd", "https://bot.example.org:443"},
        {"http://bot.example.org/a?b=c", "http://bot.example.org:80"},
        {"HTTPS://Bot.Example.ORG:8443/x", "https://bot.example.org:8443"},
        {"http://user:pw@127.0.0.1:9000/x", "http://127.0.0.1:9000"},
        {"http://[::1]:8080/x", "http://[::1]:8080"},
        {"https://bot.example.org:443/other/path", "https://bot.example.org:443"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char key[SD_ENDPOINT_KEY_MAX];
        ck_assert_msg(sd_dispatch_endpoint_key(cases[i].url, key), "%s", cases[i].url);
        ck_assert_str_eq(key, cases[i].key);
    }
}
END_TEST

START_TEST(test_endpoint_key_invalid)
{
    static const char *const bad[] = {"", "not a url", "http://", "http://:80/x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char key[SD_ENDPOINT_KEY_MAX] = "x";
        ck_assert_msg(!sd_dispatch_endpoint_key(bad[i], key), "%s", bad[i]);
        ck_assert_str_eq(key, "");
    }
    char key[SD_ENDPOINT_KEY_MAX] = "x";
    ck_assert(!sd_dispatch_endpoint_key(NULL, key));
}
END_TEST

/* Two URLs on one endpoint share a key; another port or scheme is another endpoint. */
START_TEST(test_endpoint_key_groups)
{
    char a[SD_ENDPOINT_KEY_MAX], b[SD_ENDPOINT_KEY_MAX], c[SD_ENDPOINT_KEY_MAX];
    ck_assert(sd_dispatch_endpoint_key("https://h.example/one", a));
    ck_assert(sd_dispatch_endpoint_key("https://H.example:443/two", b));
    ck_assert(sd_dispatch_endpoint_key("http://h.example/one", c));
    ck_assert_str_eq(a, b);
    ck_assert_str_ne(a, c);
}
END_TEST

/* ---- classification ---- */

static enum sd_attempt_result classify(int code, long status, const char *refused, const char *msg,
                                       char *error)
{
    struct sd_attempt_end e = {code, status, refused, msg};
    return sd_dispatch_classify(&e, error, 256);
}

START_TEST(test_classify_statuses)
{
    char error[256];
    ck_assert_int_eq(classify(CURLE_OK, 200, NULL, NULL, error), SD_ATTEMPT_DELIVERED);
    ck_assert_str_eq(error, "");
    ck_assert_int_eq(classify(CURLE_OK, 204, NULL, NULL, error), SD_ATTEMPT_DELIVERED);
    ck_assert_int_eq(classify(CURLE_OK, 299, NULL, NULL, error), SD_ATTEMPT_DELIVERED);
    ck_assert_int_eq(classify(CURLE_OK, 410, NULL, NULL, error), SD_ATTEMPT_GONE);
    ck_assert_int_eq(classify(CURLE_OK, 500, NULL, NULL, error), SD_ATTEMPT_FAILED);
    ck_assert_str_eq(error, "");
    ck_assert_int_eq(classify(CURLE_OK, 404, NULL, NULL, error), SD_ATTEMPT_FAILED);
    ck_assert_int_eq(classify(CURLE_OK, 429, NULL, NULL, error), SD_ATTEMPT_FAILED);
    ck_assert_int_eq(classify(CURLE_OK, 302, NULL, NULL, error), SD_ATTEMPT_FAILED);
    ck_assert_str_eq(error, "redirects are not followed (HTTP 302)");
    ck_assert_int_eq(classify(CURLE_OK, 100, NULL, NULL, error), SD_ATTEMPT_FAILED);
}
END_TEST

START_TEST(test_classify_errors)
{
    char error[256];
    ck_assert_int_eq(classify(CURLE_OPERATION_TIMEDOUT, 0, NULL, "Operation timed out", error),
                     SD_ATTEMPT_FAILED);
    ck_assert_str_eq(error, "timeout");
    classify(CURLE_COULDNT_CONNECT, 0, "", "Failed to connect: Connection refused", error);
    ck_assert_str_eq(error, "connection refused");
    classify(CURLE_COULDNT_CONNECT, 0, "address refused: 10.0.0.1 is not public", "", error);
    ck_assert_str_eq(error, "address refused: 10.0.0.1 is not public");
    classify(CURLE_COULDNT_RESOLVE_HOST, 0, NULL, "Could not resolve host: x", error);
    ck_assert_str_eq(error, "cannot resolve host");
    classify(CURLE_UNSUPPORTED_PROTOCOL, 0, NULL, "Protocol \"ftp\" not supported", error);
    ck_assert_ptr_nonnull(strstr(error, "invalid webhook URL"));
    classify(CURLE_PEER_FAILED_VERIFICATION, 0, NULL, "SSL certificate problem", error);
    ck_assert_str_eq(error, "SSL certificate problem");
    classify(CURLE_PEER_FAILED_VERIFICATION, 0, NULL, "", error);
    ck_assert_str_ne(error, ""); /* libcurl's text for the code */
    /* A status seen before a failure does not make it a success. */
    ck_assert_int_eq(classify(CURLE_OPERATION_TIMEDOUT, 200, NULL, NULL, error), SD_ATTEMPT_FAILED);
}
END_TEST

/* ---- after a failure ---- */

static const int64_t schedule[] = {5000, 300000, 1800000};

START_TEST(test_after_failure_schedule)
{
    int64_t in = -1;
    for (int before = 0; before < 3; before++) {
        ck_assert_int_eq(sd_dispatch_after_failure(500, NULL, schedule, 3, before, 0, 12345, &in),
                         SD_OUTBOX_RETRY);
        ck_assert_int_ge(in, schedule[before] - schedule[before] / 5);
        ck_assert_int_le(in, schedule[before] + schedule[before] / 5);
    }
    ck_assert_int_eq(sd_dispatch_after_failure(500, NULL, schedule, 3, 3, 0, 12345, &in),
                     SD_OUTBOX_DEAD);
    ck_assert_int_eq(in, 0);
}
END_TEST

START_TEST(test_after_failure_retry_after)
{
    int64_t in = -1;
    ck_assert_int_eq(sd_dispatch_after_failure(429, "120", schedule, 3, 0, 0, 1, &in),
                     SD_OUTBOX_RETRY);
    ck_assert_int_eq(in, 120000);
    ck_assert_int_eq(sd_dispatch_after_failure(503, " 7 ", schedule, 3, 1, 0, 1, &in),
                     SD_OUTBOX_RETRY);
    ck_assert_int_eq(in, 7000);
    /* Only 429 and 503 are asked to wait; a bad value falls back to the schedule. */
    sd_dispatch_after_failure(500, "120", schedule, 3, 0, 0, 0, &in);
    ck_assert_int_le(in, 6000);
    sd_dispatch_after_failure(429, "soon", schedule, 3, 0, 0, 0, &in);
    ck_assert_int_le(in, 6000);
    /* The schedule still ends: a receiver that always says "later" does not keep a row alive. */
    ck_assert_int_eq(sd_dispatch_after_failure(429, "1", schedule, 3, 3, 0, 1, &in),
                     SD_OUTBOX_DEAD);
}
END_TEST

START_TEST(test_pause_reason)
{
    char text[160];
    /* 2026-11-20T10:00:00.5Z */
    sd_dispatch_pause_reason(5 * 86400000LL, 1795168800500000LL, text, sizeof text);
    ck_assert_str_eq(text, "no successful delivery for 5d (since 2026-11-20T10:00:00Z)");
    sd_dispatch_pause_reason(90000, 1795168800000000LL, text, sizeof text);
    ck_assert_str_eq(text, "no successful delivery for 90s (since 2026-11-20T10:00:00Z)");
    sd_dispatch_pause_reason(1500, 1795168800000000LL, text, sizeof text);
    ck_assert_str_eq(text, "no successful delivery for 1500ms (since 2026-11-20T10:00:00Z)");
}
END_TEST

/* ---- headers ---- */

static const char *find(const struct curl_slist *l, const char *prefix)
{
    for (; l != NULL; l = l->next) {
        if (strncmp(l->data, prefix, strlen(prefix)) == 0)
            return l->data + strlen(prefix);
    }
    return NULL;
}

START_TEST(test_headers)
{
    char s1[SD_WEBHOOK_SECRET_LEN], s2[SD_WEBHOOK_SECRET_LEN];
    ck_assert_int_eq(sd_webhook_secret_new(s1, sizeof s1), SD_OK);
    ck_assert_int_eq(sd_webhook_secret_new(s2, sizeof s2), SD_OK);
    const char body[] = "{\"type\":\"customer.cell_entered\"}";
    struct curl_slist *h = NULL;
    ck_assert_int_eq(sd_dispatch_headers("msg_abc", s1, NULL, 1795168800, body, strlen(body), &h),
                     SD_OK);
    ck_assert_str_eq(find(h, "content-type: "), "application/json");
    ck_assert_str_eq(find(h, "webhook-id: "), "msg_abc");
    ck_assert_str_eq(find(h, "webhook-timestamp: "), "1795168800");
    ck_assert_ptr_nonnull(find(h, "user-agent: segmentd/"));
    ck_assert_ptr_nonnull(find(h, "Expect:"));
    char want[SD_WEBHOOK_SIGNATURE_LEN];
    ck_assert_int_eq(
        sd_webhook_sign(s1, "msg_abc", 1795168800, body, strlen(body), want, sizeof want), SD_OK);
    ck_assert_str_eq(find(h, "webhook-signature: "), want);
    curl_slist_free_all(h);

    /* During a rotation both secrets sign, new first. */
    ck_assert_int_eq(sd_dispatch_headers("msg_abc", s1, s2, 1795168800, body, strlen(body), &h),
                     SD_OK);
    char old[SD_WEBHOOK_SIGNATURE_LEN], both[2 * SD_WEBHOOK_SIGNATURE_LEN];
    ck_assert_int_eq(
        sd_webhook_sign(s2, "msg_abc", 1795168800, body, strlen(body), old, sizeof old), SD_OK);
    snprintf(both, sizeof both, "%s %s", want, old);
    ck_assert_str_eq(find(h, "webhook-signature: "), both);
    curl_slist_free_all(h);
}
END_TEST

START_TEST(test_headers_refused)
{
    char s1[SD_WEBHOOK_SECRET_LEN];
    ck_assert_int_eq(sd_webhook_secret_new(s1, sizeof s1), SD_OK);
    struct curl_slist *h = (struct curl_slist *)1;
    ck_assert_int_eq(sd_dispatch_headers("msg_a", "whsec_!!!!", NULL, 1, "{}", 2, &h),
                     SD_ERR_INVALID);
    ck_assert_ptr_null(h);
    ck_assert_int_eq(sd_dispatch_headers("msg_a\r\nx-evil: 1", s1, NULL, 1, "{}", 2, &h),
                     SD_ERR_INVALID);
    ck_assert_ptr_null(h);
    ck_assert_int_eq(sd_dispatch_headers(NULL, s1, NULL, 1, "{}", 2, &h), SD_ERR_INVALID);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dispatcher_parts");
    TCase *tc = tcase_create("parts");
    tcase_add_test(tc, test_endpoint_key);
    tcase_add_test(tc, test_endpoint_key_invalid);
    tcase_add_test(tc, test_endpoint_key_groups);
    tcase_add_test(tc, test_classify_statuses);
    tcase_add_test(tc, test_classify_errors);
    tcase_add_test(tc, test_after_failure_schedule);
    tcase_add_test(tc, test_after_failure_retry_after);
    tcase_add_test(tc, test_pause_reason);
    tcase_add_test(tc, test_headers);
    tcase_add_test(tc, test_headers_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
