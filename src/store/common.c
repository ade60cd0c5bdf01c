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

enum sd_rc store_read_rows(struct sd_db *db, const struct sd_stmt *stmt, const char *const *params,
                           size_t size, store_row_reader read, void **items, size_t *count)
{
    PGresult *res = NULL;
    *items = NULL;
    *count = 0;
    enum sd_rc rc = sd_db_exec(db, stmt, params, &res);
    if (rc != SD_OK)
        return rc;
    size_t n = (size_t)PQntuples(res);
    char *arr = calloc(n ? n : 1, size);
    for (size_t i = 0; arr != NULL && i < n; i++)
        read(res, (int)i, arr + i * size);
    PQclear(res);
    if (arr == NULL)
        return SD_ERR_NOMEM;
    *items = arr;
    *count = n;
    return SD_OK;
}
