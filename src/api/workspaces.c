/* /v1/workspaces: the shops of this segmentd (bootstrap admin key only, SPEC §0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../http/auth_cache.h"
#include "handlers.h"
#include "input.h"
#include "render.h"
#include "segmentd/core_access.h"
#include "segmentd/store_workspaces.h"

static json_t *render_workspace(const struct sd_workspace *ws)
{
    return json_pack("{s:s, s:s, s:o, s:o}", "name", ws->name, "display_name", ws->display_name,
                     "created_at", render_time(ws->created_at), "updated_at",
                     render_time(ws->updated_at));
}

/* The {name} of the path, or NULL after answering 404 for a name that cannot exist. */
static const char *path_name(struct sd_request *req)
{
    const char *name = http_req_param(req, 0);
    if (!sd_workspace_name_valid(name)) {
        http_reply_problem(req, 404, "No workspace with this name.");
        return NULL;
    }
    return name;
}

static void reply_workspace(struct sd_request *req, unsigned status, enum sd_rc rc,
                            const struct sd_workspace *ws)
{
    if (rc == SD_ERR_NOT_FOUND)
        http_reply_problem(req, 404, "No workspace with this name.");
    else if (rc != SD_OK)
        http_reply_rc(req, rc);
    else
        http_reply_json(req, status, render_workspace(ws));
}

void api_workspaces_create(struct sd_request *req)
{
    static const char *const fields[] = {"name", "display_name", NULL};
    json_t *body = http_req_json(req);
    struct sd_errors errs;
    sd_errors_init(&errs);
    const char *name = NULL, *display = NULL;
    if (input_require_object(body, &errs)) {
        input_reject_unknown(body, fields, "", &errs);
        name = input_string(body, "name", true, 63, "", &errs);
        if (name != NULL && !sd_workspace_name_valid(name))
            sd_errors_add(&errs, "must match [a-z0-9_-]{1,63}", "/name");
        display = input_string(body, "display_name", false, 200, "", &errs);
    }
    if (sd_errors_any(&errs)) {
        http_reply_invalid(req, &errs);
        return;
    }
    struct sd_workspace ws;
    enum sd_rc rc = sd_store_workspace_create(http_req_db(req), name, display, &ws);
    if (rc == SD_ERR_CONFLICT) {
        http_reply_problem(req, 409, "A workspace with this name exists.");
        return;
    }
    reply_workspace(req, 201, rc, &ws);
    if (rc == SD_OK) {
        char location[96];
        snprintf(location, sizeof location, "/v1/workspaces/%s", ws.name);
        http_reply_header(req, "Location", location);
    }
}

void api_workspaces_list(struct sd_request *req)
{
    struct sd_workspace *items = NULL;
    size_t n = 0;
    enum sd_rc rc = sd_store_workspace_list(http_req_db(req), &items, &n);
    if (rc != SD_OK) {
        http_reply_rc(req, rc);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, render_workspace(&items[i]));
    free(items);
    http_reply_json(req, 200, json_pack("{s:o}", "items", arr));
}

void api_workspaces_get(struct sd_request *req)
{
    const char *name = path_name(req);
    if (name == NULL)
        return;
    struct sd_workspace ws;
    reply_workspace(req, 200, sd_store_workspace_get(http_req_db(req), name, &ws), &ws);
}

void api_workspaces_update(struct sd_request *req)
{
    static const char *const fields[] = {"display_name", NULL};
    const char *name = path_name(req);
    if (name == NULL)
        return;
    json_t *body = http_req_json(req);
    struct sd_errors errs;
    sd_errors_init(&errs);
    const char *display = NULL;
    if (input_require_object(body, &errs)) {
        input_reject_unknown(body, fields, "", &errs);
        display = input_string(body, "display_name", true, 200, "", &errs);
    }
    if (sd_errors_any(&errs)) {
        http_reply_invalid(req, &errs);
        return;
    }
    struct sd_workspace ws;
    reply_workspace(req, 200,
                    sd_store_workspace_set_display_name(http_req_db(req), name, display, &ws), &ws);
}

static enum sd_rc delete_tx(struct sd_db *db, void *name)
{
    return sd_store_workspace_delete(db, name);
}

void api_workspaces_delete(struct sd_request *req)
{
    const char *name = path_name(req);
    if (name == NULL)
        return;
    if (strcmp(name, "default") == 0) {
        http_reply_problem(req, 409, "The default workspace cannot be deleted.");
        return;
    }
    enum sd_rc rc = sd_db_transaction_on(http_req_db(req), delete_tx, (void *)name);
    if (rc == SD_OK)
        auth_cache_flush(); /* this process stops trusting it at once */
    if (rc == SD_ERR_NOT_FOUND)
        http_reply_problem(req, 404, "No workspace with this name.");
    else
        http_reply_rc(req, rc);
}
