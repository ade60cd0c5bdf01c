/* Workspaces: the shops one segmentd serves (SPEC §0). */
#ifndef SEGMENTD_STORE_WORKSPACES_H
#define SEGMENTD_STORE_WORKSPACES_H

#include <stddef.h>
#include <stdint.h>

#include "segmentd/db.h"

struct sd_workspace {
    long long id;
    char name[64];
    char display_name[804]; /* 200 characters of UTF-8 */
    int64_t created_at;     /* Unix seconds */
    int64_t updated_at;
};

enum sd_rc sd_store_workspace_get(struct sd_db *db, const char *name,
                                  struct sd_workspace *out) SD_MUST_CHECK;
enum sd_rc sd_store_workspace_get_by_id(struct sd_db *db, long long id,
                                        struct sd_workspace *out) SD_MUST_CHECK;
/* SD_ERR_CONFLICT when the name is taken. */
enum sd_rc sd_store_workspace_create(struct sd_db *db, const char *name, const char *display_name,
                                     struct sd_workspace *out) SD_MUST_CHECK;
/* All workspaces by name; `*items` is a new array the caller frees. */
enum sd_rc sd_store_workspace_list(struct sd_db *db, struct sd_workspace **items,
                                   size_t *count) SD_MUST_CHECK;
enum sd_rc sd_store_workspace_set_display_name(struct sd_db *db, const char *name,
                                               const char *display_name,
                                               struct sd_workspace *out) SD_MUST_CHECK;
/* Deletes the workspace and every row of its data, in one transaction on `db`. */
enum sd_rc sd_store_workspace_delete(struct sd_db *db, const char *name) SD_MUST_CHECK;

#endif
