/* Private to src/http: the request context and the pieces that share it. */
#ifndef SEGMENTD_HTTP_INTERNAL_H
#define SEGMENTD_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <stdatomic.h>

#include "segmentd/http.h"
#include "segmentd/router.h"
#include "segmentd/util.h"

#define SD_MAX_QUERY_ARGS 32
#define SD_MAX_REPLY_HEADERS 8

enum req_state {
    REQ_RECEIVING, /* headers and body arriving */
    REQ_QUEUED,    /* suspended, waiting for or running on a worker */
    REQ_DONE,      /* reply built, to be queued on the next access-handler call */
    REQ_ANSWERED,  /* reply queued to libmicrohttpd */
    REQ_STREAMING, /* stream route: body going to the spool file */
    REQ_REFUSED    /* stream route: refused before its body; the body is dropped, then answered */
};

struct query_arg {
    char *name;
    char *value; /* "" when the argument had no '=' */
};

/* Headers copied off the connection before the request leaves the I/O thread. */
enum kept_header {
    H_AUTHORIZATION,
    H_WORKSPACE,
    H_CONTENT_TYPE,
    H_ACCEPT,
    H_ORIGIN,
    H_ACR_METHOD, /* Access-Control-Request-Method */
    H_COUNT
};

struct sd_request {
    struct sd_app *app;
    struct MHD_Connection *conn;
    struct sd_request *next_job; /* worker queue link */
    _Atomic int state;           /* enum req_state */
    char method[16];
    char *path;
    char request_id[72];
    char *headers[H_COUNT];
    struct query_arg query[SD_MAX_QUERY_ARGS];
    size_t nquery;
    struct sd_match match;
    enum sd_route_match match_result;
    long route_index; /* -1 when unmatched */
    struct sd_buf body;
    bool body_too_large;
    bool query_copied;
    bool streaming;   /* an SD_ROUTE_STREAM route */
    int spool_fd;     /* -1 when none */
    int64_t spooled;  /* bytes written to the spool */
    size_t discarded; /* bytes of an oversized body read and dropped */
    json_t *json;
    struct sd_db *db;
    struct sd_caller caller;
    struct MHD_Response *response;
    unsigned status;
    int64_t started_us;
};

/* request.c */
struct sd_request *http_request_new(struct sd_app *app, struct MHD_Connection *conn,
                                    const char *url, const char *method);
void http_request_free(struct sd_request *req);
bool http_request_copy_query(struct sd_request *req);

/* auth.c: authenticates on req->db; replies 401/403/404 itself and returns false on refusal. */
bool http_authenticate(struct sd_request *req);

/* ratelimit.c: takes one token from the caller's bucket ([limits] rate_per_key); replies 429 with
 * Retry-After itself and returns false when the key is over its rate. Call after authentication. */
bool http_rate_admit(struct sd_request *req);

/* reaper.c: closes connections that do not deliver a request's headers within a deadline.
 * http_reaper_notify is the MHD_OPTION_NOTIFY_CONNECTION callback (cls: the reaper); stop it
 * after MHD_stop_daemon. */
struct http_reaper;
struct http_reaper *http_reaper_start(int64_t header_timeout_ms);
void http_reaper_stop(struct http_reaper *r);
void http_reaper_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe);
/* The headers of a request are in (first access-handler call): no deadline while it runs. */
void http_reaper_headers_done(struct MHD_Connection *conn);
/* A request ended: the next one's headers are due within the deadline from now. */
void http_reaper_request_done(struct MHD_Connection *conn);

/* body.c: checks the media type and parses the JSON body; replies 400/415/422 on failure. */
bool http_parse_json_body(struct sd_request *req);

/* cors.c */
void http_cors_decorate(struct sd_request *req, struct MHD_Response *resp);
void http_reply_options(struct sd_request *req);

/* workers.c: a fixed set of threads running suspended requests. */
struct sd_workers;
struct sd_workers *http_workers_start(int nthreads, void (*run)(struct sd_request *));
/* False once draining has begun (the caller answers 503 itself). */
bool http_workers_push(struct sd_workers *w, struct sd_request *req);
/* Refuses new work, runs what is queued, joins the threads (the queue object stays valid). */
void http_workers_drain(struct sd_workers *w);
/* Drains if needed, then frees. */
void http_workers_stop(struct sd_workers *w);

int64_t http_now_us(void);

#endif
