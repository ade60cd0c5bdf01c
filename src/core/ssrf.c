/* Which webhook targets are on the public Internet (SPEC §3). The ranges are the IANA special-
 * purpose registries (RFC 6890 and updates) that are not globally reachable. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "segmentd/core_ssrf.h"

struct prefix {
    unsigned char addr[16];
    int bits;
};

/* Does `a` begin with the first `bits` bits of `p`? */
static bool in_prefix(const unsigned char *a, const struct prefix *p)
{
    int whole = p->bits / 8;
    int rest = p->bits % 8;
    if (memcmp(a, p->addr, (size_t)whole) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xffu << (8 - rest));
    return (a[whole] & mask) == (p->addr[whole] & mask);
}

static bool in_any(const unsigned char *a, const struct prefix *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (in_prefix(a, &list[i]))
            return true;
    }
    return false;
}

static const struct prefix v4_blocked[] = {
    {{0}, 8},                   /* "this network" */
    {{10}, 8},                  /* private */
    {{100, 64}, 10},            /* shared address space (CGNAT) */
    {{127}, 8},                 /* loopback */
    {{169, 254}, 16},           /* link-local (cloud metadata lives here) */
    {{172, 16}, 12},            /* private */
    {{192, 0, 0}, 24},          /* IETF protocol assignments */
    {{192, 0, 2}, 24},          /* TEST-NET-1 */
    {{192, 88, 99}, 24},        /* 6to4 relay anycast (deprecated) */
    {{192, 168}, 16},           /* private */
    {{198, 18}, 15},            /* benchmarking */
    {{198, 51, 100}, 24},       /* TEST-NET-2 */
    {{203, 0, 113}, 24},        /* TEST-NET-3 */
    {{224}, 4},                 /* multicast */
    {{240}, 4},                 /* reserved */
    {{255, 255, 255, 255}, 32}, /* limited broadcast (inside 240/4, listed for the record) */
};

bool sd_addr_is_public_v4(const unsigned char a[4])
{
    return !in_any(a, v4_blocked, sizeof v4_blocked / sizeof v4_blocked[0]);
}

/* Only 2000::/3 is allocated as global unicast; inside it, these are not globally reachable. The
 * rest are outside 2000::/3 and listed so the reason is written down. */
static const struct prefix v6_global = {{0x20}, 3};

static const struct prefix v6_blocked[] = {
    {{0}, 96},                      /* ::, ::1 and deprecated IPv4-compatible ::a.b.c.d */
    {{0x01, 0x00}, 64},             /* discard-only */
    {{0x20, 0x01, 0x0d, 0xb8}, 32}, /* documentation */
    {{0x20, 0x01, 0x00}, 23},       /* IETF protocol assignments, Teredo 2001::/32 included */
    {{0x3f, 0xff, 0x00}, 20},       /* documentation (RFC 9637) */
    {{0xfc}, 7},                    /* unique local */
    {{0xfe, 0x80}, 10},             /* link-local */
    {{0xfe, 0xc0}, 10},             /* site-local (deprecated) */
    {{0xff}, 8},                    /* multicast */
};

/* Prefixes whose addresses carry an IPv4 address: where it starts. */
static const struct {
    struct prefix p;
    int v4_at;
} v6_embedding[] = {
    {{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96}, 12},       /* IPv4-mapped */
    {{{0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0}, 96}, 12}, /* NAT64 well-known prefix */
    {{{0x20, 0x02}, 16}, 2},                                      /* 6to4 */
};

bool sd_addr_is_public_v6(const unsigned char a[16])
{
    for (size_t i = 0; i < sizeof v6_embedding / sizeof v6_embedding[0]; i++) {
        if (in_prefix(a, &v6_embedding[i].p))
            return sd_addr_is_public_v4(a + v6_embedding[i].v4_at);
    }
    return in_prefix(a, &v6_global) &&
           !in_any(a, v6_blocked, sizeof v6_blocked / sizeof v6_blocked[0]);
}

static bool starts_with_nocase(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++) {
        char c = *s;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != *prefix)
            return false;
    }
    return true;
}

bool sd_url_scheme_allowed(const char *url)
{
    if (url == NULL)
        return false;
    for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f)
            return false;
    }
    const char *auth;
    if (starts_with_nocase(url, "http://"))
        auth = url + 7;
    else if (starts_with_nocase(url, "https://"))
        auth = url + 8;
    else
        return false;
    size_t auth_len = strcspn(auth, "/?#");
    /* The host follows the last '@' of the authority (userinfo may itself contain ':'). */
    const char *host = auth;
    for (size_t i = 0; i < auth_len; i++) {
        if (auth[i] == '@')
            host = auth + i + 1;
    }
    size_t host_room = auth_len - (size_t)(host - auth);
    if (host_room > 0 && host[0] == '[') {
        const char *close = memchr(host, ']', host_room);
        if (close == NULL || close == host + 1)
            return false;
        size_t after = host_room - (size_t)(close + 1 - host);
        return after == 0 || close[1] == ':';
    }
    size_t host_len = strcspn(host, ":/?#");
    return host_len > 0 && host_len <= host_room;
}
