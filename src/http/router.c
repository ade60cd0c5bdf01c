#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "segmentd/router.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool sd_url_decode(const char *in, size_t len, char *out, size_t outlen, bool plus_is_space)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= len)
                return false;
            int hi = hex_value(in[i + 1]);
            int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return false;
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (o + 1 >= outlen)
            return false;
        out[o++] = c;
    }
    if (outlen == 0)
        return false;
    out[o] = '\0';
    return true;
}

bool sd_utf8_valid(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    while (*s != '\0') {
        unsigned char c = *s++;
        int more = c < 0x80                 ? 0
                   : c >= 0xc2 && c <= 0xdf ? 1
                   : c >= 0xe0 && c <= 0xef ? 2
                   : c >= 0xf0 && c <= 0xf4 ? 3
                                            : -1;
        if (more < 0)
            return false;
        unsigned char lo = 0x80, hi = 0xbf; /* the range of the first continuation byte */
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
        else if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
        for (int i = 0; i < more; i++, s++) {
            if (*s < (i == 0 ? lo : 0x80) || *s > (i == 0 ? hi : 0xbf))
                return false;
        }
    }
    return true;
}

/* Next segment of a path: sets *seg / *len, returns the rest (NULL at the end). */
static const char *next_segment(const char *p, const char **seg, size_t *len)
{
    if (*p != '/')
        return NULL;
    p++;
    const char *end = strchr(p, '/');
    *seg = p;
    *len = end ? (size_t)(end - p) : strlen(p);
    return p + *len;
}

/* Does `pattern` match `path`? Fills decoded params. -1: bad encoding. */
static int match_pattern(const char *pattern, const char *path, struct sd_match *m)
{
    const char *pp = pattern, *xp = path;
    m->nparams = 0;
    for (;;) {
        const char *ps, *xs;
        size_t pl, xl;
        bool pmore = *pp != '\0', xmore = *xp != '\0';
        if (!pmore || !xmore)
            return !pmore && !xmore;
        pp = next_segment(pp, &ps, &pl);
        xp = next_segment(xp, &xs, &xl);
        if (pp == NULL || xp == NULL)
            return 0;
        if (pl >= 2 && ps[0] == '{' && ps[pl - 1] == '}') {
            if (xl == 0 || m->nparams >= SD_MAX_PATH_PARAMS)
                return 0;
            char *dst = m->params[m->nparams++];
            /* A parameter becomes SQL text, which PostgreSQL refuses unless UTF-8 (a 500). */
            if (!sd_url_decode(xs, xl, dst, SD_MAX_SEGMENT, false) || !sd_utf8_valid(dst))
                return -1;
        } else if (pl != xl || memcmp(ps, xs, pl) != 0) {
            return 0;
        }
    }
}

static void add_allow(struct sd_match *m, const char *method)
{
    if (strstr(m->allow, method) != NULL)
        return;
    size_t n = strlen(m->allow);
    snprintf(m->allow + n, sizeof m->allow - n, "%s%s", n ? ", " : "", method);
}

enum sd_route_match sd_router_match(const struct sd_route *routes, size_t nroutes,
                                    const char *method, const char *raw_path, struct sd_match *out)
{
    const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
    bool path_known = false;
    out->route = NULL;
    out->allow[0] = '\0';
    struct sd_match tmp;
    for (size_t i = 0; i < nroutes; i++) {
        int r = match_pattern(routes[i].pattern, raw_path, &tmp);
        if (r < 0)
            return SD_MATCH_BAD_PATH;
        if (r == 0)
            continue;
        path_known = true;
        add_allow(out, routes[i].method);
        if (out->route == NULL && strcmp(routes[i].method, want) == 0) {
            memcpy(out->params, tmp.params, sizeof tmp.params);
            out->nparams = tmp.nparams;
            out->route = &routes[i];
            out->route_index = i;
        }
    }
    if (out->route != NULL)
        return SD_MATCH_OK;
    return path_known ? SD_MATCH_BAD_METHOD : SD_MATCH_NOT_FOUND;
}
