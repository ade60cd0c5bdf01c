/* The HTTP contract of the foundation, against the real server and a real PostgreSQL:
 * operations endpoints, keys, workspaces, auth, and every generic error path. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void suite_setup(void)
{
    harness_start_db();
    /* This suite keeps the key cache on: deleting a key or a workspace must still take effect
     * at once in this process. */
    const char *env[] = {"SEGMENTD_HTTP_CORS_ORIGINS=https://crm.example.org",
                         "SEGMENTD_LIMITS_MAX_BODY_BYTES=4096", "SEGMENTD_AUTH_KEY_CACHE_TTL=60s",
                         NULL};
    harness_start_server(env, true);
}

static void suite_teardown(void)
{
    harness_stop_all();
}

static void test_setup(void)
{
    harness_reset();
}

static long count_keys(void)
{
    return harness_sql_long("SELECT count(*) FROM api_keys");
}

/* ---- operations ---- */

START_TEST(healthz_and_readyz)
{
    struct resp *r = http("GET", "/healthz", NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "status")), "ok");
    resp_free(r);
    r = http("GET", "/readyz", NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "status")), "ready");
    resp_free(r);
}
END_TEST

START_TEST(metrics_count_requests)
{
    resp_free(http("GET", "/v1/nope", NULL, NULL));
    resp_free(http("GET", "/healthz", NULL, NULL));
    struct resp *r = http("GET", "/metrics", NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_ptr_nonnull(strstr(resp_header(r, "Content-Type"), "text/plain"));
    ck_assert_ptr_nonnull(strstr(r->body,
                                 "segmentd_http_requests_total{method=\"GET\",route=\"/healthz\","
                                 "status=\"200\"}"));
    ck_assert_ptr_nonnull(strstr(
        r->body, "segmentd_http_requests_total{method=\"\",route=\"unmatched\",status=\"404\"}"));
    ck_assert_ptr_nonnull(strstr(r->body, "segmentd_http_request_duration_seconds_bucket"));
    ck_assert_ptr_nonnull(strstr(r->body, "segmentd_db_pool_connections{state=\"in_use\"}"));
    ck_assert_ptr_nonnull(strstr(r->body, "segmentd_db_pool_waiting"));
    ck_assert_ptr_nonnull(strstr(r->body, "segmentd_db_errors_total"));
    resp_free(r);
}
END_TEST

START_TEST(openapi_served)
{
    struct resp *r = http("GET", "/openapi.yaml", NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_ptr_nonnull(strstr(r->body, "openapi: 3.1"));
    ck_assert_ptr_nonnull(strstr(r->body, "/v1/keys"));
    resp_free(r);
}
END_TEST

START_TEST(request_id_echoed_or_generated)
{
    const char *h[] = {"X-Request-Id: trace-42.a:b_c", NULL};
    struct resp *r = http("GET", "/healthz", h, NULL);
    ck_assert_str_eq(resp_header(r, "X-Request-Id"), "trace-42.a:b_c");
    resp_free(r);
    const char *bad[] = {"X-Request-Id: has spaces and {braces}", NULL};
    r = http("GET", "/healthz", bad, NULL);
    const char *id = resp_header(r, "X-Request-Id");
    ck_assert_ptr_nonnull(id);
    ck_assert_int_eq(strlen(id), 24);
    resp_free(r);
    r = http("GET", "/nowhere", NULL, NULL);
    ck_assert_ptr_nonnull(resp_header(r, "X-Request-Id"));
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "request_id")),
                     resp_header(r, "X-Request-Id"));
    resp_free(r);
}
END_TEST

/* ---- routing errors ---- */

START_TEST(unknown_path_is_404)
{
    struct resp *r = admin("GET", "/v1/does-not-exist", NULL);
    assert_problem(r, 404);
    resp_free(r);
    r = http("GET", "/v1/keys/1/extra", NULL, NULL);
    assert_problem(r, 404);
    resp_free(r);
}
END_TEST

START_TEST(wrong_method_is_405_with_allow)
{
    struct resp *r = admin("PUT", "/v1/keys", "{}");
    assert_problem(r, 405);
    ck_assert_str_eq(resp_header(r, "Allow"), "POST, GET");
    resp_free(r);
    r = http("POST", "/healthz", NULL, "x");
    assert_problem(r, 405);
    ck_assert_str_eq(resp_header(r, "Allow"), "GET");
    resp_free(r);
}
END_TEST

START_TEST(bad_percent_encoding_is_400)
{
    struct resp *r = admin("DELETE", "/v1/keys/%zz", NULL);
    assert_problem(r, 400);
    resp_free(r);
    r = admin("DELETE", "/v1/keys/a%00b", NULL);
    assert_problem(r, 400);
    resp_free(r);
}
END_TEST

/* ---- auth ---- */

START_TEST(missing_key_is_401)
{
    struct resp *r = http("GET", "/v1/keys", NULL, NULL);
    assert_problem(r, 401);
    ck_assert_ptr_nonnull(resp_header(r, "WWW-Authenticate"));
    resp_free(r);
    const char *basic[] = {"Authorization: Basic Zm9vOmJhcg==", NULL};
    r = http("GET", "/v1/keys", basic, NULL);
    assert_problem(r, 401);
    resp_free(r);
}
END_TEST

START_TEST(unknown_key_is_401)
{
    const char *keys[] = {"nope", "sdk_1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                          "sdk_999_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                          "sdk_1_' OR 1=1 --AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", ADMIN_KEY "x"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        struct resp *r = with_key(keys[i], "GET", "/v1/keys", NULL);
        assert_problem(r, 401);
        resp_free(r);
    }
}
END_TEST

START_TEST(scopes_enforced)
{
    char read_key[256], ingest_key[256], admin_key[256];
    snprintf(read_key, sizeof read_key, "%s", make_key(NULL, "[\"read\"]"));
    snprintf(ingest_key, sizeof ingest_key, "%s", make_key(NULL, "[\"ingest\"]"));
    snprintf(admin_key, sizeof admin_key, "%s", make_key(NULL, "[\"admin\"]"));
    /* keys are admin-only, whatever else a key holds */
    struct resp *r = with_key(read_key, "GET", "/v1/keys", NULL);
    assert_problem(r, 403);
    resp_free(r);
    r = with_key(ingest_key, "POST", "/v1/keys", "{\"name\":\"x\",\"scopes\":[\"admin\"]}");
    assert_problem(r, 403);
    resp_free(r);
    ck_assert_int_eq(count_keys(), 3);
    r = with_key(admin_key, "GET", "/v1/keys", NULL);
    ck_assert_int_eq(r->status, 200);
    resp_free(r);
    /* workspaces are for the bootstrap key alone, even for an admin key */
    r = with_key(admin_key, "GET", "/v1/workspaces", NULL);
    assert_problem(r, 403);
    resp_free(r);
}
END_TEST

START_TEST(workspace_header_only_for_bootstrap)
{
    char key[256];
    snprintf(key, sizeof key, "%s", make_key(NULL, "[\"admin\"]"));
    char auth[300];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    const char *h[] = {auth, "Segmentd-Workspace: default", NULL};
    struct resp *r = http("GET", "/v1/keys", h, NULL);
    assert_problem(r, 403);
    resp_free(r);
    const char *unknown[] = {"Authorization: Bearer " ADMIN_KEY, "Segmentd-Workspace: ghost", NULL};
    r = http("GET", "/v1/keys", unknown, NULL);
    assert_problem(r, 404);
    resp_free(r);
    const char *bad[] = {"Authorization: Bearer " ADMIN_KEY, "Segmentd-Workspace: Bad Name!", NULL};
    r = http("GET", "/v1/keys", bad, NULL);
    assert_problem(r, 400);
    resp_free(r);
}
END_TEST

/* ---- keys ---- */

START_TEST(key_lifecycle)
{
    struct resp *r =
        admin("POST", "/v1/keys", "{\"name\":\"crm\",\"scopes\":[\"read\",\"ingest\"]}");
    ck_assert_int_eq(r->status, 201);
    const char *key = json_string_value(json_object_get(r->json, "key"));
    ck_assert_ptr_nonnull(key);
    ck_assert_int_eq(strncmp(key, "sdk_", 4), 0);
    char saved[256];
    snprintf(saved, sizeof saved, "%s", key);
    long id = (long)json_integer_value(json_object_get(r->json, "id"));
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "workspace")), "default");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "scopes")), 2);
    char location[64];
    snprintf(location, sizeof location, "/v1/keys/%ld", id);
    ck_assert_str_eq(resp_header(r, "Location"), location);
    resp_free(r);

    /* never stored in clear */
    char sql[1024];
    snprintf(
        sql, sizeof sql,
        "SELECT count(*) FROM api_keys WHERE position(convert_to('%s', 'UTF8') in key_hash) > 0"
        " OR prefix = '%s'",
        saved + 7, saved);
    ck_assert_int_eq(harness_sql_long(sql), 0);

    /* listed with a prefix, never the key */
    r = admin("GET", "/v1/keys", NULL);
    ck_assert_int_eq(r->status, 200);
    json_t *items = json_object_get(r->json, "items");
    ck_assert_int_eq(json_array_size(items), 1);
    json_t *item = json_array_get(items, 0);
    ck_assert_ptr_null(json_object_get(item, "key"));
    const char *prefix = json_string_value(json_object_get(item, "prefix"));
    ck_assert_int_eq(strncmp(saved, prefix, strlen(prefix)), 0);
    ck_assert_int_lt(strlen(prefix), strlen(saved) - 20);
    ck_assert_ptr_null(strstr(r->body, saved));
    resp_free(r);

    /* the key works (read scope is not enough for /v1/keys: 403, not 401) */
    r = with_key(saved, "GET", "/v1/keys", NULL);
    assert_problem(r, 403);
    resp_free(r);

    /* deleted: 204, then 401, then 404 on a second delete */
    r = admin("DELETE", location, NULL);
    ck_assert_int_eq(r->status, 204);
    resp_free(r);
    r = with_key(saved, "GET", "/v1/keys", NULL);
    assert_problem(r, 401);
    resp_free(r);
    r = admin("DELETE", location, NULL);
    assert_problem(r, 404);
    resp_free(r);
    r = admin("DELETE", "/v1/keys/abc", NULL);
    assert_problem(r, 404);
    resp_free(r);
}
END_TEST

START_TEST(key_validation_is_422_and_writes_nothing)
{
    const char *bodies[] = {
        "{}",
        "[]",
        "\"text\"",
        "{\"name\":\"x\"}",
        "{\"name\":\"x\",\"scopes\":[]}",
        "{\"name\":\"x\",\"scopes\":\"read\"}",
        "{\"name\":\"x\",\"scopes\":[\"root\"]}",
        "{\"name\":\"x\",\"scopes\":[\"read\",\"read\"]}",
        "{\"name\":\"x\",\"scopes\":[1]}",
        "{\"name\":42,\"scopes\":[\"read\"]}",
        "{\"name\":\"\",\"scopes\":[\"read\"]}",
        "{\"name\":\"x\",\"scopes\":[\"read\"],\"admin\":true}",
        "{\"name\":\"a\\u0000b\",\"scopes\":[\"read\"]}",
        "{\"name\":\"x\",\"scopes\":[\"read\"],\"n\":1e999999}",
        "{\"name\":\"x\",\"scopes\":[\"read\"],\"n\":123456789012345678901234567890}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct resp *r = admin("POST", "/v1/keys", bodies[i]);
        ck_assert_msg(r->status == 422, "body %s: %ld %s", bodies[i], r->status, r->body);
        assert_problem(r, 422);
        ck_assert(json_array_size(json_object_get(r->json, "errors")) >= 1);
        json_t *first = json_array_get(json_object_get(r->json, "errors"), 0);
        ck_assert(json_is_string(json_object_get(first, "pointer")));
        ck_assert(json_is_string(json_object_get(first, "message")));
        resp_free(r);
    }
    ck_assert_int_eq(count_keys(), 0);
}
END_TEST

START_TEST(validation_reports_every_problem_with_pointers)
{
    struct resp *r = admin("POST", "/v1/keys", "{\"name\":7,\"scopes\":[\"read\",\"x\"],\"z\":1}");
    assert_problem(r, 422);
    json_t *errors = json_object_get(r->json, "errors");
    ck_assert_int_eq(json_array_size(errors), 3);
    ck_assert_ptr_nonnull(strstr(r->body, "\"/name\""));
    ck_assert_ptr_nonnull(strstr(r->body, "\"/scopes/1\""));
    ck_assert_ptr_nonnull(strstr(r->body, "\"/z\""));
    resp_free(r);
}
END_TEST

/* ---- bodies ---- */

START_TEST(malformed_json_is_400_with_position)
{
    struct resp *r = admin("POST", "/v1/keys", "{\"name\": \"x\",\n \"scopes\": [\"read\"");
    assert_problem(r, 400);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "line")), 2);
    ck_assert(json_integer_value(json_object_get(r->json, "column")) > 0);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(r->json, "detail")), "line 2"));
    resp_free(r);
    r = admin("POST", "/v1/keys", "{\"name\":\"x\",\"name\":\"y\",\"scopes\":[\"read\"]}");
    assert_problem(r, 400);
    resp_free(r);
    ck_assert_int_eq(count_keys(), 0);
}
END_TEST

START_TEST(invalid_utf8_is_400)
{
    const char body[] = "{\"name\":\"\xff\xfe\",\"scopes\":[\"read\"]}";
    const char *h[] = {"Authorization: Bearer " ADMIN_KEY, "Content-Type: application/json", NULL};
    struct resp *r = http_raw("POST", "/v1/keys", h, body, sizeof body - 1);
    assert_problem(r, 400);
    resp_free(r);
    ck_assert_int_eq(count_keys(), 0);
}
END_TEST

START_TEST(wrong_content_type_is_415)
{
    const char *h[] = {"Authorization: Bearer " ADMIN_KEY, "Content-Type: text/plain", NULL};
    struct resp *r = http("POST", "/v1/keys", h, "{\"name\":\"x\",\"scopes\":[\"read\"]}");
    assert_problem(r, 415);
    resp_free(r);
    const char *none[] = {"Authorization: Bearer " ADMIN_KEY, "Content-Type:", NULL};
    r = http("POST", "/v1/keys", none, "{\"name\":\"x\",\"scopes\":[\"read\"]}");
    assert_problem(r, 415);
    resp_free(r);
    const char *ok[] = {"Authorization: Bearer " ADMIN_KEY,
                        "Content-Type: application/json; charset=utf-8", NULL};
    r = http("POST", "/v1/keys", ok, "{\"name\":\"x\",\"scopes\":[\"read\"]}");
    ck_assert_int_eq(r->status, 201);
    resp_free(r);
    ck_assert_int_eq(count_keys(), 1);
}
END_TEST

START_TEST(empty_body_is_400)
{
    struct resp *r = admin("POST", "/v1/keys", "");
    assert_problem(r, 400);
    resp_free(r);
}
END_TEST

START_TEST(oversized_body_is_413)
{
    /* the suite runs with [limits] max_body_bytes = 4096 */
    size_t n = 5000;
    char *big = malloc(n + 64);
    int k = snprintf(big, n + 64, "{\"name\":\"");
    memset(big + k, 'a', n);
    snprintf(big + k + n, 64, "\",\"scopes\":[\"read\"]}");
    struct resp *r = admin("POST", "/v1/keys", big);
    assert_problem(r, 413);
    resp_free(r);
    /* the same without Content-Length (chunked): caught while reading */
    const char *h[] = {"Authorization: Bearer " ADMIN_KEY, "Content-Type: application/json",
                       "Transfer-Encoding: chunked", NULL};
    r = http("POST", "/v1/keys", h, big);
    assert_problem(r, 413);
    resp_free(r);
    free(big);
    ck_assert_int_eq(count_keys(), 0);
    /* just under the cap still works */
    r = admin("POST", "/v1/keys", "{\"name\":\"small\",\"scopes\":[\"read\"]}");
    ck_assert_int_eq(r->status, 201);
    resp_free(r);
}
END_TEST

START_TEST(keepalive_survives_json_request)
{
    http_session_begin();
    const char *h[] = {"Authorization: Bearer " ADMIN_KEY, "Content-Type: application/json", NULL};
    struct resp *r = http("POST", "/v1/keys", h, "{\"name\":\"k\",\"scopes\":[\"read\"]}");
    ck_assert_int_eq(r->status, 201);
    ck_assert_int_eq(r->connects, 1);
    ck_assert_ptr_null(
        resp_header(r, "Connection") && strcmp(resp_header(r, "Connection"), "close") == 0 ? "close"
                                                                                           : NULL);
    resp_free(r);
    for (int i = 0; i < 3; i++) {
        r = http("GET", i == 1 ? "/healthz" : "/v1/keys", h, NULL);
        ck_assert_int_eq(r->status, 200);
        ck_assert_msg(r->connects == 0, "request %d opened a new connection", i);
        resp_free(r);
    }
    /* an error answer keeps the connection too */
    r = http("POST", "/v1/keys", h, "{broken");
    ck_assert_int_eq(r->status, 400);
    ck_assert_int_eq(r->connects, 0);
    resp_free(r);
    r = http("GET", "/v1/keys", h, NULL);
    ck_assert_int_eq(r->connects, 0);
    resp_free(r);
    http_session_end();
}
END_TEST

/* ---- CORS ---- */

START_TEST(cors_preflight_and_headers)
{
    const char *pre[] = {"Origin: https://crm.example.org", "Access-Control-Request-Method: POST",
                         "Access-Control-Request-Headers: authorization, content-type", NULL};
    struct resp *r = http("OPTIONS", "/v1/keys", pre, NULL);
    ck_assert_int_eq(r->status, 204);
    ck_assert_str_eq(resp_header(r, "Access-Control-Allow-Origin"), "https://crm.example.org");
    ck_assert_ptr_nonnull(strstr(resp_header(r, "Access-Control-Allow-Methods"), "POST"));
    ck_assert_ptr_nonnull(strstr(resp_header(r, "Access-Control-Allow-Headers"), "Authorization"));
    resp_free(r);
    const char *evil[] = {"Origin: https://evil.example", "Access-Control-Request-Method: POST",
                          NULL};
    r = http("OPTIONS", "/v1/keys", evil, NULL);
    ck_assert_int_eq(r->status, 204);
    ck_assert_ptr_null(resp_header(r, "Access-Control-Allow-Origin"));
    resp_free(r);
    const char *get[] = {"Origin: https://crm.example.org", "Authorization: Bearer " ADMIN_KEY,
                         NULL};
    r = http("GET", "/v1/keys", get, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(resp_header(r, "Access-Control-Allow-Origin"), "https://crm.example.org");
    resp_free(r);
}
END_TEST

/* ---- workspaces ---- */

START_TEST(workspace_lifecycle_and_isolation)
{
    struct resp *r =
        admin("POST", "/v1/workspaces", "{\"name\":\"shop-b\",\"display_name\":\"B\"}");
    ck_assert_int_eq(r->status, 201);
    ck_assert_str_eq(resp_header(r, "Location"), "/v1/workspaces/shop-b");
    resp_free(r);
    r = admin("POST", "/v1/workspaces", "{\"name\":\"shop-b\"}");
    assert_problem(r, 409);
    resp_free(r);
    r = admin("GET", "/v1/workspaces", NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 2);
    resp_free(r);
    r = admin("PATCH", "/v1/workspaces/shop-b", "{\"display_name\":\"Shop B\"}");
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "display_name")), "Shop B");
    resp_free(r);

    /* a key of shop-b sees only shop-b's keys */
    char b_key[256];
    snprintf(b_key, sizeof b_key, "%s", make_key("shop-b", "[\"admin\"]"));
    ck_assert_ptr_nonnull(make_key(NULL, "[\"read\"]"));
    r = with_key(b_key, "GET", "/v1/keys", NULL);
    ck_assert_int_eq(r->status, 200);
    json_t *items = json_object_get(r->json, "items");
    ck_assert_int_eq(json_array_size(items), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "workspace")),
                     "shop-b");
    resp_free(r);
    /* and cannot delete default's key */
    long default_key = harness_sql_long("SELECT id FROM api_keys WHERE workspace_id = 1");
    char path[64];
    snprintf(path, sizeof path, "/v1/keys/%ld", default_key);
    r = with_key(b_key, "DELETE", path, NULL);
    assert_problem(r, 404);
    resp_free(r);
    ck_assert_int_eq(count_keys(), 2);

    /* deleting a workspace takes its keys with it */
    r = admin("DELETE", "/v1/workspaces/shop-b", NULL);
    ck_assert_int_eq(r->status, 204);
    resp_free(r);
    r = with_key(b_key, "GET", "/v1/keys", NULL);
    assert_problem(r, 401);
    resp_free(r);
    ck_assert_int_eq(count_keys(), 1);
    r = admin("GET", "/v1/workspaces/shop-b", NULL);
    assert_problem(r, 404);
    resp_free(r);
}
END_TEST

START_TEST(workspace_errors)
{
    struct resp *r = admin("DELETE", "/v1/workspaces/default", NULL);
    assert_problem(r, 409);
    resp_free(r);
    const char *bad[] = {
        "{\"name\":\"Upper\"}",
        "{\"name\":\"has space\"}",
        "{\"name\":\"\"}",
        "{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
        "{\"name\":\"x\",\"owner\":1}",
        "{\"name\":\"ok\",\"display_name\":5}",
        "{\"name\":\"robert'); DROP TABLE workspaces;--\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = admin("POST", "/v1/workspaces", bad[i]);
        ck_assert_msg(r->status == 422, "%s: %ld", bad[i], r->status);
        resp_free(r);
    }
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM workspaces"), 1);
    r = admin("GET", "/v1/workspaces/NOPE", NULL);
    assert_problem(r, 404);
    resp_free(r);
    r = admin("DELETE", "/v1/workspaces/ghost", NULL);
    assert_problem(r, 404);
    resp_free(r);
    r = admin("PATCH", "/v1/workspaces/default", "{\"display_name\":\"\"}");
    assert_problem(r, 422);
    resp_free(r);
}
END_TEST

static Suite *api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("http");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_checked_fixture(tc, test_setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, healthz_and_readyz);
    tcase_add_test(tc, metrics_count_requests);
    tcase_add_test(tc, openapi_served);
    tcase_add_test(tc, request_id_echoed_or_generated);
    tcase_add_test(tc, unknown_path_is_404);
    tcase_add_test(tc, wrong_method_is_405_with_allow);
    tcase_add_test(tc, bad_percent_encoding_is_400);
    tcase_add_test(tc, missing_key_is_401);
    tcase_add_test(tc, unknown_key_is_401);
    tcase_add_test(tc, scopes_enforced);
    tcase_add_test(tc, workspace_header_only_for_bootstrap);
    tcase_add_test(tc, key_lifecycle);
    tcase_add_test(tc, key_validation_is_422_and_writes_nothing);
    tcase_add_test(tc, validation_reports_every_problem_with_pointers);
    tcase_add_test(tc, malformed_json_is_400_with_position);
    tcase_add_test(tc, invalid_utf8_is_400);
    tcase_add_test(tc, wrong_content_type_is_415);
    tcase_add_test(tc, empty_body_is_400);
    tcase_add_test(tc, oversized_body_is_413);
    tcase_add_test(tc, keepalive_survives_json_request);
    tcase_add_test(tc, cors_preflight_and_headers);
    tcase_add_test(tc, workspace_lifecycle_and_isolation);
    tcase_add_test(tc, workspace_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(api_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
