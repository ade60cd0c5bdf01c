/* Schedule periods and calendar occasions. Dates use the proleptic Gregorian calendar, counted in
 * days from 1970-01-01 (the days-from-civil conversion, computed in eras of 400 years). */
#include <stddef.h>

#include "segmentd/core_occasion.h"

#define US_PER_DAY (INT64_C(86400) * 1000000)

void sd_schedule_period(int64_t next_run_us, int64_t every_us, int64_t now_us,
                        int64_t *period_start_us, int64_t *next_run_out_us)
{
    int64_t k = now_us > next_run_us && every_us > 0 ? (now_us - next_run_us) / every_us : 0;
    *period_start_us = next_run_us + k * every_us;
    *next_run_out_us = *period_start_us + every_us;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t days_from_civil(struct sd_date d)
{
    int64_t y = d.month <= 2 ? d.year - 1 : d.year;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t mp = (d.month + 9) % 12; /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + d.day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static struct sd_date civil_from_days(int64_t z)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    struct sd_date d;
    d.day = (int)(doy - (153 * mp + 2) / 5 + 1);
    d.month = (int)(mp < 10 ? mp + 3 : mp - 9);
    d.year = (int)(yoe + era * 400 + (d.month <= 2));
    return d;
}

struct sd_date sd_date_of(int64_t us)
{
    return civil_from_days(floor_div(us, US_PER_DAY));
}

int64_t sd_date_start_us(struct sd_date d)
{
    return days_from_civil(d) * US_PER_DAY;
}

struct sd_date sd_date_add_days(struct sd_date d, int days)
{
    return civil_from_days(days_from_civil(d) + days);
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_length(int y, int m)
{
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

bool sd_month_day_parse(const char *s, int *month, int *day)
{
    if (s == NULL)
        return false;
    for (int i = 0; i < 5; i++) {
        if (i == 2 ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
            return false;
    }
    if (s[5] != '\0')
        return false;
    int m = (s[0] - '0') * 10 + (s[1] - '0');
    int d = (s[3] - '0') * 10 + (s[4] - '0');
    if (m < 1 || m > 12 || d < 1 || d > month_length(2000, m)) /* 2000: a leap year */
        return false;
    *month = m;
    *day = d;
    return true;
}

bool sd_month_day_falls_on(int month, int day, struct sd_date target)
{
    if (month == 2 && day == 29 && !is_leap(target.year))
        return target.month == 2 && target.day == 28;
    return target.month == month && target.day == day;
}
