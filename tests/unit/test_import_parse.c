/* The import reader (SPEC §2 "POST /v1/imports"): CSV dialects, NDJSON, per-record validation,
 * line numbers, bounded memory and independence from how the bytes are chunked. Each input is
 * run through the parser and the results written as a transcript, one line per event, so that an
 * expectation reads like the import report a user would see. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segmentd/import_parse.h"
#include "segmentd/util.h"

#define WHOLE ((size_t)-1)
#define MIB ((size_t)1 << 20)

/* ---- helpers ---------------------------------------------------------------------------- */

static const char *or_dash(const char *s)
{
    return s != NULL ? s : "-";
}

static void describe_row(struct sd_buf *out, const struct sd_import_row *r)
{
    char when[48];
    if (r->has_offset)
        sd_time_format_us(r->purchased_at_us, when, sizeof when);
    else
        snprintf(when, sizeof when, "local %s", r->local_time);
    ck_assert_int_eq(sd_buf_printf(out, "%ld ROW %s|%s|%lld|%s|%s|%s|%s|%s|%s\n", r->line,
                                   r->order_id, r->customer_id, (long long)r->amount_cents, when,
                                   or_dash(r->kind), or_dash(r->name), or_dash(r->phone),
                                   or_dash(r->email), or_dash(r->birthday)),
                     SD_OK);
}

/* Feeds a private copy of each chunk, freed at once, so that ASan catches any pointer the
 * parser might keep into the caller's memory. */
static void feed_copy(struct sd_import_parser *p, const char *data, size_t n)
{
    char *copy = malloc(n);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, data, n);
    ck_assert_int_eq(sd_import_parser_feed(p, copy, n), SD_OK);
    free(copy);
}

/* The transcript of an input fed `chunk` bytes at a time (caller frees). */
static char *run_opts(const char *input, size_t len, const struct sd_import_options *o,
                      size_t chunk)
{
    struct sd_import_parser *p = sd_import_parser_new(o);
    ck_assert_ptr_nonnull(p);
    struct sd_buf out;
    sd_buf_init(&out, 64 * MIB);
    size_t off = 0;
    for (;;) {
        struct sd_import_row row;
        long line = -1;
        enum sd_import_next r = sd_import_parser_next(p, &row, &line);
        if (r == SD_IMPORT_NEED_MORE) {
            size_t n = len - off < chunk ? len - off : chunk;
            if (n == 0)
                sd_import_parser_finish(p);
            else
                feed_copy(p, input + off, n);
            off += n;
            continue;
        }
        enum sd_rc rc = SD_OK;
        if (r == SD_IMPORT_ROW)
            describe_row(&out, &row);
        else if (r == SD_IMPORT_REJECT)
            rc = sd_buf_printf(&out, "%ld REJECT %s\n", line, sd_import_parser_reason(p));
        else if (r == SD_IMPORT_FATAL)
            rc = sd_buf_printf(&out, "FATAL %s\n", sd_import_parser_reason(p));
        else
            rc = sd_buf_printf(&out, "END %ld\n", sd_import_parser_records(p));
        ck_assert_int_eq(rc, SD_OK);
        if (r == SD_IMPORT_END || r == SD_IMPORT_FATAL)
            break;
    }
    sd_import_parser_free(p);
    if (out.data == NULL)
        ck_assert_int_eq(sd_buf_append(&out, "", 0), SD_OK);
    return sd_buf_steal(&out, NULL);
}

static char *run(enum sd_import_format fmt, const char *input, size_t chunk)
{
    struct sd_import_options o = {.format = fmt};
    return run_opts(input, strlen(input), &o, chunk);
}

/* Whole, 1 byte and 7 bytes at a time must all read the same; the whole-input transcript must
 * be `expected`. */
static void expect_opts(const char *input, size_t len, const struct sd_import_options *o,
                        const char *expected)
{
    char *whole = run_opts(input, len, o, WHOLE);
    ck_assert_str_eq(whole, expected);
    static const size_t chunks[] = {1, 2, 3, 7};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        char *split = run_opts(input, len, o, chunks[i]);
        ck_assert_msg(strcmp(whole, split) == 0, "chunks of %zu:\n%s\nwhole:\n%s", chunks[i], split,
                      whole);
        free(split);
    }
    free(whole);
}

static void expect(enum sd_import_format fmt, const char *input, const char *expected)
{
    struct sd_import_options o = {.format = fmt};
    expect_opts(input, strlen(input), &o, expected);
}

#define CSV SD_IMPORT_CSV
#define NDJSON SD_IMPORT_NDJSON

/* ---- CSV dialects ------------------------------------------------------------------------ */

START_TEST(test_csv_delimiters)
{
    static const char *const expected = "2 ROW A1|c1|1050|2026-03-01T10:00:00Z|-|-|-|-|-\n"
                                        "3 ROW A2|c2|700|2026-03-02T10:00:00Z|b2b|-|-|-|-\n"
                                        "END 2\n";
    expect(CSV,
           "order_id,customer_id,amount,purchased_at,kind\n"
           "A1,c1,10.50,2026-03-01T10:00:00Z,\n"
           "A2,c2,7,2026-03-02T12:00:00+02:00,B2B\n",
           expected);
    expect(CSV,
           "order_id;customer_id;amount;purchased_at;kind\n"
           "A1;c1;10,50;2026-03-01T10:00:00Z;\n"
           "A2;c2;7;2026-03-02T12:00:00+02:00;b2b\n",
           expected);
    expect(CSV,
           "order_id\tcustomer_id\tamount\tpurchased_at\tkind\n"
           "A1\tc1\t10.5\t2026-03-01T10:00:00Z\t\n"
           "A2\tc2\t7.00\t2026-03-02T12:00:00+02:00\tb2b\n",
           expected);
    /* The delimiter is the one most frequent outside quotes: here ';', though commas abound. */
    expect(CSV,
           "\"order_id\";\"customer_id\";\"amount\";\"purchased_at\";\"kind, if any\"\n"
           "\"A1\";\"c1\";\"10,50\";\"2026-03-01T10:00:00Z\";\n",
           "2 ROW A1|c1|1050|2026-03-01T10:00:00Z|-|-|-|-|-\nEND 1\n");
}
END_TEST

START_TEST(test_csv_bom_crlf_blank_lines)
{
    expect(CSV,
           "\xEF\xBB\xBFOrder_ID , Customer_Id,AMOUNT,purchased_at\r\n"
           "\r\n"
           "A1,c1,1,2026-03-01T10:00:00Z\r\n"
           "   \r\n"
           "\n"
           ",,,\r\n"
           "A2,c2,2,2026-03-01T10:00:00Z", /* the last line needs no newline */
           "3 ROW A1|c1|100|2026-03-01T10:00:00Z|-|-|-|-|-\n"
           "7 ROW A2|c2|200|2026-03-01T10:00:00Z|-|-|-|-|-\n"
           "END 2\n");
    /* Only a BOM at the very start is one: a lone 0xEF is not UTF-8. */
    expect(CSV, "\xEF", "FATAL the header line is not UTF-8\n");
    expect(CSV, "", "FATAL the input is empty: no header line\n");
    expect(CSV, "\xEF\xBB\xBF\r\n\r\n", "FATAL the input is empty: no header line\n");
}
END_TEST

START_TEST(test_csv_quoting)
{
    expect(CSV,
           "order_id,customer_id,amount,purchased_at,name,email\r\n"
           "\"A,1\",\"c \"\"q\"\"\",\"1,234.50\",\"2026-03-01 10:00\",\"Anna\r\nKarenina\","
           "ANNA@Example.ORG\r\n"
           " \"A2\" , c2 ,3, 2026-03-01 ,\"\",\n"
           "A3,c3,4,2026-03-01,\"line one\nline two\nline three\",\n"
           "A4,c4,5,2026-03-01,plain \"inner\" quotes,\n",
           "2 ROW A,1|c \"q\"|123450|local 2026-03-01 10:00:00|-|Anna\r\nKarenina|-|"
           "anna@example.org|-\n"
           "4 ROW A2|c2|300|local 2026-03-01 00:00:00|-|-|-|-|-\n"
           "5 ROW A3|c3|400|local 2026-03-01 00:00:00|-|line one\nline two\nline three|-|-|-\n"
           "8 ROW A4|c4|500|local 2026-03-01 00:00:00|-|plain \"inner\" quotes|-|-|-\n"
           "END 4\n");
}
END_TEST

START_TEST(test_csv_malformed_records)
{
    expect(CSV,
           "order_id,customer_id,amount,purchased_at\n"
           "A1,c1,1\n"
           "A2,c2,2,2026-03-01T10:00:00Z,extra\n"
           "\"A3\"x,c3,3,2026-03-01T10:00:00Z\n"
           "A4,c4,4,2026-03-01T10:00:00Z\n"
           "A5,\"c5,5,2026-03-01T10:00:00Z\n"
           "A6,c6,6,2026-03-01T10:00:00Z\n",
           "2 REJECT expected 4 fields, got 3\n"
           "3 REJECT expected 4 fields, got 5\n"
           "4 REJECT text after the closing quote of a field\n"
           "5 ROW A4|c4|400|2026-03-01T10:00:00Z|-|-|-|-|-\n"
           "6 REJECT a quoted field never closes\n"
           "END 5\n");
}
END_TEST

START_TEST(test_csv_utf8)
{
    expect(CSV,
           "order_id,customer_id,amount,purchased_at,name,note\n"
           "A1,c1,1,2026-03-01T10:00:00Z,J\xC3\xBCrgen,\n"
           "A2,c2,2,2026-03-01T10:00:00Z,bad \xC3,\n"
           "A3,c3,3,2026-03-01T10:00:00Z,,overlong \xC0\xAF ignored column still checked\n"
           "A4,c4,4,2026-03-01T10:00:00Z,surrogate \xED\xA0\x80,\n"
           "A5,c5,5,2026-03-01T10:00:00Z,,\n",
           "2 ROW A1|c1|100|2026-03-01T10:00:00Z|-|J\xC3\xBCrgen|-|-|-\n"
           "3 REJECT field 5: not UTF-8\n"
           "4 REJECT field 6: not UTF-8\n"
           "5 REJECT field 5: not UTF-8\n"
           "6 ROW A5|c5|500|2026-03-01T10:00:00Z|-|-|-|-|-\n"
           "END 5\n");
    static const char nul[] = "order_id,customer_id,amount,purchased_at\n"
                              "A\0,c1,1,2026-03-01T10:00:00Z\n";
    struct sd_import_options o = {.format = CSV};
    expect_opts(nul, sizeof nul - 1, &o, "2 REJECT field 1: contains a NUL byte\nEND 1\n");
    expect(CSV, "order_id,customer_id,amount,purchased_\xFF\n",
           "FATAL the header line is not UTF-8\n");
}
END_TEST

START_TEST(test_csv_missing_columns)
{
    expect(CSV, "order_id,customer,amount,purchased_at\nA1,c1,1,2026-03-01T10:00:00Z\n",
           "FATAL the header lacks required column(s): customer_id\n");
    expect(CSV, "name;email\n",
           "FATAL the header lacks required column(s): order_id, "
           "customer_id, amount, purchased_at\n");
    expect(CSV, "order_id,customer_id,amount,purchased_at,Amount\n",
           "FATAL the header has the column \"amount\" twice\n");

    struct sd_import_options o = {.format = CSV};
    char buf[128], err[128];
    ck_assert(sd_import_parse_map("amount:Сумма", buf, sizeof buf, &o, err, sizeof err));
    static const char in[] = "order_id,customer_id,amount,purchased_at\n";
    expect_opts(in, sizeof in - 1, &o,
                "FATAL the header lacks required column(s): amount (\"Сумма\")\n");
}
END_TEST

START_TEST(test_csv_1c_export)
{
    struct sd_import_options o = {.format = CSV};
    char buf[256], err[128];
    ck_assert_msg(sd_import_parse_map("order_id:Номер, customer_id:Телефон,amount:Сумма,"
                                      "purchased_at:Дата,phone:Телефон,name:Контрагент",
                                      buf, sizeof buf, &o, err, sizeof err),
                  "%s", err);
    /* Columns in another order, header names in another case, an extra column, NBSP and narrow
     * NBSP in amounts, dates as 1C writes them. */
    static const char in[] = "\xEF\xBB\xBF"
                             "ДАТА;Номер;Контрагент;Сумма;телефон;Комментарий\r\n"
                             "05.03.2026 14:30;00000123;ООО \"Ромашка\";1 234,56;"
                             "+7 (912) 345-67-89;\r\n"
                             "5.3.2026 9:05:07;00000124;Иванов "
                             "И.И.;1\u00a0000;8-912-345-67-90;\"доставка; самовывоз\"\r\n"
                             "31.02.2026;00000125;Петров;12,5;89123456791;\r\n"
                             "06.03.2026;00000126;Петров;1.234,567;89123456791;\r\n"
                             "07.03.2026 00:00;00000127;Сидоров;2\u202f500,00;89123456792;\r\n";
    expect_opts(in, sizeof in - 1, &o,
                "2 ROW 00000123|+7 (912) 345-67-89|123456|local 2026-03-05 14:30:00|-|"
                "ООО \"Ромашка\"|+79123456789|-|-\n"
                "3 ROW 00000124|8-912-345-67-90|100000|local 2026-03-05 09:05:07|-|Иванов И.И.|"
                "+89123456790|-|-\n"
                "4 REJECT purchased_at: not a time (RFC 3339, YYYY-MM-DD[ HH:MM[:SS]] or "
                "DD.MM.YYYY[ HH:MM[:SS]])\n"
                "5 REJECT amount: not an amount (≥ 0, at most 2 decimals)\n"
                "6 ROW 00000127|89123456792|250000|local 2026-03-07 00:00:00|-|Сидоров|"
                "+89123456792|-|-\n"
                "END 5\n");
}
END_TEST

START_TEST(test_csv_validation)
{
    char long_id[200], long_name[260], in[2048];
    memset(long_id, 'x', 129);
    long_id[129] = '\0';
    memset(long_name, 'n', 201);
    long_name[201] = '\0';
    snprintf(in, sizeof in,
             "order_id,customer_id,amount,purchased_at,kind,name,phone,email,birthday\n"
             "%s,c,1,2026-03-01,,,,,\n"                 /* 2 */
             "A,\" \",1,2026-03-01,,,,,\n"              /* 3 */
             "A,c,,2026-03-01,,,,,\n"                   /* 4 */
             "A,c,-5,2026-03-01,,,,,\n"                 /* 5 */
             "A,c,1,,,,,,\n"                            /* 6 */
             "A,c,1,2026-03-01T10:00,,,,,\n"            /* 7 */
             "A,c,1,2026-03-01,b2x,,,,\n"               /* 8 */
             "A,c,1,2026-03-01,,%s,,,\n"                /* 9 */
             "A,c,1,2026-03-01,,,12-34,,\n"             /* 10 */
             "A,c,1,2026-03-01,,,+33 6 12 34 56 7x,,\n" /* 11 */
             "A,c,1,2026-03-01,,,,a@b,\n"               /* 12 */
             "A,c,1,2026-03-01,,,,a b@c.org,\n"         /* 13 */
             "A,c,1,2026-03-01,,,,,1990-02-30\n"        /* 14 */
             "A,c,1,2026-03-01 24:00,,,,,\n"            /* 15 */
             "\u00e9,c,1,2026-03-01T23:59:60Z,B2C,,+33 (6) 12.34.56.78,X@Y.Z,1990-03-08\n",
             long_id, long_name);
    char *got = run(CSV, in, WHOLE);
    ck_assert_str_eq(got,
                     "2 REJECT order_id: at most 128 characters\n"
                     "3 REJECT customer_id: required\n"
                     "4 REJECT amount: required\n"
                     "5 REJECT amount: not an amount (≥ 0, at most 2 decimals)\n"
                     "6 REJECT purchased_at: required\n"
                     "7 ROW A|c|100|local 2026-03-01 10:00:00|-|-|-|-|-\n"
                     "8 REJECT kind: b2c or b2b\n"
                     "9 REJECT name: at most 200 characters\n"
                     "10 REJECT phone: 5 to 15 digits\n"
                     "11 REJECT phone: digits, spaces, - . ( ) and a leading +\n"
                     "12 REJECT email: not an e-mail address\n"
                     "13 REJECT email: not an e-mail address\n"
                     "14 REJECT birthday: a date YYYY-MM-DD\n"
                     "15 REJECT purchased_at: not a time (RFC 3339, YYYY-MM-DD[ HH:MM[:SS]] or "
                     "DD.MM.YYYY[ HH:MM[:SS]])\n"
                     "16 ROW \u00e9|c|100|2026-03-01T23:59:59.999999Z|b2c|-|+33612345678|x@y.z|"
                     "1990-03-08\n"
                     "END 15\n");
    free(got);
    /* 128 characters of two bytes each are fine: the limit counts characters. */
    char wide[600];
    size_t n = (size_t)snprintf(wide, sizeof wide, "order_id,customer_id,amount,purchased_at\n");
    for (int i = 0; i < 128; i++)
        n += (size_t)snprintf(wide + n, sizeof wide - n, "\u00e9");
    snprintf(wide + n, sizeof wide - n, ",c,1,2026-03-01\n");
    got = run(CSV, wide, WHOLE);
    ck_assert_msg(strstr(got, "2 ROW ") == got, "%s", got);
    free(got);
}
END_TEST

/* ---- size limits --------------------------------------------------------------------------- */

/* A header, a record of `len` bytes filled with `fill` (starting with `open`), then a good one. */
static char *big_input(size_t len, const char *open, size_t *total)
{
    static const char head[] = "order_id,customer_id,amount,purchased_at\n";
    static const char tail[] = "\nB,c,1,2026-03-01T10:00:00Z\n";
    size_t n = sizeof head - 1 + len + sizeof tail - 1;
    char *s = malloc(n + 1);
    ck_assert_ptr_nonnull(s);
    memcpy(s, head, sizeof head - 1);
    memset(s + sizeof head - 1, 'x', len);
    memcpy(s + sizeof head - 1, open, strlen(open));
    memcpy(s + sizeof head - 1 + len, tail, sizeof tail);
    *total = n;
    return s;
}

START_TEST(test_record_limit)
{
    struct sd_import_options o = {.format = CSV};
    size_t n;
    /* Exactly 1 MiB is allowed (and rejected for its content); one byte more is too long. */
    char *s = big_input(MIB, "A,c,1,", &n);
    char *got = run_opts(s, n, &o, 65536);
    ck_assert_str_eq(got, "2 REJECT purchased_at: not a time (RFC 3339, YYYY-MM-DD[ HH:MM[:SS]] "
                          "or DD.MM.YYYY[ HH:MM[:SS]])\n"
                          "3 ROW B|c|100|2026-03-01T10:00:00Z|-|-|-|-|-\nEND 2\n");
    free(got);
    free(s);
    s = big_input(MIB + 1, "A,c,1,", &n);
    got = run_opts(s, n, &o, 4096);
    ck_assert_str_eq(got, "2 REJECT record longer than 1 MiB\n"
                          "3 ROW B|c|100|2026-03-01T10:00:00Z|-|-|-|-|-\nEND 2\n");
    free(got);
    free(s);
    /* A quote that never closes stops at 1 MiB and reading resumes at the next line. */
    s = big_input(2 * MIB, "A,\"", &n);
    for (size_t i = 100; i < 2 * MIB; i += 1000)
        s[41 + i] = '\n';
    got = run_opts(s, n, &o, 100000);
    static const char first[] = "2 REJECT record longer than 1 MiB\n";
    ck_assert_msg(strncmp(got, first, sizeof first - 1) == 0, "%.200s", got);
    free(got);
    free(s);
}
END_TEST

/* ---- NDJSON ------------------------------------------------------------------------------- */

START_TEST(test_ndjson)
{
    expect(NDJSON,
           "{\"order_id\": \"A1\", \"customer_id\": \"c1\", \"amount\": \"129.90\","
           " \"purchased_at\": \"2026-11-20T10:00:00Z\"}\n"
           "\n"
           "{\"order_id\": \"A2\", \"customer_id\": \"c2\", \"amount\": 12.5, \"purchased_at\":"
           " \"2026-11-20T10:00:00+01:00\", \"customer\": {\"kind\": \"B2B\", \"name\": \"Anna\","
           " \"phone\": \"+33 6 12 34 56 78\", \"email\": \"Anna@Example.org\","
           " \"birthday\": \"1990-03-08\"}}\r\n"
           "{\"order_id\": \"A3\", \"customer_id\": \"c3\", \"amount\": 1}\n"
           "{\"order_id\": \"A4\", \"customer_id\": \"c4\", \"amount\": 1,\n"
           "[1, 2]\n"
           "{\"order_id\": \"A5\", \"order_id\": \"A5\"}\n"
           "{\"order_id\": \"A6\", \"customer_id\": \"c6\", \"amount\": 1, \"purchased_at\":"
           " \"2026-11-20T10:00:00Z\", \"extra\": 1}\n"
           "{\"order_id\": \"A7\", \"customer_id\": \"c\\u0000\", \"amount\": 1}\n"
           "{\"order_id\": 7, \"customer_id\": \"c8\", \"amount\": 1}\n"
           "{\"order_id\": \"A9\", \"customer_id\": \"c9\", \"amount\": 0.001,"
           " \"purchased_at\": \"2026-11-20T10:00:00Z\"}\n"
           "{\"order_id\": \"A10\", \"customer_id\": \"c10\", \"amount\": \"1 234,56\","
           " \"purchased_at\": \"2026-11-20T10:00:00Z\"}\n"
           "{\"order_id\": \"A11\", \"customer_id\": \"c11\", \"amount\": 3, \"purchased_at\":"
           " \"05.03.2026 14:30\", \"customer\": {\"nick\": \"x\"}}\n"
           "{\"order_id\": \"A12\", \"customer_id\": \"c12\", \"amount\": 3, \"purchased_at\":"
           " \"05.03.2026 14:30\", \"customer\": null}\n"
           "{\"order_id\": \"A13\", \"customer_id\": \"c13\", \"amount\": 3, \"purchased_at\":"
           " \"2026-03-05\", \"customer\": \"c13\"}\n"
           "\"bad \xC3(\"\n"
           "{\"order_id\": \"A15\", \"customer_id\": \"c15\", \"amount\": 0, \"purchased_at\":"
           " \"2026-03-05T00:00:00Z\", \"customer\": {\"kind\": \"\", \"name\": null}}",
           "1 ROW A1|c1|12990|2026-11-20T10:00:00Z|-|-|-|-|-\n"
           "3 ROW A2|c2|1250|2026-11-20T09:00:00Z|b2b|Anna|+33612345678|anna@example.org|"
           "1990-03-08\n"
           "4 REJECT purchased_at: required\n"
           "5 REJECT malformed JSON at column 52: string or '}' expected near end of file\n"
           "6 REJECT not a JSON object\n"
           "7 REJECT malformed JSON at column 29: duplicate object key near '\"order_id\"'\n"
           "8 REJECT unknown member \"extra\"\n"
           "9 REJECT customer_id: contains a NUL character\n"
           "10 REJECT order_id: must be a string\n"
           "11 REJECT amount: not an amount (≥ 0, at most 2 decimals)\n"
           "12 REJECT amount: not an amount (≥ 0, at most 2 decimals)\n"
           "13 REJECT customer: unknown member \"nick\"\n"
           "14 ROW A12|c12|300|local 2026-03-05 14:30:00|-|-|-|-|-\n"
           "15 REJECT customer: must be an object\n"
           "16 REJECT malformed JSON at column 5: unable to decode byte 0xc3 near '\"bad '\n"
           "17 ROW A15|c15|0|2026-03-05T00:00:00Z|-|-|-|-|-\n"
           "END 16\n");
    expect(NDJSON, "", "END 0\n");
    expect(NDJSON, "\xEF\xBB\xBF\n \n", "END 0\n");
}
END_TEST

/* ---- every chunking reads the same -------------------------------------------------------- */

/* A BOM, multi-byte characters, CRLF and quoted newlines, all of which straddle chunk borders
 * somewhere when the input is cut every 1 to 16 bytes. */
static const char mixed_csv[] = "\xEF\xBB\xBFНомер;customer_id;amount;purchased_at;name\r\n"
                                "1;c;1 234,56;05.03.2026 14:30;\"Иван\r\n\"\"И\"\"\"\r\n"
                                "\r\n2;c;\"1\u00a0000\";2026-03-01T10:00:00Z;€\r\n"
                                "3;c;9;bad;\r\n4;\"c\r\n";
static const char plain_csv[] =
    "order_id,customer_id,amount,purchased_at\n\n\nA,c,1,2026-03-01\nA,c\n\"x\"y,c,1,2\n";
static const char mixed_ndjson[] = "{\"order_id\":\"é\",\"customer_id\":\"c\",\"amount\":1,"
                                   "\"purchased_at\":\"2026-03-01T00:00:00Z\"}\r\n"
                                   "{]\r\n\r\n{\"order_id\":\"b\"}";

START_TEST(test_chunking)
{
    struct sd_import_options map = {.format = CSV}, plain = {.format = CSV},
                             nd = {.format = NDJSON};
    char buf[64], err[64];
    ck_assert(sd_import_parse_map("order_id:Номер", buf, sizeof buf, &map, err, sizeof err));
    const char *const inputs[] = {mixed_csv, plain_csv, mixed_ndjson};
    const struct sd_import_options *opts[] = {&map, &plain, &nd};
    for (size_t i = 0; i < 3; i++) {
        size_t len = strlen(inputs[i]);
        char *whole = run_opts(inputs[i], len, opts[i], WHOLE);
        ck_assert_msg(strstr(whole, " ROW ") != NULL, "%s", whole);
        for (size_t chunk = 1; chunk <= 16; chunk++) {
            char *split = run_opts(inputs[i], len, opts[i], chunk);
            ck_assert_msg(strcmp(split, whole) == 0, "input %zu, chunks of %zu:\n%s\nvs\n%s", i,
                          chunk, split, whole);
            free(split);
        }
        free(whole);
    }
}
END_TEST

START_TEST(test_chunking_transcript)
{
    /* Line numbers count the newlines inside quoted fields. */
    struct sd_import_options o = {.format = CSV};
    char buf[64], err[64];
    ck_assert(sd_import_parse_map("order_id:Номер", buf, sizeof buf, &o, err, sizeof err));
    expect_opts(mixed_csv, sizeof mixed_csv - 1, &o,
                "2 ROW 1|c|123456|local 2026-03-05 14:30:00|-|Иван\r\n\"И\"|-|-|-\n"
                "5 ROW 2|c|100000|2026-03-01T10:00:00Z|-|€|-|-|-\n"
                "6 REJECT purchased_at: not a time (RFC 3339, YYYY-MM-DD[ HH:MM[:SS]] or "
                "DD.MM.YYYY[ HH:MM[:SS]])\n"
                "7 REJECT a quoted field never closes\n"
                "END 4\n");
    struct sd_import_options o2 = {.format = CSV};
    expect_opts(plain_csv, sizeof plain_csv - 1, &o2,
                "4 ROW A|c|100|local 2026-03-01 00:00:00|-|-|-|-|-\n"
                "5 REJECT expected 4 fields, got 2\n"
                "6 REJECT text after the closing quote of a field\n"
                "END 3\n");
    struct sd_import_options o3 = {.format = NDJSON};
    expect_opts(mixed_ndjson, sizeof mixed_ndjson - 1, &o3,
                "1 ROW é|c|100|2026-03-01T00:00:00Z|-|-|-|-|-\n"
                "2 REJECT malformed JSON at column 2: string or '}' expected near ']'\n"
                "4 REJECT customer_id: required\n"
                "END 3\n");
}
END_TEST

START_TEST(test_fatal_is_sticky)
{
    struct sd_import_options o = {.format = CSV};
    struct sd_import_parser *p = sd_import_parser_new(&o);
    ck_assert_ptr_nonnull(p);
    static const char in[] = "a,b\n1,2\n";
    ck_assert_int_eq(sd_import_parser_feed(p, in, sizeof in - 1), SD_OK);
    struct sd_import_row row;
    long line = 0;
    ck_assert_int_eq(sd_import_parser_next(p, &row, &line), SD_IMPORT_FATAL);
    ck_assert_int_eq(sd_import_parser_feed(p, in, sizeof in - 1), SD_OK);
    ck_assert_int_eq(sd_import_parser_next(p, &row, &line), SD_IMPORT_FATAL);
    sd_import_parser_finish(p);
    ck_assert_int_eq(sd_import_parser_next(p, &row, &line), SD_IMPORT_FATAL);
    ck_assert_int_eq(sd_import_parser_records(p), 0);
    sd_import_parser_free(p);
    sd_import_parser_free(NULL);
}
END_TEST

/* ---- amounts, dates, the map ---------------------------------------------------------------- */

START_TEST(test_amount)
{
    static const struct {
        const char *in;
        bool ok;
        int64_t cents;
    } cases[] = {
        {"1 234,56", true, 123456},
        {"1234.5", true, 123450},
        {"1,234.56", true, 123456},
        {"1.234,56", true, 123456},
        {"12,5", true, 1250},
        {"1,234", true, 123400},
        {"1,234,567", true, 123456700},
        {"1.234.567", true, 123456700},
        {"1.234.567,8", true, 123456780},
        {"1'234.50", true, 123450},
        {"1\u2019234", true, 123400},
        {"1\u00a0234,56", true, 123456},
        {"1\u202f234,56", true, 123456},
        {" 7 ", true, 700},
        {"0", true, 0},
        {"0,05", true, 5},
        {"999 999 999 999,99", true, INT64_C(99999999999999)},
        {"1.234", false, 0}, /* a lone '.' is a decimal point: 3 decimals */
        {"1,2345", false, 0},
        {"1,23,456", false, 0},
        {"12,34,567", false, 0},
        {"1,234.567", false, 0},
        {"1.234.56", false, 0},
        {"1.2.3,4", false, 0},
        {",5", false, 0},
        {"1,", false, 0},
        {"1.", false, 0},
        {"-5", false, 0},
        {"+5", false, 0},
        {"", false, 0},
        {"   ", false, 0},
        {"abc", false, 0},
        {"1e3", false, 0},
        {"1 000 000 000 000", false, 0},
        {"5 руб.", false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t cents = -1;
        bool ok = sd_import_amount(cases[i].in, &cents);
        ck_assert_msg(ok == cases[i].ok, "\"%s\": %d", cases[i].in, ok);
        if (ok)
            ck_assert_msg(cents == cases[i].cents, "\"%s\": %lld", cases[i].in, (long long)cents);
    }
}
END_TEST

START_TEST(test_local_date)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"05.03.2026", "2026-03-05 00:00:00"},
        {"05.03.2026 14:30", "2026-03-05 14:30:00"},
        {"05.03.2026 14:30:59", "2026-03-05 14:30:59"},
        {"5.3.2026 9:05", "2026-03-05 09:05:00"},
        {"29.02.2024 23:59:59", "2024-02-29 23:59:59"},
        {"31.12.9999", "9999-12-31 00:00:00"},
        {"29.02.2026", NULL},
        {"31.04.2026", NULL},
        {"00.01.2026", NULL},
        {"01.13.2026", NULL},
        {"01.01.26", NULL},
        {"01.01.1899", NULL},
        {"2026-03-05", NULL}, /* ISO dates are purchased_at's business, not this function's */
        {"05.03.2026 24:00", NULL},
        {"05.03.2026 14:60", NULL},
        {"05.03.2026 14:30:60", NULL},
        {"05.03.2026 14:3", NULL},
        {"05.03.2026 14", NULL},
        {"05.03.2026 ", NULL},
        {"05.03.2026  14:30", NULL},
        {"05.03.2026 14:30 ", NULL},
        {"05.03.2026x", NULL},
        {"005.03.2026", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[20] = "";
        bool ok = sd_import_local_date(cases[i].in, out);
        ck_assert_msg(ok == (cases[i].out != NULL), "\"%s\": %d", cases[i].in, ok);
        if (ok)
            ck_assert_str_eq(out, cases[i].out);
    }
}
END_TEST

START_TEST(test_parse_map)
{
    struct sd_import_options o = {.format = CSV};
    char buf[256], err[128];
    ck_assert(sd_import_parse_map(" order_id : Номер документа ,CUSTOMER_ID:Клиент: код,,"
                                  "email:E-mail,",
                                  buf, sizeof buf, &o, err, sizeof err));
    ck_assert_str_eq(o.map[SD_IF_ORDER_ID], "Номер документа");
    ck_assert_str_eq(o.map[SD_IF_CUSTOMER_ID], "Клиент: код");
    ck_assert_str_eq(o.map[SD_IF_EMAIL], "E-mail");
    ck_assert_ptr_null(o.map[SD_IF_AMOUNT]);
    ck_assert(sd_import_parse_map("", buf, sizeof buf, &o, err, sizeof err));

    static const struct {
        const char *in, *err;
    } bad[] = {
        {"total:Сумма", "unknown field \"total\" (order_id, customer_id, amount, purchased_at, "
                        "kind, name, phone, email, birthday)"},
        {"amount", "\"amount\": expected field:Header"},
        {"amount: ", "amount: empty header name"},
        {"amount:A,amount:B", "amount is mapped twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sd_import_options x = {.format = CSV};
        ck_assert(!sd_import_parse_map(bad[i].in, buf, sizeof buf, &x, err, sizeof err));
        ck_assert_str_eq(err, bad[i].err);
    }
    char tiny[8];
    ck_assert(!sd_import_parse_map("order_id:Номер", tiny, sizeof tiny, &o, err, sizeof err));
    ck_assert_str_eq(err, "the map is too long");
    /* Reasons quote input but stay UTF-8, even when they cut it short. */
    char field[200];
    memset(field, 'a', 63);
    snprintf(field + 63, sizeof field - 63, "Ж:x");
    ck_assert(!sd_import_parse_map(field, buf, sizeof buf, &o, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "\"aaa"));
    ck_assert_ptr_nonnull(strstr(err, "a?\" ("));
}
END_TEST

static Suite *import_suite(void)
{
    Suite *s = suite_create("import_parse");
    TCase *csv = tcase_create("csv");
    tcase_add_test(csv, test_csv_delimiters);
    tcase_add_test(csv, test_csv_bom_crlf_blank_lines);
    tcase_add_test(csv, test_csv_quoting);
    tcase_add_test(csv, test_csv_malformed_records);
    tcase_add_test(csv, test_csv_utf8);
    tcase_add_test(csv, test_csv_missing_columns);
    tcase_add_test(csv, test_csv_1c_export);
    tcase_add_test(csv, test_csv_validation);
    tcase_add_test(csv, test_record_limit);
    suite_add_tcase(s, csv);

    TCase *nd = tcase_create("ndjson");
    tcase_add_test(nd, test_ndjson);
    suite_add_tcase(s, nd);

    TCase *stream = tcase_create("stream");
    tcase_add_test(stream, test_chunking);
    tcase_add_test(stream, test_chunking_transcript);
    tcase_add_test(stream, test_fatal_is_sticky);
    suite_add_tcase(s, stream);

    TCase *values = tcase_create("values");
    tcase_add_test(values, test_amount);
    tcase_add_test(values, test_local_date);
    tcase_add_test(values, test_parse_map);
    suite_add_tcase(s, values);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(import_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
