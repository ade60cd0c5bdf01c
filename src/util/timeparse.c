/* RFC 3339 and date parsing. No libc parser is strict enough (strptime skips what it likes and
 * knows no offsets), so this is the small hand-written piece the format calls for. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "segmentd/util.h"

/* Reads exactly n digits. */
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

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool valid_date(int y, int m, int d)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || m < 1 || m > 12 || d < 1)
        return false;
    return d <= days[m - 1] + (m == 2 && is_leap(y));
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), without timegm's time zone games. */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool parse_date_part(const char **p, int *y, int *m, int *d)
{
    return digits(p, 4, y) && *(*p)++ == '-' && digits(p, 2, m) && *(*p)++ == '-' &&
           digits(p, 2, d) && valid_date(*y, *m, *d);
}

bool sd_date_parse(const char *s, int64_t *out_us)
{
    int y, m, d;
    const char *p = s;
    if (!parse_date_part(&p, &y, &m, &d) || *p != '\0')
        return false;
    *out_us = days_from_civil(y, m, d) * 86400 * INT64_C(1000000);
    return true;
}

static bool parse_offset(const char **p, int *offset_s)
{
    char c = **p;
    if (c == 'Z' || c == 'z') {
        (*p)++;
        *offset_s = 0;
        return true;
    }
    if (c != '+' && c != '-')
        return false;
    (*p)++;
    int hh, mm;
    if (!digits(p, 2, &hh) || *(*p)++ != ':' || !digits(p, 2, &mm) || hh > 23 || mm > 59)
        return false;
    *offset_s = (c == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
    return true;
}

bool sd_time_parse_rfc3339(const char *s, int64_t *out_us)
{
    int y, mo, d, h, mi, se, offset;
    const char *p = s;
    if (!parse_date_part(&p, &y, &mo, &d))
        return false;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return false;
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
        !digits(&p, 2, &se) || h > 23 || mi > 59 || se > 60)
        return false;
    int64_t micros = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        for (; *p >= '0' && *p <= '9'; p++, n++) {
            if (n < 6)
                micros = micros * 10 + (*p - '0');
        }
        if (n == 0)
            return false;
        for (; n < 6; n++)
            micros *= 10;
    }
    if (!parse_offset(&p, &offset) || *p != '\0')
        return false;
    if (se == 60) /* a leap second is held at the minute's last µs: it keeps its date and order */
        se = 59, micros = 999999;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset;
    *out_us = secs * INT64_C(1000000) + micros;
    return true;
}

void sd_time_format_us(int64_t us, char *out, size_t outlen)
{
    int64_t secs = us / 1000000, micros = us % 1000000;
    if (micros < 0) {
        micros += 1000000;
        secs -= 1;
    }
    sd_time_format_rfc3339(secs, (int)micros, out, outlen);
}

int64_t sd_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
