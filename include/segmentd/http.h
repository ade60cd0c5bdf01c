/* The HTTP layer seen from a handler: the request, and the replies.
 *
 * A handler runs once per request, on a worker thread (or on the I/O thread for SD_ROUTE_INLINE
 * routes), and must produce exactly one reply with one of the http_reply_* functions. Everything
 * it reads (headers, query, body) was copied off the connection before it runs. */
#ifndef SEGMENTD_HTTP_H
#define SEGMENTD_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "segmentd/app.h"
#include "segmentd/core_errors.h"
#include "segmentd/db.h"
#include "segmentd/rc.h"

struct sd_request;

/* Who is calling, once authenticated. */
struct sd_caller {
    long long workspace_id;
    char workspace[64];
    unsigned scopes;   /* enum sd_scope bits */
    bool is_bootstrap; /* the bootstrap admin key */
    long long key_id;  /* 0 for the bootstrap key */
};

struct sd_app *http_req_app(const struct sd_request *req);
const char *http_req_method(const struct sd_request *req);
/* i-th `{param}` of the route's pattern, percent-decoded (borrowed). */
const char *http_req_param(const struct sd_request *req, size_t i);
/* Query argument `name`, decoded (borrowed), or NULL. */
const char *http_req_query(const struct sd_request *req, const char *name);
/* Request header (borrowed) among those the layer keeps (Accept, Content-Type …), or NULL. */
const char *http_req_header(const struct sd_request *req, const char *name);
/* The parsed JSON body of an SD_ROUTE_JSON route (borrowed). */
json_t *http_req_json(const struct sd_request *req);
/* The raw body (borrowed; NUL-terminated). */
const char *http_req_body(const struct sd_request *req, size_t *len);
/* The pooled connection lent for this request (NULL on inline routes). */
struct sd_db *http_req_db(const struct sd_request *req);
const struct sd_caller *http_req_caller(const struct sd_request *req);

/* SD_ROUTE_STREAM: takes the spooled body (an unlinked file, positioned at its start) and its
 * size; the caller closes it. -1 if there is none. */
int http_req_take_spool(struct sd_request *req, int64_t *size);

/* Replies. `body` is stolen (decref'd by the layer). */
void http_reply_json(struct sd_request *req, unsigned status, json_t *body);
void http_reply_empty(struct sd_request *req, unsigned status);
/* `data` is copied. */
void http_reply_bytes(struct sd_request *req, unsigned status, const char *content_type,
                      const char *data, size_t len);
/* `data` outlives the server (static). */
void http_reply_static(struct sd_request *req, unsigned status, const char *content_type,
                       const char *data, size_t len);
/* A body produced piece by piece while it is sent (constant memory). `fn` fills up to `max`
 * bytes and returns how many (> 0), 0 at the end, -1 on an error (the connection is cut, so the
 * client sees a truncated body rather than a wrong one). It runs on an I/O thread; `free_ctx`
 * runs when the response is done. */
typedef long (*http_stream_fn)(void *ctx, char *buf, size_t max);
void http_reply_stream(struct sd_request *req, unsigned status, const char *content_type,
                       http_stream_fn fn, void *ctx, void (*free_ctx)(void *));
/* RFC 9457 problem+json: type from the status, `detail` may be NULL. */
void http_reply_problem(struct sd_request *req, unsigned status, const char *detail);
/* A problem document built by the caller (from http_problem_new, with extra members; stolen). */
void http_reply_problem_doc(struct sd_request *req, unsigned status, json_t *doc);
/* 422 with the list of validation errors. */
void http_reply_invalid(struct sd_request *req, const struct sd_errors *errors);
/* The reply for a failed sd_rc: 404, 409, 503 + Retry-After, 500 … */
void http_reply_rc(struct sd_request *req, enum sd_rc rc);
/* Adds a header to the reply about to be sent (call after http_reply_*). */
void http_reply_header(struct sd_request *req, const char *name, const char *value);

/* The problem document for `status` (new reference): pure, used by the replies and tested alone. */
json_t *http_problem_new(unsigned status, const char *detail, const char *request_id);
/* Reason phrase of a status code ("Not Found"). */
const char *http_status_phrase(unsigned status);

#endif
