/* Time moves customers: claiming the customers whose next_change_at has passed and moving them
 * right, one workspace per transaction (SCALE.md Q2, Q7). */
#ifndef SEGMENTD_STORE_DUE_H
#define SEGMENTD_STORE_DUE_H

#include <stdint.h>

#include "segmentd/db.h"
#include "segmentd/store_purchases.h"

/* All workspace ids (the scheduler visits each: due-ness is derived per matrix). `*ids` is a new
 * array the caller frees. */
enum sd_rc sd_store_workspace_ids(struct sd_db *db, long long **ids, size_t *n) SD_MUST_CHECK;

/* Claims up to `limit` due customers per cell of the workspace (FOR UPDATE SKIP LOCKED: several
 * processes share the work, each customer moves once), moves them — a transition "time" per
 * band crossed, `at` = the exact boundary — and commits. `*moved` = customers moved.
 * `*oldest_due` = the earliest passed next_change_at among them (µs, 0 if none): the lag.
 * `*next_due` = the earliest boundary not yet passed in the workspace (µs, 0 if none): when the
 * scheduler has to look again.
 * SD_ERR_STALE: a matrix changed since `ms` was loaded (nothing written). */
enum sd_rc sd_store_due_move(struct sd_db *db, long long ws, const struct sd_matrix_set *ms,
                             int64_t now_us, int limit, long long *moved, long long *transitions,
                             int64_t *oldest_due, int64_t *next_due) SD_MUST_CHECK;

#endif
