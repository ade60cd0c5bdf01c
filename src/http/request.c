/* The per-request context: what is copied off the connection, and the replies. */
#include <ctype.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "http_internal.h"
#include "segmentd/log.h"

static const char *const kept_header_names[H_COUNT] = {
    [H_AUTHORIZATION] = "Authorization",
    [H_WORKSPACE] = "Segmentd-Workspace",
    [H_CONTENT_TYPE] = "Content-Type",
    [H_ACCEPT] = "Accept",
    [H_ORIGIN] = "Origin",
    [H_ACR_METHOD] = "Access-Control-Request-Method",
};

int64_t http_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A client's X-Request-Id is kept when it is short and plain; otherwise we make one. */
static bool request_id_acceptable(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (!isalnum(c) && c != '-' && c != '_' && c != '.' && c != ':')
            return false;
    }
    return true;
}

static void request_id_init(struct sd_request *req)
{
    const char *given = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Request-Id");
    if (given != NULL && request_id_acceptable(given)) {
        snprintf(req->request_id, sizeof req->request_id, "%s", given);
        return;
    }
    unsigned char rnd[12];
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        /* The id is a correlation handle, not a secret: a weak fallback is acceptable. */
        for (size_t i = 0; i < sizeof rnd; i++)
            rnd[i] = (unsigned char)rand();
    }
    sd_hex_encode(rnd, sizeof rnd, req->request_id);
}

struct sd_request *http_request_new(struct sd_app *app, struct MHD_Connection *conn,
                                    const char *url, const char *method)
{
    struct sd_request *req = calloc(1, sizeof *req);
    if (req == NULL)
        return NULL;
    req->app = app;
    req->conn = conn;
    req->route_index = -1;
    req->spool_fd = -1;
    req->started_us = http_now_us();
    atomic_init(&req->state, REQ_RECEIVING);
    snprintf(req->method, sizeof req->method, "%s", method);
    req->path = strdup(url);
    if (req->path == NULL)
        goto fail;
    for (int h = 0; h < H_COUNT; h++) {
        const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, kept_header_names[h]);
        if (v != NULL && (req->headers[h] = strdup(v)) == NULL)
            goto fail;
    }
    request_id_init(req);
    sd_buf_init(&req->body, (size_t)app->cfg->limits_max_body_bytes);
    return req;
fail:
    http_request_free(req);
    return NULL;
}

void http_request_free(struct sd_request *req)
{
    if (req == NULL)
        return;
    free(req->path);
    for (int h = 0; h < H_COUNT; h++)
        free(req->headers[h]);
    for (size_t i = 0; i < req->nquery; i++) {
        free(req->query[i].name);
        free(req->query[i].value);
    }
    sd_buf_free(&req->body);
    if (req->spool_fd >= 0)
        close(req->spool_fd);
    json_decref(req->json);
    if (req->response != NULL)
        MHD_destroy_response(req->response);
    free(req);
}

struct query_copy {
    struct sd_request *req;
    bool ok;
};

static enum MHD_Result copy_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    struct query_copy *qc = cls;
    struct sd_request *req = qc->req;
    if (req->nquery >= SD_MAX_QUERY_ARGS) {
        qc->ok = false;
        return MHD_NO;
    }
    size_t klen = strlen(key), vlen = value ? strlen(value) : 0;
    char *k = malloc(klen + 1), *v = malloc(vlen + 1);
    if (k == NULL || v == NULL || !sd_url_decode(key, klen, k, klen + 1, true) ||
        !sd_url_decode(value ? value : "", vlen, v, vlen + 1, true)) {
        free(k);
        free(v);
        qc->ok = false;
        return MHD_NO;
    }
    req->query[req->nquery].name = k;
    req->query[req->nquery].value = v;
    req->nquery++;
    return MHD_YES;
}

bool http_request_copy_query(struct sd_request *req)
{
    if (req->query_copied)
        return true;
    req->query_copied = true;
    struct query_copy qc = {req, true};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, copy_query_arg, &qc);
    return qc.ok;
}

/* ---- accessors ---- */

struct sd_app *http_req_app(const struct sd_request *req)
{
    return req->app;
}

const char *http_req_method(const struct sd_request *req)
{
    return req->method;
}

const char *http_req_param(const struct sd_request *req, size_t i)
{
    return i < req->match.nparams ? req->match.params[i] : NULL;
}

const char *http_req_query(const struct sd_request *req, const char *name)
{
    for (size_t i = 0; i < req->nquery; i++) {
        if (strcmp(req->query[i].name, name) == 0)
            return req->query[i].value;
    }
    return NULL;
}

const char *http_req_header(const struct sd_request *req, const char *name)
{
    for (int h = 0; h < H_COUNT; h++) {
        if (strcasecmp(kept_header_names[h], name) == 0)
            return req->headers[h];
    }
    return NULL;
}

json_t *http_req_json(const struct sd_request *req)
{
    return req->json;
}

const char *http_req_body(const struct sd_request *req, size_t *len)
{
    if (len != NULL)
        *len = req->body.len;
    return req->body.data ? req->body.data : "";
}

int http_req_take_spool(struct sd_request *req, int64_t *size)
{
    int fd = req->spool_fd;
    req->spool_fd = -1;
    *size = req->spooled;
    if (fd >= 0 && lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

struct sd_db *http_req_db(const struct sd_request *req)
{
    return req->db;
}

const struct sd_caller *http_req_caller(const struct sd_request *req)
{
    return &req->caller;
}

/* ---- replies ---- */

static void set_response(struct sd_request *req, unsigned status, struct MHD_Response *resp,
                         const char *content_type)
{
    if (req->response != NULL) {
        log_error("second reply to one request (status %u after %u)", status, req->status);
        MHD_destroy_response(req->response);
    }
    req->response = resp;
    req->status = status;
    if (resp != NULL && content_type != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
}

void http_reply_bytes(struct sd_request *req, unsigned status, const char *content_type,
                      const char *data, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    set_response(req, status, resp, content_type);
}

void http_reply_static(struct sd_request *req, unsigned status, const char *content_type,
                       const char *data, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT);
    set_response(req, status, resp, content_type);
}

struct stream {
    http_stream_fn fn;
    void *ctx;
    void (*free_ctx)(void *);
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct stream *s = cls;
    long n = s->fn(s->ctx, buf, max);
    if (n > 0)
        return (ssize_t)n;
    return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls)
{
    struct stream *s = cls;
    if (s->free_ctx != NULL)
        s->free_ctx(s->ctx);
    free(s);
}

void http_reply_stream(struct sd_request *req, unsigned status, const char *content_type,
                       http_stream_fn fn, void *ctx, void (*free_ctx)(void *))
{
    struct stream *s = malloc(sizeof *s);
    if (s == NULL) {
        if (free_ctx != NULL)
            free_ctx(ctx);
        http_reply_rc(req, SD_ERR_NOMEM);
        return;
    }
    *s = (struct stream){fn, ctx, free_ctx};
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, s, stream_free);
    if (resp == NULL) {
        stream_free(s);
        http_reply_rc(req, SD_ERR_NOMEM);
        return;
    }
    set_response(req, status, resp, content_type);
}

void http_reply_empty(struct sd_request *req, unsigned status)
{
    http_reply_static(req, status, NULL, "", 0);
}

static void reply_json_typed(struct sd_request *req, unsigned status, json_t *body,
                             const char *content_type)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(body);
    if (text == NULL) {
        static const char fallback[] =
            "{\"type\":\"about:blank\",\"title\":\"Internal Server Error\",\"status\":500}";
        http_reply_static(req, 500, "application/problem+json", fallback, sizeof fallback - 1);
        return;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL)
        free(text);
    set_response(req, status, resp, content_type);
}

void http_reply_json(struct sd_request *req, unsigned status, json_t *body)
{
    reply_json_typed(req, status, body, "application/json");
}

void http_reply_problem(struct sd_request *req, unsigned status, const char *detail)
{
    reply_json_typed(req, status, http_problem_new(status, detail, req->request_id),
                     "application/problem+json");
}

void http_reply_problem_doc(struct sd_request *req, unsigned status, json_t *doc)
{
    reply_json_typed(req, status, doc, "application/problem+json");
}

void http_reply_invalid(struct sd_request *req, const struct sd_errors *errors)
{
    char detail[96];
    size_t total = errors->count + errors->dropped;
    snprintf(detail, sizeof detail, "The request has %zu invalid value%s.", total,
             total == 1 ? "" : "s");
    json_t *doc = http_problem_new(422, detail, req->request_id);
    json_t *list = json_array();
    for (size_t i = 0; i < errors->count; i++) {
        json_array_append_new(list, json_pack("{s:s, s:s}", "pointer", errors->items[i].pointer,
                                              "message", errors->items[i].message));
    }
    json_object_set_new(doc, "errors", list);
    reply_json_typed(req, 422, doc, "application/problem+json");
}

void http_reply_header(struct sd_request *req, const char *name, const char *value)
{
    if (req->response != NULL)
        MHD_add_response_header(req->response, name, value);
}

void http_reply_rc(struct sd_request *req, enum sd_rc rc)
{
    switch (rc) {
    case SD_OK:
        http_reply_empty(req, 204);
        return;
    case SD_ERR_NOT_FOUND:
        http_reply_problem(req, 404, "No such resource.");
        return;
    case SD_ERR_CONFLICT:
        http_reply_problem(req, 409, "The resource already exists.");
        return;
    case SD_ERR_TOO_LARGE:
        http_reply_problem(req, 413, NULL);
        return;
    case SD_ERR_DB_UNAVAILABLE:
        http_reply_problem(req, 503, "The database is unreachable; retry shortly.");
        http_reply_header(req, "Retry-After", "5");
        return;
    case SD_ERR_DB_BUSY:
    case SD_ERR_DB_RETRY:
    case SD_ERR_STALE: /* matrices kept changing under the request: retrying is the answer */
        http_reply_problem(req, 503, "The service is busy; retry shortly.");
        http_reply_header(req, "Retry-After", "1");
        return;
    case SD_ERR_DB_TIMEOUT:
        http_reply_problem(req, 503, "The database did not answer in time.");
        http_reply_header(req, "Retry-After", "5");
        return;
    default:
        log_error("request failed: %s", sd_rc_str(rc));
        http_reply_problem(req, 500, "An unexpected error occurred; it has been logged.");
        return;
    }
}
