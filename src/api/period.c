/* The reporting period of SPEC §2: `from` / `to` query parameters. */
#include "period.h"
#include "segmentd/util.h"

bool api_period_value(const char *s, int64_t *out_us)
{
    return sd_date_parse(s, out_us) || sd_time_parse_rfc3339(s, out_us);
}

bool api_period_parse(struct sd_request *req, int64_t *from_us, int64_t *to_us)
{
    const char *from = http_req_query(req, "from");
    const char *to = http_req_query(req, "to");
    if (to == NULL) {
        *to_us = sd_now_us();
    } else if (!api_period_value(to, to_us)) {
        http_reply_problem(req, 422,
                           "Query parameter to must be a date (2026-01-01) or an RFC 3339 time.");
        return false;
    }
    if (from == NULL) {
        *from_us = *to_us - API_PERIOD_DEFAULT_US;
    } else if (!api_period_value(from, from_us)) {
        http_reply_problem(req, 422,
                           "Query parameter from must be a date (2026-01-01) or an RFC 3339 time.");
        return false;
    }
    if (*from_us >= *to_us) {
        http_reply_problem(req, 422, "The period is empty: from must be before to.");
        return false;
    }
    return true;
}
