#include <stdlib.h>
#include <string.h>

#include "store_util.h"

const struct sd_stmt store_begin_stmt = {"begin", "BEGIN", 0};
const struct sd_stmt store_commit_stmt = {"commit", "COMMIT", 0};
const struct sd_stmt store_matrix_share_stmt = {
    "matrix_share",
    "SELECT pg_advisory_xact_lock_shared(1397049167, ($1::bigint % 2147483647)::int)", 1};
const struct sd_stmt store_matrix_versions_stmt = {
    "matrix_versions",
    "SELECT kind, max(version) FROM matrices WHERE workspace_id = $1::bigint GROUP BY kind", 1};

bool store_versions_match(const PGresult *res, const struct sd_matrix_set *ms)
{
    int now[SD_KIND_COUNT] = {0};
    for (int r = 0; r < PQntuples(res); r++) {
        enum sd_kind k;
        if (sd_kind_parse(PQgetvalue(res, r, 0), &k))
            now[k] = atoi(PQgetvalue(res, r, 1));
    }
    return memcmp(now, ms->version, sizeof now) == 0;
}
