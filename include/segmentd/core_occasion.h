/* When `schedule` and `date` campaigns run (SPEC §2 "Campaigns and webhooks"). Pure functions
 * (src/core/occasion.c): no clock — the caller passes "now". Times are µs since the Unix epoch;
 * days are UTC days. */
#ifndef SEGMENTD_CORE_OCCASION_H
#define SEGMENTD_CORE_OCCASION_H

#include <stdbool.h>
#include <stdint.h>

/* A `schedule` campaign due at `next_run_us` with period `every_us` (> 0), seen at `now_us`
 * (≥ next_run_us): the period that is running now starts at *period_start_us (the last
 * next_run + k·every not after now — periods missed while nothing ran are not replayed), and the
 * following run is *next_run_out_us = period start + every. */
void sd_schedule_period(int64_t next_run_us, int64_t every_us, int64_t now_us,
                        int64_t *period_start_us, int64_t *next_run_out_us);

/* A UTC calendar date. */
struct sd_date {
    int year, month, day;
};

/* The UTC date of `us`. */
struct sd_date sd_date_of(int64_t us);
/* Midnight UTC starting `d`, in µs. */
int64_t sd_date_start_us(struct sd_date d);
/* The date `days` days after `d` (negative goes back). */
struct sd_date sd_date_add_days(struct sd_date d, int days);
/* "MM-DD" of a real month-day (02-29 included) → month and day. */
bool sd_month_day_parse(const char *s, int *month, int *day);

/* A `date` campaign runs once a UTC day: on day `today` it announces the occasions falling
 * `days_before` days later. *target receives that day. Does a fixed month-day occasion (`month`,
 * `day`) fall on it? 02-29 falls on 02-28 in years without one, so it is never skipped. */
bool sd_month_day_falls_on(int month, int day, struct sd_date target);

#endif
