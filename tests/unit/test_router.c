/* The router: pattern matching, percent-decoding of path parameters, 404 / 405 / 400, and the
 * shape of the real route table. Pure: no server, no database. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segmentd/api.h"
#include "segmentd/router.h"

/* Dummy handlers: only their addresses matter. */
static void h_health(struct sd_request *req)
{
    (void)req;
}
static void h_keys_create(struct sd_request *req)
{
    (void)req;
}
static void h_keys_list(struct sd_request *req)
{
    (void)req;
}
static void h_key_delete(struct sd_request *req)
{
    (void)req;
}
static void h_key_get(struct sd_request *req)
{
    (void)req;
}
static void h_member(struct sd_request *req)
{
    (void)req;
}
static void h_versions(struct sd_request *req)
{
    (void)req;
}

enum {
    R_HEALTH,
    R_KEYS_CREATE,
    R_KEYS_LIST,
    R_KEY_DELETE,
    R_KEY_GET,
    R_MEMBER,
    R_VERSIONS,
    R_COUNT
};

static const struct sd_route routes[] = {
    [R_HEALTH] = {"GET", "/healthz", SD_ACCESS_PUBLIC, SD_ROUTE_INLINE, h_health},
    [R_KEYS_CREATE] = {"POST", "/v1/keys", SD_ACCESS_ADMIN, SD_ROUTE_JSON, h_keys_create},
    [R_KEYS_LIST] = {"GET", "/v1/keys", SD_ACCESS_ADMIN, 0, h_keys_list},
    [R_KEY_DELETE] = {"DELETE", "/v1/keys/{id}", SD_ACCESS_ADMIN, 0, h_key_delete},
    [R_KEY_GET] = {"GET", "/v1/keys/{id}", SD_ACCESS_READ, 0, h_key_get},
    [R_MEMBER] = {"GET", "/v1/workspaces/{ws}/members/{member}", SD_ACCESS_BOOTSTRAP, 0, h_member},
    [R_VERSIONS] = {"GET", "/v1/matrices/{kind}/versions", SD_ACCESS_READ, 0, h_versions},
};

_Static_assert(sizeof routes / sizeof routes[0] == R_COUNT, "one enum value per route");

static enum sd_route_match match(const char *method, const char *path, struct sd_match *m)
{
    memset(m, 0x5a, sizeof *m); /* garbage in: the router must set what it reports */
    return sd_router_match(routes, R_COUNT, method, path, m);
}

/* ---- literal paths ---- */

START_TEST(test_literal)
{
    struct sd_match m;
    ck_assert_int_eq(match("GET", "/healthz", &m), SD_MATCH_OK);
    ck_assert_ptr_eq(m.route, &routes[R_HEALTH]);
    ck_assert_uint_eq(m.route_index, R_HEALTH);
    ck_assert(m.route->handler == h_health);
    ck_assert_uint_eq(m.nparams, 0);

    ck_assert_int_eq(match("POST", "/v1/keys", &m), SD_MATCH_OK);
    ck_assert_uint_eq(m.route_index, R_KEYS_CREATE);
    ck_assert(m.route->handler == h_keys_create);
    ck_assert_uint_eq(m.nparams, 0);

    ck_assert_int_eq(match("GET", "/v1/keys", &m), SD_MATCH_OK);
    ck_assert_uint_eq(m.route_index, R_KEYS_LIST);
    ck_assert(m.route->handler == h_keys_list);
    ck_assert_str_eq(m.allow, "POST, GET");
}
END_TEST

START_TEST(test_not_found)
{
    struct sd_match m;
    ck_assert_int_eq(match("GET", "/nope", &m), SD_MATCH_NOT_FOUND);
    ck_assert_ptr_null(m.route);
    ck_assert_int_eq(match("GET", "/", &m), SD_MATCH_NOT_FOUND);
    ck_assert_int_eq(match("GET", "", &m), SD_MATCH_NOT_FOUND);
    ck_assert_int_eq(match("GET", "healthz", &m), SD_MATCH_NOT_FOUND);
    ck_assert_int_eq(match("GET", "/healthz/", &m), SD_MATCH_NOT_FOUND); /* trailing slash */
    ck_assert_int_eq(match("GET", "/v1/keys/", &m), SD_MATCH_NOT_FOUND); /* empty {id} */
    ck_assert_int_eq(match("DELETE", "/v1/keys/", &m), SD_MATCH_NOT_FOUND);
    ck_assert_int_eq(match("GET", "/v1/keys/abc/", &m), SD_MATCH_NOT_FOUND);
    ck_assert_int_eq(match("GET", "/v1/keys/abc/def", &m), SD_MATCH_NOT_FOUND); /* extra */
    ck_assert_int_eq(match("GET", "/healthz/x", &m), SD_MATCH_NOT_FOUND);
    ck_assert_int_eq(match("GET", "/v1", &m), SD_MATCH_NOT_FOUND); /* too short */
    ck_assert_int_eq(match("GET", "//v1/keys", &m), SD_MATCH_NOT_FOUND);
    ck_assert_int_eq(match("GET", "/v1//keys", &m), SD_MATCH_NOT_FOUND);
    ck_assert_int_eq(match("GET", "/V1/keys", &m), SD_MATCH_NOT_FOUND); /* case-sensitive */
    ck_assert_int_eq(match("GET", "/healthzz", &m), SD_MATCH_NOT_FOUND);
    ck_assert_int_eq(match("GET", "/health", &m), SD_MATCH_NOT_FOUND);
    ck_assert_int_eq(match("GET", "/v1/workspaces/acme/members", &m), SD_MATCH_NOT_FOUND);
    ck_assert_int_eq(match("GET", "/v1/workspaces/acme/members/", &m), SD_MATCH_NOT_FOUND);
    ck_assert_int_eq(match("GET", "/v1/workspaces//members/bob", &m), SD_MATCH_NOT_FOUND);
    ck_assert_int_eq(match("GET", "/v1/matrices/b2c/version", &m), SD_MATCH_NOT_FOUND);
    ck_assert_int_eq(match("GET", "/v1/matrices/b2c", &m), SD_MATCH_NOT_FOUND);
    ck_assert_str_eq(m.allow, "");
    /* A literal segment of the pattern matches only itself. */
    ck_assert_int_eq(match("GET", "/v1/matrices/b2c/{kind}", &m), SD_MATCH_NOT_FOUND);
}
END_TEST

/* ---- placeholders ---- */

START_TEST(test_one_param)
{
    struct sd_match m;
    ck_assert_int_eq(match("GET", "/v1/keys/42", &m), SD_MATCH_OK);
    ck_assert_uint_eq(m.route_index, R_KEY_GET);
    ck_assert(m.route->handler == h_key_get);
    ck_assert_uint_eq(m.nparams, 1);
    ck_assert_str_eq(m.params[0], "42");

    ck_assert_int_eq(match("DELETE", "/v1/keys/k-1", &m), SD_MATCH_OK);
    ck_assert_uint_eq(m.route_index, R_KEY_DELETE);
    ck_assert_uint_eq(m.nparams, 1);
    ck_assert_str_eq(m.params[0], "k-1");
    ck_assert_str_eq(m.allow, "DELETE, GET");

    /* A placeholder in the middle, followed by a literal. */
    ck_assert_int_eq(match("GET", "/v1/matrices/b2b/versions", &m), SD_MATCH_OK);
    ck_assert_uint_eq(m.route_index, R_VERSIONS);
    ck_assert_uint_eq(m.nparams, 1);
    ck_assert_str_eq(m.params[0], "b2b");

    /* One character is a non-empty segment. */
    ck_assert_int_eq(match("GET", "/v1/keys/x", &m), SD_MATCH_OK);
    ck_assert_str_eq(m.params[0], "x");
}
END_TEST

START_TEST(test_two_params)
{
    struct sd_match m;
    ck_assert_int_eq(match("GET", "/v1/workspaces/acme/members/bob", &m), SD_MATCH_OK);
    ck_assert_uint_eq(m.route_index, R_MEMBER);
    ck_assert(m.route->handler == h_member);
    ck_assert_uint_eq(m.nparams, 2);
    ck_assert_str_eq(m.params[0], "acme");
    ck_assert_str_eq(m.params[1], "bob");

    ck_assert_int_eq(match("GET", "/v1/workspaces/a%2Fb/members/c%20d", &m), SD_MATCH_OK);
    ck_assert_uint_eq(m.nparams, 2);
    ck_assert_str_eq(m.params[0], "a/b");
    ck_assert_str_eq(m.params[1], "c d");

    ck_assert_int_eq(match("GET", "/v1/workspaces/acme/members/bob/x", &m), SD_MATCH_NOT_FOUND);
    ck_assert_int_eq(match("GET", "/v1/workspaces/acme/member/bob", &m), SD_MATCH_NOT_FOUND);
}
END_TEST

START_TEST(test_param_decoding)
{
    struct sd_match m;
    /* %2F stays inside one segment: the path is split before decoding. */
    ck_assert_int_eq(match("GET", "/v1/keys/a%2Fb", &m), SD_MATCH_OK);
    ck_assert_uint_eq(m.route_index, R_KEY_GET);
    ck_assert_uint_eq(m.nparams, 1);
    ck_assert_str_eq(m.params[0], "a/b");
    ck_assert_int_eq(match("GET", "/v1/keys/%2f%2F", &m), SD_MATCH_OK);
    ck_assert_str_eq(m.params[0], "//");

    ck_assert_int_eq(match("GET", "/v1/keys/hello%20world", &m), SD_MATCH_OK);
    ck_assert_str_eq(m.params[0], "hello world");

    /* '+' is literal in a path. */
    ck_assert_int_eq(match("GET", "/v1/keys/a+b", &m), SD_MATCH_OK);
    ck_assert_str_eq(m.params[0], "a+b");
    ck_assert_int_eq(match("GET", "/v1/keys/a%2Bb", &m), SD_MATCH_OK);
    ck_assert_str_eq(m.params[0], "a+b");

    /* UTF-8: encoded and raw bytes come out the same. "é" is C3 A9, "€" is E2 82 AC. */
    ck_assert_int_eq(match("GET", "/v1/keys/caf%C3%A9", &m), SD_MATCH_OK);
    ck_assert_str_eq(m.params[0], "caf\xc3\xa9");
    ck_assert_uint_eq(strlen(m.params[0]), 5);
    ck_assert_int_eq(match("GET", "/v1/keys/%e2%82%ac", &m), SD_MATCH_OK);
    ck_assert_str_eq(m.params[0], "\xe2\x82\xac");
    ck_assert_int_eq(match("GET", "/v1/keys/caf\xc3\xa9", &m), SD_MATCH_OK);
    ck_assert_str_eq(m.params[0], "caf\xc3\xa9");

    /* An encoded segment that decodes to nothing special is still one segment. */
    ck_assert_int_eq(match("GET", "/v1/keys/%41%42%43", &m), SD_MATCH_OK);
    ck_assert_str_eq(m.params[0], "ABC");
}
END_TEST

START_TEST(test_bad_escapes)
{
    static const char *const bad[] = {
        "/v1/keys/%zz",
        "/v1/keys/%0",
        "/v1/keys/abc%",
        "/v1/keys/%",
        "/v1/keys/%00",
        "/v1/keys/a%00b",
        "/v1/keys/%g0",
        "/v1/keys/%0g",
        "/v1/keys/ok%2",
        "/v1/keys/%%41",
        "/v1/keys/%-1",
        "/v1/keys/%+1",
        "/v1/matrices/%zz/versions",
        "/v1/workspaces/ok/members/%zz",
        "/v1/workspaces/%zz/members/ok",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sd_match m;
        enum sd_route_match r = match("GET", bad[i], &m);
        ck_assert_msg(r == SD_MATCH_BAD_PATH, "%s: got %d", bad[i], (int)r);
        ck_assert_ptr_null(m.route);
    }
    /* Whatever the method: a malformed path is a 400, not a 405. */
    struct sd_match m;
    ck_assert_int_eq(match("PUT", "/v1/keys/%zz", &m), SD_MATCH_BAD_PATH);
    ck_assert_int_eq(match("DELETE", "/v1/keys/%00", &m), SD_MATCH_BAD_PATH);
}
END_TEST

/* ---- methods ---- */

START_TEST(test_bad_method)
{
    struct sd_match m;
    ck_assert_int_eq(match("PUT", "/v1/keys", &m), SD_MATCH_BAD_METHOD);
    ck_assert_ptr_null(m.route);
    ck_assert_str_eq(m.allow, "POST, GET"); /* table order */

    ck_assert_int_eq(match("DELETE", "/v1/keys", &m), SD_MATCH_BAD_METHOD);
    ck_assert_str_eq(m.allow, "POST, GET");

    ck_assert_int_eq(match("POST", "/v1/keys/7", &m), SD_MATCH_BAD_METHOD);
    ck_assert_str_eq(m.allow, "DELETE, GET");

    ck_assert_int_eq(match("POST", "/healthz", &m), SD_MATCH_BAD_METHOD);
    ck_assert_str_eq(m.allow, "GET");

    ck_assert_int_eq(match("OPTIONS", "/v1/workspaces/a/members/b", &m), SD_MATCH_BAD_METHOD);
    ck_assert_str_eq(m.allow, "GET");

    /* Methods are case-sensitive (RFC 9110 §9.1). */
    ck_assert_int_eq(match("get", "/v1/keys", &m), SD_MATCH_BAD_METHOD);
    ck_assert_str_eq(m.allow, "POST, GET");

    /* HEAD on a path with no GET route. */
    static const struct sd_route post_only[] = {
        {"POST", "/v1/things", SD_ACCESS_ADMIN, 0, h_keys_create, NULL},
    };
    memset(&m, 0x5a, sizeof m);
    ck_assert_int_eq(sd_router_match(post_only, 1, "HEAD", "/v1/things", &m), SD_MATCH_BAD_METHOD);
    ck_assert_str_eq(m.allow, "POST");
}
END_TEST

START_TEST(test_head_matches_get)
{
    struct sd_match m;
    ck_assert_int_eq(match("HEAD", "/healthz", &m), SD_MATCH_OK);
    ck_assert_uint_eq(m.route_index, R_HEALTH);

    ck_assert_int_eq(match("HEAD", "/v1/keys", &m), SD_MATCH_OK);
    ck_assert_uint_eq(m.route_index, R_KEYS_LIST); /* the GET route, not the POST before it */

    ck_assert_int_eq(match("HEAD", "/v1/keys/9", &m), SD_MATCH_OK);
    ck_assert_uint_eq(m.route_index, R_KEY_GET); /* not the DELETE before it */
    ck_assert_uint_eq(m.nparams, 1);
    ck_assert_str_eq(m.params[0], "9");
}
END_TEST

START_TEST(test_first_route_wins)
{
    static const struct sd_route twice[] = {
        {"GET", "/v1/a/{x}", SD_ACCESS_READ, 0, h_key_get, NULL},
        {"GET", "/v1/a/b", SD_ACCESS_READ, 0, h_key_delete, NULL},
        {"GET", "/v1/a/{y}", SD_ACCESS_READ, 0, h_member, NULL},
    };
    struct sd_match m;
    memset(&m, 0x5a, sizeof m);
    ck_assert_int_eq(sd_router_match(twice, 3, "GET", "/v1/a/b", &m), SD_MATCH_OK);
    ck_assert_uint_eq(m.route_index, 0);
    ck_assert_str_eq(m.params[0], "b");
    ck_assert_str_eq(m.allow, "GET"); /* listed once */

    /* An empty table knows no path. */
    memset(&m, 0x5a, sizeof m);
    ck_assert_int_eq(sd_router_match(twice, 0, "GET", "/v1/a/b", &m), SD_MATCH_NOT_FOUND);
    ck_assert_str_eq(m.allow, "");
}
END_TEST

/* ---- segment length ---- */

static char *path_with_segment(const char *prefix, size_t seglen, char fill)
{
    size_t plen = strlen(prefix);
    char *p = malloc(plen + seglen + 1);
    ck_assert_ptr_nonnull(p);
    memcpy(p, prefix, plen);
    memset(p + plen, fill, seglen);
    p[plen + seglen] = '\0';
    return p;
}

START_TEST(test_segment_length)
{
    struct sd_match *m = malloc(sizeof *m);
    ck_assert_ptr_nonnull(m);

    char *fits = path_with_segment("/v1/keys/", SD_MAX_SEGMENT - 1, 'a');
    ck_assert_int_eq(match("GET", fits, m), SD_MATCH_OK);
    ck_assert_uint_eq(m->nparams, 1);
    ck_assert_uint_eq(strlen(m->params[0]), SD_MAX_SEGMENT - 1);
    ck_assert_int_eq(m->params[0][0], 'a');
    ck_assert_int_eq(m->params[0][SD_MAX_SEGMENT - 2], 'a');

    char *over = path_with_segment("/v1/keys/", SD_MAX_SEGMENT, 'a');
    ck_assert_int_eq(match("GET", over, m), SD_MATCH_BAD_PATH);
    ck_assert_ptr_null(m->route);

    char *way_over = path_with_segment("/v1/keys/", 10 * SD_MAX_SEGMENT, 'b');
    ck_assert_int_eq(match("GET", way_over, m), SD_MATCH_BAD_PATH);

    /* The second of two parameters too. */
    char *second = path_with_segment("/v1/workspaces/acme/members/", SD_MAX_SEGMENT, 'c');
    ck_assert_int_eq(match("GET", second, m), SD_MATCH_BAD_PATH);

    /* The limit is on the decoded bytes: 3 raw bytes per "%41". */
    char encoded[9 + 3 * (SD_MAX_SEGMENT - 1) + 1];
    strcpy(encoded, "/v1/keys/");
    for (size_t i = 0; i < SD_MAX_SEGMENT - 1; i++)
        memcpy(encoded + 9 + 3 * i, "%41", 4);
    ck_assert_int_eq(match("GET", encoded, m), SD_MATCH_OK);
    ck_assert_uint_eq(strlen(m->params[0]), SD_MAX_SEGMENT - 1);
    ck_assert_int_eq(m->params[0][SD_MAX_SEGMENT - 2], 'A');

    free(fits);
    free(over);
    free(way_over);
    free(second);
    free(m);
}
END_TEST

/* ---- sd_url_decode ---- */

static bool decode(const char *in, char *out, size_t outlen, bool plus)
{
    return sd_url_decode(in, strlen(in), out, outlen, plus);
}

START_TEST(test_url_decode)
{
    char out[64];
    ck_assert(decode("plain", out, sizeof out, false));
    ck_assert_str_eq(out, "plain");
    ck_assert(decode("", out, sizeof out, false));
    ck_assert_str_eq(out, "");
    ck_assert(decode("a%20b", out, sizeof out, false));
    ck_assert_str_eq(out, "a b");
    ck_assert(decode("%2F%2f", out, sizeof out, false));
    ck_assert_str_eq(out, "//");
    ck_assert(decode("%c3%A9", out, sizeof out, false)); /* mixed case hex */
    ck_assert_str_eq(out, "\xc3\xa9");
    ck_assert(decode("%FF%01%7f", out, sizeof out, false)); /* bytes, not UTF-8 checked */
    ck_assert_str_eq(out, "\xff\x01\x7f");
    ck_assert(decode("100%25", out, sizeof out, false));
    ck_assert_str_eq(out, "100%");
    ck_assert(decode("%2525", out, sizeof out, false)); /* decoded once only */
    ck_assert_str_eq(out, "%25");

    /* plus_is_space: '+' → ' ' for query strings, kept in paths; "%2B" is always '+'. */
    ck_assert(decode("a+b%20c+", out, sizeof out, true));
    ck_assert_str_eq(out, "a b c ");
    ck_assert(decode("a+b%20c+", out, sizeof out, false));
    ck_assert_str_eq(out, "a+b c+");
    ck_assert(decode("%2B+", out, sizeof out, true));
    ck_assert_str_eq(out, "+ ");

    /* Only in[0..len) is read. */
    ck_assert(sd_url_decode("abc%zz", 3, out, sizeof out, false));
    ck_assert_str_eq(out, "abc");
    ck_assert(sd_url_decode("%41%42", 3, out, sizeof out, false));
    ck_assert_str_eq(out, "A");
    ck_assert(!sd_url_decode("%41", 2, out, sizeof out, false)); /* escape cut by len */
    ck_assert(sd_url_decode("", 0, out, 1, false));
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_url_decode_bad)
{
    static const char *const bad[] = {"%zz", "%0",  "%",  "abc%", "%00",  "x%00y",
                                      "%g1", "%1g", "%%", "% 1",  "%0%41"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[32];
        ck_assert_msg(!decode(bad[i], out, sizeof out, false), "%s decoded", bad[i]);
        ck_assert_msg(!decode(bad[i], out, sizeof out, true), "%s decoded (plus)", bad[i]);
    }
}
END_TEST

START_TEST(test_url_decode_small_output)
{
    char out[8];
    memset(out, 'Z', sizeof out);
    ck_assert(decode("abc", out, 4, false)); /* exactly fits with its NUL */
    ck_assert_str_eq(out, "abc");
    ck_assert(!decode("abcd", out, 4, false));
    ck_assert(!decode("abc", out, 3, false));
    ck_assert(decode("%41%42%43", out, 4, false)); /* room is counted in decoded bytes */
    ck_assert_str_eq(out, "ABC");
    ck_assert(!decode("%41%42%43%44", out, 4, false));
    ck_assert(decode("", out, 1, false));
    ck_assert_str_eq(out, "");
    ck_assert(!decode("a", out, 1, false));

    /* No room even for the NUL: false, and nothing written. */
    memset(out, 'Z', sizeof out);
    ck_assert(!decode("", out, 0, false));
    ck_assert(!decode("a", out, 0, false));
    ck_assert_int_eq(out[0], 'Z');

    /* Nothing written past outlen. */
    memset(out, 'Z', sizeof out);
    ck_assert(!decode("abcdefgh", out, 4, false));
    ck_assert_int_eq(out[4], 'Z');
    ck_assert_int_eq(out[7], 'Z');
}
END_TEST

/* ---- the real route table ---- */

/* The route's pattern with every placeholder replaced by a value: a path it must match. */
static void concrete_path(const char *pattern, char *out, size_t outlen)
{
    size_t o = 0;
    for (const char *p = pattern; *p != '\0';) {
        const char *piece = p;
        size_t n = 1;
        if (*p == '{') {
            const char *close = strchr(p, '}');
            ck_assert_msg(close != NULL, "%s: unclosed placeholder", pattern);
            piece = "p4ram-value";
            n = strlen(piece);
            p = close + 1;
        } else {
            p++;
        }
        ck_assert_uint_lt(o + n, outlen);
        memcpy(out + o, piece, n);
        o += n;
    }
    out[o] = '\0';
}

START_TEST(test_api_routes_table)
{
    ck_assert_uint_gt(sd_api_routes_count, 0);
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    for (size_t i = 0; i < sd_api_routes_count; i++) {
        const struct sd_route *r = &sd_api_routes[i];
        ck_assert_ptr_nonnull(r->method);
        ck_assert_ptr_nonnull(r->pattern);
        ck_assert(r->handler != NULL);
        ck_assert_msg(r->pattern[0] == '/', "route %zu: %s does not start with '/'", i, r->pattern);

        bool known = false;
        for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++)
            known = known || strcmp(r->method, methods[k]) == 0;
        ck_assert_msg(known, "route %zu: method %s", i, r->method);

        for (size_t j = 0; j < i; j++) {
            const struct sd_route *o = &sd_api_routes[j];
            ck_assert_msg(strcmp(r->method, o->method) != 0 || strcmp(r->pattern, o->pattern) != 0,
                          "routes %zu and %zu are both %s %s", j, i, r->method, r->pattern);
        }

        /* SPEC §2: operations endpoints need no key, everything under /v1 does. */
        bool v1 = strncmp(r->pattern, "/v1/", 4) == 0 || strcmp(r->pattern, "/v1") == 0;
        if (v1)
            ck_assert_msg(r->access != SD_ACCESS_PUBLIC, "%s %s is public", r->method, r->pattern);
        else
            ck_assert_msg(r->access == SD_ACCESS_PUBLIC, "%s %s needs a key", r->method,
                          r->pattern);
    }
}
END_TEST

/* Every route is reachable: no earlier route with the same method shadows it. */
START_TEST(test_api_routes_reachable)
{
    struct sd_match *m = malloc(sizeof *m);
    ck_assert_ptr_nonnull(m);
    for (size_t i = 0; i < sd_api_routes_count; i++) {
        const struct sd_route *r = &sd_api_routes[i];
        char path[512];
        concrete_path(r->pattern, path, sizeof path);
        enum sd_route_match res =
            sd_router_match(sd_api_routes, sd_api_routes_count, r->method, path, m);
        ck_assert_msg(res == SD_MATCH_OK, "%s %s: %d", r->method, path, (int)res);
        ck_assert_msg(m->route_index == i, "%s %s reaches route %zu, not %zu", r->method, path,
                      m->route_index, i);
        ck_assert_ptr_eq(m->route, r);
        ck_assert_ptr_nonnull(strstr(m->allow, r->method));
    }
    free(m);
}
END_TEST

static Suite *router_suite(void)
{
    Suite *s = suite_create("router");
    TCase *tc = tcase_create("match");
    tcase_add_test(tc, test_literal);
    tcase_add_test(tc, test_not_found);
    tcase_add_test(tc, test_one_param);
    tcase_add_test(tc, test_two_params);
    tcase_add_test(tc, test_param_decoding);
    tcase_add_test(tc, test_bad_escapes);
    tcase_add_test(tc, test_bad_method);
    tcase_add_test(tc, test_head_matches_get);
    tcase_add_test(tc, test_first_route_wins);
    tcase_add_test(tc, test_segment_length);
    suite_add_tcase(s, tc);

    TCase *dec = tcase_create("url_decode");
    tcase_add_test(dec, test_url_decode);
    tcase_add_test(dec, test_url_decode_bad);
    tcase_add_test(dec, test_url_decode_small_output);
    suite_add_tcase(s, dec);

    TCase *api = tcase_create("api_routes");
    tcase_add_test(api, test_api_routes_table);
    tcase_add_test(api, test_api_routes_reachable);
    suite_add_tcase(s, api);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(router_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
