/* libmicrohttpd lifecycle and the access handler.
 *
 * A request goes through the handler in up to four calls:
 *   1. headers arrived: build the context; answer nothing yet (a reply queued in the first call
 *      loses keep-alive — TRAPS.md), except 413 on an announced oversized body;
 *   2. body chunks: append to the capped buffer (413 once the cap is passed);
 *   3. body complete: route; inline routes and errors are answered at once, the rest are
 *      suspended and handed to a worker;
 *   4. after the worker resumes the connection: queue the reply it built. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include "http_internal.h"
#include "segmentd/http_server.h"
#include "segmentd/log.h"
#include "segmentd/metrics.h"

struct sd_http_server {
    struct MHD_Daemon *daemon;
    struct sd_app *app;
    struct sd_workers *workers;
    struct http_reaper *reaper;
    char *tls_cert, *tls_key; /* PEM text, NULL for plain HTTP; kept while the daemon runs */
    atomic_int in_flight;
    uint16_t port;
};

/* ---- the worker side ---- */

static bool acquire_db(struct sd_request *req)
{
    enum sd_rc rc = sd_pool_acquire(req->app->pool, &req->db);
    if (rc == SD_OK)
        return true;
    req->db = NULL;
    http_reply_rc(req, rc);
    return false;
}

static void release_db(struct sd_request *req)
{
    if (req->db != NULL) {
        sd_pool_release(req->app->pool, req->db);
        req->db = NULL;
    }
}

static bool schema_ready(struct sd_request *req)
{
    if (atomic_load(&req->app->ready) || (req->match.route->flags & SD_ROUTE_ANYTIME))
        return true;
    http_reply_problem(req, 503, "segmentd is starting: the database schema is not ready.");
    http_reply_header(req, "Retry-After", "5");
    return false;
}

/* The spool: an unlinked file, so nothing is left behind whatever happens to the process. */
static bool open_spool(struct sd_request *req)
{
    char path[512];
    snprintf(path, sizeof path, "%s/segmentd-upload-XXXXXX", req->app->cfg->limits_spool_dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        log_error("cannot create a spool file in %s", req->app->cfg->limits_spool_dir);
        http_reply_problem(req, 503, "No room to receive the body; retry later.");
        http_reply_header(req, "Retry-After", "30");
        return false;
    }
    unlink(path);
    req->spool_fd = fd;
    return true;
}

/* Stream routes, before the body: authenticate, let the route refuse, open the spool. */
static void run_stream_admission(struct sd_request *req)
{
    const struct sd_route *route = req->match.route;
    bool ok = schema_ready(req) && acquire_db(req) && http_authenticate(req);
    if (ok && route->preflight != NULL)
        route->preflight(req);
    release_db(req);
    ok = ok && req->response == NULL && open_spool(req);
    atomic_store(&req->state, ok ? REQ_STREAMING : REQ_REFUSED);
}

/* Runs on a worker thread while the connection is suspended. */
static void run_request(struct sd_request *req)
{
    const struct sd_route *route = req->match.route;
    sd_log_set_request_id(req->request_id);
    if (!schema_ready(req)) {
        /* answered */
    } else if (route->access == SD_ACCESS_PUBLIC) {
        route->handler(req);
    } else if (req->streaming) {
        if (acquire_db(req)) /* authenticated on admission */
            route->handler(req);
    } else if (acquire_db(req) && http_authenticate(req) &&
               (!(route->flags & SD_ROUTE_JSON) || http_parse_json_body(req))) {
        route->handler(req);
    }
    release_db(req);
    if (req->response == NULL) {
        log_error("handler for %s %s produced no reply", route->method, route->pattern);
        http_reply_problem(req, 500, NULL);
    }
    sd_log_set_request_id(NULL);
    atomic_store(&req->state, REQ_DONE);
    MHD_resume_connection(req->conn);
}

/* ---- the I/O side ---- */

static bool is_api_path(const char *path)
{
    return path != NULL && strncmp(path, "/v1", 3) == 0 && (path[3] == '\0' || path[3] == '/');
}

static enum MHD_Result queue_reply(struct sd_request *req)
{
    struct MHD_Response *resp = req->response;
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "X-Request-Id", req->request_id);
    /* Answers under /v1 may hold personal data (customers, call lists, deliveries): no browser,
     * proxy or CDN may keep a copy. The dashboard's static files stay cacheable. */
    if (is_api_path(req->path))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    http_cors_decorate(req, resp);
    if (atomic_load(&req->app->stopping))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    atomic_store(&req->state, REQ_ANSWERED);
    return MHD_queue_response(req->conn, req->status, resp);
}

static enum MHD_Result answer_now(struct sd_request *req, unsigned status, const char *detail)
{
    http_reply_problem(req, status, detail);
    return queue_reply(req);
}

static enum MHD_Result route_request(struct sd_http_server *srv, struct sd_request *req)
{
    struct sd_app *app = srv->app;
    if (!req->streaming)
        req->match_result =
            sd_router_match(app->routes, app->nroutes, req->method, req->path, &req->match);
    switch (req->match_result) {
    case SD_MATCH_BAD_PATH:
        return answer_now(req, 400, "The path has a bad percent-encoding.");
    case SD_MATCH_NOT_FOUND:
        return answer_now(req, 404, "No endpoint at this path.");
    case SD_MATCH_BAD_METHOD:
        if (strcmp(req->method, "OPTIONS") == 0) {
            http_reply_options(req);
            return queue_reply(req);
        }
        http_reply_problem(req, 405, "This path does not take this method.");
        http_reply_header(req, "Allow", req->match.allow);
        return queue_reply(req);
    case SD_MATCH_OK:
        break;
    }
    req->route_index = (long)req->match.route_index;
    if (!http_request_copy_query(req))
        return answer_now(req, 400, "Bad query string (encoding, or more than 32 arguments).");
    if (req->match.route->flags & SD_ROUTE_INLINE) {
        req->match.route->handler(req);
        return queue_reply(req);
    }
    atomic_store(&req->state, REQ_QUEUED);
    MHD_suspend_connection(req->conn);
    if (!http_workers_push(srv->workers, req)) {
        /* Shutting down: nobody will run it. Resume and answer here instead. */
        MHD_resume_connection(req->conn);
        http_reply_problem(req, 503, "segmentd is shutting down.");
        http_reply_header(req, "Retry-After", "5");
        atomic_store(&req->state, REQ_DONE);
    }
    return MHD_YES;
}

/* Oversized bodies. Answering 413 while the client is still sending makes the kernel reset the
 * connection, and the client may never read the answer; so the rest of the body is read and
 * dropped, and 413 sent once it is in (keep-alive survives). Only a client that waits for
 * "100 Continue" is answered at once, before it sends anything. A body past DISCARD_LIMIT is not
 * worth reading: announced, it is answered 413 at once and the connection closed; sent without
 * a length (chunked), the connection is dropped once DISCARD_LIMIT is passed. */
#define DISCARD_LIMIT (64 * 1024 * 1024)

/* The announced Content-Length, or -1 when there is none. */
static int64_t announced_length(struct sd_request *req)
{
    const char *cl =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    int64_t n;
    return cl != NULL && sd_parse_i64(cl, 0, INT64_MAX, &n) ? n : -1;
}

static bool expects_continue(struct sd_request *req)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT) != NULL;
}

static bool spool_write(struct sd_request *req, const char *data, size_t size)
{
    while (size > 0) {
        ssize_t n = write(req->spool_fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        size -= (size_t)n;
        req->spooled += n;
    }
    return true;
}

static enum MHD_Result on_stream_chunk(struct sd_request *req, const char *data, size_t *size)
{
    int state = atomic_load(&req->state);
    if (state == REQ_STREAMING && !req->body_too_large) {
        if ((int64_t)(req->spooled + *size) > req->app->cfg->limits_max_import_bytes) {
            req->body_too_large = true;
        } else if (!spool_write(req, data, *size)) {
            log_error("spool write failed (disk full?)");
            return MHD_NO;
        }
    }
    if (state != REQ_STREAMING || req->body_too_large) {
        req->discarded += *size;
        if (req->discarded > DISCARD_LIMIT)
            return MHD_NO;
    }
    *size = 0;
    return MHD_YES;
}

static enum MHD_Result on_body_chunk(struct sd_request *req, const char *data, size_t *size)
{
    if (req->streaming)
        return on_stream_chunk(req, data, size);
    if (!req->body_too_large && sd_buf_append(&req->body, data, *size) != SD_OK) {
        req->body_too_large = true;
        req->discarded = req->body.len;
        sd_buf_free(&req->body);
    }
    if (req->body_too_large) {
        req->discarded += *size;
        if (req->discarded > DISCARD_LIMIT)
            return MHD_NO;
    }
    *size = 0;
    return MHD_YES;
}

/* Stream routes are known from the first call, so the body can go to the spool as it comes. */
static bool is_stream_route(struct sd_http_server *srv, struct sd_request *req)
{
    struct sd_app *app = srv->app;
    req->match_result =
        sd_router_match(app->routes, app->nroutes, req->method, req->path, &req->match);
    req->streaming =
        req->match_result == SD_MATCH_OK && (req->match.route->flags & SD_ROUTE_STREAM) != 0;
    return req->streaming;
}

/* Admission runs right here on the I/O thread (one key lookup): suspending before the body
 * leaves no way to tell the call that follows a resume from the end of an empty body. Imports are
 * rare; every other route goes to the workers. */
static enum MHD_Result admit_stream(struct sd_request *req)
{
    req->route_index = (long)req->match.route_index;
    if (!http_request_copy_query(req))
        return answer_now(req, 400, "Bad query string (encoding, or more than 32 arguments).");
    sd_log_set_request_id(req->request_id);
    run_stream_admission(req);
    sd_log_set_request_id(NULL);
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct sd_http_server *srv = cls;
    struct sd_request *req = *con_cls;
    if (req == NULL) {
        http_reaper_headers_done(conn);
        req = http_request_new(srv->app, conn, url, method);
        if (req == NULL)
            return MHD_NO;
        *con_cls = req;
        atomic_fetch_add(&srv->in_flight, 1);
        sd_metrics_in_flight(srv->app->metrics, 1);
        if (is_stream_route(srv, req))
            return admit_stream(req);
        int64_t announced = announced_length(req);
        if (announced > (int64_t)req->body.max) {
            /* Answered at once (the connection then closes) when the client waits for "100
             * Continue", or when the body is too big to be worth reading and dropping. */
            if (expects_continue(req) || announced > DISCARD_LIMIT)
                return answer_now(req, 413, "The body exceeds [limits] max_body_bytes.");
            req->body_too_large = true;
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0)
        return on_body_chunk(req, upload_data, upload_data_size);
    switch (atomic_load(&req->state)) {
    case REQ_RECEIVING:
        if (req->body_too_large)
            return answer_now(req, 413, "The body exceeds [limits] max_body_bytes.");
        return route_request(srv, req);
    case REQ_STREAMING:
        if (req->body_too_large)
            return answer_now(req, 413, "The body exceeds [limits] max_import_bytes.");
        return route_request(srv, req);
    case REQ_DONE:
    case REQ_REFUSED:
        return queue_reply(req);
    default:
        return MHD_YES;
    }
}

static void access_log(const struct sd_request *req, double seconds, bool completed)
{
    if (sd_log_min_level > SD_LOG_INFO)
        return;
    char path[512], fields[900];
    sd_log_json_escape(req->path ? req->path : "", path, sizeof path);
    snprintf(fields, sizeof fields,
             "\"method\":\"%s\",\"path\":\"%s\",\"status\":%u,\"duration_ms\":%.3f,"
             "\"workspace\":\"%s\"%s",
             req->method, path, req->status, seconds * 1000.0, req->caller.workspace,
             completed ? "" : ",\"aborted\":true");
    sd_log_set_request_id(req->request_id);
    sd_log_write(SD_LOG_INFO, fields, "request");
    sd_log_set_request_id(NULL);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct sd_http_server *srv = cls;
    struct sd_request *req = *con_cls;
    http_reaper_request_done(conn);
    if (req == NULL)
        return;
    double seconds = (double)(http_now_us() - req->started_us) / 1e6;
    sd_metrics_observe(srv->app->metrics, req->route_index, req->status, seconds);
    access_log(req, seconds, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
    http_request_free(req);
    *con_cls = NULL;
    sd_metrics_in_flight(srv->app->metrics, -1);
    atomic_fetch_sub(&srv->in_flight, 1);
}

/* Paths reach the router still percent-encoded, so "%2F" inside an id stays inside its segment
 * (TRAPS.md); the router and the query copier decode. */
static size_t keep_escaped(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_debug("libmicrohttpd: %s", msg);
}

static enum sd_rc resolve_bind(const char *host, int port, struct sockaddr_storage *addr)
{
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_PASSIVE, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    if (getaddrinfo(host, service, &hints, &res) != 0 || res == NULL) {
        hints.ai_flags = AI_PASSIVE;
        if (getaddrinfo(host, service, &hints, &res) != 0 || res == NULL)
            return SD_ERR_INVALID;
    }
    memset(addr, 0, sizeof *addr);
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return SD_OK;
}

/* A PEM file's text, NUL-terminated (new; the caller frees), or NULL with the error logged. */
static char *read_pem(const char *key, const char *path)
{
    char *text = NULL;
    struct sd_buf b;
    sd_buf_init(&b, 1024 * 1024);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        log_error("[http] %s: cannot open '%s': %s", key, path, strerror(errno));
        goto out;
    }
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (sd_buf_append(&b, chunk, n) != SD_OK) {
            log_error("[http] %s: '%s' is larger than 1 MiB", key, path);
            goto out;
        }
    }
    if (ferror(f) || b.len == 0) {
        log_error("[http] %s: cannot read '%s' (or it is empty)", key, path);
        goto out;
    }
    text = sd_buf_steal(&b, NULL);
out:
    if (f != NULL)
        fclose(f);
    sd_buf_free(&b);
    return text;
}

/* Reads [http] tls_cert and tls_key: both set (HTTPS), or both empty (plain HTTP). */
static enum sd_rc load_tls(const struct sd_config *cfg, struct sd_http_server *srv)
{
    bool has_cert = cfg->http_tls_cert[0] != '\0', has_key = cfg->http_tls_key[0] != '\0';
    if (!has_cert && !has_key)
        return SD_OK;
    if (has_cert != has_key) {
        log_error("[http] tls_cert and tls_key go together: set both (HTTPS) or neither");
        return SD_ERR_INVALID;
    }
    srv->tls_cert = read_pem("tls_cert", cfg->http_tls_cert);
    srv->tls_key = srv->tls_cert ? read_pem("tls_key", cfg->http_tls_key) : NULL;
    return srv->tls_key != NULL ? SD_OK : SD_ERR_INVALID;
}

static void server_free(struct sd_http_server *srv)
{
    http_workers_stop(srv->workers);
    http_reaper_stop(srv->reaper);
    if (srv->tls_key != NULL)
        OPENSSL_cleanse(srv->tls_key, strlen(srv->tls_key));
    free(srv->tls_key);
    free(srv->tls_cert);
    free(srv);
}

enum sd_rc sd_http_start(struct sd_app *app, struct sd_http_server **out)
{
    const struct sd_config *cfg = app->cfg;
    struct sockaddr_storage addr;
    if (resolve_bind(cfg->http_bind, cfg->http_port, &addr) != SD_OK) {
        log_error("[http] bind: cannot resolve '%s'", cfg->http_bind);
        return SD_ERR_INVALID;
    }
    struct sd_http_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return SD_ERR_NOMEM;
    srv->app = app;
    enum sd_rc rc = load_tls(cfg, srv);
    if (rc != SD_OK) {
        server_free(srv);
        return rc;
    }
    srv->workers = http_workers_start(cfg->http_workers, run_request);
    srv->reaper = http_reaper_start(cfg->http_header_timeout_ms);
    if (srv->workers == NULL || srv->reaper == NULL) {
        server_free(srv);
        return SD_ERR_IO;
    }
    bool tls = srv->tls_cert != NULL;
    struct MHD_OptionItem tls_opts[] = {
        {tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, srv->tls_cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | (addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0) |
                     (tls ? MHD_USE_TLS : 0);
    unsigned idle_s = (unsigned)((cfg->http_idle_timeout_ms + 999) / 1000);
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->http_threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)cfg->http_connection_limit, MHD_OPTION_CONNECTION_TIMEOUT, idle_s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped,
        NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1,
        MHD_OPTION_NOTIFY_CONNECTION, http_reaper_notify, srv->reaper, MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
    if (srv->daemon == NULL) {
        log_error("cannot listen on %s:%d (address in use, or not allowed%s)", cfg->http_bind,
                  cfg->http_port,
                  tls ? "; or [http] tls_cert / tls_key are not a matching PEM pair" : "");
        server_free(srv);
        return SD_ERR_IO;
    }
    if (tls)
        log_info("HTTPS on %s:%d", cfg->http_bind, cfg->http_port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : (uint16_t)cfg->http_port;
    *out = srv;
    return SD_OK;
}

uint16_t sd_http_port(const struct sd_http_server *srv)
{
    return srv->port;
}

void sd_http_stop(struct sd_http_server *srv, int64_t timeout_ms)
{
    if (srv == NULL)
        return;
    atomic_store(&srv->app->stopping, true);
    MHD_socket listen_fd = MHD_quiesce_daemon(srv->daemon);
    if (listen_fd != MHD_INVALID_SOCKET)
        close(listen_fd);
    int64_t deadline = sd_now_mono_ms() + timeout_ms;
    while (atomic_load(&srv->in_flight) > 0 && sd_now_mono_ms() < deadline)
        usleep(10 * 1000);
    if (atomic_load(&srv->in_flight) > 0)
        log_warn("stopping with %d request(s) still in flight", atomic_load(&srv->in_flight));
    /* Workers finish what they hold and resume those connections: libmicrohttpd must not be
     * stopped with a suspended connection (TRAPS.md). */
    http_workers_drain(srv->workers);
    MHD_stop_daemon(srv->daemon);
    server_free(srv);
}
