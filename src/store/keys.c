#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segmentd/core_access.h"
#include "segmentd/store_keys.h"
#include "segmentd/util.h"
#include "store_util.h"

#define KEY_COLUMNS                                                                                \
    "k.id, k.workspace_id, w.name, k.name, k.prefix, k.scopes, "                                   \
    "extract(epoch FROM k.created_at)::bigint"

static const struct sd_stmt create_stmt = {
    "key_create",
    "WITH k AS (INSERT INTO api_keys (workspace_id, name, prefix, key_hash, scopes) "
    "VALUES ($1::bigint, $2, $3, $4::bytea, $5::text[]) "
    "RETURNING id, workspace_id, name, prefix, scopes, created_at) "
    "SELECT " KEY_COLUMNS " FROM k JOIN workspaces w ON w.id = k.workspace_id",
    5};
static const struct sd_stmt list_stmt = {
    "key_list",
    "SELECT " KEY_COLUMNS " FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id "
    "WHERE k.workspace_id = $1::bigint ORDER BY k.id",
    1};
static const struct sd_stmt delete_stmt = {
    "key_delete", "DELETE FROM api_keys WHERE workspace_id = $1::bigint AND id = $2::bigint", 2};
static const struct sd_stmt find_stmt = {
    "key_find",
    "SELECT " KEY_COLUMNS " FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id "
    "WHERE k.workspace_id = $1::bigint AND k.key_hash = $2::bytea",
    2};

/* "{read,admin}" → bits. */
static unsigned parse_scopes(const char *text)
{
    char buf[128];
    unsigned scopes = 0;
    snprintf(buf, sizeof buf, "%s", text);
    char *save = NULL;
    for (char *tok = strtok_r(buf, "{},\"", &save); tok; tok = strtok_r(NULL, "{},\"", &save))
        scopes |= sd_scope_from_name(tok);
    return scopes;
}

/* bits → "{read,ingest}" (an array literal, passed as a parameter). */
static void format_scopes(unsigned scopes, char *out, size_t outlen)
{
    size_t n = (size_t)snprintf(out, outlen, "{");
    for (unsigned bit = 1; bit <= SD_SCOPE_ADMIN; bit <<= 1) {
        if ((scopes & bit) && n < outlen)
            n +=
                (size_t)snprintf(out + n, outlen - n, "%s%s", n > 1 ? "," : "", sd_scope_name(bit));
    }
    if (n < outlen)
        snprintf(out + n, outlen - n, "}");
}

static void read_row(const PGresult *res, int row, struct sd_api_key *k)
{
    k->id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
    k->workspace_id = strtoll(PQgetvalue(res, row, 1), NULL, 10);
    snprintf(k->workspace, sizeof k->workspace, "%s", PQgetvalue(res, row, 2));
    snprintf(k->name, sizeof k->name, "%s", PQgetvalue(res, row, 3));
    snprintf(k->prefix, sizeof k->prefix, "%s", PQgetvalue(res, row, 4));
    k->scopes = parse_scopes(PQgetvalue(res, row, 5));
    k->created_at = strtoll(PQgetvalue(res, row, 6), NULL, 10);
}

static void hash_param(const unsigned char hash[32], char out[67])
{
    out[0] = '\\';
    out[1] = 'x';
    sd_hex_encode(hash, 32, out + 2);
}

enum sd_rc sd_store_key_create(struct sd_db *db, long long workspace_id, const char *name,
                               unsigned scopes, const unsigned char hash[32], const char *prefix,
                               struct sd_api_key *out)
{
    char ws[24], hex[67], scope_text[64];
    snprintf(ws, sizeof ws, "%lld", workspace_id);
    hash_param(hash, hex);
    format_scopes(scopes, scope_text, sizeof scope_text);
    const char *params[] = {ws, name, prefix, hex, scope_text};
    PGresult *res = NULL;
    enum sd_rc rc = sd_db_exec(db, &create_stmt, params, &res);
    if (rc != SD_OK)
        return rc;
    if (PQntuples(res) == 1)
        read_row(res, 0, out);
    else
        rc = SD_ERR_INTERNAL;
    PQclear(res);
    return rc;
}

/* read_row for store_read_rows */
static void read_item(const PGresult *res, int row, void *item)
{
    read_row(res, row, item);
}

enum sd_rc sd_store_key_list(struct sd_db *db, long long workspace_id, struct sd_api_key **items,
                             size_t *count)
{
    char ws[24];
    snprintf(ws, sizeof ws, "%lld", workspace_id);
    const char *params[] = {ws};
    void *arr = NULL;
    enum sd_rc rc =
        store_read_rows(db, &list_stmt, params, sizeof(struct sd_api_key), read_item, &arr, count);
    *items = arr;
    return rc;
}

enum sd_rc sd_store_key_delete(struct sd_db *db, long long workspace_id, long long id)
{
    char ws[24], idbuf[24];
    snprintf(ws, sizeof ws, "%lld", workspace_id);
    snprintf(idbuf, sizeof idbuf, "%lld", id);
    const char *params[] = {ws, idbuf};
    PGresult *res = NULL;
    enum sd_rc rc = sd_db_exec(db, &delete_stmt, params, &res);
    if (rc != SD_OK)
        return rc;
    if (strcmp(PQcmdTuples(res), "0") == 0)
        rc = SD_ERR_NOT_FOUND;
    PQclear(res);
    return rc;
}

enum sd_rc sd_store_key_find(struct sd_db *db, long long workspace_id, const unsigned char hash[32],
                             struct sd_api_key *out)
{
    char ws[24], hex[67];
    snprintf(ws, sizeof ws, "%lld", workspace_id);
    hash_param(hash, hex);
    const char *params[] = {ws, hex};
    PGresult *res = NULL;
    enum sd_rc rc = sd_db_exec(db, &find_stmt, params, &res);
    if (rc != SD_OK)
        return rc;
    if (PQntuples(res) == 1)
        read_row(res, 0, out);
    else
        rc = SD_ERR_NOT_FOUND;
    PQclear(res);
    return rc;
}
