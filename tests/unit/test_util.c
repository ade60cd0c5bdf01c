/* Leaf helpers: capped buffer, strict parsing, time and hex formatting, JSON escaping for logs. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "segmentd/log.h"
#include "segmentd/util.h"

/* ---- sd_buf ---- */

START_TEST(test_buf_cap_exact)
{
    struct sd_buf b;
    sd_buf_init(&b, 10);
    ck_assert_int_eq(sd_buf_append(&b, "12345", 5), SD_OK);
    ck_assert_int_eq(sd_buf_append(&b, "67890", 5), SD_OK); /* exactly the cap */
    ck_assert_uint_eq(b.len, 10);
    ck_assert_int_eq(sd_buf_append(&b, "x", 1), SD_ERR_TOO_LARGE);
    ck_assert_uint_eq(b.len, 10);
    ck_assert_str_eq(b.data, "1234567890");
    ck_assert_int_eq(sd_buf_append(&b, "", 0), SD_OK); /* nothing more still fits */
    ck_assert_int_eq(sd_buf_printf(&b, "%c", 'y'), SD_ERR_TOO_LARGE);
    ck_assert_str_eq(b.data, "1234567890");
    sd_buf_free(&b);
    ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(test_buf_cap_single_append)
{
    struct sd_buf b;
    sd_buf_init(&b, 4);
    ck_assert_int_eq(sd_buf_append(&b, "12345", 5), SD_ERR_TOO_LARGE);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_int_eq(sd_buf_append(&b, "1234", 4), SD_OK);
    ck_assert_str_eq(b.data, "1234");
    sd_buf_free(&b);

    sd_buf_init(&b, 0);
    ck_assert_int_eq(sd_buf_append(&b, "", 0), SD_OK);
    ck_assert_str_eq(b.data, "");
    ck_assert_int_eq(sd_buf_append(&b, "a", 1), SD_ERR_TOO_LARGE);
    sd_buf_free(&b);

    /* A length near SIZE_MAX must not wrap around the cap check. */
    sd_buf_init(&b, 100);
    ck_assert_int_eq(sd_buf_append(&b, "ab", 2), SD_OK);
    ck_assert_int_eq(sd_buf_append(&b, "x", SIZE_MAX), SD_ERR_TOO_LARGE);
    ck_assert_int_eq(sd_buf_append(&b, "x", SIZE_MAX - 1), SD_ERR_TOO_LARGE);
    ck_assert_str_eq(b.data, "ab");
    sd_buf_free(&b);
}
END_TEST

/* Growth through several reallocations, byte by byte, up to a cap that is not a power of two. */
START_TEST(test_buf_growth)
{
    enum { MAX = 5000 };
    struct sd_buf b;
    sd_buf_init(&b, MAX);
    for (size_t i = 0; i < MAX; i++) {
        char c = (char)('a' + i % 26);
        ck_assert_int_eq(sd_buf_append(&b, &c, 1), SD_OK);
    }
    ck_assert_uint_eq(b.len, MAX);
    ck_assert_uint_le(b.cap, MAX + 1);
    ck_assert_int_eq(b.data[MAX], '\0');
    ck_assert_int_eq(b.data[MAX - 1], 'a' + (MAX - 1) % 26);
    ck_assert_int_eq(sd_buf_append(&b, "z", 1), SD_ERR_TOO_LARGE);
    ck_assert_uint_eq(strlen(b.data), MAX);
    sd_buf_free(&b);
}
END_TEST

START_TEST(test_buf_printf)
{
    struct sd_buf b;
    sd_buf_init(&b, 1024);
    ck_assert_int_eq(sd_buf_printf(&b, "%d-%s", 42, "x"), SD_OK);
    ck_assert_int_eq(sd_buf_printf(&b, "%s", ""), SD_OK);
    ck_assert_int_eq(sd_buf_printf(&b, "/%05.1f", 2.5), SD_OK);
    ck_assert_str_eq(b.data, "42-x/002.5");
    ck_assert_uint_eq(b.len, strlen("42-x/002.5"));
    sd_buf_reset(&b);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_str_eq(b.data, "");
    ck_assert_int_eq(sd_buf_printf(&b, "again"), SD_OK);
    ck_assert_str_eq(b.data, "again");
    sd_buf_free(&b);

    /* printf obeys the cap to the byte and leaves the contents alone when it refuses. */
    sd_buf_init(&b, 6);
    ck_assert_int_eq(sd_buf_printf(&b, "%s", "abc"), SD_OK);
    ck_assert_int_eq(sd_buf_printf(&b, "%d", 1234), SD_ERR_TOO_LARGE);
    ck_assert_str_eq(b.data, "abc");
    ck_assert_int_eq(sd_buf_printf(&b, "%d", 123), SD_OK);
    ck_assert_str_eq(b.data, "abc123");
    sd_buf_free(&b);
}
END_TEST

START_TEST(test_buf_steal)
{
    struct sd_buf b;
    size_t len = 0;
    sd_buf_init(&b, 64);
    ck_assert_int_eq(sd_buf_append(&b, "hello", 5), SD_OK);
    char *s = sd_buf_steal(&b, &len);
    ck_assert_str_eq(s, "hello");
    ck_assert_uint_eq(len, 5);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.cap, 0);
    /* The emptied buffer is usable again and keeps its cap; the stolen string is ours. */
    ck_assert_int_eq(sd_buf_append(&b, "again", 5), SD_OK);
    ck_assert_str_eq(b.data, "again");
    ck_assert_str_eq(s, "hello");
    ck_assert_uint_eq(b.max, 64);
    free(s);
    s = sd_buf_steal(&b, NULL);
    ck_assert_str_eq(s, "again");
    free(s);
    sd_buf_free(&b);
    sd_buf_free(&b); /* twice is harmless */
}
END_TEST

/* ---- sd_parse_i64 ---- */

START_TEST(test_parse_i64)
{
    int64_t v = 7;
    ck_assert(sd_parse_i64("0", 0, 10, &v) && v == 0);
    ck_assert(sd_parse_i64("10", 0, 10, &v) && v == 10);
    ck_assert(sd_parse_i64("-5", -10, 10, &v) && v == -5);
    ck_assert(sd_parse_i64("9223372036854775807", INT64_MIN, INT64_MAX, &v) && v == INT64_MAX);
    ck_assert(sd_parse_i64("-9223372036854775808", INT64_MIN, INT64_MAX, &v) && v == INT64_MIN);

    static const char *const bad[] = {"",    " 1",  "1 ",  "1x",  "x1",  "0x10",
                                      "1.0", "1e3", "\t1", "1\n", "--1", "- 1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 7;
        ck_assert_msg(!sd_parse_i64(bad[i], INT64_MIN, INT64_MAX, &v), "accepted \"%s\"", bad[i]);
        ck_assert_int_eq(v, 7); /* untouched on failure */
    }
    ck_assert(!sd_parse_i64(NULL, 0, 10, &v));
    ck_assert(!sd_parse_i64("9223372036854775808", INT64_MIN, INT64_MAX, &v));
    ck_assert(!sd_parse_i64("-9223372036854775809", INT64_MIN, INT64_MAX, &v));
    ck_assert(!sd_parse_i64("99999999999999999999", INT64_MIN, INT64_MAX, &v));
    ck_assert(!sd_parse_i64("11", 0, 10, &v));
    ck_assert(!sd_parse_i64("-1", 0, 10, &v));
    ck_assert(!sd_parse_i64("0", 1, 65535, &v));
    ck_assert(!sd_parse_i64("65536", 1, 65535, &v));
    ck_assert_int_eq(v, 7);
}
END_TEST

/* ---- durations and sizes ---- */

START_TEST(test_parse_duration)
{
    static const struct {
        const char *text;
        int64_t ms;
    } good[] = {
        {"250ms", 250},
        {"90s", 90000},
        {"5m", 300000},
        {"2h", 7200000},
        {"30d", INT64_C(2592000000)},
        {"7", 7000}, /* a bare number is seconds */
        {"0", 0},
        {"0ms", 0},
        {"007s", 7000},
        {"9223372036854775807ms", INT64_MAX},
        {"106751991167d", INT64_C(106751991167) * 86400000},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t ms = -1;
        ck_assert_msg(sd_parse_duration_ms(good[i].text, &ms), "refused \"%s\"", good[i].text);
        ck_assert_int_eq(ms, good[i].ms);
    }
    static const char *const bad[] = {
        "",
        "s",
        "ms",
        "5x",
        "5 s",
        " 5s",
        "5s ",
        "-5s",
        "+5s",
        "1.5s",
        "5sec",
        "5mm",
        "5s5m",
        "5min",
        "0x10s",
        "5ms\n",
        "99999999999999999999d",  /* the number itself overflows */
        "106751991168d",          /* the number fits, the milliseconds do not */
        "9223372036854775807s",   /* same, with seconds */
        "9223372036854775808ms",  /* one past INT64_MAX */
        "99999999999999999999ms", /* far past */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = -1;
        ck_assert_msg(!sd_parse_duration_ms(bad[i], &ms), "accepted \"%s\"", bad[i]);
        ck_assert_int_eq(ms, -1);
    }
    int64_t ms;
    ck_assert(!sd_parse_duration_ms(NULL, &ms));
}
END_TEST

START_TEST(test_parse_size)
{
    static const struct {
        const char *text;
        int64_t bytes;
    } good[] = {
        {"0", 0},
        {"1048576", 1048576},
        {"1b", 1},
        {"1B", 1},
        {"512k", 512 * 1024},
        {"512K", 512 * 1024},
        {"1kb", 1024},
        {"1KiB", 1024},
        {"1M", 1048576},
        {"1m", 1048576},
        {"1MB", 1048576},
        {"1MiB", 1048576},
        {"2G", INT64_C(2) << 30},
        {"2gib", INT64_C(2) << 30},
        {"9223372036854775807", INT64_MAX},
        {"8589934591G", INT64_C(8589934591) << 30},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t v = -1;
        ck_assert_msg(sd_parse_size(good[i].text, &v), "refused \"%s\"", good[i].text);
        ck_assert_int_eq(v, good[i].bytes);
    }
    static const char *const bad[] = {
        "",
        "k",
        "1T",
        "1 M",
        " 1M",
        "1M ",
        "-1",
        "+1",
        "1.5M",
        "1Mi",
        "1MBB",
        "1kB2",
        "1iB",
        "0x10",
        "1bb",
        "99999999999999999999", /* the number itself overflows */
        "8589934592G",          /* the bytes do not fit */
        "9223372036854775807k", /* same, with k */
        "9223372036854775808",  /* one past INT64_MAX */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = -1;
        ck_assert_msg(!sd_parse_size(bad[i], &v), "accepted \"%s\"", bad[i]);
        ck_assert_int_eq(v, -1);
    }
}
END_TEST

START_TEST(test_parse_bool)
{
    static const char *const yes[] = {"true", "TRUE", "True", "yes", "YES", "on", "On", "1"};
    static const char *const no[] = {"false", "FALSE", "no", "No", "off", "OFF", "0"};
    static const char *const bad[] = {"", "2", "tru", "yess", " true", "true ", "y", "n", "01"};
    bool b;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        b = false;
        ck_assert_msg(sd_parse_bool(yes[i], &b) && b, "\"%s\"", yes[i]);
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        b = true;
        ck_assert_msg(sd_parse_bool(no[i], &b) && !b, "\"%s\"", no[i]);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        b = true;
        ck_assert_msg(!sd_parse_bool(bad[i], &b), "accepted \"%s\"", bad[i]);
        ck_assert(b);
    }
    ck_assert(!sd_parse_bool(NULL, &b));
}
END_TEST

/* ---- time, hex ---- */

START_TEST(test_time_format_rfc3339)
{
    char out[32];
    sd_time_format_rfc3339(0, 0, out, sizeof out);
    ck_assert_str_eq(out, "1970-01-01T00:00:00Z");
    sd_time_format_rfc3339(1795168800, 0, out, sizeof out);
    ck_assert_str_eq(out, "2026-11-20T10:00:00Z");
    sd_time_format_rfc3339(1795168800, 123456, out, sizeof out);
    ck_assert_str_eq(out, "2026-11-20T10:00:00.123456Z");
    sd_time_format_rfc3339(1795168800, 1, out, sizeof out);
    ck_assert_str_eq(out, "2026-11-20T10:00:00.000001Z");
    sd_time_format_rfc3339(951782400, 999999, out, sizeof out); /* leap day 2000 */
    ck_assert_str_eq(out, "2000-02-29T00:00:00.999999Z");
    sd_time_format_rfc3339(-1, 0, out, sizeof out);
    ck_assert_str_eq(out, "1969-12-31T23:59:59Z");
    sd_time_format_rfc3339(253402300799, 999999, out, sizeof out); /* the longest 4-digit year */
    ck_assert_str_eq(out, "9999-12-31T23:59:59.999999Z");
}
END_TEST

START_TEST(test_hex_encode)
{
    static const unsigned char bytes[] = {0x00, 0x01, 0x0f, 0x10, 0xab, 0x7f, 0x80, 0xff};
    char out[2 * sizeof bytes + 1];
    sd_hex_encode(bytes, sizeof bytes, out);
    ck_assert_str_eq(out, "00010f10ab7f80ff");
    out[0] = 'x';
    sd_hex_encode(bytes, 0, out);
    ck_assert_str_eq(out, "");
}
END_TEST

/* ---- sd_log_json_escape ---- */

START_TEST(test_json_escape)
{
    char out[128];
    ck_assert_str_eq(sd_log_json_escape("plain text", out, sizeof out), "plain text");
    ck_assert_str_eq(sd_log_json_escape("", out, sizeof out), "");
    ck_assert_str_eq(sd_log_json_escape("a\"b\\c", out, sizeof out), "a\\\"b\\\\c");
    ck_assert_str_eq(sd_log_json_escape("\n\r\t\b\f", out, sizeof out),
                     "\\u000a\\u000d\\u0009\\u0008\\u000c");
    ck_assert_str_eq(sd_log_json_escape("\x01\x1f\x7f", out, sizeof out), "\\u0001\\u001f\\u007f");
    ck_assert_str_eq(sd_log_json_escape(" ~/", out, sizeof out), " ~/");
    /* UTF-8 passes through untouched. */
    ck_assert_str_eq(
        sd_log_json_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", out, sizeof out),
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}
END_TEST

START_TEST(test_json_escape_truncation)
{
    char out[16];
    memset(out, 'Z', sizeof out);
    ck_assert_str_eq(sd_log_json_escape("abcdefgh", out, 5), "abcd");
    ck_assert_int_eq(out[5], 'Z'); /* nothing written past outlen */
    ck_assert_str_eq(sd_log_json_escape("abcd", out, 5), "abcd");
    /* An escape sequence is written whole or not at all. */
    ck_assert_str_eq(sd_log_json_escape("ab\"cd", out, 4), "ab");
    ck_assert_str_eq(sd_log_json_escape("ab\"cd", out, 5), "ab\\\"");
    ck_assert_str_eq(sd_log_json_escape("a\x01", out, 7), "a");
    ck_assert_str_eq(sd_log_json_escape("a\x01", out, 8), "a\\u0001");
    /* So is a multi-byte UTF-8 character: half of one would be invalid UTF-8 in the log. */
    ck_assert_str_eq(sd_log_json_escape("a\xc3\xa9", out, 3), "a");
    ck_assert_str_eq(sd_log_json_escape("a\xc3\xa9", out, 4), "a\xc3\xa9");
    ck_assert_str_eq(sd_log_json_escape("a\xf0\x9f\x98\x80", out, 5), "a");
    ck_assert_str_eq(sd_log_json_escape("a\xf0\x9f\x98\x80", out, 6), "a\xf0\x9f\x98\x80");
    /* A broken sequence is copied byte by byte (and never read past its NUL). */
    ck_assert_str_eq(sd_log_json_escape("a\xe2\x82", out, sizeof out), "a\xe2\x82");
    ck_assert_str_eq(sd_log_json_escape("\xc3x", out, sizeof out), "\xc3x");
    /* outlen 1: only the NUL fits; outlen 0: nothing is written at all. */
    ck_assert_str_eq(sd_log_json_escape("abc", out, 1), "");
    out[0] = 'Q';
    sd_log_json_escape("abc", out, 0);
    ck_assert_int_eq(out[0], 'Q');
}
END_TEST

START_TEST(test_log_level_parse)
{
    enum sd_log_level l = SD_LOG_ERROR;
    ck_assert(sd_log_level_parse("debug", &l) && l == SD_LOG_DEBUG);
    ck_assert(sd_log_level_parse("info", &l) && l == SD_LOG_INFO);
    ck_assert(sd_log_level_parse("warn", &l) && l == SD_LOG_WARN);
    ck_assert(sd_log_level_parse("warning", &l) && l == SD_LOG_WARN);
    ck_assert(sd_log_level_parse("error", &l) && l == SD_LOG_ERROR);
    ck_assert(!sd_log_level_parse("", &l));
    ck_assert(!sd_log_level_parse("verbose", &l));
    ck_assert_int_eq(l, SD_LOG_ERROR);
}
END_TEST

static Suite *util_suite(void)
{
    Suite *s = suite_create("util");
    TCase *buf = tcase_create("buf");
    tcase_add_test(buf, test_buf_cap_exact);
    tcase_add_test(buf, test_buf_cap_single_append);
    tcase_add_test(buf, test_buf_growth);
    tcase_add_test(buf, test_buf_printf);
    tcase_add_test(buf, test_buf_steal);
    suite_add_tcase(s, buf);

    TCase *parse = tcase_create("parse");
    tcase_add_test(parse, test_parse_i64);
    tcase_add_test(parse, test_parse_duration);
    tcase_add_test(parse, test_parse_size);
    tcase_add_test(parse, test_parse_bool);
    tcase_add_test(parse, test_time_format_rfc3339);
    tcase_add_test(parse, test_hex_encode);
    suite_add_tcase(s, parse);

    TCase *log = tcase_create("log");
    tcase_add_test(log, test_json_escape);
    tcase_add_test(log, test_json_escape_truncation);
    tcase_add_test(log, test_log_level_parse);
    suite_add_tcase(s, log);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(util_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
