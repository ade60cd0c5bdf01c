/* Webhook targets that must not be reached (SPEC §3): addresses that are loopback, private,
 * link-local, reserved or otherwise not on the public Internet, and URL schemes we send to.
 * Pure functions (src/core/ssrf.c): no I/O, no name resolution — the caller resolves the host and
 * judges every address it would connect to (unless `webhooks.allow_private`). */
#ifndef SEGMENTD_CORE_SSRF_H
#define SEGMENTD_CORE_SSRF_H

#include <stdbool.h>

/* Is this IPv4 address (network byte order, a[0] first) publicly routable? False for 0/8, 10/8,
 * 100.64/10, 127/8, 169.254/16, 172.16/12, 192.0.0/24, 192.0.2/24, 192.88.99/24, 192.168/16,
 * 198.18/15, 198.51.100/24, 203.0.113/24, 224/4, 240/4 and 255.255.255.255. */
bool sd_addr_is_public_v4(const unsigned char a[4]);

/* Is this IPv6 address (network byte order) publicly routable? Addresses that carry an IPv4
 * address are judged by it: ::ffff:0:0/96 (mapped), 64:ff9b::/96 (NAT64) and 2002::/16 (6to4).
 * Otherwise only global unicast 2000::/3 can be public, less 2001::/23 (Teredo included),
 * 2001:db8::/32 and 3fff::/20 (documentation). So ::, ::1, 100::/64, fc00::/7, fe80::/10,
 * fec0::/10, ff00::/8 and all unallocated space are not public. */
bool sd_addr_is_public_v6(const unsigned char a[16]);

/* Does `url` start with "http://" or "https://" (any case) and name a non-empty host? Userinfo
 * and port are skipped; a bracketed IPv6 host must be closed. URLs containing spaces or control
 * characters are refused. NULL is refused. */
bool sd_url_scheme_allowed(const char *url);

#endif
