/* /v1/contact-policy: the workspace's limits across all campaigns (max messages per period) and
 * its quiet hours, so that no customer is pestered. */
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "input.h"
#include "segmentd/store_campaigns.h"

#define TIMEZONE_MAX_CHARS 64

static json_t *render_policy(const struct sd_contact_policy *p)
{
    json_t *quiet = json_null();
    if (p->has_quiet) {
        char from[24], to[24];
        snprintf(from, sizeof from, "%02d:%02d", p->quiet_from_min / 60, p->quiet_from_min % 60);
        snprintf(to, sizeof to, "%02d:%02d", p->quiet_to_min / 60, p->quiet_to_min % 60);
        quiet = json_pack("{s:s, s:s, s:s}", "from", from, "to", to, "timezone", p->timezone);
    }
    return json_pack("{s:o, s:o}", "max_messages",
                     p->has_max ? api_render_max_messages(p->max_count, p->max_per_ms)
                                : json_null(),
                     "quiet_hours", quiet);
}

void api_contact_policy_get(struct sd_request *req)
{
    struct sd_contact_policy p;
    enum sd_rc rc =
        sd_store_contact_policy_get(http_req_db(req), http_req_caller(req)->workspace_id, &p);
    if (rc != SD_OK)
        http_reply_rc(req, rc);
    else
        http_reply_json(req, 200, render_policy(&p));
}

static void parse_hhmm(json_t *q, const char *key, int *minutes, struct sd_errors *errs)
{
    const char *s = input_string(q, key, true, 5, "/quiet_hours", errs);
    if (s != NULL && !sd_parse_hhmm(s, minutes))
        sd_errors_add(errs, "a time of day as \"HH:MM\", 00:00 to 23:59", "/quiet_hours/%s", key);
}

/* "quiet_hours": null, or {from, to, timezone}; the zone is checked by the caller (database). */
static void parse_quiet(json_t *q, struct sd_contact_policy *p, struct sd_errors *errs)
{
    static const char *const fields[] = {"from", "to", "timezone", NULL};
    if (q == NULL || json_is_null(q))
        return;
    if (!json_is_object(q)) {
        sd_errors_add(errs,
                      "must be {\"from\": \"HH:MM\", \"to\": \"HH:MM\", \"timezone\": ZONE} "
                      "or null",
                      "/quiet_hours");
        return;
    }
    size_t before = errs->count + errs->dropped;
    input_reject_unknown(q, fields, "/quiet_hours", errs);
    p->quiet_from_min = p->quiet_to_min = -1;
    parse_hhmm(q, "from", &p->quiet_from_min, errs);
    parse_hhmm(q, "to", &p->quiet_to_min, errs);
    if (p->quiet_from_min >= 0 && p->quiet_from_min == p->quiet_to_min)
        sd_errors_add(errs, "must differ from \"from\" (an empty window is no quiet hours)",
                      "/quiet_hours/to");
    const char *tz = input_string(q, "timezone", true, TIMEZONE_MAX_CHARS, "/quiet_hours", errs);
    if (tz != NULL)
        snprintf(p->timezone, sizeof p->timezone, "%s", tz);
    p->has_quiet = errs->count + errs->dropped == before;
}

void api_contact_policy_put(struct sd_request *req)
{
    static const char *const fields[] = {"max_messages", "quiet_hours", NULL};
    json_t *body = http_req_json(req);
    struct sd_errors errs;
    sd_errors_init(&errs);
    struct sd_contact_policy p;
    memset(&p, 0, sizeof p);
    if (input_require_object(body, &errs)) {
        input_reject_unknown(body, fields, "", &errs);
        json_t *max = json_object_get(body, "max_messages");
        if (max != NULL)
            p.has_max =
                api_parse_max_messages(max, "/max_messages", &p.max_count, &p.max_per_ms, &errs) &&
                p.max_count > 0;
        parse_quiet(json_object_get(body, "quiet_hours"), &p, &errs);
    }
    struct sd_db *db = http_req_db(req);
    enum sd_rc rc = SD_OK;
    if (!sd_errors_any(&errs) && p.has_quiet) {
        bool known = false;
        rc = sd_store_timezone_exists(db, p.timezone, &known);
        if (rc == SD_OK && !known)
            sd_errors_add(&errs, "not a time zone PostgreSQL knows (IANA name, e.g. Europe/Paris)",
                          "/quiet_hours/timezone");
    }
    if (rc == SD_OK && sd_errors_any(&errs)) {
        http_reply_invalid(req, &errs);
        return;
    }
    if (rc == SD_OK)
        rc = sd_store_contact_policy_put(db, http_req_caller(req)->workspace_id, &p);
    if (rc != SD_OK)
        http_reply_rc(req, rc);
    else
        http_reply_json(req, 200, render_policy(&p));
}
