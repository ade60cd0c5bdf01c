/* The dashboard: web/index.html, app.js and app.css, compiled into the binary like openapi.yaml
 * (cmake/embed.cmake), so the page works where the service runs, with no internet and no file
 * beside the binary. Public and inline: the page holds no data, it reads the /v1 API with the key
 * its user types in. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "segmentd/embedded_files.h"

/* The page runs only our own files: no inline script or style, no other origin, no framing. */
#define WEB_CSP                                                                                    \
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "              \
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

struct web_file {
    const char *name;
    const char *content_type;
    const struct sd_embedded_file *file; /* borrowed from sd_static_files */
    char etag[24];                       /* "\"<16 hex digits>\"" */
};

static struct web_file web_files[] = {
    {"index.html", "text/html; charset=utf-8", NULL, ""},
    {"app.js", "text/javascript; charset=utf-8", NULL, ""},
    {"app.css", "text/css; charset=utf-8", NULL, ""},
};
static pthread_once_t web_once = PTHREAD_ONCE_INIT;

/* FNV-1a: a validator, not a security measure; the content is ours and fixed at build time. */
static unsigned long long web_hash(const char *data, unsigned long len)
{
    unsigned long long h = 1469598103934665603ULL;
    for (unsigned long i = 0; i < len; i++) {
        h ^= (unsigned char)data[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* Runs once (I/O threads may race on the first requests): finds each file and its ETag. */
static void web_init(void)
{
    for (size_t w = 0; w < sizeof web_files / sizeof web_files[0]; w++) {
        for (unsigned long i = 0; i < sd_static_files_count; i++) {
            const struct sd_embedded_file *f = &sd_static_files[i];
            if (strcmp(f->name, web_files[w].name) != 0)
                continue;
            web_files[w].file = f;
            snprintf(web_files[w].etag, sizeof web_files[w].etag, "\"%016llx\"",
                     web_hash(f->data, f->len));
        }
    }
}

static void web_serve(struct sd_request *req, size_t which)
{
    pthread_once(&web_once, web_init);
    const struct web_file *w = &web_files[which];
    if (w->file == NULL) {
        http_reply_problem(req, 404, "This file is not in this build.");
        return;
    }
    http_reply_static(req, 200, w->content_type, w->file->data, w->file->len);
    /* no-cache: revalidate each time, so an upgraded binary never runs with a stale app.js. */
    http_reply_header(req, "Cache-Control", "no-cache");
    http_reply_header(req, "ETag", w->etag);
    http_reply_header(req, "Content-Security-Policy", WEB_CSP);
    http_reply_header(req, "X-Content-Type-Options", "nosniff");
    http_reply_header(req, "Referrer-Policy", "no-referrer");
}

void api_web_index(struct sd_request *req)
{
    web_serve(req, 0);
}

void api_web_js(struct sd_request *req)
{
    web_serve(req, 1);
}

void api_web_css(struct sd_request *req)
{
    web_serve(req, 2);
}
