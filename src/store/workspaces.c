#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segmentd/store_workspaces.h"
#include "store_util.h"

#define WS_COLUMNS                                                                                 \
    "id, name, display_name, extract(epoch FROM created_at)::bigint, "                             \
    "extract(epoch FROM updated_at)::bigint"

static const struct sd_stmt get_stmt = {"ws_get",
                                        "SELECT " WS_COLUMNS " FROM workspaces WHERE name = $1", 1};
static const struct sd_stmt get_by_id_stmt = {
    "ws_get_by_id", "SELECT " WS_COLUMNS " FROM workspaces WHERE id = $1::bigint", 1};
static const struct sd_stmt create_stmt = {
    "ws_create",
    "INSERT INTO workspaces (name, display_name) VALUES ($1, $2) RETURNING " WS_COLUMNS, 2};
static const struct sd_stmt list_stmt = {"ws_list",
                                         "SELECT " WS_COLUMNS " FROM workspaces ORDER BY name", 0};
static const struct sd_stmt rename_stmt = {
    "ws_set_display_name",
    "UPDATE workspaces SET display_name = $2, updated_at = now() WHERE name = $1 "
    "RETURNING " WS_COLUMNS,
    2};
static const struct sd_stmt lock_stmt = {"ws_lock",
                                         "SELECT id FROM workspaces WHERE name = $1 FOR UPDATE", 1};
/* Every table holding a workspace's data, children first; each statement keyed by workspace. */
static const struct sd_stmt delete_data_stmts[] = {
    {"ws_delete_delivery_attempts", "DELETE FROM delivery_attempts WHERE workspace_id = $1::bigint",
     1},
    {"ws_delete_deliveries", "DELETE FROM deliveries WHERE workspace_id = $1::bigint", 1},
    {"ws_delete_campaigns", "DELETE FROM campaigns WHERE workspace_id = $1::bigint", 1},
    {"ws_delete_contact_policies", "DELETE FROM contact_policies WHERE workspace_id = $1::bigint",
     1},
    {"ws_delete_kpi_targets", "DELETE FROM kpi_targets WHERE workspace_id = $1::bigint", 1},
    {"ws_delete_segment_snapshots", "DELETE FROM segment_snapshots WHERE workspace_id = $1::bigint",
     1},
    {"ws_delete_transitions", "DELETE FROM transitions WHERE workspace_id = $1::bigint", 1},
    {"ws_delete_orders", "DELETE FROM orders WHERE workspace_id = $1::bigint", 1},
    {"ws_delete_customers", "DELETE FROM customers WHERE workspace_id = $1::bigint", 1},
    {"ws_delete_cell_counts", "DELETE FROM cell_counts WHERE workspace_id = $1::bigint", 1},
    {"ws_delete_imports", "DELETE FROM imports WHERE workspace_id = $1::bigint", 1},
    {"ws_delete_matrices", "DELETE FROM matrices WHERE workspace_id = $1::bigint", 1},
    {"ws_delete_api_keys", "DELETE FROM api_keys WHERE workspace_id = $1::bigint", 1},
};
static const struct sd_stmt delete_stmt = {"ws_delete",
                                           "DELETE FROM workspaces WHERE id = $1::bigint", 1};

static void read_row(const PGresult *res, int row, struct sd_workspace *ws)
{
    ws->id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
    snprintf(ws->name, sizeof ws->name, "%s", PQgetvalue(res, row, 1));
    snprintf(ws->display_name, sizeof ws->display_name, "%s", PQgetvalue(res, row, 2));
    ws->created_at = strtoll(PQgetvalue(res, row, 3), NULL, 10);
    ws->updated_at = strtoll(PQgetvalue(res, row, 4), NULL, 10);
}

/* Runs a statement expected to return at most one workspace row. */
static enum sd_rc one_workspace(struct sd_db *db, const struct sd_stmt *stmt,
                                const char *const *params, struct sd_workspace *out)
{
    PGresult *res = NULL;
    enum sd_rc rc = sd_db_exec(db, stmt, params, &res);
    if (rc != SD_OK)
        return rc;
    if (PQntuples(res) == 0)
        rc = SD_ERR_NOT_FOUND;
    else if (out != NULL)
        read_row(res, 0, out);
    PQclear(res);
    return rc;
}

enum sd_rc sd_store_workspace_get(struct sd_db *db, const char *name, struct sd_workspace *out)
{
    const char *params[] = {name};
    return one_workspace(db, &get_stmt, params, out);
}

enum sd_rc sd_store_workspace_get_by_id(struct sd_db *db, long long id, struct sd_workspace *out)
{
    char idbuf[24];
    snprintf(idbuf, sizeof idbuf, "%lld", id);
    const char *params[] = {idbuf};
    return one_workspace(db, &get_by_id_stmt, params, out);
}

enum sd_rc sd_store_workspace_create(struct sd_db *db, const char *name, const char *display_name,
                                     struct sd_workspace *out)
{
    const char *params[] = {name, display_name ? display_name : ""};
    return one_workspace(db, &create_stmt, params, out);
}

/* read_row for store_read_rows */
static void read_item(const PGresult *res, int row, void *item)
{
    read_row(res, row, item);
}

enum sd_rc sd_store_workspace_list(struct sd_db *db, struct sd_workspace **items, size_t *count)
{
    void *arr = NULL;
    enum sd_rc rc =
        store_read_rows(db, &list_stmt, NULL, sizeof(struct sd_workspace), read_item, &arr, count);
    *items = arr;
    return rc;
}

enum sd_rc sd_store_workspace_set_display_name(struct sd_db *db, const char *name,
                                               const char *display_name, struct sd_workspace *out)
{
    const char *params[] = {name, display_name};
    return one_workspace(db, &rename_stmt, params, out);
}

enum sd_rc sd_store_workspace_delete(struct sd_db *db, const char *name)
{
    PGresult *res = NULL;
    const char *params[] = {name};
    enum sd_rc rc = sd_db_exec(db, &lock_stmt, params, &res);
    if (rc != SD_OK)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return SD_ERR_NOT_FOUND;
    }
    char id[24];
    snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    const char *idp[] = {id};
    for (size_t i = 0; rc == SD_OK && i < SD_ARRAY_LEN(delete_data_stmts); i++)
        rc = sd_db_exec(db, &delete_data_stmts[i], idp, NULL);
    if (rc == SD_OK)
        rc = sd_db_exec(db, &delete_stmt, idp, NULL);
    return rc;
}
