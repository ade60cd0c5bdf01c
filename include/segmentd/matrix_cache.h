/* Private to src/api: the matrices of each workspace, cached in the process. Ingest checks the
 * versions inside its own transaction (SD_ERR_STALE → reload), so a PUT in another process is
 * never applied with an old matrix; reads ask for a cheap version check. */
#ifndef SEGMENTD_API_MATRIX_CACHE_H
#define SEGMENTD_API_MATRIX_CACHE_H

#include <stdbool.h>

#include "segmentd/db.h"
#include "segmentd/store_purchases.h"

/* Fills `out` with both kinds' current matrices. `verify`: compare versions with the database
 * first (one query); `reload`: ignore the cache. */
enum sd_rc matrix_cache_get(struct sd_db *db, long long ws, bool verify, bool reload,
                            struct sd_matrix_set *out) SD_MUST_CHECK;
/* Forgets a workspace (after a PUT in this process, or a workspace deletion). */
void matrix_cache_forget(long long ws);

#endif
