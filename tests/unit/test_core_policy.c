/* Pure core: contact policy, campaign entry and re-entry, the send decision, and webhook retry
 * timing (SPEC §2 "Campaigns and webhooks"). */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "segmentd/core_policy.h"
#include "segmentd/core_retry.h"

#define SEC INT64_C(1000)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

/* 2026-03-02T00:00:00Z */
#define D (INT64_C(1772409600) * SEC)

/* ---- sd_limit_allows ---- */

START_TEST(test_limit_none)
{
    const int64_t sent[] = {D, D, D, D - 1};
    struct sd_limit none = {0, 7 * DAY};
    ck_assert(sd_limit_allows(&none, sent, 4, D));
    struct sd_limit negative = {-1, 7 * DAY};
    ck_assert(sd_limit_allows(&negative, sent, 4, D));
    struct sd_limit empty_window = {1, 0};
    ck_assert(sd_limit_allows(&empty_window, sent, 4, D));
    struct sd_limit two = {2, 7 * DAY};
    ck_assert(sd_limit_allows(&two, NULL, 0, D));
}
END_TEST

START_TEST(test_limit_window)
{
    const int64_t per = 7 * DAY;
    const int64_t now = D + 12 * HOUR;
    struct sd_limit two = {2, per};
    struct sd_limit one = {1, per};
    /* The window is (now − per, now]. */
    const int64_t one_inside[] = {now - 1};
    ck_assert(sd_limit_allows(&two, one_inside, 1, now));
    ck_assert(!sd_limit_allows(&one, one_inside, 1, now));
    const int64_t at_now[] = {now};
    ck_assert(!sd_limit_allows(&one, at_now, 1, now));
    const int64_t both_edges[] = {now, now - per + 1};
    ck_assert(!sd_limit_allows(&two, both_edges, 2, now));
    const int64_t lower_edge_out[] = {now - per + 1, now - per};
    ck_assert(sd_limit_allows(&two, lower_edge_out, 2, now));
    const int64_t at_lower_edge[] = {now - per};
    ck_assert(sd_limit_allows(&one, at_lower_edge, 1, now));
    const int64_t future[] = {now + 1, now - 1};
    ck_assert(sd_limit_allows(&two, future, 2, now));
    const int64_t unordered[] = {now - 2 * per, now - 5, now - 3 * per, now - per / 2};
    ck_assert(!sd_limit_allows(&two, unordered, 4, now));
    struct sd_limit three = {3, per};
    ck_assert(sd_limit_allows(&three, unordered, 4, now));
}
END_TEST

START_TEST(test_limit_extremes)
{
    const int64_t sent[] = {INT64_MIN, INT64_MAX};
    struct sd_limit one = {1, INT64_MAX};
    ck_assert(sd_limit_allows(&one, sent, 1, INT64_MAX - 1));
    ck_assert(!sd_limit_allows(&one, sent, 1, -2));
    ck_assert(!sd_limit_allows(&one, sent + 1, 1, INT64_MAX));
}
END_TEST

/* ---- quiet hours ---- */

START_TEST(test_quiet_wrapping_window)
{
    const struct sd_quiet_hours q = {true, 21 * 60, 9 * 60};
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + 12 * HOUR, 0), 0);
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + 21 * HOUR - 1, 0), 0);
    /* from is inclusive */
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + 21 * HOUR, 0), D + DAY + 9 * HOUR);
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + DAY - 1, 0), D + DAY + 9 * HOUR);
    ck_assert_int_eq(sd_quiet_hours_release(&q, D, 0), D + 9 * HOUR);
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + 9 * HOUR - 1, 0), D + 9 * HOUR);
    /* to is exclusive */
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + 9 * HOUR, 0), 0);
}
END_TEST

START_TEST(test_quiet_daytime_window)
{
    const struct sd_quiet_hours q = {true, 13 * 60, 14 * 60 + 30};
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + 13 * HOUR - 1, 0), 0);
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + 13 * HOUR, 0), D + 14 * HOUR + 30 * MIN);
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + 14 * HOUR + 30 * MIN - 1, 0),
                     D + 14 * HOUR + 30 * MIN);
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + 14 * HOUR + 30 * MIN, 0), 0);
    ck_assert_int_eq(sd_quiet_hours_release(&q, D, 0), 0);
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + DAY - 1, 0), 0);
}
END_TEST

START_TEST(test_quiet_day_edges)
{
    /* Nearly the whole day, and only its last minute. */
    const struct sd_quiet_hours all_but_last = {true, 0, 23 * 60 + 59};
    ck_assert_int_eq(sd_quiet_hours_release(&all_but_last, D, 0), D + DAY - MIN);
    ck_assert_int_eq(sd_quiet_hours_release(&all_but_last, D + DAY - MIN - 1, 0), D + DAY - MIN);
    ck_assert_int_eq(sd_quiet_hours_release(&all_but_last, D + DAY - MIN, 0), 0);
    const struct sd_quiet_hours last = {true, 23 * 60 + 59, 0};
    ck_assert_int_eq(sd_quiet_hours_release(&last, D + DAY - MIN - 1, 0), 0);
    ck_assert_int_eq(sd_quiet_hours_release(&last, D + DAY - MIN, 0), D + DAY);
    ck_assert_int_eq(sd_quiet_hours_release(&last, D + DAY - 1, 0), D + DAY);
    ck_assert_int_eq(sd_quiet_hours_release(&last, D + DAY, 0), 0);
}
END_TEST

START_TEST(test_quiet_offsets)
{
    const struct sd_quiet_hours q = {true, 21 * 60, 9 * 60};
    /* UTC+1 (Paris in winter): 20:00Z is 21:00 local; quiet until 09:00 local = 08:00Z. */
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + 20 * HOUR - 1, 3600), 0);
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + 20 * HOUR, 3600), D + DAY + 8 * HOUR);
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + 8 * HOUR - 1, 3600), D + 8 * HOUR);
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + 8 * HOUR, 3600), 0);
    /* UTC−5: 01:00Z is 20:00 the day before; 02:00Z is 21:00 the day before, quiet until
     * 09:00 local = 14:00Z. */
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + HOUR, -5 * 3600), 0);
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + 2 * HOUR, -5 * 3600), D + 14 * HOUR);
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + 14 * HOUR - 1, -5 * 3600), D + 14 * HOUR);
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + 14 * HOUR, -5 * 3600), 0);
    /* UTC+5:30: 15:30Z is 21:00 local. */
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + 15 * HOUR + 29 * MIN, 19800), 0);
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + 15 * HOUR + 30 * MIN, 19800),
                     D + DAY + 3 * HOUR + 30 * MIN);
    /* UTC+14 and UTC−12, the extremes in use. */
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + 7 * HOUR, 14 * 3600), D + 19 * HOUR);
    ck_assert_int_eq(sd_quiet_hours_release(&q, D + 9 * HOUR, -12 * 3600), D + 21 * HOUR);
    /* Before 1970: 1969-12-31T21:00Z. */
    ck_assert_int_eq(sd_quiet_hours_release(&q, -3 * HOUR, 0), 9 * HOUR);
    ck_assert_int_eq(sd_quiet_hours_release(&q, -3 * HOUR - 1, 0), 0);
}
END_TEST

START_TEST(test_quiet_off)
{
    const int64_t at = D + 22 * HOUR;
    const struct sd_quiet_hours disabled = {false, 21 * 60, 9 * 60};
    ck_assert_int_eq(sd_quiet_hours_release(&disabled, at, 0), 0);
    const struct sd_quiet_hours same = {true, 22 * 60, 22 * 60};
    ck_assert_int_eq(sd_quiet_hours_release(&same, at, 0), 0);
    const struct sd_quiet_hours bad_from = {true, 1440, 9 * 60};
    ck_assert_int_eq(sd_quiet_hours_release(&bad_from, at, 0), 0);
    const struct sd_quiet_hours bad_to = {true, 21 * 60, -1};
    ck_assert_int_eq(sd_quiet_hours_release(&bad_to, at, 0), 0);
}
END_TEST

START_TEST(test_parse_hhmm)
{
    static const struct {
        const char *s;
        int minutes; /* -1: refused */
    } cases[] = {
        {"21:00", 1260}, {"09:30", 570}, {"00:00", 0},   {"23:59", 1439}, {"12:07", 727},
        {"24:00", -1},   {"23:60", -1},  {"9:30", -1},   {"09:3", -1},    {"0930", -1},
        {"09:300", -1},  {"", -1},       {" 09:30", -1}, {"09:30 ", -1},  {"ab:cd", -1},
        {"09-30", -1},   {"-1:00", -1},  {"09:", -1},    {"99:99", -1},   {"09:30Z", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int m = -42;
        bool ok = sd_parse_hhmm(cases[i].s, &m);
        ck_assert_msg(ok == (cases[i].minutes >= 0), "\"%s\"", cases[i].s);
        ck_assert_int_eq(m, ok ? cases[i].minutes : -42);
    }
}
END_TEST

/* ---- entry and re-entry ---- */

START_TEST(test_campaign_entry)
{
    ck_assert(sd_campaign_is_entry(false, true));
    ck_assert(!sd_campaign_is_entry(true, true)); /* between two of its cells */
    ck_assert(!sd_campaign_is_entry(true, false));
    ck_assert(!sd_campaign_is_entry(false, false));
}
END_TEST

START_TEST(test_reentry)
{
    /* ever_sent, left_since → after_exit, once, always */
    static const struct {
        bool ever_sent, left;
        bool after_exit, once, always;
    } cases[] = {
        {false, false, true, true, true},
        {false, true, true, true, true},
        {true, false, false, false, true},
        {true, true, true, false, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert(sd_reentry_allows(SD_REENTRY_AFTER_EXIT, cases[i].ever_sent, cases[i].left) ==
                  cases[i].after_exit);
        ck_assert(sd_reentry_allows(SD_REENTRY_ONCE, cases[i].ever_sent, cases[i].left) ==
                  cases[i].once);
        ck_assert(sd_reentry_allows(SD_REENTRY_ALWAYS, cases[i].ever_sent, cases[i].left) ==
                  cases[i].always);
    }
}
END_TEST

/* ---- sd_decide_send ---- */

#define NOW (D + 12 * HOUR)

/* Everything passes: in the cells, under both limits, outside quiet hours. */
static struct sd_send_inputs passing(void)
{
    static const int64_t campaign_sent[] = {NOW - 30 * DAY};
    static const int64_t all_sent[] = {NOW - 30 * DAY, NOW - 2 * DAY};
    struct sd_send_inputs in = {
        .opted_out = false,
        .still_in_campaign_cells = true,
        .campaign_limit = {1, 14 * DAY},
        .campaign_sent_at_ms = campaign_sent,
        .campaign_nsent = 1,
        .workspace_limit = {2, 7 * DAY},
        .workspace_sent_at_ms = all_sent,
        .workspace_nsent = 2,
        .quiet = {true, 21 * 60, 9 * 60},
        .utc_offset_s = 3600,
        .now_ms = NOW,
    };
    return in;
}

static const int64_t recent[] = {NOW - HOUR, NOW - 2 * HOUR};

START_TEST(test_decide_send_now)
{
    struct sd_send_inputs in = passing();
    int64_t at = -1;
    ck_assert_int_eq(sd_decide_send(&in, &at), SD_SEND_NOW);
    ck_assert_int_eq(at, NOW);
    ck_assert_int_eq(sd_decide_send(&in, NULL), SD_SEND_NOW);
    /* No limits and no quiet hours: a new workspace. */
    struct sd_send_inputs bare = {.still_in_campaign_cells = true, .now_ms = NOW};
    bare.workspace_sent_at_ms = recent;
    bare.workspace_nsent = 2;
    ck_assert_int_eq(sd_decide_send(&bare, &at), SD_SEND_NOW);
    ck_assert_int_eq(at, NOW);
}
END_TEST

START_TEST(test_decide_order)
{
    /* Every check fails; each is removed in turn, in the documented order. */
    struct sd_send_inputs in = passing();
    in.opted_out = true;
    in.still_in_campaign_cells = false;
    in.campaign_sent_at_ms = recent;
    in.campaign_nsent = 1;
    in.workspace_sent_at_ms = recent;
    in.workspace_nsent = 2;
    in.now_ms = D + 22 * HOUR; /* 23:00 local */
    const int64_t other_recent[] = {in.now_ms - HOUR, in.now_ms - 2 * HOUR};
    in.campaign_sent_at_ms = other_recent;
    in.workspace_sent_at_ms = other_recent;
    int64_t at = -1;
    ck_assert_int_eq(sd_decide_send(&in, &at), SD_SUPPRESS_OPTED_OUT);
    ck_assert_int_eq(at, 0);
    in.opted_out = false;
    at = -1;
    ck_assert_int_eq(sd_decide_send(&in, &at), SD_SUPPRESS_LEFT_CELLS);
    ck_assert_int_eq(at, 0);
    in.still_in_campaign_cells = true;
    at = -1;
    ck_assert_int_eq(sd_decide_send(&in, &at), SD_SUPPRESS_MAX_MESSAGES); /* campaign */
    ck_assert_int_eq(at, 0);
    in.campaign_nsent = 0;
    at = -1;
    ck_assert_int_eq(sd_decide_send(&in, &at), SD_SUPPRESS_MAX_MESSAGES); /* workspace */
    ck_assert_int_eq(at, 0);
    in.workspace_nsent = 1;
    ck_assert_int_eq(sd_decide_send(&in, &at), SD_SEND_LATER);
    ck_assert_int_eq(at, D + DAY + 8 * HOUR); /* 09:00 local tomorrow */
    in.now_ms = D + 8 * HOUR;                 /* 09:00 local: the window has ended */
    ck_assert_int_eq(sd_decide_send(&in, &at), SD_SEND_NOW);
    ck_assert_int_eq(at, D + 8 * HOUR);
}
END_TEST

START_TEST(test_decide_limits_separate)
{
    /* The campaign limit counts this campaign's sends, the workspace limit every send. */
    struct sd_send_inputs in = passing();
    in.campaign_nsent = 0;
    in.workspace_limit.count = 0;
    in.workspace_sent_at_ms = recent;
    in.workspace_nsent = 2;
    ck_assert_int_eq(sd_decide_send(&in, NULL), SD_SEND_NOW);
    in.workspace_limit.count = 3;
    ck_assert_int_eq(sd_decide_send(&in, NULL), SD_SEND_NOW);
    in.workspace_limit.count = 2;
    ck_assert_int_eq(sd_decide_send(&in, NULL), SD_SUPPRESS_MAX_MESSAGES);

    in = passing();
    in.workspace_limit.count = 0;
    in.campaign_sent_at_ms = recent;
    in.campaign_nsent = 1;
    ck_assert_int_eq(sd_decide_send(&in, NULL), SD_SUPPRESS_MAX_MESSAGES);
    in.campaign_limit.count = 0;
    ck_assert_int_eq(sd_decide_send(&in, NULL), SD_SEND_NOW);
    /* A send exactly one period ago no longer counts. */
    const int64_t edge[] = {NOW - 14 * DAY};
    in.campaign_limit.count = 1;
    in.campaign_sent_at_ms = edge;
    ck_assert_int_eq(sd_decide_send(&in, NULL), SD_SEND_NOW);
    const int64_t inside[] = {NOW - 14 * DAY + 1};
    in.campaign_sent_at_ms = inside;
    ck_assert_int_eq(sd_decide_send(&in, NULL), SD_SUPPRESS_MAX_MESSAGES);
}
END_TEST

START_TEST(test_decide_quiet_edges)
{
    struct sd_send_inputs in = passing();
    int64_t at = -1;
    in.now_ms = D + 20 * HOUR - 1; /* 20:59:59.999 local */
    ck_assert_int_eq(sd_decide_send(&in, &at), SD_SEND_NOW);
    ck_assert_int_eq(at, in.now_ms);
    in.now_ms = D + 20 * HOUR; /* 21:00 local */
    ck_assert_int_eq(sd_decide_send(&in, &at), SD_SEND_LATER);
    ck_assert_int_eq(at, D + DAY + 8 * HOUR);
    in.now_ms = D + 8 * HOUR - 1; /* 08:59:59.999 local */
    ck_assert_int_eq(sd_decide_send(&in, &at), SD_SEND_LATER);
    ck_assert_int_eq(at, D + 8 * HOUR);
    in.quiet.enabled = false;
    ck_assert_int_eq(sd_decide_send(&in, &at), SD_SEND_NOW);
}
END_TEST

/* ---- sd_retry_delay_ms ---- */

static const int64_t schedule[] = {5 * SEC,  5 * MIN,   30 * MIN, 2 * HOUR,
                                   5 * HOUR, 10 * HOUR, 10 * HOUR};
#define NSCHED ((int)(sizeof schedule / sizeof schedule[0]))

START_TEST(test_retry_delay_jitter)
{
    /* 5 s ± 20 %: bits 0 give the minimum, 2000 the maximum, and the range wraps. */
    ck_assert_int_eq(sd_retry_delay_ms(schedule, NSCHED, 1, 0), 4000);
    ck_assert_int_eq(sd_retry_delay_ms(schedule, NSCHED, 1, 1000), 5000);
    ck_assert_int_eq(sd_retry_delay_ms(schedule, NSCHED, 1, 2000), 6000);
    ck_assert_int_eq(sd_retry_delay_ms(schedule, NSCHED, 1, 2001), 4000);
    ck_assert_int_eq(sd_retry_delay_ms(schedule, NSCHED, 1, UINT64_MAX), 4000 + UINT64_MAX % 2001);
    ck_assert_int_eq(sd_retry_delay_ms(schedule, NSCHED, 7, 0), 8 * HOUR);
    ck_assert_int_eq(sd_retry_delay_ms(schedule, NSCHED, 7, 4 * HOUR), 12 * HOUR);
    /* Deterministic, and within ±20 % for any bits. */
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int attempt = 1; attempt <= NSCHED; attempt++) {
        int64_t base = schedule[attempt - 1];
        for (int i = 0; i < 1000; i++) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            int64_t d = sd_retry_delay_ms(schedule, NSCHED, attempt, x);
            ck_assert_int_eq(d, sd_retry_delay_ms(schedule, NSCHED, attempt, x));
            ck_assert_msg(d >= base - base / 5 && d <= base + base / 5, "attempt %d: %lld", attempt,
                          (long long)d);
        }
    }
}
END_TEST

START_TEST(test_retry_delay_edges)
{
    ck_assert_int_eq(sd_retry_delay_ms(schedule, NSCHED, NSCHED + 1, 0), -1); /* dead */
    ck_assert_int_eq(sd_retry_delay_ms(schedule, NSCHED, 100, 0), -1);
    ck_assert_int_eq(sd_retry_delay_ms(schedule, 0, 1, 0), -1);
    ck_assert_int_eq(sd_retry_delay_ms(NULL, 3, 1, 0), -1);
    ck_assert_int_eq(sd_retry_delay_ms(schedule, NSCHED, 0, 12345), 0);
    ck_assert_int_eq(sd_retry_delay_ms(schedule, NSCHED, -3, 12345), 0);
    const int64_t odd[] = {-5, 0, 4, INT64_MAX};
    ck_assert_int_eq(sd_retry_delay_ms(odd, 4, 1, 99), 0);
    ck_assert_int_eq(sd_retry_delay_ms(odd, 4, 2, 99), 0);
    ck_assert_int_eq(sd_retry_delay_ms(odd, 4, 3, 99), 4); /* too short to jitter */
    int64_t huge = sd_retry_delay_ms(odd, 4, 4, UINT64_MAX);
    ck_assert(huge > 0);
}
END_TEST

/* ---- sd_retry_after_ms ---- */

/* The RFC 9110 example date, 1994-11-06T08:49:37Z, and 37 s before it. */
#define RFC_DATE (INT64_C(784111777) * SEC)
#define RFC_NOW (RFC_DATE - 37 * SEC)
/* 2015-10-21T07:28:00Z */
#define MDN_DATE (INT64_C(1445412480) * SEC)

START_TEST(test_retry_after_seconds)
{
    static const struct {
        const char *h;
        int64_t ms;
    } cases[] = {
        {"120", 120 * SEC},
        {"0", 0},
        {"000", 0},
        {"  7\t", 7 * SEC},
        {"86400", SD_RETRY_AFTER_MAX_MS},
        {"86399", 86399 * SEC},
        {"86401", SD_RETRY_AFTER_MAX_MS},
        {"99999999999999999999999999999999", SD_RETRY_AFTER_MAX_MS},
        {"", -1},
        {"  ", -1},
        {"-5", -1},
        {"+5", -1},
        {"1.5", -1},
        {"12abc", -1},
        {"1 2", -1},
        {"0x10", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(sd_retry_after_ms(cases[i].h, D) == cases[i].ms, "\"%s\": %lld", cases[i].h,
                      (long long)sd_retry_after_ms(cases[i].h, D));
    ck_assert_int_eq(sd_retry_after_ms(NULL, D), -1);
}
END_TEST

START_TEST(test_retry_after_dates)
{
    static const struct {
        const char *h;
        int64_t now;
        int64_t ms;
    } cases[] = {
        /* The three HTTP-date forms */
        {"Sun, 06 Nov 1994 08:49:37 GMT", RFC_NOW, 37 * SEC},
        {"Sunday, 06-Nov-94 08:49:37 GMT", RFC_NOW, 37 * SEC},
        {"Sun Nov  6 08:49:37 1994", RFC_NOW, 37 * SEC},
        {"Wed, 21 Oct 2015 07:28:00 GMT", MDN_DATE - MIN, MIN},
        {"Wednesday, 21-Oct-15 07:28:00 GMT", MDN_DATE - MIN, MIN},
        {"Wed Oct 21 07:28:00 2015", MDN_DATE - MIN, MIN},
        {" Wed, 21 Oct 2015 07:28:00 GMT\t", MDN_DATE - MIN, MIN},
        /* past → 0, now → 0, beyond 24 h → capped */
        {"Wed, 21 Oct 2015 07:28:00 GMT", MDN_DATE + 1, 0},
        {"Wed, 21 Oct 2015 07:28:00 GMT", MDN_DATE, 0},
        {"Wed, 21 Oct 2015 07:28:00 GMT", MDN_DATE - DAY, SD_RETRY_AFTER_MAX_MS},
        {"Wed, 21 Oct 2015 07:28:00 GMT", MDN_DATE - DAY - 1, SD_RETRY_AFTER_MAX_MS},
        {"Wed, 21 Oct 2015 07:28:00 GMT", MDN_DATE - DAY + 1, DAY - 1},
        {"Sun, 06 Nov 1994 08:49:37 GMT", D, 0},
        /* leap second and leap days */
        {"Wed, 21 Oct 2015 07:27:60 GMT", MDN_DATE - MIN, MIN},
        {"Mon, 29 Feb 2016 00:00:00 GMT", INT64_C(1456704000) * SEC - SEC, SEC},
        {"Tue, 29 Feb 2000 00:00:00 GMT", INT64_C(951782400) * SEC - SEC, SEC},
        /* RFC 850 years: at most 50 years ahead of now's year, else the century before */
        {"Thursday, 01-Jan-65 00:00:00 GMT", MDN_DATE, SD_RETRY_AFTER_MAX_MS},
        {"Friday, 01-Jan-66 00:00:00 GMT", MDN_DATE, 0},
        /* not HTTP-dates */
        {"Wed, 32 Oct 2015 07:28:00 GMT", MDN_DATE, -1},
        {"Wed, 00 Oct 2015 07:28:00 GMT", MDN_DATE, -1},
        {"Sun, 29 Feb 2015 00:00:00 GMT", MDN_DATE, -1},
        {"Thu, 29 Feb 1900 00:00:00 GMT", MDN_DATE, -1},
        {"Wed, 31 Apr 2015 00:00:00 GMT", MDN_DATE, -1},
        {"Wed, 21 Oct 2015 24:00:00 GMT", MDN_DATE, -1},
        {"Wed, 21 Oct 2015 07:60:00 GMT", MDN_DATE, -1},
        {"Wed, 21 Oct 2015 07:28:61 GMT", MDN_DATE, -1},
        {"Wed, 21 Oct 2015 07:28:00 UTC", MDN_DATE, -1},
        {"Wed, 21 Oct 2015 07:28:00", MDN_DATE, -1},
        {"wed, 21 oct 2015 07:28:00 GMT", MDN_DATE, -1},
        {"Wed, 21 Oct 2015 07:28:00 GMT x", MDN_DATE, -1},
        {"Wed,  21 Oct 2015 07:28:00 GMT", MDN_DATE, -1},
        {"Wed, 21 Foo 2015 07:28:00 GMT", MDN_DATE, -1},
        {"Wed, 1 Oct 2015 07:28:00 GMT", MDN_DATE, -1},
        {"Wed, 21 Oct 15 07:28:00 GMT", MDN_DATE, -1},
        {"Wed, 21-Oct-15 07:28:00 GMT", MDN_DATE, -1},
        {"Sun Nov 6 08:49:37 1994", MDN_DATE, -1},
        {"Sun Nov 06 08:49:37 1994", RFC_NOW, 37 * SEC},
        {"2015-10-21T07:28:00Z", MDN_DATE, -1},
        {"Wednesday, 21 October 2015 07:28:00 GMT xxxxxxxxxxxxxxxxxxxx", MDN_DATE, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = sd_retry_after_ms(cases[i].h, cases[i].now);
        ck_assert_msg(got == cases[i].ms, "\"%s\": got %lld, want %lld", cases[i].h, (long long)got,
                      (long long)cases[i].ms);
    }
}
END_TEST

static Suite *core_policy_suite(void)
{
    Suite *s = suite_create("core_policy");
    TCase *lim = tcase_create("limits");
    tcase_add_test(lim, test_limit_none);
    tcase_add_test(lim, test_limit_window);
    tcase_add_test(lim, test_limit_extremes);
    suite_add_tcase(s, lim);

    TCase *quiet = tcase_create("quiet_hours");
    tcase_add_test(quiet, test_quiet_wrapping_window);
    tcase_add_test(quiet, test_quiet_daytime_window);
    tcase_add_test(quiet, test_quiet_day_edges);
    tcase_add_test(quiet, test_quiet_offsets);
    tcase_add_test(quiet, test_quiet_off);
    tcase_add_test(quiet, test_parse_hhmm);
    suite_add_tcase(s, quiet);

    TCase *entry = tcase_create("entry");
    tcase_add_test(entry, test_campaign_entry);
    tcase_add_test(entry, test_reentry);
    suite_add_tcase(s, entry);

    TCase *decide = tcase_create("decide");
    tcase_add_test(decide, test_decide_send_now);
    tcase_add_test(decide, test_decide_order);
    tcase_add_test(decide, test_decide_limits_separate);
    tcase_add_test(decide, test_decide_quiet_edges);
    suite_add_tcase(s, decide);

    TCase *retry = tcase_create("retry");
    tcase_add_test(retry, test_retry_delay_jitter);
    tcase_add_test(retry, test_retry_delay_edges);
    tcase_add_test(retry, test_retry_after_seconds);
    tcase_add_test(retry, test_retry_after_dates);
    suite_add_tcase(s, retry);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(core_policy_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
