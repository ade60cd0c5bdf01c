/* Schedule periods and calendar occasions (core_occasion.h). */
#include <check.h>
#include <stdlib.h>

#include "segmentd/core_occasion.h"

#define S INT64_C(1000000)
#define DAY (86400 * S)

START_TEST(a_period_runs_from_the_last_start_not_after_now)
{
    int64_t start, next;
    sd_schedule_period(100 * S, 10 * S, 100 * S, &start, &next);
    ck_assert_int_eq(start, 100 * S);
    ck_assert_int_eq(next, 110 * S);
    /* three periods missed: the current one runs, the missed ones are not replayed */
    sd_schedule_period(100 * S, 10 * S, 135 * S, &start, &next);
    ck_assert_int_eq(start, 130 * S);
    ck_assert_int_eq(next, 140 * S);
    /* exactly on a boundary */
    sd_schedule_period(100 * S, 10 * S, 140 * S, &start, &next);
    ck_assert_int_eq(start, 140 * S);
}
END_TEST

START_TEST(dates_convert_both_ways)
{
    struct sd_date d = sd_date_of(0);
    ck_assert(d.year == 1970 && d.month == 1 && d.day == 1);
    d = sd_date_of(-1); /* a µs before the epoch */
    ck_assert(d.year == 1969 && d.month == 12 && d.day == 31);
    struct sd_date leap = {2024, 2, 29};
    ck_assert_int_eq(sd_date_start_us(leap), INT64_C(1709164800) * S);
    d = sd_date_of(sd_date_start_us(leap) + DAY - 1);
    ck_assert(d.year == 2024 && d.month == 2 && d.day == 29);
    d = sd_date_add_days(leap, 1);
    ck_assert(d.month == 3 && d.day == 1);
    d = sd_date_add_days((struct sd_date){2026, 12, 31}, 1);
    ck_assert(d.year == 2027 && d.month == 1 && d.day == 1);
    d = sd_date_add_days((struct sd_date){2100, 3, 1}, -1); /* 2100 is not a leap year */
    ck_assert(d.month == 2 && d.day == 28);
    for (int64_t day = -800000; day < 800000; day += 997) { /* round trips, 2 millennia */
        struct sd_date x = sd_date_of(day * DAY);
        ck_assert_int_eq(sd_date_start_us(x), day * DAY);
    }
}
END_TEST

START_TEST(month_days_parse_strictly)
{
    int m, d;
    ck_assert(sd_month_day_parse("03-08", &m, &d) && m == 3 && d == 8);
    ck_assert(sd_month_day_parse("02-29", &m, &d));
    ck_assert(!sd_month_day_parse("02-30", &m, &d));
    ck_assert(!sd_month_day_parse("13-01", &m, &d));
    ck_assert(!sd_month_day_parse("00-10", &m, &d));
    ck_assert(!sd_month_day_parse("04-31", &m, &d));
    ck_assert(!sd_month_day_parse("3-08", &m, &d));
    ck_assert(!sd_month_day_parse("03-08x", &m, &d));
    ck_assert(!sd_month_day_parse("", &m, &d));
    ck_assert(!sd_month_day_parse(NULL, &m, &d));
}
END_TEST

START_TEST(the_leap_day_is_kept_on_the_28th)
{
    ck_assert(sd_month_day_falls_on(3, 8, (struct sd_date){2026, 3, 8}));
    ck_assert(!sd_month_day_falls_on(3, 8, (struct sd_date){2026, 3, 9}));
    ck_assert(sd_month_day_falls_on(2, 29, (struct sd_date){2024, 2, 29}));
    ck_assert(!sd_month_day_falls_on(2, 29, (struct sd_date){2024, 2, 28}));
    ck_assert(sd_month_day_falls_on(2, 29, (struct sd_date){2026, 2, 28}));
    ck_assert(!sd_month_day_falls_on(2, 28, (struct sd_date){2026, 3, 1}));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core_occasion");
    TCase *tc = tcase_create("occasion");
    tcase_add_test(tc, a_period_runs_from_the_last_start_not_after_now);
    tcase_add_test(tc, dates_convert_both_ways);
    tcase_add_test(tc, month_days_parse_strictly);
    tcase_add_test(tc, the_leap_day_is_kept_on_the_28th);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
