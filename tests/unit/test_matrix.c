/* The lifecycle matrix (SPEC §1) and its JSON document (SPEC §2 "Matrix"), plus the RFC 3339
 * parsing the API reads times with. Pure: no server, no database. */
#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segmentd/core_matrix.h"
#include "segmentd/matrix_json.h"
#include "segmentd/util.h"

#define DAY SD_US_PER_DAY
#define HOUR (3600 * SD_US_PER_SECOND)
#define SEC SD_US_PER_SECOND
/* 2026-11-20T10:00:00Z: a last purchase that every elapsed time is counted from. */
#define T0 (INT64_C(1795168800) * SEC)

/* ---- helpers ---------------------------------------------------------------------------- */

static void place(const struct sd_matrix *m, int64_t purchases, int64_t revenue_cents,
                  int64_t elapsed_us, struct sd_placement *p)
{
    struct sd_facts facts = {
        .purchases = purchases, .revenue_cents = revenue_cents, .last_purchase_at = T0};
    sd_matrix_classify(m, &facts, T0 + elapsed_us, p);
}

static int freq_of(const struct sd_matrix *m, int64_t purchases)
{
    struct sd_placement p;
    place(m, purchases, 0, 0, &p);
    return p.freq;
}

static int rec_of(const struct sd_matrix *m, int64_t elapsed_us)
{
    struct sd_placement p;
    place(m, 1, 0, elapsed_us, &p);
    return p.rec;
}

static int mon_of(const struct sd_matrix *m, int64_t cents)
{
    struct sd_placement p;
    place(m, 1, cents, 0, &p);
    return p.mon;
}

static void set_axis(struct sd_axis *axis, int n, const int64_t *bounds, const char *const *labels)
{
    axis->nbands = n;
    for (int i = 0; i < n - 1; i++)
        axis->bounds[i] = bounds[i];
    for (int i = 0; i < n; i++)
        snprintf(axis->labels[i], sizeof axis->labels[i], "%s", labels[i]);
}

/* 5 bands on every axis: frequency 1 | 2-3 | 4-5 | 6-10 | 11+, recency under 7d | 30d | 90d |
 * 365d | older, monetary under 10 | 100 | 1000 | 10000 | more. */
static void custom_matrix(struct sd_matrix *m)
{
    static const char *const freq[] = {"first", "second_go", "few", "many", "loyal_fan"};
    static const char *const rec[] = {"fresh", "cooling", "sleeping", "asleep", "deep_sleep"};
    static const char *const mon[] = {"tiny", "low", "mid", "high", "top"};
    const int64_t fb[] = {1, 3, 5, 10};
    const int64_t rb[] = {7 * DAY, 30 * DAY, 90 * DAY, 365 * DAY};
    const int64_t mb[] = {1000, 10000, 100000, 1000000};
    memset(m, 0, sizeof *m);
    set_axis(&m->frequency, 5, fb, freq);
    set_axis(&m->recency, 5, rb, rec);
    set_axis(&m->monetary, 5, mb, mon);
    m->sleeping[2] = m->sleeping[3] = m->sleeping[4] = true;
}

/* Every bound of every axis, from both sides, read from the matrix itself. */
static void check_every_boundary(const struct sd_matrix *m)
{
    const struct sd_axis *f = &m->frequency, *r = &m->recency, *mo = &m->monetary;
    ck_assert_int_eq(freq_of(m, 1), 0);
    for (int i = 0; i < f->nbands - 1; i++) {
        ck_assert_int_eq(freq_of(m, f->bounds[i]), i); /* the largest count of band i */
        ck_assert_int_eq(freq_of(m, f->bounds[i] + 1), i + 1);
    }
    ck_assert_int_eq(freq_of(m, INT64_C(1000000000)), f->nbands - 1);

    ck_assert_int_eq(rec_of(m, 0), 0);
    for (int i = 0; i < r->nbands - 1; i++) {
        ck_assert_int_eq(rec_of(m, r->bounds[i] - 1), i); /* one µs short of the bound */
        ck_assert_int_eq(rec_of(m, r->bounds[i]), i + 1);
    }
    ck_assert_int_eq(rec_of(m, 100000 * DAY), r->nbands - 1);

    ck_assert_int_eq(mon_of(m, 0), 0);
    for (int i = 0; i < mo->nbands - 1; i++) {
        ck_assert_int_eq(mon_of(m, mo->bounds[i] - 1), i);
        ck_assert_int_eq(mon_of(m, mo->bounds[i]), i + 1);
    }
    ck_assert_int_eq(mon_of(m, INT64_C(99999999999999)), mo->nbands - 1);
}

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    ck_assert_msg(doc != NULL, "bad test JSON: %s (%s)", jerr.text, text);
    return doc;
}

static char *dump(const json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    ck_assert_ptr_nonnull(text);
    return text;
}

static bool from_text(const char *text, struct sd_matrix *m, struct sd_errors *errs)
{
    json_t *doc = load(text);
    sd_errors_init(errs);
    bool ok = sd_matrix_from_json(doc, m, errs);
    json_decref(doc);
    return ok;
}

static const char *list_errors(const struct sd_errors *errs)
{
    static char text[4096];
    size_t n = 0;
    text[0] = '\0';
    for (size_t i = 0; i < errs->count && n < sizeof text; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "[%s: %s] ", errs->items[i].pointer,
                              errs->items[i].message);
    return text;
}

static const struct sd_error_item *find_error(const struct sd_errors *errs, const char *pointer)
{
    for (size_t i = 0; i < errs->count; i++) {
        if (strcmp(errs->items[i].pointer, pointer) == 0)
            return &errs->items[i];
    }
    return NULL;
}

/* The body is refused with exactly these pointers (any order), and nothing else. */
static void expect_errors(const char *body, const char *const *pointers)
{
    struct sd_matrix m;
    struct sd_errors errs;
    bool ok = from_text(body, &m, &errs);
    size_t n = 0;
    for (; pointers[n] != NULL; n++)
        ck_assert_msg(find_error(&errs, pointers[n]) != NULL, "no error at \"%s\" for %s; got %s",
                      pointers[n], body, list_errors(&errs));
    ck_assert_msg(!ok, "accepted: %s", body);
    ck_assert_msg(errs.count == n && errs.dropped == 0, "%zu errors expected for %s; got %s", n,
                  body, list_errors(&errs));
}

#define EXPECT_ERRORS(body, ...) expect_errors(body, (const char *const[]){__VA_ARGS__, NULL})

#define FREQ_OK "{\"bounds\":[1,3],\"labels\":[\"new\",\"promising\",\"regular\"]}"
#define REC_OK "{\"bounds\":[\"30d\",\"90d\"],\"labels\":[\"active\",\"sleeping\",\"asleep\"]}"
#define MON_OK "{\"bounds\":[\"100\",\"1000\"],\"labels\":[\"low\",\"mid\",\"high\"]}"

/* A body from its three axes and anything more (",\"names\":{...}"). */
static const char *body(const char *freq, const char *rec, const char *mon, const char *extra)
{
    static char text[4096];
    int n = snprintf(text, sizeof text, "{\"frequency\":%s,\"recency\":%s,\"monetary\":%s%s}", freq,
                     rec, mon, extra);
    ck_assert(n > 0 && (size_t)n < sizeof text);
    return text;
}

static const char *rec_axis(const char *bounds)
{
    static char text[512];
    snprintf(text, sizeof text, "{\"bounds\":%s,\"labels\":[\"active\",\"sleeping\",\"asleep\"]}",
             bounds);
    return text;
}

static const char *mon_axis(const char *bounds)
{
    static char text[512];
    snprintf(text, sizeof text, "{\"bounds\":%s,\"labels\":[\"low\",\"mid\",\"high\"]}", bounds);
    return text;
}

static const char *freq_axis(const char *bounds)
{
    static char text[512];
    snprintf(text, sizeof text, "{\"bounds\":%s,\"labels\":[\"new\",\"promising\",\"regular\"]}",
             bounds);
    return text;
}

/* ---- the pure core ---------------------------------------------------------------------- */

START_TEST(test_kind)
{
    enum sd_kind k = SD_KIND_B2B;
    ck_assert(sd_kind_parse("b2c", &k));
    ck_assert_int_eq(k, SD_KIND_B2C);
    ck_assert(sd_kind_parse("b2b", &k));
    ck_assert_int_eq(k, SD_KIND_B2B);
    static const char *const bad[] = {"", "B2C", "b2", "b2cc", " b2c", "b2x", "all"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        k = SD_KIND_B2B;
        ck_assert_msg(!sd_kind_parse(bad[i], &k), "accepted \"%s\"", bad[i]);
        ck_assert_int_eq(k, SD_KIND_B2B);
    }
    ck_assert_str_eq(sd_kind_name(SD_KIND_B2C), "b2c");
    ck_assert_str_eq(sd_kind_name(SD_KIND_B2B), "b2b");
}
END_TEST

static void check_labels(const struct sd_axis *axis, const char *a, const char *b, const char *c)
{
    ck_assert_int_eq(axis->nbands, 3);
    ck_assert_str_eq(axis->labels[0], a);
    ck_assert_str_eq(axis->labels[1], b);
    ck_assert_str_eq(axis->labels[2], c);
}

START_TEST(test_presets)
{
    struct sd_matrix m;
    struct sd_errors errs;
    sd_matrix_preset(SD_KIND_B2C, &m);
    check_labels(&m.frequency, "new", "promising", "regular");
    check_labels(&m.recency, "active", "sleeping", "asleep");
    check_labels(&m.monetary, "low", "mid", "high");
    ck_assert_int_eq(m.frequency.bounds[0], 1);
    ck_assert_int_eq(m.frequency.bounds[1], 3);
    ck_assert_int_eq(m.recency.bounds[0], 30 * DAY);
    ck_assert_int_eq(m.recency.bounds[1], 90 * DAY);
    ck_assert_int_eq(m.monetary.bounds[0], 10000);
    ck_assert_int_eq(m.monetary.bounds[1], 100000);
    ck_assert(!m.sleeping[0] && m.sleeping[1] && m.sleeping[2]);
    ck_assert_str_eq(m.names[0][0], "");
    sd_errors_init(&errs);
    ck_assert_msg(sd_matrix_validate(&m, &errs), "%s", list_errors(&errs));

    sd_matrix_preset(SD_KIND_B2B, &m);
    check_labels(&m.frequency, "new", "promising", "regular");
    check_labels(&m.recency, "active", "sleeping", "asleep");
    check_labels(&m.monetary, "low", "mid", "high");
    ck_assert_int_eq(m.frequency.bounds[0], 1);
    ck_assert_int_eq(m.frequency.bounds[1], 5);
    ck_assert_int_eq(m.recency.bounds[0], 90 * DAY);
    ck_assert_int_eq(m.recency.bounds[1], 180 * DAY);
    ck_assert_int_eq(m.monetary.bounds[0], 100000);
    ck_assert_int_eq(m.monetary.bounds[1], 1000000);
    ck_assert(!m.sleeping[0] && m.sleeping[1] && m.sleeping[2]);
    sd_errors_init(&errs);
    ck_assert_msg(sd_matrix_validate(&m, &errs), "%s", list_errors(&errs));
}
END_TEST

START_TEST(test_classify_b2c)
{
    struct sd_matrix m;
    sd_matrix_preset(SD_KIND_B2C, &m);
    /* new = 1, promising = 2-3, regular = 4+ */
    ck_assert_int_eq(freq_of(&m, 1), 0);
    ck_assert_int_eq(freq_of(&m, 2), 1);
    ck_assert_int_eq(freq_of(&m, 3), 1);
    ck_assert_int_eq(freq_of(&m, 4), 2);
    ck_assert_int_eq(freq_of(&m, 500), 2);
    /* active < 30 days, sleeping 30-89 days, asleep >= 90 days */
    ck_assert_int_eq(rec_of(&m, 0), 0);
    ck_assert_int_eq(rec_of(&m, 30 * DAY - 1), 0);
    ck_assert_int_eq(rec_of(&m, 30 * DAY), 1);
    ck_assert_int_eq(rec_of(&m, 90 * DAY - 1), 1);
    ck_assert_int_eq(rec_of(&m, 90 * DAY), 2);
    ck_assert_int_eq(rec_of(&m, 3650 * DAY), 2);
    /* low < 100, mid < 1000, high >= 1000 */
    ck_assert_int_eq(mon_of(&m, 0), 0);
    ck_assert_int_eq(mon_of(&m, 9999), 0);
    ck_assert_int_eq(mon_of(&m, 10000), 1);
    ck_assert_int_eq(mon_of(&m, 99999), 1);
    ck_assert_int_eq(mon_of(&m, 100000), 2);
    check_every_boundary(&m);
}
END_TEST

START_TEST(test_classify_b2b)
{
    struct sd_matrix m;
    sd_matrix_preset(SD_KIND_B2B, &m);
    /* new = 1, promising = 2-5, regular = 6+ */
    ck_assert_int_eq(freq_of(&m, 1), 0);
    ck_assert_int_eq(freq_of(&m, 2), 1);
    ck_assert_int_eq(freq_of(&m, 5), 1);
    ck_assert_int_eq(freq_of(&m, 6), 2);
    /* active < 90 days, sleeping 90-179, asleep >= 180 */
    ck_assert_int_eq(rec_of(&m, 90 * DAY - 1), 0);
    ck_assert_int_eq(rec_of(&m, 90 * DAY), 1);
    ck_assert_int_eq(rec_of(&m, 180 * DAY - 1), 1);
    ck_assert_int_eq(rec_of(&m, 180 * DAY), 2);
    /* low < 1000, mid < 10000, high >= 10000 */
    ck_assert_int_eq(mon_of(&m, 99999), 0);
    ck_assert_int_eq(mon_of(&m, 100000), 1);
    ck_assert_int_eq(mon_of(&m, 999999), 1);
    ck_assert_int_eq(mon_of(&m, 1000000), 2);
    check_every_boundary(&m);
}
END_TEST

START_TEST(test_classify_custom)
{
    struct sd_matrix m;
    struct sd_errors errs;
    custom_matrix(&m);
    sd_errors_init(&errs);
    ck_assert_msg(sd_matrix_validate(&m, &errs), "%s", list_errors(&errs));
    static const struct {
        int64_t purchases;
        int band;
    } fcases[] = {{1, 0}, {2, 1}, {3, 1}, {4, 2}, {5, 2}, {6, 3}, {10, 3}, {11, 4}, {1000, 4}};
    for (size_t i = 0; i < sizeof fcases / sizeof fcases[0]; i++)
        ck_assert_int_eq(freq_of(&m, fcases[i].purchases), fcases[i].band);
    static const struct {
        int64_t elapsed;
        int band;
    } rcases[] = {{0, 0},         {7 * DAY - 1, 0},  {7 * DAY, 1},  {30 * DAY - 1, 1},
                  {30 * DAY, 2},  {90 * DAY - 1, 2}, {90 * DAY, 3}, {365 * DAY - 1, 3},
                  {365 * DAY, 4}, {9999 * DAY, 4}};
    for (size_t i = 0; i < sizeof rcases / sizeof rcases[0]; i++)
        ck_assert_int_eq(rec_of(&m, rcases[i].elapsed), rcases[i].band);
    static const struct {
        int64_t cents;
        int band;
    } mcases[] = {{0, 0},     {999, 0},    {1000, 1},   {9999, 1},    {10000, 2},
                  {99999, 2}, {100000, 3}, {999999, 3}, {1000000, 4}, {INT64_C(1) << 50, 4}};
    for (size_t i = 0; i < sizeof mcases / sizeof mcases[0]; i++)
        ck_assert_int_eq(mon_of(&m, mcases[i].cents), mcases[i].band);
    check_every_boundary(&m);
}
END_TEST

START_TEST(test_classify_placement)
{
    struct sd_matrix m;
    struct sd_placement p;
    sd_matrix_preset(SD_KIND_B2C, &m);

    /* No non-cancelled purchase: no cell, nothing ahead. */
    place(&m, 0, 0, 0, &p);
    ck_assert_int_eq(p.freq, -1);
    ck_assert_int_eq(p.rec, -1);
    ck_assert_int_eq(p.mon, -1);
    ck_assert_int_eq(p.next_change_at, 0);
    place(&m, -3, 5000, 40 * DAY, &p);
    ck_assert_int_eq(p.freq, -1);

    /* All three axes at once, and the moment time alone moves them on. */
    place(&m, 4, 12990, 45 * DAY, &p);
    ck_assert_int_eq(p.freq, 2);
    ck_assert_int_eq(p.rec, 1);
    ck_assert_int_eq(p.mon, 1);
    ck_assert_int_eq(p.next_change_at, T0 + 90 * DAY);

    place(&m, 1, 0, 0, &p);
    ck_assert_int_eq(p.rec, 0);
    ck_assert_int_eq(p.next_change_at, T0 + 30 * DAY);
    place(&m, 1, 0, 30 * DAY - 1, &p);
    ck_assert_int_eq(p.next_change_at, T0 + 30 * DAY);
    place(&m, 1, 0, 30 * DAY, &p);
    ck_assert_int_eq(p.next_change_at, T0 + 90 * DAY);
    /* The last band: nothing ahead. */
    place(&m, 1, 0, 90 * DAY, &p);
    ck_assert_int_eq(p.rec, 2);
    ck_assert_int_eq(p.next_change_at, 0);

    /* A last purchase in the future (clock skew) counts as just now. */
    place(&m, 2, 100, -5 * DAY, &p);
    ck_assert_int_eq(p.rec, 0);
    ck_assert_int_eq(p.freq, 1);
    ck_assert_int_eq(p.next_change_at, T0 + 30 * DAY);

    /* The 5-band matrix: next_change_at is the bound of the current band, each time. */
    struct sd_matrix c;
    custom_matrix(&c);
    for (int band = 0; band < c.recency.nbands; band++) {
        int64_t elapsed = band == 0 ? 0 : c.recency.bounds[band - 1];
        place(&c, 1, 0, elapsed, &p);
        ck_assert_int_eq(p.rec, band);
        int64_t expected = band < c.recency.nbands - 1 ? T0 + c.recency.bounds[band] : 0;
        ck_assert_int_eq(p.next_change_at, expected);
    }
}
END_TEST

START_TEST(test_cell_keys_and_names)
{
    struct sd_matrix m;
    char key[SD_CELL_KEY_MAX + 1];
    char name[SD_CELL_NAME_MAX * 4 + 1];
    int f = -7, r = -7;
    sd_matrix_preset(SD_KIND_B2C, &m);

    sd_matrix_cell_key(&m, 2, 1, key);
    ck_assert_str_eq(key, "regular/sleeping");
    sd_matrix_cell_key(&m, 0, 0, key);
    ck_assert_str_eq(key, "new/active");
    sd_matrix_cell_key(&m, -1, -1, key);
    ck_assert_str_eq(key, "");

    ck_assert(sd_matrix_cell_parse(&m, "regular/asleep", &f, &r));
    ck_assert_int_eq(f, 2);
    ck_assert_int_eq(r, 2);
    ck_assert(sd_matrix_cell_parse(&m, "promising/active", &f, &r));
    ck_assert_int_eq(f, 1);
    ck_assert_int_eq(r, 0);
    static const char *const bad[] = {"",
                                      "regular",
                                      "regular/",
                                      "/asleep",
                                      "asleep/regular",
                                      "regular/awake",
                                      "Regular/asleep",
                                      "regular/asleep/",
                                      "regular//asleep",
                                      "regular/asleep ",
                                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/asleep"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!sd_matrix_cell_parse(&m, bad[i], &f, &r), "parsed \"%s\"", bad[i]);

    /* Every key parses back to its own cell. */
    struct sd_matrix c;
    custom_matrix(&c);
    for (int i = 0; i < c.frequency.nbands; i++) {
        for (int j = 0; j < c.recency.nbands; j++) {
            sd_matrix_cell_key(&c, i, j, key);
            ck_assert(sd_matrix_cell_parse(&c, key, &f, &r));
            ck_assert_int_eq(f, i);
            ck_assert_int_eq(r, j);
        }
    }

    sd_matrix_cell_name(&m, 2, 1, name, sizeof name);
    ck_assert_str_eq(name, "Regular sleeping");
    sd_matrix_cell_name(&m, 0, 0, name, sizeof name);
    ck_assert_str_eq(name, "New active");
    sd_matrix_cell_name(&c, 4, 4, name, sizeof name);
    ck_assert_str_eq(name, "Loyal fan deep sleep");
    sd_matrix_cell_name(&c, 1, 0, name, sizeof name);
    ck_assert_str_eq(name, "Second go fresh");
    /* Too small a buffer cuts the name, never the NUL. */
    sd_matrix_cell_name(&m, 2, 1, name, 8);
    ck_assert_str_eq(name, "Regular");

    snprintf(m.names[2][2], sizeof m.names[2][2], "%s", "Lost regulars");
    sd_matrix_cell_name(&m, 2, 2, name, sizeof name);
    ck_assert_str_eq(name, "Lost regulars");
    sd_matrix_cell_name(&m, 2, 1, name, sizeof name); /* its neighbours keep the default */
    ck_assert_str_eq(name, "Regular sleeping");
}
END_TEST

START_TEST(test_validate_rules)
{
    struct sd_matrix m;
    struct sd_errors errs;

    sd_matrix_preset(SD_KIND_B2C, &m);
    m.frequency.bounds[1] = 1;
    m.recency.bounds[0] = 0;
    m.monetary.bounds[0] = 0;
    snprintf(m.monetary.labels[2], sizeof m.monetary.labels[2], "%s", "Mid");
    snprintf(m.recency.labels[2], sizeof m.recency.labels[2], "%s", "active");
    m.sleeping[0] = true;
    sd_errors_init(&errs);
    ck_assert(!sd_matrix_validate(&m, &errs));
    ck_assert_ptr_nonnull(find_error(&errs, "/frequency/bounds/1"));
    ck_assert_ptr_nonnull(find_error(&errs, "/recency/bounds/0"));
    ck_assert_ptr_nonnull(find_error(&errs, "/monetary/bounds/0"));
    ck_assert_ptr_nonnull(find_error(&errs, "/monetary/labels/2"));
    ck_assert_ptr_nonnull(find_error(&errs, "/recency/labels/2"));
    ck_assert_ptr_nonnull(find_error(&errs, "/recency/sleeping"));
    ck_assert_uint_eq(errs.count, 6);

    sd_matrix_preset(SD_KIND_B2C, &m);
    m.frequency.nbands = 1;
    m.monetary.nbands = 6;
    sd_errors_init(&errs);
    ck_assert(!sd_matrix_validate(&m, &errs));
    ck_assert_ptr_nonnull(find_error(&errs, "/frequency/labels"));
    ck_assert_ptr_nonnull(find_error(&errs, "/monetary/labels"));
    ck_assert_uint_eq(errs.count, 2);

    ck_assert(sd_label_valid("a"));
    ck_assert(sd_label_valid("deep_sleep_2"));
    ck_assert(sd_label_valid("abcdefghijklmnopqrstuvwxyz012345")); /* 32 */
    ck_assert(!sd_label_valid(""));
    ck_assert(!sd_label_valid("abcdefghijklmnopqrstuvwxyz0123456")); /* 33 */
    ck_assert(!sd_label_valid("Active"));
    ck_assert(!sd_label_valid("deep-sleep"));
    ck_assert(!sd_label_valid("deep sleep"));
    ck_assert(!sd_label_valid("d\xc3\xa9j\xc3\xa0"));

    sd_matrix_preset(SD_KIND_B2C, &m);
    ck_assert_int_eq(sd_axis_find(&m.recency, "asleep"), 2);
    ck_assert_int_eq(sd_axis_find(&m.recency, "new"), -1);
    ck_assert_int_eq(sd_axis_find(&m.recency, ""), -1);
}
END_TEST

START_TEST(test_recency_parse)
{
    static const struct {
        const char *text;
        int64_t us;
    } good[] = {
        {"30d", 30 * DAY},
        {"12h", 12 * HOUR},
        {"90s", 90 * SEC},
        {"30", 30 * DAY},
        {"1s", SEC},
        {"007d", 7 * DAY},
        {"36500d", 36500 * DAY},
        {"876000h", 876000 * HOUR},
        {"3153600000s", 3153600000 * SEC},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t us = -1;
        ck_assert_msg(sd_recency_parse(good[i].text, &us), "refused \"%s\"", good[i].text);
        ck_assert_int_eq(us, good[i].us);
    }
    static const char *const bad[] = {"",
                                      "0d",
                                      "0",
                                      "0s",
                                      "-1d",
                                      "+1d",
                                      "1.5d",
                                      "30 d",
                                      " 30d",
                                      "30d ",
                                      "30D",
                                      "1w",
                                      "5m",
                                      "d",
                                      "30dd",
                                      "36501d",
                                      "876001h",
                                      "3153600001s",
                                      "99999999999999999999d",
                                      "9223372036854775807s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t us = -1;
        ck_assert_msg(!sd_recency_parse(bad[i], &us), "accepted \"%s\"", bad[i]);
        ck_assert_int_eq(us, -1);
    }
}
END_TEST

START_TEST(test_recency_format)
{
    static const struct {
        int64_t us;
        const char *text;
    } cases[] = {{30 * DAY, "30d"},           {DAY, "1d"},         {12 * HOUR, "12h"},
                 {36 * HOUR, "36h"},          {90 * SEC, "90s"},   {SEC, "1s"},
                 {25 * HOUR + SEC, "90001s"}, {365 * DAY, "365d"}, {48 * HOUR, "2d"}};
    char text[32];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sd_recency_format(cases[i].us, text, sizeof text);
        ck_assert_str_eq(text, cases[i].text);
        int64_t back;
        ck_assert(sd_recency_parse(text, &back));
        ck_assert_int_eq(back, cases[i].us);
    }
}
END_TEST

START_TEST(test_amount_parse_format)
{
    static const struct {
        const char *text;
        int64_t cents;
    } good[] = {{"0", 0},         {"0.5", 50},         {"0.05", 5},
                {"129.9", 12990}, {"129.90", 12990},   {"129", 12900},
                {"100", 10000},   {"1000.00", 100000}, {"999999999999.99", INT64_C(99999999999999)},
                {"00.10", 10}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t c = -1;
        ck_assert_msg(sd_amount_parse(good[i].text, &c), "refused \"%s\"", good[i].text);
        ck_assert_int_eq(c, good[i].cents);
    }
    static const char *const bad[] = {"",
                                      ".5",
                                      "1.",
                                      "1.234",
                                      "-1",
                                      "+1",
                                      "1e2",
                                      "1E2",
                                      " 1",
                                      "1 ",
                                      "1,50",
                                      "abc",
                                      "0x10",
                                      "1..2",
                                      "1.2.3",
                                      "NaN",
                                      "inf",
                                      "1000000000000",
                                      "9999999999999.99"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t c = -1;
        ck_assert_msg(!sd_amount_parse(bad[i], &c), "accepted \"%s\"", bad[i]);
        ck_assert_int_eq(c, -1);
    }

    static const struct {
        int64_t cents;
        const char *text;
    } fmt[] = {{0, "0.00"},       {5, "0.05"},
               {50, "0.50"},      {12990, "129.90"},
               {10000, "100.00"}, {INT64_C(99999999999999), "999999999999.99"},
               {-150, "-1.50"},   {INT64_MIN, "-92233720368547758.08"}};
    char text[24];
    for (size_t i = 0; i < sizeof fmt / sizeof fmt[0]; i++) {
        sd_amount_format(fmt[i].cents, text, sizeof text);
        ck_assert_str_eq(text, fmt[i].text);
    }
}
END_TEST

/* ---- sd_json_amount --------------------------------------------------------------------- */

static void amount_ok(json_t *v, int64_t cents)
{
    int64_t got = -1;
    char *text = json_dumps(v, JSON_ENCODE_ANY);
    ck_assert_msg(sd_json_amount(v, &got), "refused %s", text);
    ck_assert_msg(got == cents, "%s: %lld, expected %lld", text, (long long)got, (long long)cents);
    free(text);
    json_decref(v);
}

static void amount_bad(json_t *v)
{
    int64_t got = -1;
    char *text = json_dumps(v, JSON_ENCODE_ANY);
    ck_assert_msg(!sd_json_amount(v, &got), "accepted %s", text);
    ck_assert_int_eq(got, -1);
    free(text);
    json_decref(v);
}

START_TEST(test_json_amount)
{
    amount_ok(json_real(129.9), 12990);
    amount_ok(json_real(0.1), 10);
    amount_ok(json_real(0.5), 50);
    amount_ok(json_real(100.0), 10000);
    amount_ok(json_real(1e2), 10000);
    amount_ok(json_real(0.0), 0);
    amount_ok(json_real(19.99), 1999);
    amount_ok(json_real(1234567.89), 123456789);
    amount_ok(json_real(999999999999.99), INT64_C(99999999999999));
    amount_ok(json_real(1e11), INT64_C(10000000000000));
    amount_ok(json_integer(0), 0);
    amount_ok(json_integer(129), 12900);
    amount_ok(json_integer(INT64_C(999999999999)), INT64_C(99999999999900));
    amount_ok(json_string("12.5"), 1250);
    amount_ok(json_string("129.90"), 12990);
    amount_ok(json_string("0"), 0);

    amount_bad(json_real(0.125));
    amount_bad(json_real(0.1 + 0.2)); /* 0.30000000000000004 */
    amount_bad(json_real(1e-5));
    amount_bad(json_real(0.001));
    amount_bad(json_real(-1.0));
    amount_bad(json_real(-0.5));
    amount_bad(json_real(1e300));
    amount_bad(json_real(1e12));
    amount_bad(json_real(1e15));
    amount_bad(json_integer(-1));
    amount_bad(json_integer(INT64_C(1000000000000)));
    amount_bad(json_integer(INT64_MAX));
    amount_bad(json_integer(INT64_MIN));
    amount_bad(json_string("-1"));
    amount_bad(json_string("+1"));
    amount_bad(json_string(" 1"));
    amount_bad(json_string("1e2"));
    amount_bad(json_string("1.234"));
    amount_bad(json_string(""));
    amount_bad(json_stringn("1\0"
                            "5",
                            3)); /* an embedded NUL is not the end of the text */
    amount_bad(json_true());
    amount_bad(json_null());
    amount_bad(json_array());
    amount_bad(json_object());

    /* What the parser makes of the client's text: "1e2" and "100.0" are reals. */
    static const struct {
        const char *json;
        int64_t cents;
    } texts[] = {{"129.9", 12990}, {"1e2", 10000}, {"100.0", 10000},
                 {"0.10", 10},     {"-0", 0},      {"5", 500}};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        amount_ok(json_loads(texts[i].json, JSON_DECODE_ANY, NULL), texts[i].cents);
    amount_bad(json_loads("-0.0", JSON_DECODE_ANY, NULL));
    amount_bad(json_loads("1.005", JSON_DECODE_ANY, NULL));
    amount_bad(json_loads("1e-3", JSON_DECODE_ANY, NULL));
}
END_TEST

/* ---- the JSON document ------------------------------------------------------------------ */

START_TEST(test_json_spec_example)
{
    const char *text = "{\"frequency\": {\"bounds\": [1, 3], \"labels\": [\"new\", \"promising\", "
                       "\"regular\"]},"
                       " \"recency\": {\"bounds\": [\"30d\", \"90d\"], \"labels\": [\"active\", "
                       "\"sleeping\", \"asleep\"], \"sleeping\": [\"sleeping\", \"asleep\"]},"
                       " \"monetary\": {\"bounds\": [\"100\", \"1000\"], \"labels\": [\"low\", "
                       "\"mid\", \"high\"]},"
                       " \"names\": {\"regular/asleep\": \"Lost regulars\"}}";
    struct sd_matrix m, expected, again;
    struct sd_errors errs;
    ck_assert_msg(from_text(text, &m, &errs), "%s", list_errors(&errs));
    ck_assert_uint_eq(errs.count, 0);

    sd_matrix_preset(SD_KIND_B2C, &expected);
    snprintf(expected.names[2][2], sizeof expected.names[2][2], "%s", "Lost regulars");
    ck_assert(memcmp(&m, &expected, sizeof m) == 0);

    json_t *doc = sd_matrix_to_json(&m);
    ck_assert_ptr_nonnull(doc);
    char *out = dump(doc);
    ck_assert_str_eq(out, "{\"frequency\":{\"bounds\":[1,3],\"labels\":[\"new\",\"promising\","
                          "\"regular\"]},\"recency\":{\"bounds\":[\"30d\",\"90d\"],\"labels\":["
                          "\"active\",\"sleeping\",\"asleep\"],\"sleeping\":[\"sleeping\","
                          "\"asleep\"]},\"monetary\":{\"bounds\":[\"100.00\",\"1000.00\"],"
                          "\"labels\":[\"low\",\"mid\",\"high\"]},\"names\":{\"regular/asleep\":"
                          "\"Lost regulars\"}}");
    free(out);

    memset(&again, 0xAB, sizeof again); /* from_json must clear everything itself */
    sd_errors_init(&errs);
    ck_assert_msg(sd_matrix_from_json(doc, &again, &errs), "%s", list_errors(&errs));
    ck_assert(memcmp(&m, &again, sizeof m) == 0);
    json_decref(doc);
}
END_TEST

/* from_json(to_json(m)) == m, byte for byte, and to_json is stable. */
static void check_round_trip(const struct sd_matrix *m)
{
    struct sd_matrix back;
    struct sd_errors errs;
    json_t *doc = sd_matrix_to_json(m);
    ck_assert_ptr_nonnull(doc);
    sd_errors_init(&errs);
    ck_assert_msg(sd_matrix_from_json(doc, &back, &errs), "%s", list_errors(&errs));
    ck_assert(memcmp(m, &back, sizeof back) == 0);
    json_t *again = sd_matrix_to_json(&back);
    ck_assert(json_equal(doc, again));
    json_decref(again);
    json_decref(doc);
}

START_TEST(test_json_round_trip)
{
    struct sd_matrix m;
    sd_matrix_preset(SD_KIND_B2C, &m);
    check_round_trip(&m);
    sd_matrix_preset(SD_KIND_B2B, &m);
    check_round_trip(&m);

    custom_matrix(&m);
    m.recency.bounds[0] = 12 * HOUR;
    m.recency.bounds[1] = 36 * HOUR + 90 * SEC;
    m.monetary.bounds[0] = 1;
    m.monetary.bounds[3] = INT64_C(99999999999999);
    m.sleeping[2] = false;
    snprintf(m.names[0][0], sizeof m.names[0][0], "%s", "Nouveaux \xc3\xa9t\xc3\xa9");
    snprintf(m.names[4][4], sizeof m.names[4][4], "%s", "Lost fans");
    /* 64 characters of 4 bytes: the longest name there is. */
    m.names[3][1][0] = '\0';
    for (int i = 0; i < SD_CELL_NAME_MAX; i++)
        strcat(m.names[3][1], "\xf0\x9f\x98\x80");
    check_round_trip(&m);

    /* No sleeping band at all is a choice, and survives. */
    memset(m.sleeping, 0, sizeof m.sleeping);
    check_round_trip(&m);

    json_t *doc = sd_matrix_to_json(&m);
    json_t *names = json_object_get(doc, "names");
    ck_assert_uint_eq(json_object_size(names), 3);
    ck_assert_str_eq(json_string_value(json_object_get(names, "loyal_fan/deep_sleep")),
                     "Lost fans");
    ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(doc, "recency"), "sleeping")),
                      0);
    json_t *rb = json_object_get(json_object_get(doc, "recency"), "bounds");
    ck_assert_str_eq(json_string_value(json_array_get(rb, 0)), "12h");
    ck_assert_str_eq(json_string_value(json_array_get(rb, 1)), "129690s");
    json_t *mb = json_object_get(json_object_get(doc, "monetary"), "bounds");
    ck_assert_str_eq(json_string_value(json_array_get(mb, 0)), "0.01");
    ck_assert_str_eq(json_string_value(json_array_get(mb, 3)), "999999999999.99");
    json_decref(doc);

    /* No overrides: "names" is still there, empty. */
    sd_matrix_preset(SD_KIND_B2C, &m);
    doc = sd_matrix_to_json(&m);
    names = json_object_get(doc, "names");
    ck_assert(json_is_object(names));
    ck_assert_uint_eq(json_object_size(names), 0);
    ck_assert_uint_eq(json_object_size(doc), 4);
    json_decref(doc);
}
END_TEST

START_TEST(test_json_forms_and_defaults)
{
    struct sd_matrix m, expected;
    struct sd_errors errs;

    /* Numbers for durations (days) and amounts; no sleeping and no names: the defaults. */
    ck_assert_msg(
        from_text(body(FREQ_OK, rec_axis("[30, 90]"), mon_axis("[100, 1000.0]"), ""), &m, &errs),
        "%s", list_errors(&errs));
    sd_matrix_preset(SD_KIND_B2C, &expected);
    ck_assert(memcmp(&m, &expected, sizeof m) == 0);

    /* null stands for absent in the optional members. */
    ck_assert_msg(from_text(body(FREQ_OK,
                                 "{\"bounds\":[\"30d\",\"90d\"],\"labels\":[\"active\","
                                 "\"sleeping\",\"asleep\"],\"sleeping\":null}",
                                 MON_OK, ",\"names\":null"),
                            &m, &errs),
                  "%s", list_errors(&errs));
    ck_assert(memcmp(&m, &expected, sizeof m) == 0);

    /* An empty sleeping list: no band is a sleeping band. */
    ck_assert_msg(from_text(body(FREQ_OK,
                                 "{\"bounds\":[\"30d\",\"90d\"],\"labels\":[\"active\","
                                 "\"sleeping\",\"asleep\"],\"sleeping\":[]}",
                                 MON_OK, ",\"names\":{}"),
                            &m, &errs),
                  "%s", list_errors(&errs));
    ck_assert(!m.sleeping[0] && !m.sleeping[1] && !m.sleeping[2]);

    /* Mixed forms on the 5-band custom matrix, names in UTF-8. */
    const char *custom =
        "{\"frequency\":{\"bounds\":[1,3,5,10],\"labels\":[\"first\",\"second_go\",\"few\","
        "\"many\",\"loyal_fan\"]},"
        "\"recency\":{\"bounds\":[7,\"30d\",\"2160h\",\"31536000s\"],\"labels\":[\"fresh\","
        "\"cooling\",\"sleeping\",\"asleep\",\"deep_sleep\"],\"sleeping\":[\"deep_sleep\","
        "\"sleeping\",\"asleep\"]},"
        "\"monetary\":{\"bounds\":[10,\"100\",1000.00,\"10000.0\"],\"labels\":[\"tiny\",\"low\","
        "\"mid\",\"high\",\"top\"]},"
        "\"names\":{\"first/fresh\":\"Nouveaux \\u00e9t\\u00e9\",\"loyal_fan/deep_sleep\":\"Lost "
        "fans\"}}";
    ck_assert_msg(from_text(custom, &m, &errs), "%s", list_errors(&errs));
    custom_matrix(&expected);
    snprintf(expected.names[0][0], sizeof expected.names[0][0], "%s", "Nouveaux \xc3\xa9t\xc3\xa9");
    snprintf(expected.names[4][4], sizeof expected.names[4][4], "%s", "Lost fans");
    ck_assert(memcmp(&m, &expected, sizeof m) == 0);
    check_round_trip(&m);
    check_every_boundary(&m);
    char name[SD_CELL_NAME_MAX * 4 + 1];
    sd_matrix_cell_name(&m, 0, 0, name, sizeof name);
    ck_assert_str_eq(name, "Nouveaux \xc3\xa9t\xc3\xa9");
    sd_matrix_cell_name(&m, 3, 2, name, sizeof name);
    ck_assert_str_eq(name, "Many sleeping");
}
END_TEST

START_TEST(test_json_errors_top)
{
    EXPECT_ERRORS("[]", "");
    EXPECT_ERRORS("\"matrix\"", "");
    EXPECT_ERRORS(body(FREQ_OK, REC_OK, MON_OK, ",\"colour\":\"red\""), "/colour");
    EXPECT_ERRORS(body(FREQ_OK, REC_OK, MON_OK, ",\"a/b\":1"), "/a~1b");
    /* A missing or mistyped axis is one error, not one per rule it cannot meet. */
    EXPECT_ERRORS("{\"frequency\":" FREQ_OK ",\"recency\":" REC_OK "}", "/monetary");
    EXPECT_ERRORS("{}", "/frequency", "/recency", "/monetary");
    EXPECT_ERRORS(body(FREQ_OK, "[]", MON_OK, ""), "/recency");
    EXPECT_ERRORS(body(FREQ_OK, "null", MON_OK, ""), "/recency");
    EXPECT_ERRORS(body("3", REC_OK, MON_OK, ""), "/frequency");
}
END_TEST

START_TEST(test_json_errors_axes)
{
    /* Unknown members; sleeping belongs to recency alone. */
    EXPECT_ERRORS(body("{\"bounds\":[1,3],\"labels\":[\"new\",\"promising\",\"regular\"],"
                       "\"sleeping\":[]}",
                       REC_OK, MON_OK, ""),
                  "/frequency/sleeping");
    EXPECT_ERRORS(body(FREQ_OK, REC_OK,
                       "{\"bounds\":[\"100\",\"1000\"],\"labels\":[\"low\",\"mid\",\"high\"],"
                       "\"currency\":\"EUR\"}",
                       ""),
                  "/monetary/currency");
    /* Labels. */
    EXPECT_ERRORS(body("{\"bounds\":[1,3]}", REC_OK, MON_OK, ""), "/frequency/labels");
    EXPECT_ERRORS(body("{\"bounds\":[1,3],\"labels\":\"new\"}", REC_OK, MON_OK, ""),
                  "/frequency/labels");
    EXPECT_ERRORS(body("{\"bounds\":[],\"labels\":[\"all\"]}", REC_OK, MON_OK, ""),
                  "/frequency/labels");
    EXPECT_ERRORS(body("{\"bounds\":[1,2,3,4,5],\"labels\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"]}",
                       REC_OK, MON_OK, ""),
                  "/frequency/labels");
    EXPECT_ERRORS(body(FREQ_OK,
                       "{\"bounds\":[\"30d\",\"90d\"],\"labels\":[\"active\",\"sleeping\","
                       "7]}",
                       MON_OK, ""),
                  "/recency/labels/2");
    EXPECT_ERRORS(body(FREQ_OK, REC_OK,
                       "{\"bounds\":[\"100\",\"1000\"],\"labels\":[\"low\","
                       "\"abcdefghijklmnopqrstuvwxyz0123456\",\"high\"]}",
                       ""),
                  "/monetary/labels/1");
    EXPECT_ERRORS(
        body("{\"bounds\":[1,3],\"labels\":[\"New\",\"promising\",\"\"]}", REC_OK, MON_OK, ""),
        "/frequency/labels/0", "/frequency/labels/2");
    EXPECT_ERRORS(body(FREQ_OK,
                       "{\"bounds\":[\"30d\",\"90d\"],\"labels\":[\"active\",\"sleeping\","
                       "\"active\"]}",
                       MON_OK, ""),
                  "/recency/labels/2");
    EXPECT_ERRORS(body("{\"bounds\":[1,3],\"labels\":[\"new\",\"pro\\u0000x\",\"regular\"]}",
                       REC_OK, MON_OK, ""),
                  "/frequency/labels/1");
    /* The bounds count. */
    EXPECT_ERRORS(body("{\"labels\":[\"new\",\"promising\",\"regular\"]}", REC_OK, MON_OK, ""),
                  "/frequency/bounds");
    EXPECT_ERRORS(body(freq_axis("{}"), REC_OK, MON_OK, ""), "/frequency/bounds");
    EXPECT_ERRORS(body(freq_axis("[1]"), REC_OK, MON_OK, ""), "/frequency/bounds");
    EXPECT_ERRORS(body(freq_axis("[1,3,5]"), REC_OK, MON_OK, ""), "/frequency/bounds");
    EXPECT_ERRORS(body(FREQ_OK, rec_axis("[]"), MON_OK, ""), "/recency/bounds");
    /* ... and its message. */
    struct sd_matrix m;
    struct sd_errors errs;
    ck_assert(!from_text(body(FREQ_OK, REC_OK, mon_axis("[\"100\"]"), ""), &m, &errs));
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_str_eq(errs.items[0].pointer, "/monetary/bounds");
    ck_assert_str_eq(errs.items[0].message, "needs 2 bounds for 3 labels");
    /* A wrong count does not hide a wrong value. */
    EXPECT_ERRORS(body(freq_axis("[1,\"x\",5]"), REC_OK, MON_OK, ""), "/frequency/bounds",
                  "/frequency/bounds/1");
}
END_TEST

START_TEST(test_json_errors_bounds)
{
    /* frequency: integers, at least 1, strictly increasing. */
    EXPECT_ERRORS(body(freq_axis("[1.0,3]"), REC_OK, MON_OK, ""), "/frequency/bounds/0");
    EXPECT_ERRORS(body(freq_axis("[1,\"3\"]"), REC_OK, MON_OK, ""), "/frequency/bounds/1");
    EXPECT_ERRORS(body(freq_axis("[null,true]"), REC_OK, MON_OK, ""), "/frequency/bounds/0",
                  "/frequency/bounds/1");
    EXPECT_ERRORS(body(freq_axis("[0,3]"), REC_OK, MON_OK, ""), "/frequency/bounds/0");
    EXPECT_ERRORS(body(freq_axis("[-4,3]"), REC_OK, MON_OK, ""), "/frequency/bounds/0");
    EXPECT_ERRORS(body(freq_axis("[3,3]"), REC_OK, MON_OK, ""), "/frequency/bounds/1");
    EXPECT_ERRORS(body(freq_axis("[3,1]"), REC_OK, MON_OK, ""), "/frequency/bounds/1");
    /* recency: durations or whole days. */
    static const char *const bad_rec[] = {
        "\"30 d\"", "\"1w\"", "\"0d\"", "-1",       "0",    "1.5",   "30.0",
        "\"30D\"",  "true",   "\"\"",   "\"1.5d\"", "[30]", "36501", "\"30d\\u0000\""};
    for (size_t i = 0; i < sizeof bad_rec / sizeof bad_rec[0]; i++) {
        char bounds[64];
        snprintf(bounds, sizeof bounds, "[\"30d\",%s]", bad_rec[i]);
        EXPECT_ERRORS(body(FREQ_OK, rec_axis(bounds), MON_OK, ""), "/recency/bounds/1");
    }
    EXPECT_ERRORS(body(FREQ_OK, rec_axis("[\"90d\",\"30d\"]"), MON_OK, ""), "/recency/bounds/1");
    EXPECT_ERRORS(body(FREQ_OK, rec_axis("[30,\"720h\"]"), MON_OK, ""), "/recency/bounds/1");
    /* monetary: amounts. */
    static const char *const bad_mon[] = {"\"1.234\"", "-1",     "\"abc\"", "0.125",   "null",
                                          "\"-5\"",    "\"+5\"", "1e300",   "\"1e3\"", "{}"};
    for (size_t i = 0; i < sizeof bad_mon / sizeof bad_mon[0]; i++) {
        char bounds[64];
        snprintf(bounds, sizeof bounds, "[%s,\"1000\"]", bad_mon[i]);
        EXPECT_ERRORS(body(FREQ_OK, REC_OK, mon_axis(bounds), ""), "/monetary/bounds/0");
    }
    /* Well-formed but against the rules: a first band nobody can be in, not increasing. */
    EXPECT_ERRORS(body(FREQ_OK, REC_OK, mon_axis("[\"0\",\"1000\"]"), ""), "/monetary/bounds/0");
    EXPECT_ERRORS(body(FREQ_OK, REC_OK, mon_axis("[\"100\",100.00]"), ""), "/monetary/bounds/1");
}
END_TEST

START_TEST(test_json_errors_sleeping_and_names)
{
    static const char rec_head[] =
        "{\"bounds\":[\"30d\",\"90d\"],\"labels\":[\"active\",\"sleeping\",\"asleep\"],"
        "\"sleeping\":";
    static const struct {
        const char *sleeping;
        const char *pointer;
    } cases[] = {
        {"\"asleep\"", "/recency/sleeping"},
        {"{}", "/recency/sleeping"},
        {"[7]", "/recency/sleeping/0"},
        {"[\"asleep\",\"dozing\"]", "/recency/sleeping/1"},
        {"[\"asleep\",\"asleep\"]", "/recency/sleeping/1"},
        {"[\"new\"]", "/recency/sleeping/0"}, /* a frequency label is not a recency band */
        {"[\"active\",\"asleep\"]", "/recency/sleeping"}, /* the first band never sleeps */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rec[512];
        snprintf(rec, sizeof rec, "%s%s}", rec_head, cases[i].sleeping);
        EXPECT_ERRORS(body(FREQ_OK, rec, MON_OK, ""), cases[i].pointer);
    }

    EXPECT_ERRORS(body(FREQ_OK, REC_OK, MON_OK, ",\"names\":[]"), "/names");
    EXPECT_ERRORS(body(FREQ_OK, REC_OK, MON_OK, ",\"names\":\"Lost\""), "/names");
    EXPECT_ERRORS(body(FREQ_OK, REC_OK, MON_OK, ",\"names\":{\"regular/awake\":\"x\"}"),
                  "/names/regular~1awake");
    EXPECT_ERRORS(body(FREQ_OK, REC_OK, MON_OK, ",\"names\":{\"regular\":\"x\"}"),
                  "/names/regular");
    EXPECT_ERRORS(body(FREQ_OK, REC_OK, MON_OK, ",\"names\":{\"a~b/c\":\"x\"}"), "/names/a~0b~1c");
    EXPECT_ERRORS(body(FREQ_OK, REC_OK, MON_OK, ",\"names\":{\"asleep/regular\":\"x\"}"),
                  "/names/asleep~1regular");
    EXPECT_ERRORS(body(FREQ_OK, REC_OK, MON_OK, ",\"names\":{\"regular/asleep\":7}"),
                  "/names/regular~1asleep");
    EXPECT_ERRORS(body(FREQ_OK, REC_OK, MON_OK, ",\"names\":{\"regular/asleep\":\"\"}"),
                  "/names/regular~1asleep");
    EXPECT_ERRORS(body(FREQ_OK, REC_OK, MON_OK, ",\"names\":{\"new/active\":null}"),
                  "/names/new~1active");

    /* 64 characters is the limit, counted as characters (é is 2 bytes, 😀 4). */
    char names[1200], value[1024];
    struct sd_matrix m;
    struct sd_errors errs;
    static const char *const chars[] = {"a", "\\u00e9", "\\ud83d\\ude00"};
    static const char *const utf8[] = {"a", "\xc3\xa9", "\xf0\x9f\x98\x80"};
    for (size_t c = 0; c < 3; c++) {
        value[0] = '\0';
        for (int i = 0; i < SD_CELL_NAME_MAX; i++)
            strcat(value, chars[c]);
        snprintf(names, sizeof names, ",\"names\":{\"new/asleep\":\"%s\"}", value);
        ck_assert_msg(from_text(body(FREQ_OK, REC_OK, MON_OK, names), &m, &errs), "%s",
                      list_errors(&errs));
        ck_assert_uint_eq(strlen(m.names[0][2]), SD_CELL_NAME_MAX * strlen(utf8[c]));
        ck_assert(strncmp(m.names[0][2], utf8[c], strlen(utf8[c])) == 0);
        check_round_trip(&m);
        strcat(value, chars[c]);
        snprintf(names, sizeof names, ",\"names\":{\"new/asleep\":\"%s\"}", value);
        EXPECT_ERRORS(body(FREQ_OK, REC_OK, MON_OK, names), "/names/new~1asleep");
    }
}
END_TEST

START_TEST(test_json_errors_together)
{
    /* One body, a problem in every part: all of them, each at its place. */
    EXPECT_ERRORS("{\"frequency\":{\"bounds\":[1,1.5],\"labels\":[\"new\",\"Promising\","
                  "\"regular\"]},"
                  "\"recency\":{\"bounds\":[\"90d\",\"30d\"],\"labels\":[\"active\",\"sleeping\","
                  "\"asleep\"],\"sleeping\":[\"dozing\"],\"extra\":1},"
                  "\"monetary\":{\"bounds\":[\"100\"],\"labels\":[\"low\",\"mid\",\"high\"]},"
                  "\"names\":{\"regular/awake\":\"x\",\"new/active\":\"\"},"
                  "\"version\":3}",
                  "/version", "/frequency/bounds/1", "/frequency/labels/1", "/recency/extra",
                  "/recency/bounds/1", "/recency/sleeping/0", "/monetary/bounds",
                  "/names/regular~1awake", "/names/new~1active");

    /* A broken axis does not silence the rules of the others. */
    EXPECT_ERRORS(
        body("{\"bounds\":7}", rec_axis("[\"90d\",\"30d\"]"), mon_axis("[0,\"1000\"]"), ""),
        "/frequency/labels", "/frequency/bounds", "/recency/bounds/1", "/monetary/bounds/0");

    /* Names of a matrix whose labels are broken are not judged against them. */
    EXPECT_ERRORS(body("{\"bounds\":[1,3],\"labels\":[\"new\"]}", REC_OK, MON_OK,
                       ",\"names\":{\"new/active\":\"x\",\"b/c\":7}"),
                  "/frequency/labels", "/names/b~1c");

    /* More problems than the list holds: the rest are counted. */
    char many[8192];
    size_t n = (size_t)snprintf(many, sizeof many, "%s", "{");
    for (int i = 0; i < SD_ERRORS_MAX + 10; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "\"x%d\":1,", i);
    snprintf(many + n, sizeof many - n, "%s", "\"names\":{}}");
    struct sd_matrix m;
    struct sd_errors errs;
    ck_assert(!from_text(many, &m, &errs));
    ck_assert_uint_eq(errs.count, SD_ERRORS_MAX);
    ck_assert_uint_eq(errs.dropped, 10 + 3);
}
END_TEST

/* ---- RFC 3339 and dates ----------------------------------------------------------------- */

#define T2026 (INT64_C(1767225600) * SEC) /* 2026-01-01T00:00:00Z */

static int64_t rfc3339(const char *s)
{
    int64_t us = -1;
    ck_assert_msg(sd_time_parse_rfc3339(s, &us), "refused \"%s\"", s);
    return us;
}

START_TEST(test_time_parse)
{
    ck_assert_int_eq(rfc3339("2026-01-01T00:00:00Z"), T2026);
    ck_assert_int_eq(rfc3339("2026-11-20T10:00:00Z"), T0);
    ck_assert_int_eq(rfc3339("2026-11-20T12:00:00+02:00"), T0);
    ck_assert_int_eq(rfc3339("2026-11-20T04:30:00-05:30"), T0);
    ck_assert_int_eq(rfc3339("2026-11-20T10:00:00+00:00"), T0);
    ck_assert_int_eq(rfc3339("2026-11-20T10:00:00-00:00"), T0);
    ck_assert_int_eq(rfc3339("2026-11-21T09:59:00+23:59"), T0);
    ck_assert_int_eq(rfc3339("2025-12-31T23:00:00-01:00"), T2026);
    /* Separators and designators in either case. */
    ck_assert_int_eq(rfc3339("2026-11-20t10:00:00z"), T0);
    ck_assert_int_eq(rfc3339("2026-11-20 10:00:00Z"), T0);
    /* Fractions: to the microsecond, the rest cut off. */
    ck_assert_int_eq(rfc3339("2026-01-01T00:00:00.1Z"), T2026 + 100000);
    ck_assert_int_eq(rfc3339("2026-01-01T00:00:00.000001Z"), T2026 + 1);
    ck_assert_int_eq(rfc3339("2026-01-01T00:00:00.123456Z"), T2026 + 123456);
    ck_assert_int_eq(rfc3339("2026-01-01T00:00:00.1234567Z"), T2026 + 123456);
    ck_assert_int_eq(rfc3339("2026-01-01T00:00:00.9999999999999Z"), T2026 + 999999);
    ck_assert_int_eq(rfc3339("2026-01-01T02:00:00.5+02:00"), T2026 + 500000);
    /* Calendar: leap years, month ends, the range. */
    ck_assert_int_eq(rfc3339("2024-02-29T00:00:00Z"), INT64_C(1709164800) * SEC);
    ck_assert_int_eq(rfc3339("2000-02-29T00:00:00Z"), INT64_C(951782400) * SEC);
    ck_assert_int_eq(rfc3339("1970-01-01T00:00:00Z"), 0);
    ck_assert_int_eq(rfc3339("1900-01-01T00:00:00Z"), INT64_C(-2208988800) * SEC);
    ck_assert_int_eq(rfc3339("9999-12-31T23:59:59Z"), INT64_C(253402300799) * SEC);
    ck_assert_int_eq(rfc3339("2026-04-30T23:59:59Z"), INT64_C(1777593599) * SEC);
    /* A leap second stays inside its day: the last microsecond before midnight. */
    ck_assert_int_eq(rfc3339("2016-12-31T23:59:60Z"), INT64_C(1483228800) * SEC - 1);
    ck_assert(rfc3339("2016-12-31T23:59:60Z") > rfc3339("2016-12-31T23:59:59.999998Z"));

    static const char *const bad[] = {
        "",
        "2026-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-10T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-01-00T00:00:00Z",
        "2026-01-32T00:00:00Z",
        "1899-12-31T23:59:59Z",
        "2026-11-20T24:00:00Z",
        "2026-11-20T10:60:00Z",
        "2026-11-20T10:00:61Z",
        "2026-11-20T10:00:00",
        "2026-11-20T10:00:00+02",
        "2026-11-20T10:00:00+0200",
        "2026-11-20T10:00:00+24:00",
        "2026-11-20T10:00:00+02:60",
        "2026-11-20T10:00:00Zjunk",
        "2026-11-20T10:00:00Z ",
        " 2026-11-20T10:00:00Z",
        "2026-11-20T10:00:00.Z",
        "2026-11-20T10:00Z",
        "2026-11-20T1:00:00Z",
        "2026-1-20T10:00:00Z",
        "26-11-20T10:00:00Z",
        "2026-11-20_10:00:00Z",
        "2026-11-20",
        "2026-11-20T",
        "2026/11/20T10:00:00Z",
        "2026-11-20T10:00:00,5Z",
        "2026-11-20T10:00:00UTC",
        "2026-11-20T10:00:00+02:00:00",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t us = -1;
        ck_assert_msg(!sd_time_parse_rfc3339(bad[i], &us), "accepted \"%s\"", bad[i]);
        ck_assert_int_eq(us, -1);
    }
}
END_TEST

START_TEST(test_date_parse)
{
    int64_t us = -1;
    ck_assert(sd_date_parse("2026-01-01", &us));
    ck_assert_int_eq(us, T2026);
    ck_assert(sd_date_parse("2024-02-29", &us));
    ck_assert_int_eq(us, INT64_C(1709164800) * SEC);
    ck_assert(sd_date_parse("1970-01-01", &us));
    ck_assert_int_eq(us, 0);
    static const char *const bad[] = {
        "",          "2026-02-29",           "2026-13-01",  "2026-04-31",
        "2026-1-01", "2026-01-01T00:00:00Z", "2026-01-01 ", "2026-01-01Z",
        "20260101",  "1899-12-31",           "01.01.2026"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        us = -1;
        ck_assert_msg(!sd_date_parse(bad[i], &us), "accepted \"%s\"", bad[i]);
        ck_assert_int_eq(us, -1);
    }
}
END_TEST

START_TEST(test_time_format)
{
    static const struct {
        int64_t us;
        const char *text;
    } cases[] = {
        {0, "1970-01-01T00:00:00Z"},
        {T0, "2026-11-20T10:00:00Z"},
        {T2026 + 100000, "2026-01-01T00:00:00.100000Z"},
        {T2026 + 1, "2026-01-01T00:00:00.000001Z"},
        {-1, "1969-12-31T23:59:59.999999Z"},
        {-SEC, "1969-12-31T23:59:59Z"},
        {INT64_C(1709164800) * SEC, "2024-02-29T00:00:00Z"},
        {INT64_C(253402300799) * SEC + 999999, "9999-12-31T23:59:59.999999Z"},
    };
    char text[40];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sd_time_format_us(cases[i].us, text, sizeof text);
        ck_assert_str_eq(text, cases[i].text);
        ck_assert_int_eq(rfc3339(text), cases[i].us); /* what we write, we read back */
    }
}
END_TEST

static Suite *matrix_suite(void)
{
    Suite *s = suite_create("matrix");
    TCase *core = tcase_create("core");
    tcase_add_test(core, test_kind);
    tcase_add_test(core, test_presets);
    tcase_add_test(core, test_classify_b2c);
    tcase_add_test(core, test_classify_b2b);
    tcase_add_test(core, test_classify_custom);
    tcase_add_test(core, test_classify_placement);
    tcase_add_test(core, test_cell_keys_and_names);
    tcase_add_test(core, test_validate_rules);
    tcase_add_test(core, test_recency_parse);
    tcase_add_test(core, test_recency_format);
    tcase_add_test(core, test_amount_parse_format);
    suite_add_tcase(s, core);

    TCase *json = tcase_create("json");
    tcase_add_test(json, test_json_amount);
    tcase_add_test(json, test_json_spec_example);
    tcase_add_test(json, test_json_round_trip);
    tcase_add_test(json, test_json_forms_and_defaults);
    tcase_add_test(json, test_json_errors_top);
    tcase_add_test(json, test_json_errors_axes);
    tcase_add_test(json, test_json_errors_bounds);
    tcase_add_test(json, test_json_errors_sleeping_and_names);
    tcase_add_test(json, test_json_errors_together);
    suite_add_tcase(s, json);

    TCase *time = tcase_create("time");
    tcase_add_test(time, test_time_parse);
    tcase_add_test(time, test_date_parse);
    tcase_add_test(time, test_time_format);
    suite_add_tcase(s, time);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(matrix_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
