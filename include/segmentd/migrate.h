/* Schema migrations: the SQL files of migrations/ (compiled into the binary) applied in order,
 * once, inside one transaction under a transaction-scoped advisory lock, so several segmentd
 * processes starting together apply each exactly once (the others wait, then find them done). */
#ifndef SEGMENTD_MIGRATE_H
#define SEGMENTD_MIGRATE_H

#include <stdbool.h>

#include "segmentd/db.h"

/* Applies the pending migrations. `*applied` receives how many ran. */
enum sd_rc sd_migrate_run(struct sd_pool *pool, int *applied) SD_MUST_CHECK;

/* True when every migration this binary knows is applied (false while the table is missing). */
enum sd_rc sd_migrate_is_current(struct sd_db *db, bool *current) SD_MUST_CHECK;

/* The highest migration version compiled in. */
long sd_migrate_latest_version(void);

#endif
