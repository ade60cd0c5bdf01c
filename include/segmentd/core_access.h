/* Who may do what: API key scopes, the scope each route needs, workspace names, key format.
 * Pure functions (src/core/access.c): no I/O. */
#ifndef SEGMENTD_CORE_ACCESS_H
#define SEGMENTD_CORE_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

/* Scopes a key holds, as a bit mask. */
enum sd_scope {
    SD_SCOPE_READ = 1 << 0,
    SD_SCOPE_INGEST = 1 << 1,
    SD_SCOPE_ADMIN = 1 << 2,
};

/* What a route demands of the caller. */
enum sd_access {
    SD_ACCESS_PUBLIC,    /* no key: /healthz, /readyz, /metrics, /openapi.yaml, / */
    SD_ACCESS_READ,      /* read or admin */
    SD_ACCESS_INGEST,    /* ingest or admin */
    SD_ACCESS_ADMIN,     /* admin */
    SD_ACCESS_BOOTSTRAP, /* only the bootstrap admin key (workspace management) */
};

/* "read" / "ingest" / "admin" → bit; 0 if unknown. */
unsigned sd_scope_from_name(const char *name);
/* Bit → name; NULL for anything but one known bit. */
const char *sd_scope_name(unsigned scope);

/* Does a caller holding `scopes` (the bootstrap key: `is_bootstrap`) pass `access`? */
bool sd_access_allows(enum sd_access access, unsigned scopes, bool is_bootstrap);

/* `[a-z0-9_-]{1,63}` */
bool sd_workspace_name_valid(const char *name);

/* API keys look like "sdk_<workspace id>_<secret>": the workspace id routes the lookup to one
 * workspace. Parses the workspace id; false when the key does not have this shape. */
bool sd_api_key_parse(const char *key, long long *workspace_id);

#endif
