/* Private to src/store: small pieces shared by the resource files. */
#ifndef SEGMENTD_STORE_UTIL_H
#define SEGMENTD_STORE_UTIL_H

#include <stdbool.h>

#include "segmentd/db.h"
#include "segmentd/store_purchases.h"

#define SD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A timestamptz column read as µs since the epoch (exact: extract() is numeric). */
#define US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

/* The columns sd_customer_state_read() reads, in its order. */
#define STATE_COLUMNS                                                                              \
    "id, external_id, kind, purchases, revenue_cents, " US("first_purchase_at") ", " US(           \
        "last_purchase_at") ", coalesce(cell, ''), coalesce(monetary, ''), " US("cell_since")

extern const struct sd_stmt store_begin_stmt;
extern const struct sd_stmt store_commit_stmt;
/* Held shared by the writers that classify, until they commit; a matrix PUT takes it exclusively
 * (store/matrices.c). $1 = workspace id. */
extern const struct sd_stmt store_matrix_share_stmt;
/* Current matrix versions of a workspace: kind, max(version). $1 = workspace id. */
extern const struct sd_stmt store_matrix_versions_stmt;

/* The outbox's writing side (store/enqueue.c). Entries: $1 ws, $2 customer ids, $3 kinds,
 * $4 from cells, $5 to cells, $6 at (the transitions' arrays). Notify: $1 ws. Occasion: see
 * enqueue.c. */
extern const struct sd_stmt store_enqueue_entries_stmt;
extern const struct sd_stmt store_enqueue_notify_stmt;
extern const struct sd_stmt store_enqueue_occasion_stmt;

/* Runs `stmt` and reads every row with `read(res, row, item)` into a new array of `size`-byte
 * items (*items, freed by the caller; never NULL on success, even when empty). */
typedef void (*store_row_reader)(const PGresult *res, int row, void *item);
enum sd_rc store_read_rows(struct sd_db *db, const struct sd_stmt *stmt, const char *const *params,
                           size_t size, store_row_reader read, void **items,
                           size_t *count) SD_MUST_CHECK;

/* Do the versions read with store_matrix_versions_stmt match the caller's matrices? */
bool store_versions_match(const PGresult *res, const struct sd_matrix_set *ms);

#endif
