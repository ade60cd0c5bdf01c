/* Pure core: who may do what (scopes, workspace names, key shape) and validation error lists. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "segmentd/core_access.h"
#include "segmentd/core_errors.h"

/* ---- sd_access_allows: SPEC §2 scopes ---- */

#define R SD_SCOPE_READ
#define I SD_SCOPE_INGEST
#define A SD_SCOPE_ADMIN

/* For every combination of scopes a key can hold, the routes it passes, in the order
 * PUBLIC, READ, INGEST, ADMIN, BOOTSTRAP ('Y' passes, 'n' does not). */
static const struct {
    unsigned scopes;
    const char *allows;
} scope_table[] = {
    {0, "Ynnnn"}, {R, "YYnnn"},     {I, "YnYnn"},     {R | I, "YYYnn"},
    {A, "YYYYn"}, {R | A, "YYYYn"}, {I | A, "YYYYn"}, {R | I | A, "YYYYn"},
};

static const enum sd_access accesses[] = {SD_ACCESS_PUBLIC, SD_ACCESS_READ, SD_ACCESS_INGEST,
                                          SD_ACCESS_ADMIN, SD_ACCESS_BOOTSTRAP};

START_TEST(test_access_table)
{
    ck_assert_uint_eq(sizeof scope_table / sizeof scope_table[0], 8);
    for (size_t i = 0; i < sizeof scope_table / sizeof scope_table[0]; i++) {
        for (size_t a = 0; a < 5; a++) {
            bool want = scope_table[i].allows[a] == 'Y';
            bool got = sd_access_allows(accesses[a], scope_table[i].scopes, false);
            ck_assert_msg(got == want, "scopes %u, access %d: got %d, want %d",
                          scope_table[i].scopes, (int)accesses[a], got, want);
        }
    }
}
END_TEST

START_TEST(test_access_bootstrap)
{
    /* The bootstrap key passes everything, whatever scopes it is recorded with. */
    for (unsigned scopes = 0; scopes < 8; scopes++) {
        for (size_t a = 0; a < 5; a++)
            ck_assert_msg(sd_access_allows(accesses[a], scopes, true),
                          "bootstrap, scopes %u, access %d refused", scopes, (int)accesses[a]);
    }
    /* ... and only it passes BOOTSTRAP. */
    for (unsigned scopes = 0; scopes < 8; scopes++)
        ck_assert(!sd_access_allows(SD_ACCESS_BOOTSTRAP, scopes, false));
}
END_TEST

START_TEST(test_access_named)
{
    /* The rules of SPEC §2 spelled out. */
    ck_assert(sd_access_allows(SD_ACCESS_READ, A, false));
    ck_assert(sd_access_allows(SD_ACCESS_INGEST, A, false));
    ck_assert(sd_access_allows(SD_ACCESS_ADMIN, A, false));
    ck_assert(sd_access_allows(SD_ACCESS_READ, R, false));
    ck_assert(!sd_access_allows(SD_ACCESS_INGEST, R, false));
    ck_assert(!sd_access_allows(SD_ACCESS_ADMIN, R, false));
    ck_assert(!sd_access_allows(SD_ACCESS_READ, I, false));
    ck_assert(sd_access_allows(SD_ACCESS_INGEST, I, false));
    ck_assert(!sd_access_allows(SD_ACCESS_ADMIN, I, false));
    ck_assert(!sd_access_allows(SD_ACCESS_ADMIN, R | I, false));
    ck_assert(sd_access_allows(SD_ACCESS_PUBLIC, 0, false));
    ck_assert(!sd_access_allows(SD_ACCESS_READ, 0, false));
    /* Unknown bits grant nothing. */
    ck_assert(!sd_access_allows(SD_ACCESS_READ, 1u << 8, false));
    ck_assert(!sd_access_allows(SD_ACCESS_ADMIN, ~(unsigned)A, false));
}
END_TEST

/* ---- scope names ---- */

START_TEST(test_scope_names)
{
    ck_assert_uint_eq(sd_scope_from_name("read"), SD_SCOPE_READ);
    ck_assert_uint_eq(sd_scope_from_name("ingest"), SD_SCOPE_INGEST);
    ck_assert_uint_eq(sd_scope_from_name("admin"), SD_SCOPE_ADMIN);
    ck_assert_uint_eq(sd_scope_from_name(""), 0);
    ck_assert_uint_eq(sd_scope_from_name("Read"), 0);
    ck_assert_uint_eq(sd_scope_from_name("ADMIN"), 0);
    ck_assert_uint_eq(sd_scope_from_name("reader"), 0);
    ck_assert_uint_eq(sd_scope_from_name("rea"), 0);
    ck_assert_uint_eq(sd_scope_from_name(" read"), 0);
    ck_assert_uint_eq(sd_scope_from_name("write"), 0);
    ck_assert_uint_eq(sd_scope_from_name("bootstrap"), 0);

    ck_assert_str_eq(sd_scope_name(SD_SCOPE_READ), "read");
    ck_assert_str_eq(sd_scope_name(SD_SCOPE_INGEST), "ingest");
    ck_assert_str_eq(sd_scope_name(SD_SCOPE_ADMIN), "admin");
    ck_assert_ptr_null(sd_scope_name(0));
    ck_assert_ptr_null(sd_scope_name(R | I));
    ck_assert_ptr_null(sd_scope_name(R | A));
    ck_assert_ptr_null(sd_scope_name(R | I | A));
    ck_assert_ptr_null(sd_scope_name(1u << 3));
    ck_assert_ptr_null(sd_scope_name(~0u));

    /* Round trip. */
    static const unsigned bits[] = {SD_SCOPE_READ, SD_SCOPE_INGEST, SD_SCOPE_ADMIN};
    for (size_t i = 0; i < 3; i++)
        ck_assert_uint_eq(sd_scope_from_name(sd_scope_name(bits[i])), bits[i]);
}
END_TEST

/* ---- workspace names ---- */

START_TEST(test_workspace_names)
{
    char name[80];
    memset(name, 'a', 63);
    name[63] = '\0';
    ck_assert(sd_workspace_name_valid(name)); /* 63: the longest */
    memset(name, 'z', 64);
    name[64] = '\0';
    ck_assert(!sd_workspace_name_valid(name)); /* 64: one too many */
    name[62] = '\0';
    ck_assert(sd_workspace_name_valid(name));

    ck_assert(sd_workspace_name_valid("a"));
    ck_assert(sd_workspace_name_valid("0"));
    ck_assert(sd_workspace_name_valid("acme"));
    ck_assert(sd_workspace_name_valid("shop-1_eu"));
    ck_assert(sd_workspace_name_valid("-"));
    ck_assert(sd_workspace_name_valid("_"));
    ck_assert(sd_workspace_name_valid("-leading-and-trailing_"));
    ck_assert(sd_workspace_name_valid("0123456789abcdefghijklmnopqrstuvwxyz-_"));

    ck_assert(!sd_workspace_name_valid(""));
    ck_assert(!sd_workspace_name_valid("Acme"));
    ck_assert(!sd_workspace_name_valid("acmE"));
    ck_assert(!sd_workspace_name_valid("acme.eu"));
    ck_assert(!sd_workspace_name_valid("."));
    ck_assert(!sd_workspace_name_valid(".."));
    ck_assert(!sd_workspace_name_valid("a b"));
    ck_assert(!sd_workspace_name_valid("a/b"));
    ck_assert(!sd_workspace_name_valid("a%20b"));
    ck_assert(!sd_workspace_name_valid("caf\xc3\xa9"));
    ck_assert(!sd_workspace_name_valid("tab\t"));
    ck_assert(!sd_workspace_name_valid("a~b"));
    ck_assert(!sd_workspace_name_valid("a+b"));
}
END_TEST

/* ---- API keys ---- */

#define SECRET32 "0123456789abcdefABCDEF0123456789"

START_TEST(test_api_key_parse)
{
    ck_assert_uint_eq(strlen(SECRET32), 32);
    long long ws = -1;
    ck_assert(sd_api_key_parse("sdk_42_" SECRET32, &ws));
    ck_assert_int_eq(ws, 42);
    ws = -1;
    ck_assert(sd_api_key_parse("sdk_1_" SECRET32 "more-is-fine", &ws));
    ck_assert_int_eq(ws, 1);
    ws = -1;
    ck_assert(sd_api_key_parse("sdk_999999999999999_" SECRET32, &ws)); /* 15 digits */
    ck_assert_int_eq(ws, 999999999999999LL);
    ws = -1;
    ck_assert(sd_api_key_parse("sdk_007_" SECRET32, &ws)); /* leading zeros: the number */
    ck_assert_int_eq(ws, 7);
    /* The secret is opaque: an underscore in it is fine. */
    ws = -1;
    ck_assert(sd_api_key_parse("sdk_5_" SECRET32 "_x", &ws));
    ck_assert_int_eq(ws, 5);

    ck_assert(!sd_api_key_parse("sdk_0_" SECRET32, &ws));                /* workspace 0 */
    ck_assert(!sd_api_key_parse("sdk_000_" SECRET32, &ws));              /* still 0 */
    ck_assert(!sd_api_key_parse("sdk__" SECRET32, &ws));                 /* no digits */
    ck_assert(!sd_api_key_parse("sdk_x_" SECRET32, &ws));                /* not digits */
    ck_assert(!sd_api_key_parse("sdk_-1_" SECRET32, &ws));               /* no sign */
    ck_assert(!sd_api_key_parse("sdk_+1_" SECRET32, &ws));               /* no sign */
    ck_assert(!sd_api_key_parse("sdk_ 1_" SECRET32, &ws));               /* no space */
    ck_assert(!sd_api_key_parse("sdk_12x_" SECRET32, &ws));              /* junk after the digits */
    ck_assert(!sd_api_key_parse("sdk_42" SECRET32, &ws));                /* missing '_' */
    ck_assert(!sd_api_key_parse("sdk_42-" SECRET32, &ws));               /* wrong separator */
    ck_assert(!sd_api_key_parse("sdk_42", &ws));                         /* nothing after */
    ck_assert(!sd_api_key_parse("sdk_42_", &ws));                        /* empty secret */
    ck_assert(!sd_api_key_parse("sdk_1234567890123456_" SECRET32, &ws)); /* 16 digits */
    ck_assert(!sd_api_key_parse("sdk_99999999999999999999_" SECRET32, &ws)); /* overflow */
    ck_assert(!sd_api_key_parse("SDK_42_" SECRET32, &ws));
    ck_assert(!sd_api_key_parse("sk_42_" SECRET32, &ws));
    ck_assert(!sd_api_key_parse("sdk42_" SECRET32, &ws));
    ck_assert(!sd_api_key_parse(" sdk_42_" SECRET32, &ws));
    ck_assert(!sd_api_key_parse("", &ws));
    ck_assert(!sd_api_key_parse("sdk_", &ws));
    ck_assert(!sd_api_key_parse(SECRET32, &ws));

    /* Secret length: 31 is too short, 32 is enough. */
    char key[64];
    strcpy(key, "sdk_42_" SECRET32);
    key[strlen(key) - 1] = '\0';
    ck_assert_uint_eq(strlen(key), 7 + 31);
    ck_assert(!sd_api_key_parse(key, &ws));
    ck_assert(!sd_api_key_parse("sdk_42_x", &ws));
}
END_TEST

/* ---- validation errors ---- */

START_TEST(test_errors_capacity)
{
    struct sd_errors *e = malloc(sizeof *e);
    ck_assert_ptr_nonnull(e);
    sd_errors_init(e);
    ck_assert_uint_eq(e->count, 0);
    ck_assert_uint_eq(e->dropped, 0);
    ck_assert(!sd_errors_any(e));

    sd_errors_add(e, "must be a number", "/%d/amount", 0);
    ck_assert(sd_errors_any(e));
    ck_assert_uint_eq(e->count, 1);
    ck_assert_str_eq(e->items[0].pointer, "/0/amount");
    ck_assert_str_eq(e->items[0].message, "must be a number");

    for (int i = 1; i < SD_ERRORS_MAX; i++)
        sd_errors_add(e, "must be a number", "/%d/amount", i);
    ck_assert_uint_eq(e->count, SD_ERRORS_MAX);
    ck_assert_uint_eq(e->dropped, 0);
    ck_assert_str_eq(e->items[SD_ERRORS_MAX - 1].pointer, "/49/amount");

    /* Beyond the capacity: counted, not stored, the stored ones untouched. */
    sd_errors_add(e, "later", "/%s", "x");
    sd_errors_add(e, "later", "/%s", "y");
    sd_errors_add(e, "later", "/%s", "z");
    ck_assert_uint_eq(e->count, SD_ERRORS_MAX);
    ck_assert_uint_eq(e->dropped, 3);
    ck_assert_str_eq(e->items[SD_ERRORS_MAX - 1].pointer, "/49/amount");
    ck_assert_str_eq(e->items[SD_ERRORS_MAX - 1].message, "must be a number");
    ck_assert(sd_errors_any(e));

    /* Only dropped errors still count as errors. */
    e->count = 0;
    ck_assert(sd_errors_any(e));

    /* init resets both. */
    sd_errors_init(e);
    ck_assert_uint_eq(e->count, 0);
    ck_assert_uint_eq(e->dropped, 0);
    ck_assert(!sd_errors_any(e));
    free(e);
}
END_TEST

START_TEST(test_errors_truncation)
{
    struct sd_errors *e = malloc(sizeof *e);
    ck_assert_ptr_nonnull(e);
    sd_errors_init(e);

    char msg[400];
    memset(msg, 'm', sizeof msg - 1);
    msg[sizeof msg - 1] = '\0';
    msg[0] = 'M';
    sd_errors_add(e, msg, "%s", "");
    ck_assert_uint_eq(strlen(e->items[0].message), sizeof e->items[0].message - 1);
    ck_assert_int_eq(e->items[0].message[0], 'M');
    ck_assert_int_eq(memcmp(e->items[0].message, msg, sizeof e->items[0].message - 1), 0);
    ck_assert_str_eq(e->items[0].pointer, ""); /* the whole document */

    /* A message that exactly fits is kept whole. */
    msg[sizeof e->items[0].message - 1] = '\0';
    sd_errors_add(e, msg, "/a");
    ck_assert_str_eq(e->items[1].message, msg);
    ck_assert_str_eq(e->items[1].pointer, "/a");

    /* The pointer is cut to its buffer too. */
    char tok[600];
    memset(tok, 'p', sizeof tok - 1);
    tok[sizeof tok - 1] = '\0';
    sd_errors_add(e, "long pointer", "/%s", tok);
    ck_assert_uint_eq(strlen(e->items[2].pointer), sizeof e->items[2].pointer - 1);
    ck_assert_int_eq(e->items[2].pointer[0], '/');
    ck_assert_int_eq(e->items[2].pointer[1], 'p');
    ck_assert_str_eq(e->items[2].message, "long pointer");

    /* The message is plain text, never a format. */
    sd_errors_add(e, "100%s %d %n", "/%zu/%s", (size_t)3, "amount");
    ck_assert_str_eq(e->items[3].message, "100%s %d %n");
    ck_assert_str_eq(e->items[3].pointer, "/3/amount");
    ck_assert_uint_eq(e->count, 4);
    free(e);
}
END_TEST

START_TEST(test_pointer_escape)
{
    char out[64];
    sd_pointer_escape("a/b~c", out, sizeof out);
    ck_assert_str_eq(out, "a~1b~0c");
    sd_pointer_escape("", out, sizeof out);
    ck_assert_str_eq(out, "");
    sd_pointer_escape("plain", out, sizeof out);
    ck_assert_str_eq(out, "plain");
    sd_pointer_escape("~1", out, sizeof out); /* "~1" is a key, not an escape */
    ck_assert_str_eq(out, "~01");
    sd_pointer_escape("//~~", out, sizeof out);
    ck_assert_str_eq(out, "~1~1~0~0");
    sd_pointer_escape("caf\xc3\xa9", out, sizeof out); /* bytes pass through */
    ck_assert_str_eq(out, "caf\xc3\xa9");
}
END_TEST

START_TEST(test_pointer_escape_small_output)
{
    char out[16];
    /* Exactly fits with its NUL. */
    memset(out, 'Z', sizeof out);
    sd_pointer_escape("abc", out, 4);
    ck_assert_str_eq(out, "abc");
    sd_pointer_escape("a/b", out, 5);
    ck_assert_str_eq(out, "a~1b");

    /* Cut, never in the middle of an escape, never past outlen. */
    memset(out, 'Z', sizeof out);
    sd_pointer_escape("abcd", out, 4);
    ck_assert_str_eq(out, "abc");
    ck_assert_int_eq(out[4], 'Z');
    memset(out, 'Z', sizeof out);
    sd_pointer_escape("a/b", out, 4);
    ck_assert_str_eq(out, "a~1");
    sd_pointer_escape("a/", out, 3);
    ck_assert_str_eq(out, "a");
    sd_pointer_escape("ab/", out, 4);
    ck_assert_str_eq(out, "ab");
    sd_pointer_escape("/", out, 2);
    ck_assert_str_eq(out, "");
    sd_pointer_escape("x", out, 1);
    ck_assert_str_eq(out, "");

    /* No room at all: nothing written. */
    memset(out, 'Z', sizeof out);
    sd_pointer_escape("x", out, 0);
    ck_assert_int_eq(out[0], 'Z');
}
END_TEST

static Suite *core_access_suite(void)
{
    Suite *s = suite_create("core_access");
    TCase *acc = tcase_create("access");
    tcase_add_test(acc, test_access_table);
    tcase_add_test(acc, test_access_bootstrap);
    tcase_add_test(acc, test_access_named);
    tcase_add_test(acc, test_scope_names);
    tcase_add_test(acc, test_workspace_names);
    tcase_add_test(acc, test_api_key_parse);
    suite_add_tcase(s, acc);

    TCase *err = tcase_create("errors");
    tcase_add_test(err, test_errors_capacity);
    tcase_add_test(err, test_errors_truncation);
    tcase_add_test(err, test_pointer_escape);
    tcase_add_test(err, test_pointer_escape_small_output);
    suite_add_tcase(s, err);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(core_access_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
