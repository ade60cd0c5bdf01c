/* The REST API: the route table and the pieces the command line shares with it. */
#ifndef SEGMENTD_API_H
#define SEGMENTD_API_H

#include <stddef.h>

#include "segmentd/db.h"
#include "segmentd/router.h"
#include "segmentd/store_keys.h"

extern const struct sd_route sd_api_routes[];
extern const size_t sd_api_routes_count;

/* Mints a new API key in the workspace: random secret, stored hashed. `key_out` (at least 128
 * bytes) receives the key in clear, the only time it exists. */
enum sd_rc sd_api_key_mint(struct sd_db *db, long long workspace_id, const char *name,
                           unsigned scopes, struct sd_api_key *out, char *key_out) SD_MUST_CHECK;

#endif
