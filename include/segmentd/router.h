/* The router table: method + path pattern → handler, with the access each route demands.
 * Patterns are literal segments and `{name}` placeholders matching one non-empty segment
 * ("/v1/keys/{id}"). Matching is pure (no MHD), so it is unit-tested alone. */
#ifndef SEGMENTD_ROUTER_H
#define SEGMENTD_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "segmentd/core_access.h"

#define SD_MAX_PATH_PARAMS 4
#define SD_MAX_SEGMENT 1024

struct sd_request;
typedef void (*sd_handler_fn)(struct sd_request *req);

enum sd_route_flags {
    SD_ROUTE_INLINE = 1 << 0,  /* cheap, no database: answered on the I/O thread */
    SD_ROUTE_JSON = 1 << 1,    /* needs a JSON body (415 / 400 otherwise) */
    SD_ROUTE_ANYTIME = 1 << 2, /* served before migrations are applied (/readyz) */
    /* The body is spooled to an unlinked file as it arrives (never to memory), after the caller
     * is authenticated and `preflight` accepted the request (imports). */
    SD_ROUTE_STREAM = 1 << 3
};

struct sd_route {
    const char *method;
    const char *pattern;
    enum sd_access access;
    unsigned flags;
    sd_handler_fn handler;
    /* SD_ROUTE_STREAM only: runs after authentication, before the body is read; a reply it
     * makes is sent instead of reading the body (e.g. 415, or 400 for bad query parameters). */
    sd_handler_fn preflight;
};

enum sd_route_match {
    SD_MATCH_OK,
    SD_MATCH_NOT_FOUND,  /* no pattern matches the path: 404 */
    SD_MATCH_BAD_METHOD, /* the path exists with other methods: 405 + Allow */
    SD_MATCH_BAD_PATH    /* bad percent-encoding or over-long segment: 400 */
};

struct sd_match {
    const struct sd_route *route;
    size_t route_index;
    /* Decoded path parameters, in pattern order (each NUL-terminated, owned by the match). */
    char params[SD_MAX_PATH_PARAMS][SD_MAX_SEGMENT];
    size_t nparams;
    /* For 405 and OPTIONS: the methods the path allows, "GET, POST". */
    char allow[96];
};

/* Matches a raw (still percent-encoded) path. HEAD matches GET routes. */
enum sd_route_match sd_router_match(const struct sd_route *routes, size_t nroutes,
                                    const char *method, const char *raw_path, struct sd_match *out);

/* Percent-decodes `in[0..len)` into `out` (NUL-terminated). With `plus_is_space` (query strings)
 * '+' becomes ' '. False on a bad escape, an encoded NUL, or when `out` is too small. */
bool sd_url_decode(const char *in, size_t len, char *out, size_t outlen, bool plus_is_space);

/* True when `s` is well-formed UTF-8 (RFC 3629: no overlongs, surrogates or code points above
 * U+10FFFF). Decoded path parameters are checked (SD_MATCH_BAD_PATH otherwise). */
bool sd_utf8_valid(const char *s);

#endif
