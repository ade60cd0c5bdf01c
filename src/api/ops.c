/* Operations endpoints: liveness, readiness, metrics, the API description. */
#include <string.h>

#include "handlers.h"
#include "segmentd/embedded_files.h"
#include "segmentd/metrics.h"
#include "segmentd/migrate.h"

void api_healthz(struct sd_request *req)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    http_reply_static(req, 200, "application/json", ok, sizeof ok - 1);
}

/* Ready = the database answers and every migration this binary knows is applied. */
void api_readyz(struct sd_request *req)
{
    struct sd_app *app = http_req_app(req);
    struct sd_db *db = NULL;
    enum sd_rc rc = sd_pool_acquire(app->pool, &db);
    bool current = false;
    if (rc == SD_OK) {
        rc = sd_migrate_is_current(db, &current);
        sd_pool_release(app->pool, db);
    }
    if (rc != SD_OK) {
        http_reply_problem(req, 503, "The database is unreachable.");
        http_reply_header(req, "Retry-After", "5");
    } else if (!current || !atomic_load(&app->ready)) {
        http_reply_problem(req, 503, "Database migrations are not applied yet.");
        http_reply_header(req, "Retry-After", "5");
    } else {
        http_reply_json(req, 200,
                        json_pack("{s:s, s:I}", "status", "ready", "schema_version",
                                  (json_int_t)sd_migrate_latest_version()));
    }
}

void api_metrics(struct sd_request *req)
{
    struct sd_app *app = http_req_app(req);
    struct sd_buf out;
    sd_buf_init(&out, 16 * 1024 * 1024);
    enum sd_rc rc = sd_metrics_render(app->metrics, app->pool, &out);
    if (rc != SD_OK) {
        sd_buf_free(&out);
        http_reply_rc(req, rc);
        return;
    }
    http_reply_bytes(req, 200, "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
    sd_buf_free(&out);
}

void api_openapi(struct sd_request *req)
{
    for (unsigned long i = 0; i < sd_static_files_count; i++) {
        if (strcmp(sd_static_files[i].name, "openapi.yaml") == 0) {
            http_reply_static(req, 200, "application/yaml; charset=utf-8", sd_static_files[i].data,
                              sd_static_files[i].len);
            return;
        }
    }
    http_reply_problem(req, 404, NULL);
}
