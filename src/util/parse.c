#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "segmentd/util.h"

bool sd_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
        return false;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool sd_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    if (s == NULL)
        return false;
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* Splits "<digits><unit>" and checks the number; the unit is returned for the caller to read. */
static bool split_number_unit(const char *s, int64_t *number, const char **unit)
{
    if (s == NULL || !isdigit((unsigned char)*s))
        return false;
    const char *p = s;
    int64_t v = 0;
    while (isdigit((unsigned char)*p)) {
        int digit = *p - '0';
        /* Exact test: a looser (INT64_MAX - 9) / 10 would refuse the top few valid values. */
        if (v > (INT64_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
        p++;
    }
    *number = v;
    *unit = p;
    return true;
}

static bool mul_checked(int64_t v, int64_t factor, int64_t *out)
{
    if (v > INT64_MAX / factor)
        return false;
    *out = v * factor;
    return true;
}

bool sd_parse_duration_ms(const char *s, int64_t *out_ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"", 1000},       {"ms", 1},          {"s", 1000},
                 {"m", 60 * 1000}, {"h", 3600 * 1000}, {"d", 86400 * 1000}};
    int64_t v;
    const char *unit;
    if (!split_number_unit(s, &v, &unit))
        return false;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(unit, units[i].unit) == 0)
            return mul_checked(v, units[i].ms, out_ms);
    }
    return false;
}

bool sd_parse_size(const char *s, int64_t *out)
{
    int64_t v;
    const char *unit;
    if (!split_number_unit(s, &v, &unit))
        return false;
    if (*unit == '\0' || strcasecmp(unit, "b") == 0) {
        *out = v;
        return true;
    }
    static const char *const units[] = {"k", "m", "g"};
    int64_t factor = 1;
    for (size_t i = 0; i < 3; i++) {
        factor *= 1024;
        size_t n = strlen(unit);
        bool match = (n == 1 || (n == 2 && tolower((unsigned char)unit[1]) == 'b') ||
                      (n == 3 && strcasecmp(unit + 1, "ib") == 0)) &&
                     tolower((unsigned char)unit[0]) == units[i][0];
        if (match)
            return mul_checked(v, factor, out);
    }
    return false;
}

int64_t sd_now_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sd_time_format_rfc3339(int64_t unix_seconds, int micros, char *out, size_t outlen)
{
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, outlen, "%Y-%m-%dT%H:%M:%S", &tm);
    if (micros != 0)
        snprintf(out + n, outlen - n, ".%06dZ", micros);
    else
        snprintf(out + n, outlen - n, "Z");
}

void sd_hex_encode(const unsigned char *bytes, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * len] = '\0';
}
