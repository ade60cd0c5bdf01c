/* CORS for browser front ends: allowed origins come from [http] cors_origins ("*" or a list).
 * With none configured no CORS header is ever sent, and browsers keep other origins out. */
#include <string.h>
#include <strings.h>

#include "http_internal.h"

static bool origin_allowed(const char *allowed, const char *origin)
{
    if (allowed == NULL || allowed[0] == '\0' || origin == NULL)
        return false;
    size_t olen = strlen(origin);
    const char *p = allowed;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ", ");
        if ((n == 1 && *p == '*') || (n == olen && strncasecmp(p, origin, n) == 0))
            return true;
        p += n;
    }
    return false;
}

void http_cors_decorate(struct sd_request *req, struct MHD_Response *resp)
{
    const char *origin = req->headers[H_ORIGIN];
    if (!origin_allowed(req->app->cfg->http_cors_origins, origin))
        return;
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
    MHD_add_response_header(resp, "Vary", "Origin");
    MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                            "X-Request-Id, Retry-After, Location");
}

/* OPTIONS on a known path: the methods it takes, and a CORS preflight answer when the origin is
 * allowed. Needs no key (browsers send preflights without credentials). */
void http_reply_options(struct sd_request *req)
{
    http_reply_empty(req, 204);
    http_reply_header(req, "Allow", req->match.allow);
    if (req->headers[H_ACR_METHOD] != NULL &&
        origin_allowed(req->app->cfg->http_cors_origins, req->headers[H_ORIGIN])) {
        http_reply_header(req, "Access-Control-Allow-Methods", req->match.allow);
        http_reply_header(req, "Access-Control-Allow-Headers",
                          "Authorization, Content-Type, Accept, Segmentd-Workspace, X-Request-Id");
        http_reply_header(req, "Access-Control-Max-Age", "600");
    }
}
