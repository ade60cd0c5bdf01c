/* Private to src/api: the reporting period of SPEC §2, read from the `from` and `to` query
 * parameters. Shared by the read endpoints that report over time (segment history and flows,
 * KPIs). */
#ifndef SEGMENTD_API_PERIOD_H
#define SEGMENTD_API_PERIOD_H

#include <stdbool.h>
#include <stdint.h>

#include "segmentd/http.h"

/* The length of the period when `from` is not given. */
#define API_PERIOD_DEFAULT_US (30 * INT64_C(86400) * INT64_C(1000000))

/* One period bound: a date ("2026-01-01", midnight UTC) or an RFC 3339 time → µs since the epoch.
 * False on anything else. Pure. */
bool api_period_value(const char *s, int64_t *out_us);

/* Reads ?from= and ?to= (µs since the epoch, `from` inclusive, `to` exclusive): `to` defaults to
 * now and `from` to `to` − 30 days. A value that is neither a date nor an RFC 3339 time, or
 * `from` ≥ `to`, is answered here with a 422 problem, and the function returns false (the caller
 * replies nothing more). */
bool api_period_parse(struct sd_request *req, int64_t *from_us, int64_t *to_us);

#endif
