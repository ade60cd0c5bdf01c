/* RFC 9457 problem documents and reason phrases: pure, no server. */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "segmentd/http.h"

static const char *str_member(const json_t *doc, const char *key)
{
    const json_t *v = json_object_get(doc, key);
    ck_assert_msg(json_is_string(v), "%s is not a string", key);
    return json_string_value(v);
}

static json_int_t int_member(const json_t *doc, const char *key)
{
    const json_t *v = json_object_get(doc, key);
    ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
    return json_integer_value(v);
}

START_TEST(test_problem_members)
{
    json_t *doc = http_problem_new(404, "no key 7 in this workspace", "req-42");
    ck_assert_ptr_nonnull(doc);
    ck_assert(json_is_object(doc));
    ck_assert_uint_eq(json_object_size(doc), 5);
    ck_assert_str_eq(str_member(doc, "type"), "/problems/not-found");
    ck_assert_str_eq(str_member(doc, "title"), "Not Found");
    ck_assert_int_eq(int_member(doc, "status"), 404);
    ck_assert_str_eq(str_member(doc, "detail"), "no key 7 in this workspace");
    ck_assert_str_eq(str_member(doc, "request_id"), "req-42");
    json_decref(doc);
}
END_TEST

START_TEST(test_problem_types)
{
    static const struct {
        unsigned status;
        const char *type;
        const char *title;
    } cases[] = {
        {400, "/problems/bad-request", "Bad Request"},
        {401, "/problems/unauthorized", "Unauthorized"},
        {403, "/problems/forbidden", "Forbidden"},
        {404, "/problems/not-found", "Not Found"},
        {405, "/problems/method-not-allowed", "Method Not Allowed"},
        {409, "/problems/conflict", "Conflict"},
        {410, "/problems/gone", "Gone"},
        {413, "/problems/content-too-large", "Content Too Large"},
        {414, "/problems/uri-too-long", "URI Too Long"},
        {415, "/problems/unsupported-media-type", "Unsupported Media Type"},
        {422, "/problems/validation-error", "Unprocessable Content"},
        {429, "/problems/too-many-requests", "Too Many Requests"},
        {431, "/problems/headers-too-large", "Request Header Fields Too Large"},
        {500, "/problems/internal-error", "Internal Server Error"},
        {503, "/problems/service-unavailable", "Service Unavailable"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_str_eq(http_status_phrase(cases[i].status), cases[i].title);
        json_t *doc = http_problem_new(cases[i].status, NULL, NULL);
        ck_assert_ptr_nonnull(doc);
        ck_assert_uint_eq(json_object_size(doc), 3);
        ck_assert_str_eq(str_member(doc, "type"), cases[i].type);
        ck_assert_str_eq(str_member(doc, "title"), cases[i].title);
        ck_assert_int_eq(int_member(doc, "status"), cases[i].status);
        json_decref(doc);
    }
}
END_TEST

START_TEST(test_problem_unknown_status)
{
    static const unsigned unknown[] = {0, 200, 402, 418, 499, 502, 599, 1000};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        ck_assert_str_eq(http_status_phrase(unknown[i]), "Error");
        json_t *doc = http_problem_new(unknown[i], "teapot", "r1");
        ck_assert_ptr_nonnull(doc);
        ck_assert_uint_eq(json_object_size(doc), 5);
        ck_assert_str_eq(str_member(doc, "type"), "about:blank");
        ck_assert_str_eq(str_member(doc, "title"), "Error");
        ck_assert_int_eq(int_member(doc, "status"), unknown[i]);
        ck_assert_str_eq(str_member(doc, "detail"), "teapot");
        json_decref(doc);
    }
}
END_TEST

START_TEST(test_problem_optional_members)
{
    /* NULL detail: no "detail" member at all (not null, not ""). */
    json_t *doc = http_problem_new(401, NULL, "req-1");
    ck_assert_ptr_nonnull(doc);
    ck_assert_ptr_null(json_object_get(doc, "detail"));
    ck_assert_str_eq(str_member(doc, "request_id"), "req-1");
    ck_assert_uint_eq(json_object_size(doc), 4);
    json_decref(doc);

    /* No request id, NULL or empty: omitted. */
    doc = http_problem_new(401, "missing key", NULL);
    ck_assert_ptr_null(json_object_get(doc, "request_id"));
    ck_assert_str_eq(str_member(doc, "detail"), "missing key");
    ck_assert_uint_eq(json_object_size(doc), 4);
    json_decref(doc);

    doc = http_problem_new(401, NULL, "");
    ck_assert_ptr_null(json_object_get(doc, "request_id"));
    ck_assert_ptr_null(json_object_get(doc, "detail"));
    ck_assert_uint_eq(json_object_size(doc), 3);
    json_decref(doc);

    /* An empty detail is still a detail. */
    doc = http_problem_new(400, "", NULL);
    ck_assert_str_eq(str_member(doc, "detail"), "");
    json_decref(doc);
}
END_TEST

START_TEST(test_problem_detail_utf8)
{
    /* Valid UTF-8 is kept as it is. */
    json_t *doc = http_problem_new(422, "caf\xc3\xa9 \xe2\x82\xac", NULL);
    ck_assert_str_eq(str_member(doc, "detail"), "caf\xc3\xa9 \xe2\x82\xac");
    json_decref(doc);

    /* Invalid UTF-8 (it may quote client input): every non-ASCII byte becomes '?'. */
    doc = http_problem_new(400, "bad \xff\xfe name", "r");
    ck_assert_str_eq(str_member(doc, "detail"), "bad ?? name");
    ck_assert_str_eq(str_member(doc, "type"), "/problems/bad-request");
    ck_assert_str_eq(str_member(doc, "request_id"), "r");
    json_decref(doc);

    /* Once the whole text is invalid, its valid multi-byte characters go too. */
    doc = http_problem_new(400, "caf\xc3\xa9 \xc3", NULL);
    ck_assert_str_eq(str_member(doc, "detail"), "caf?? ?");
    json_decref(doc);

    /* An overlong encoding of '/' is invalid too. */
    doc = http_problem_new(400, "\xc0\xaf", NULL);
    ck_assert_str_eq(str_member(doc, "detail"), "??");
    json_decref(doc);

    /* The serialised document is valid JSON that reads back the same. */
    doc = http_problem_new(400, "x\x80y", "id");
    char *text = json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT);
    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(text, "{\"detail\":\"x?y\",\"request_id\":\"id\",\"status\":400,"
                           "\"title\":\"Bad Request\",\"type\":\"/problems/bad-request\"}");
    free(text);
    json_decref(doc);
}
END_TEST

START_TEST(test_problem_detail_invalid_long)
{
    /* A long invalid detail is cut to the replacement buffer (511 bytes), never overrun. */
    char detail[2000];
    memset(detail, 'a', sizeof detail - 1);
    detail[sizeof detail - 1] = '\0';
    detail[0] = '\xff';
    json_t *doc = http_problem_new(400, detail, NULL);
    const char *got = str_member(doc, "detail");
    ck_assert_uint_eq(strlen(got), 511);
    ck_assert_int_eq(got[0], '?');
    ck_assert_int_eq(got[510], 'a');
    json_decref(doc);

    /* A long valid detail is kept whole. */
    detail[0] = 'a';
    doc = http_problem_new(400, detail, NULL);
    ck_assert_uint_eq(strlen(str_member(doc, "detail")), sizeof detail - 1);
    json_decref(doc);
}
END_TEST

static Suite *problem_suite(void)
{
    Suite *s = suite_create("problem");
    TCase *tc = tcase_create("problem");
    tcase_add_test(tc, test_problem_members);
    tcase_add_test(tc, test_problem_types);
    tcase_add_test(tc, test_problem_unknown_status);
    tcase_add_test(tc, test_problem_optional_members);
    tcase_add_test(tc, test_problem_detail_utf8);
    tcase_add_test(tc, test_problem_detail_invalid_long);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(problem_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
