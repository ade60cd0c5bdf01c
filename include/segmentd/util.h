/* Small shared helpers: a growing buffer with a cap, strict number and duration parsing, time
 * formatting, hex. Leaf module: system headers only. */
#ifndef SEGMENTD_UTIL_H
#define SEGMENTD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "segmentd/rc.h"

/* A byte buffer that grows up to `max` bytes and always keeps a NUL after the data. */
struct sd_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
};

void sd_buf_init(struct sd_buf *b, size_t max);
/* SD_ERR_TOO_LARGE if the cap would be passed (the buffer is left unchanged). */
enum sd_rc sd_buf_append(struct sd_buf *b, const void *data, size_t len) SD_MUST_CHECK;
enum sd_rc sd_buf_printf(struct sd_buf *b, const char *fmt, ...) SD_MUST_CHECK
    __attribute__((format(printf, 2, 3)));
void sd_buf_reset(struct sd_buf *b);
void sd_buf_free(struct sd_buf *b);
/* Hands the data over to the caller (who frees it) and empties the buffer. */
char *sd_buf_steal(struct sd_buf *b, size_t *len);

/* Whole decimal integer in [min, max]; no sign games, no trailing junk. */
bool sd_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* "true/false/yes/no/on/off/1/0" (case-insensitive). */
bool sd_parse_bool(const char *s, bool *out);
/* Duration "250ms", "90s", "5m", "2h", "30d"; a bare number is seconds. Result in milliseconds. */
bool sd_parse_duration_ms(const char *s, int64_t *out_ms);
/* Size "1048576", "512k", "1M", "2G" (powers of 1024). */
bool sd_parse_size(const char *s, int64_t *out);

/* Milliseconds on the monotonic clock. */
int64_t sd_now_mono_ms(void);
/* Formats a Unix time (seconds, microseconds) as RFC 3339 UTC: "2026-11-20T10:00:00Z", with
 * ".ffffff" only when micros != 0. `out` holds at least 32 bytes. */
void sd_time_format_rfc3339(int64_t unix_seconds, int micros, char *out, size_t outlen);

/* Lower-case hex of `len` bytes into `out` (2*len+1 bytes). */
void sd_hex_encode(const unsigned char *bytes, size_t len, char *out);

/* Strict RFC 3339: "2026-11-20T10:00:00Z", "2026-11-20T10:00:00.123456+02:00" ('t', 'z' and a
 * space for 'T' accepted) → microseconds since the epoch. Fractions beyond µs are truncated.
 * Years 1900–9999. False on anything else (impossible dates included). */
bool sd_time_parse_rfc3339(const char *s, int64_t *out_us);
/* "2026-01-01" → midnight UTC in µs. */
bool sd_date_parse(const char *s, int64_t *out_us);
/* Formats µs since the epoch as RFC 3339 UTC (fraction only when non-zero). */
void sd_time_format_us(int64_t us, char *out, size_t outlen);
/* Wall clock in µs. */
int64_t sd_now_us(void);

#endif
