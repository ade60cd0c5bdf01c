/* The scheduler's other daily and periodic work: `schedule` and `date` campaigns, and the daily
 * segment-size snapshot. Each runs per workspace in one short transaction (SCALE.md Q7), claims
 * its campaigns with FOR UPDATE SKIP LOCKED and is idempotent (unique keys), so several processes
 * may run it at once. */
#ifndef SEGMENTD_STORE_OCCASIONS_H
#define SEGMENTD_STORE_OCCASIONS_H

#include <stdint.h>

#include "segmentd/db.h"

/* Runs the workspace's `schedule` and `date` campaigns whose next_run_at has passed: enqueues
 * their deliveries (one per customer and occasion) and sets their next run. `*enqueued` counts
 * the deliveries. */
enum sd_rc sd_store_occasions_run(struct sd_db *db, long long ws, int64_t now_us,
                                  long long *enqueued) SD_MUST_CHECK;

/* Records the size of every cell on the UTC day of `now_us`, unless that day is recorded
 * already. `*taken`: rows written (0 when the day existed). */
enum sd_rc sd_store_snapshot_take(struct sd_db *db, long long ws, int64_t now_us,
                                  long long *taken) SD_MUST_CHECK;

#endif
