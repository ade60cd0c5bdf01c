/* The scheduler thread: every [scheduler] interval (and at once when woken) it moves the
 * customers whose next_change_at has passed, in every workspace, with transitions "time" at the
 * exact boundary. Several processes can run it on one database (FOR UPDATE SKIP LOCKED). */
#ifndef SEGMENTD_SCHEDULER_H
#define SEGMENTD_SCHEDULER_H

#include "segmentd/app.h"

struct sd_scheduler;

struct sd_scheduler *sd_scheduler_start(struct sd_app *app);
void sd_scheduler_wake(struct sd_scheduler *s);
/* Finishes the current batch, then stops. NULL accepted. */
void sd_scheduler_stop(struct sd_scheduler *s);

#endif
