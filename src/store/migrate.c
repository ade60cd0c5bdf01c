#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segmentd/embedded_files.h"
#include "segmentd/log.h"
#include "segmentd/migrate.h"
#include "segmentd/util.h"

/* "SEGM" in ASCII: the key of the transaction-scoped advisory lock taken while migrating. */
static const struct sd_stmt lock_stmt = {"migrate_lock", "SELECT pg_advisory_xact_lock(1397049165)",
                                         0};
static const struct sd_stmt applied_stmt = {
    "migrate_applied", "SELECT version FROM schema_migrations ORDER BY version", 0};
static const struct sd_stmt record_stmt = {
    "migrate_record", "INSERT INTO schema_migrations (version, name) VALUES ($1::bigint, $2)", 2};
static const struct sd_stmt current_stmt = {
    "migrate_current", "SELECT coalesce(max(version), 0) FROM schema_migrations", 0};
static const struct sd_stmt table_exists_stmt = {
    "migrate_table_exists", "SELECT to_regclass('schema_migrations') IS NOT NULL", 0};

static const char create_table_sql[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                       " version bigint PRIMARY KEY,"
                                       " name text NOT NULL,"
                                       " applied_at timestamptz NOT NULL DEFAULT now())";

/* "0001_foundation.sql" → 1; -1 when the name does not start with digits and '_'. */
static long file_version(const char *name)
{
    char digits[16];
    size_t n = strspn(name, "0123456789");
    if (n == 0 || n >= sizeof digits || name[n] != '_')
        return -1;
    memcpy(digits, name, n);
    digits[n] = '\0';
    int64_t v;
    return sd_parse_i64(digits, 1, 999999, &v) ? (long)v : -1;
}

long sd_migrate_latest_version(void)
{
    long latest = 0;
    for (unsigned long i = 0; i < sd_migration_files_count; i++) {
        long v = file_version(sd_migration_files[i].name);
        if (v > latest)
            latest = v;
    }
    return latest;
}

static bool is_applied(const PGresult *res, long version)
{
    for (int r = 0; r < PQntuples(res); r++) {
        if (strtol(PQgetvalue(res, r, 0), NULL, 10) == version)
            return true;
    }
    return false;
}

struct migrate_ctx {
    int applied;
};

static enum sd_rc apply_one(struct sd_db *db, const struct sd_embedded_file *f, long version)
{
    enum sd_rc rc = sd_db_exec_script(db, f->data);
    if (rc != SD_OK) {
        log_error("migration %s failed: %s", f->name, sd_db_last_error(db));
        return rc;
    }
    char vbuf[24];
    snprintf(vbuf, sizeof vbuf, "%ld", version);
    const char *params[] = {vbuf, f->name};
    rc = sd_db_exec(db, &record_stmt, params, NULL);
    if (rc == SD_OK)
        log_info("migration applied: %s", f->name);
    return rc;
}

static enum sd_rc migrate_tx(struct sd_db *db, void *arg)
{
    struct migrate_ctx *ctx = arg;
    PGresult *applied = NULL;
    ctx->applied = 0;
    enum sd_rc rc = sd_db_exec(db, &lock_stmt, NULL, NULL);
    if (rc == SD_OK)
        rc = sd_db_exec_script(db, create_table_sql);
    if (rc == SD_OK)
        rc = sd_db_exec(db, &applied_stmt, NULL, &applied);
    for (unsigned long i = 0; rc == SD_OK && i < sd_migration_files_count; i++) {
        const struct sd_embedded_file *f = &sd_migration_files[i];
        long version = file_version(f->name);
        if (version < 0) {
            log_error("migration file %s: name must be NNNN_name.sql", f->name);
            rc = SD_ERR_INVALID;
        } else if (!is_applied(applied, version)) {
            rc = apply_one(db, f, version);
            ctx->applied += rc == SD_OK;
        }
    }
    PQclear(applied);
    return rc;
}

enum sd_rc sd_migrate_run(struct sd_pool *pool, int *applied)
{
    struct migrate_ctx ctx = {0};
    enum sd_rc rc = sd_db_transaction(pool, migrate_tx, &ctx);
    *applied = rc == SD_OK ? ctx.applied : 0;
    return rc;
}

enum sd_rc sd_migrate_is_current(struct sd_db *db, bool *current)
{
    PGresult *res = NULL;
    *current = false;
    enum sd_rc rc = sd_db_exec(db, &table_exists_stmt, NULL, &res);
    if (rc != SD_OK)
        return rc;
    bool exists = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!exists)
        return SD_OK;
    rc = sd_db_exec(db, &current_stmt, NULL, &res);
    if (rc != SD_OK)
        return rc;
    *current = strtol(PQgetvalue(res, 0, 0), NULL, 10) >= sd_migrate_latest_version();
    PQclear(res);
    return SD_OK;
}
