/* The dynamics of the segments (SPEC §2 "GET /v1/segments/history" and "/flows"): daily cell
 * sizes rebuilt from the transitions log, the scheduler's daily snapshots, and counts of
 * transitions between cells. Times are µs since the epoch; days are UTC days.
 *
 * A transition's from_cell belongs to the matrix of the kind the customer was in before it: for a
 * `profile` transition (a change of kind) that is the other kind. So for kind K, a `profile`
 * transition of kind K is an entry from outside any cell, and one of the other kind an exit to
 * outside any cell; every other transition of kind K moves from its from_cell to its to_cell. */
#ifndef SEGMENTD_STORE_HISTORY_H
#define SEGMENTD_STORE_HISTORY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "segmentd/core_matrix.h"
#include "segmentd/db.h"

/* The daily sizes of a kind's cells: `days` days (≥ 1) from `first_day_us` (a UTC midnight) ×
 * the `ncells` cells named in `cells` (the caller's matrix, up to SD_MAX_BANDS² of them). The
 * caller owns every array; the store fills `sizes` and `snapshot`. */
struct sd_history {
    int64_t first_day_us;
    int days;
    int ncells;
    const char *const *cells; /* cell keys */
    int64_t *sizes;           /* [day * ncells + cell]: customers in the cell at the day's start */
    bool *snapshot; /* [day]: the day's sizes are the scheduler's snapshot (cells it lacks: 0) */
};

/* Fills `h`: a day with a snapshot row of the kind reports the snapshot, any other day is rebuilt
 * from the transitions (moves recorded under cells not in `cells` are left out). Two round
 * trips. */
enum sd_rc sd_store_history(struct sd_db *db, long long ws, enum sd_kind kind,
                            struct sd_history *h) SD_MUST_CHECK;

/* Transitions of the kind with at in [from_us, to_us), grouped by (from, to), optionally only of
 * one `reason` (NULL: all). Result (new): columns from_cell, to_cell (either may be SQL NULL:
 * outside any cell), count; ordered by count descending, then from and to (byte order, NULL
 * first). */
enum sd_rc sd_store_flows(struct sd_db *db, long long ws, enum sd_kind kind, int64_t from_us,
                          int64_t to_us, const char *reason, PGresult **res) SD_MUST_CHECK;

#endif
