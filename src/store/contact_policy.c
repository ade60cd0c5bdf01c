/* The contact policy: one row per workspace (none = no limits, no quiet hours). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segmentd/store_campaigns.h"
#include "store_util.h"

static const struct sd_stmt get_stmt = {
    "contact_policy_get",
    "SELECT max_count, max_per_ms, quiet_from_min, quiet_to_min, timezone "
    "FROM contact_policies WHERE workspace_id = $1::bigint",
    1};
/* An upsert that keeps to SCALE.md Q5: now() in the VALUES, only EXCLUDED in the SET. */
static const struct sd_stmt put_stmt = {
    "contact_policy_put",
    "INSERT INTO contact_policies (workspace_id, max_count, max_per_ms, quiet_from_min, "
    "quiet_to_min, timezone, updated_at) VALUES ($1::bigint, $2::int, $3::bigint, $4::int, "
    "$5::int, $6, now()) ON CONFLICT (workspace_id) DO UPDATE SET "
    "max_count = EXCLUDED.max_count, max_per_ms = EXCLUDED.max_per_ms, "
    "quiet_from_min = EXCLUDED.quiet_from_min, quiet_to_min = EXCLUDED.quiet_to_min, "
    "timezone = EXCLUDED.timezone, updated_at = EXCLUDED.updated_at",
    6};
static const struct sd_stmt timezone_stmt = {
    "timezone_exists", "SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)", 1};

enum sd_rc sd_store_contact_policy_get(struct sd_db *db, long long ws,
                                       struct sd_contact_policy *out)
{
    char w[24];
    snprintf(w, sizeof w, "%lld", ws);
    const char *params[] = {w};
    PGresult *res = NULL;
    memset(out, 0, sizeof *out);
    enum sd_rc rc = sd_db_exec(db, &get_stmt, params, &res);
    if (rc != SD_OK)
        return rc;
    if (PQntuples(res) == 1) {
        out->has_max = !PQgetisnull(res, 0, 0) && !PQgetisnull(res, 0, 1);
        if (out->has_max) {
            out->max_count = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
            out->max_per_ms = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        }
        out->has_quiet =
            !PQgetisnull(res, 0, 2) && !PQgetisnull(res, 0, 3) && !PQgetisnull(res, 0, 4);
        if (out->has_quiet) {
            out->quiet_from_min = (int)strtol(PQgetvalue(res, 0, 2), NULL, 10);
            out->quiet_to_min = (int)strtol(PQgetvalue(res, 0, 3), NULL, 10);
            snprintf(out->timezone, sizeof out->timezone, "%s", PQgetvalue(res, 0, 4));
        }
    }
    PQclear(res);
    return SD_OK;
}

enum sd_rc sd_store_contact_policy_put(struct sd_db *db, long long ws,
                                       const struct sd_contact_policy *in)
{
    char w[24], count[16], per[24], from[16], to[16];
    snprintf(w, sizeof w, "%lld", ws);
    snprintf(count, sizeof count, "%d", in->max_count);
    snprintf(per, sizeof per, "%lld", (long long)in->max_per_ms);
    snprintf(from, sizeof from, "%d", in->quiet_from_min);
    snprintf(to, sizeof to, "%d", in->quiet_to_min);
    const char *params[] = {w,
                            in->has_max ? count : NULL,
                            in->has_max ? per : NULL,
                            in->has_quiet ? from : NULL,
                            in->has_quiet ? to : NULL,
                            in->has_quiet ? in->timezone : NULL};
    return sd_db_exec(db, &put_stmt, params, NULL);
}

enum sd_rc sd_store_timezone_exists(struct sd_db *db, const char *name, bool *exists)
{
    const char *params[] = {name};
    PGresult *res = NULL;
    *exists = false;
    enum sd_rc rc = sd_db_exec(db, &timezone_stmt, params, &res);
    if (rc != SD_OK)
        return rc;
    *exists = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return SD_OK;
}
