/* Private to src/http (and the key/workspace handlers that flush it): remembered callers. */
#ifndef SEGMENTD_AUTH_CACHE_H
#define SEGMENTD_AUTH_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "segmentd/http.h"

/* False when the request cannot be cached (a header too long to be a workspace name). */
bool auth_cache_id(const unsigned char key_digest[32], const char *workspace,
                   unsigned char out[32]);
bool auth_cache_get(const unsigned char id[32], struct sd_caller *out);
void auth_cache_put(const unsigned char id[32], const struct sd_caller *caller, int64_t ttl_ms);
void auth_cache_flush(void);

#endif
