/* POST /v1/imports (streamed to a spool file, answered 202, run in the background) and
 * GET /v1/imports/{id}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "handlers.h"
#include "render.h"
#include "segmentd/importer.h"
#include "segmentd/util.h"

static bool media_is(const char *ct, const char *type)
{
    size_t n = strlen(type);
    return ct != NULL && strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || ct[n] == ';');
}

/* Reads format, map and timezone; answers 415 / 400 itself. */
static bool import_options(struct sd_request *req, struct sd_import_job *job)
{
    const char *ct = http_req_header(req, "Content-Type");
    if (media_is(ct, "text/csv"))
        job->opts.format = SD_IMPORT_CSV;
    else if (media_is(ct, "application/x-ndjson") || media_is(ct, "application/ndjson"))
        job->opts.format = SD_IMPORT_NDJSON;
    else {
        http_reply_problem(req, 415, "Send text/csv or application/x-ndjson.");
        http_reply_header(req, "Accept-Post", "text/csv, application/x-ndjson");
        return false;
    }
    const char *map = http_req_query(req, "map");
    char err[256];
    if (map != NULL && (job->opts.format != SD_IMPORT_CSV ||
                        !sd_import_parse_map(map, job->map_buf, sizeof job->map_buf, &job->opts,
                                             err, sizeof err))) {
        http_reply_problem(req, 400,
                           job->opts.format != SD_IMPORT_CSV ? "map applies to CSV imports" : err);
        return false;
    }
    const char *tz = http_req_query(req, "timezone");
    snprintf(job->timezone, sizeof job->timezone, "%s", tz ? tz : "UTC");
    bool valid = false;
    enum sd_rc rc = tz == NULL || strlen(tz) >= sizeof job->timezone
                        ? SD_OK
                        : sd_store_timezone_valid(http_req_db(req), tz, &valid);
    if (rc != SD_OK) {
        http_reply_rc(req, rc);
        return false;
    }
    if (tz != NULL && !valid) {
        http_reply_problem(req, 400, "timezone must be an IANA time zone name, e.g. Europe/Paris.");
        return false;
    }
    return true;
}

void api_imports_preflight(struct sd_request *req)
{
    struct sd_import_job *job = calloc(1, sizeof *job);
    if (job == NULL)
        http_reply_rc(req, SD_ERR_NOMEM);
    else
        (void)import_options(req, job);
    free(job);
}

void api_imports_create(struct sd_request *req)
{
    struct sd_import_job *job = calloc(1, sizeof *job);
    if (job == NULL) {
        http_reply_rc(req, SD_ERR_NOMEM);
        return;
    }
    job->fd = -1;
    job->ws = http_req_caller(req)->workspace_id;
    if (!import_options(req, job))
        goto fail;
    job->fd = http_req_take_spool(req, &job->size);
    enum sd_rc rc =
        job->fd < 0 ? SD_ERR_IO
                    : sd_store_import_create(http_req_db(req), job->ws,
                                             job->opts.format == SD_IMPORT_CSV ? "csv" : "ndjson",
                                             job->size, &job->id);
    if (rc != SD_OK) {
        http_reply_rc(req, rc);
        goto fail;
    }
    long long id = job->id;
    if (!sd_importer_submit(http_req_app(req)->importer, job)) {
        http_reply_problem(req, 503, "segmentd is shutting down.");
        goto fail;
    }
    char location[64];
    snprintf(location, sizeof location, "/v1/imports/%lld", id);
    http_reply_json(req, 202, json_pack("{s:I, s:s}", "id", (json_int_t)id, "status", "running"));
    http_reply_header(req, "Location", location);
    return;
fail:
    if (job->fd >= 0)
        close(job->fd);
    free(job);
}

static json_t *time_or_null(const char *us_text)
{
    return us_text[0] ? render_time(strtoll(us_text, NULL, 10) / SD_US_PER_SECOND) : json_null();
}

void api_imports_get(struct sd_request *req)
{
    int64_t id;
    PGresult *res = NULL;
    enum sd_rc rc =
        sd_parse_i64(http_req_param(req, 0), 1, INT64_MAX, &id)
            ? sd_store_import_get(http_req_db(req), http_req_caller(req)->workspace_id, id, &res)
            : SD_ERR_NOT_FOUND;
    if (rc == SD_ERR_NOT_FOUND) {
        http_reply_problem(req, 404, "No import with this id.");
        return;
    }
    if (rc != SD_OK) {
        http_reply_rc(req, rc);
        return;
    }
    const char *cols[] = {"rows", "rejected", "created", "duplicates", "conflicts", "customers"};
    json_t *doc =
        json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)id, "status", PQgetvalue(res, 0, 0),
                  "format", PQgetvalue(res, 0, 1), "phase", PQgetvalue(res, 0, 2));
    for (int i = 0; i < 6; i++)
        json_object_set_new(doc, cols[i],
                            json_integer(strtoll(PQgetvalue(res, 0, 3 + i), NULL, 10)));
    json_t *errors = json_loads(PQgetvalue(res, 0, 9), 0, NULL);
    json_object_set_new(doc, "errors", errors ? errors : json_array());
    json_object_set_new(doc, "message",
                        PQgetisnull(res, 0, 10) ? json_null()
                                                : json_string(PQgetvalue(res, 0, 10)));
    json_object_set_new(doc, "created_at", time_or_null(PQgetvalue(res, 0, 11)));
    json_object_set_new(doc, "updated_at", time_or_null(PQgetvalue(res, 0, 12)));
    json_object_set_new(doc, "finished_at", time_or_null(PQgetvalue(res, 0, 13)));
    double read = strtod(PQgetvalue(res, 0, 14), NULL),
           total = strtod(PQgetvalue(res, 0, 15), NULL);
    bool done = strcmp(PQgetvalue(res, 0, 0), "done") == 0;
    json_object_set_new(doc, "progress",
                        json_pack("{s:f, s:f, s:f}", "bytes_read", read, "bytes_total", total,
                                  "fraction",
                                  done        ? 1.0
                                  : total > 0 ? 0.99 * read / total
                                              : 0.0));
    PQclear(res);
    http_reply_json(req, 200, doc);
}
