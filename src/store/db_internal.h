/* Private to src/store: the layout of a pooled connection. */
#ifndef SEGMENTD_DB_INTERNAL_H
#define SEGMENTD_DB_INTERNAL_H

#include <stdbool.h>

#include "segmentd/db.h"

#define SD_DB_MAX_PREPARED 256

struct sd_db {
    struct sd_pool *pool;
    PGconn *conn;
    bool in_use;
    /* Statements prepared on this connection (pointer identity: statements are constants). */
    const struct sd_stmt *prepared[SD_DB_MAX_PREPARED];
    int nprepared;
    char sqlstate[6];
    char errmsg[256];
};

void sd_db_disconnect(struct sd_db *db);
void sd_pool_note_error(struct sd_pool *pool, bool unreachable);
bool sd_pool_uses_prepared(const struct sd_pool *pool);

#endif
