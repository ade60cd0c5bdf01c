/* JSON request bodies: media type (415), syntax (400 with line and column), numbers too large
 * for jansson (422: a value problem, not a syntax one — TRAPS.md). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http_internal.h"

/* "application/json", "application/merge-patch+json; charset=utf-8" … */
static bool is_json_media_type(const char *ct)
{
    if (ct == NULL)
        return false;
    size_t n = strcspn(ct, ";");
    while (n > 0 && ct[n - 1] == ' ')
        n--;
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return true;
    return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
           strncasecmp(ct + n - 5, "+json", 5) == 0;
}

bool http_parse_json_body(struct sd_request *req)
{
    if (req->body.len == 0) {
        http_reply_problem(req, 400, "This endpoint needs a JSON body.");
        return false;
    }
    if (!is_json_media_type(req->headers[H_CONTENT_TYPE])) {
        http_reply_problem(req, 415, "Send the body as 'Content-Type: application/json'.");
        http_reply_header(req, "Accept-Post", "application/json");
        return false;
    }
    json_error_t err;
    req->json = json_loadb(req->body.data, req->body.len,
                           JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (req->json != NULL)
        return true;
    char detail[320];
    if (json_error_code(&err) == json_error_numeric_overflow) {
        struct sd_errors errs;
        sd_errors_init(&errs);
        snprintf(detail, sizeof detail, "number out of range at line %d, column %d", err.line,
                 err.column);
        sd_errors_add(&errs, detail, "%s", "");
        http_reply_invalid(req, &errs);
        return false;
    }
    snprintf(detail, sizeof detail, "Malformed JSON at line %d, column %d: %s", err.line,
             err.column, err.text);
    json_t *doc = http_problem_new(400, detail, req->request_id);
    json_object_set_new(doc, "line", json_integer(err.line));
    json_object_set_new(doc, "column", json_integer(err.column));
    http_reply_problem_doc(req, 400, doc);
    return false;
}
