/* Stored matrices: versioned per workspace and kind. Definitions are the canonical JSON text
 * (sd_matrix_to_json); decoding is the caller's. */
#ifndef SEGMENTD_STORE_MATRICES_H
#define SEGMENTD_STORE_MATRICES_H

#include <stdint.h>

#include "segmentd/core_matrix.h"
#include "segmentd/core_suggest.h"
#include "segmentd/db.h"

/* The current definition (new string, free it) and version; SD_ERR_NOT_FOUND when none is stored
 * (the preset applies, version 0). */
enum sd_rc sd_store_matrix_current(struct sd_db *db, long long ws, enum sd_kind kind,
                                   char **definition, int *version) SD_MUST_CHECK;
/* Current versions of both kinds in one query (0 when none stored). */
enum sd_rc sd_store_matrix_versions_now(struct sd_db *db, long long ws,
                                        int versions[SD_KIND_COUNT]) SD_MUST_CHECK;
/* Stores a new version (current + 1) in the caller's transaction; serialised per workspace and
 * kind by the row lock of the insert. */
enum sd_rc sd_store_matrix_insert(struct sd_db *db, long long ws, enum sd_kind kind,
                                  const char *definition, int *version,
                                  int64_t *created_at_us) SD_MUST_CHECK;
/* Earlier versions, newest first: a result with columns version, definition, created_at_us
 * (the caller PQclears it). */
enum sd_rc sd_store_matrix_history(struct sd_db *db, long long ws, enum sd_kind kind,
                                   PGresult **res) SD_MUST_CHECK;

/* The distributions behind a suggestion, measured over the kind's non-cancelled orders. */
enum sd_rc sd_store_history_figures(struct sd_db *db, long long ws, enum sd_kind kind,
                                    struct sd_history_figures *out) SD_MUST_CHECK;

#endif
