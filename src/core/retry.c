/* Retry timing for webhook deliveries (SPEC §2): jittered schedule and Retry-After. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "segmentd/core_retry.h"

#define MS_PER_DAY (INT64_C(86400) * 1000)

/* Longer schedule entries are clamped so that the jitter arithmetic cannot overflow. */
#define DELAY_MAX_MS (INT64_MAX / 4)

int64_t sd_retry_delay_ms(const int64_t *schedule_ms, int count, int attempt, uint64_t random_bits)
{
    if (attempt < 1)
        return 0;
    if (schedule_ms == NULL || attempt > count)
        return -1;
    int64_t base = schedule_ms[attempt - 1];
    if (base < 0)
        base = 0;
    if (base > DELAY_MAX_MS)
        base = DELAY_MAX_MS;
    /* Uniform over [base - span, base + span]; the modulo bias is below 2^-40 for any real delay.
     */
    int64_t span = base / 5;
    uint64_t offset = random_bits % (uint64_t)(2 * span + 1);
    return base - span + (int64_t)offset;
}

/* ---- Retry-After ---- */

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Reads exactly `n` digits at *p. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool literal(const char **p, const char *lit)
{
    size_t n = strlen(lit);
    if (strncmp(*p, lit, n) != 0)
        return false;
    *p += n;
    return true;
}

/* Matches one of `names` (case-sensitive, as HTTP-date is); its index in *out. */
static bool name_of(const char **p, const char *const *names, int count, int *out)
{
    for (int i = 0; i < count; i++) {
        if (literal(p, names[i])) {
            *out = i;
            return true;
        }
    }
    return false;
}

static const char *const day_short[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const day_long[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                       "Friday", "Saturday", "Sunday"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct civil {
    int year, month, day; /* month 1–12 */
    int hour, min, sec;
};

/* Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool civil_valid(const struct civil *c)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (c->month < 1 || c->month > 12 || c->day < 1)
        return false;
    int last = mdays[c->month - 1] + (c->month == 2 && is_leap(c->year));
    /* Second 60 is a leap second (RFC 9110 allows it); it counts as the next second. */
    return c->day <= last && c->hour <= 23 && c->min <= 59 && c->sec <= 60;
}

static int64_t civil_to_ms(const struct civil *c)
{
    int64_t days = days_from_civil(c->year, c->month, c->day);
    return ((days * 24 + c->hour) * 60 + c->min) * 60000 + c->sec * INT64_C(1000);
}

/* "HH:MM:SS" */
static bool time_of_day(const char **p, struct civil *c)
{
    return digits(p, 2, &c->hour) && literal(p, ":") && digits(p, 2, &c->min) && literal(p, ":") &&
           digits(p, 2, &c->sec);
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
static bool parse_imf(const char *p, struct civil *c)
{
    int wd, mon;
    if (!(name_of(&p, day_short, 7, &wd) && literal(&p, ", ") && digits(&p, 2, &c->day) &&
          literal(&p, " ") && name_of(&p, months, 12, &mon) && literal(&p, " ") &&
          digits(&p, 4, &c->year) && literal(&p, " ") && time_of_day(&p, c) && literal(&p, " GMT")))
        return false;
    c->month = mon + 1;
    return *p == '\0';
}

/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT". A two-digit year is read as the latest year with
 * those digits that is not more than 50 years after now's year (RFC 9110 §5.6.7). */
static bool parse_rfc850(const char *p, int now_year, struct civil *c)
{
    int wd, mon, yy;
    if (!(name_of(&p, day_long, 7, &wd) && literal(&p, ", ") && digits(&p, 2, &c->day) &&
          literal(&p, "-") && name_of(&p, months, 12, &mon) && literal(&p, "-") &&
          digits(&p, 2, &yy) && literal(&p, " ") && time_of_day(&p, c) && literal(&p, " GMT")))
        return false;
    c->month = mon + 1;
    int century = now_year - now_year % 100;
    c->year = century + yy;
    if (c->year > now_year + 50)
        c->year -= 100;
    return *p == '\0';
}

/* asctime: "Sun Nov  6 08:49:37 1994" (the day padded with a space). */
static bool parse_asctime(const char *p, struct civil *c)
{
    int wd, mon;
    if (!(name_of(&p, day_short, 7, &wd) && literal(&p, " ") && name_of(&p, months, 12, &mon) &&
          literal(&p, " ")))
        return false;
    if (*p == ' ') {
        p++;
        if (!digits(&p, 1, &c->day))
            return false;
    } else if (!digits(&p, 2, &c->day)) {
        return false;
    }
    if (!(literal(&p, " ") && time_of_day(&p, c) && literal(&p, " ") && digits(&p, 4, &c->year)))
        return false;
    c->month = mon + 1;
    return *p == '\0';
}

static int year_of(int64_t ms)
{
    int64_t days = ms / MS_PER_DAY;
    if (ms % MS_PER_DAY < 0)
        days--;
    /* Hinnant's civil_from_days, year only. */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    return (int)(yoe + era * 400 + (mp >= 10));
}

int64_t sd_retry_after_ms(const char *header, int64_t now_ms)
{
    if (header == NULL)
        return -1;
    while (is_ows(*header))
        header++;
    size_t len = strlen(header);
    while (len > 0 && is_ows(header[len - 1]))
        len--;
    if (len == 0)
        return -1;

    if (header[0] >= '0' && header[0] <= '9') {
        int64_t secs = 0;
        for (size_t i = 0; i < len; i++) {
            if (header[i] < '0' || header[i] > '9')
                return -1;
            /* Saturate long before overflow: anything this large is capped anyway. */
            if (secs <= SD_RETRY_AFTER_MAX_MS)
                secs = secs * 10 + (header[i] - '0');
        }
        return secs > SD_RETRY_AFTER_MAX_MS / 1000 ? SD_RETRY_AFTER_MAX_MS : secs * 1000;
    }

    /* An HTTP-date is 24 to 33 characters; a longer value is not one. */
    char buf[40];
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, header, len);
    buf[len] = '\0';
    struct civil c = {0};
    bool ok =
        parse_imf(buf, &c) || parse_rfc850(buf, year_of(now_ms), &c) || parse_asctime(buf, &c);
    if (!ok || !civil_valid(&c))
        return -1;
    int64_t at = civil_to_ms(&c);
    /* Dates are 4-digit years, so `at` is within ±300 years of 1970 and cannot overflow. */
    if (now_ms < at - SD_RETRY_AFTER_MAX_MS)
        return SD_RETRY_AFTER_MAX_MS;
    if (now_ms > at)
        return 0;
    return at - now_ms;
}
