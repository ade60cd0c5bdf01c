/* Private to src/store: PostgreSQL array literals for set-based statements
 * (unnest($2::bigint[], $3::text[], …)): values travel as parameters, never as SQL text. */
#ifndef SEGMENTD_PGARRAY_H
#define SEGMENTD_PGARRAY_H

#include <stdbool.h>
#include <stdint.h>

#include "segmentd/util.h"

/* Starts "{" (max bytes: the cap of the literal). */
void pga_begin(struct sd_buf *b, size_t max);
/* Appends one element; NULL text → SQL NULL. Every text element is quoted and escaped. */
enum sd_rc pga_text(struct sd_buf *b, const char *s) SD_MUST_CHECK;
enum sd_rc pga_i64(struct sd_buf *b, int64_t v) SD_MUST_CHECK;
/* µs since the epoch as an RFC 3339 timestamptz element; 0 → NULL when `zero_is_null`. */
enum sd_rc pga_time(struct sd_buf *b, int64_t us, bool zero_is_null) SD_MUST_CHECK;
enum sd_rc pga_bool(struct sd_buf *b, bool v) SD_MUST_CHECK;
/* Closes with "}" and returns the literal (owned by the buffer). */
const char *pga_end(struct sd_buf *b);

/* "2026-11-20 10:00:00.123456+00" style text of a timestamptz column read as µs: the SQL reads
 * times as `(extract(epoch FROM col) * 1000000)::bigint`; this parses that (NULL/"" → 0). */
int64_t pga_read_us(const char *text);

#endif
