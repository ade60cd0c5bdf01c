/* Campaigns: created, listed, read, edited, deleted with their delivery log, secrets rotated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgarray.h"
#include "segmentd/store_campaigns.h"
#include "store_util.h"

/* The columns read_row() reads, in its order. Cells come back comma-separated: labels are
 * [a-z0-9_], so no element ever needs quoting. */
#define CAMPAIGN_COLUMNS                                                                           \
    "id, name, kind, array_to_string(cells, ','), trigger_type, coalesce(every_ms, 0), "           \
    "coalesce(date_field, ''), coalesce(month_day, ''), days_before, channel, strategy, action, "  \
    "template, webhook_url, coalesce(max_count, 0), coalesce(max_per_ms, 0), reentry, active, "    \
    "paused_reason, " US("previous_until") ", " US("created_at") ", " US("updated_at")

/* RETURNING gives the row; the expressions are computed by the outer SELECT (SCALE.md Q4). */
static const struct sd_stmt create_stmt = {
    "campaign_create",
    "WITH c AS (INSERT INTO campaigns (workspace_id, name, kind, cells, trigger_type, every_ms, "
    "date_field, month_day, days_before, channel, strategy, action, template, webhook_url, "
    "max_count, max_per_ms, reentry, active, secret, next_run_at) VALUES ($1::bigint, $2, $3, "
    "$4::text[], $5, $6::bigint, $7, $8, $9::int, $10, $11, $12, $13, $14, $15::int, $16::bigint, "
    "$17, $18::bool, $19, CASE WHEN $20::bool THEN now() END) RETURNING *) "
    "SELECT " CAMPAIGN_COLUMNS " FROM c",
    20};
static const struct sd_stmt list_stmt = {"campaign_list",
                                         "SELECT " CAMPAIGN_COLUMNS " FROM campaigns "
                                         "WHERE workspace_id = $1::bigint ORDER BY id",
                                         1};
static const struct sd_stmt get_stmt = {"campaign_get",
                                        "SELECT " CAMPAIGN_COLUMNS " FROM campaigns "
                                        "WHERE workspace_id = $1::bigint AND id = $2::bigint",
                                        2};
static const struct sd_stmt lock_stmt = {
    "campaign_lock",
    "SELECT " CAMPAIGN_COLUMNS " FROM campaigns "
    "WHERE workspace_id = $1::bigint AND id = $2::bigint FOR UPDATE",
    2};
/* $20: resume (clears the pause and the endpoint's failure clock); $21: keep | now | clear. */
static const struct sd_stmt update_stmt = {
    "campaign_update",
    "WITH c AS (UPDATE campaigns SET name = $3, kind = $4, cells = $5::text[], trigger_type = $6, "
    "every_ms = $7::bigint, date_field = $8, month_day = $9, days_before = $10::int, "
    "channel = $11, strategy = $12, action = $13, template = $14, webhook_url = $15, "
    "max_count = $16::int, max_per_ms = $17::bigint, reentry = $18, active = $19::bool, "
    "paused_reason = CASE WHEN $20::bool THEN NULL ELSE paused_reason END, "
    "failing_since = CASE WHEN $20::bool THEN NULL ELSE failing_since END, "
    "next_run_at = CASE $21::text WHEN 'keep' THEN next_run_at WHEN 'now' THEN now() END, "
    "updated_at = now() WHERE workspace_id = $1::bigint AND id = $2::bigint RETURNING *) "
    "SELECT " CAMPAIGN_COLUMNS " FROM c",
    21};
static const struct sd_stmt rotate_stmt = {
    "campaign_rotate_secret",
    "WITH c AS (UPDATE campaigns SET previous_secret = secret, secret = $3, "
    "previous_until = $4::timestamptz, updated_at = now() "
    "WHERE workspace_id = $1::bigint AND id = $2::bigint RETURNING *) "
    "SELECT " CAMPAIGN_COLUMNS " FROM c",
    4};
/* Deletion, children first. */
static const struct sd_stmt delete_attempts_stmt = {
    "campaign_delete_attempts",
    "DELETE FROM delivery_attempts WHERE workspace_id = $1::bigint AND delivery_id IN "
    "(SELECT id FROM deliveries WHERE workspace_id = $1::bigint AND campaign_id = $2::bigint)",
    2};
static const struct sd_stmt delete_deliveries_stmt = {
    "campaign_delete_deliveries",
    "DELETE FROM deliveries WHERE workspace_id = $1::bigint AND campaign_id = $2::bigint", 2};
static const struct sd_stmt delete_stmt = {
    "campaign_delete", "DELETE FROM campaigns WHERE workspace_id = $1::bigint AND id = $2::bigint",
    2};

static void copy_opt(const PGresult *res, int row, int col, char *out, size_t outlen, bool *has)
{
    *has = !PQgetisnull(res, row, col);
    snprintf(out, outlen, "%s", *has ? PQgetvalue(res, row, col) : "");
}

static void read_cells(const char *text, struct sd_campaign *c)
{
    c->ncells = 0;
    const char *p = text;
    while (*p != '\0' && c->ncells < SD_CAMPAIGN_CELLS_MAX) {
        size_t n = strcspn(p, ",");
        snprintf(c->cells[c->ncells++], SD_CELL_KEY_MAX + 1, "%.*s", (int)n, p);
        p += n + (p[n] == ',');
    }
}

static void read_row(const PGresult *res, int row, struct sd_campaign *c)
{
    memset(c, 0, sizeof *c);
    c->id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
    snprintf(c->name, sizeof c->name, "%s", PQgetvalue(res, row, 1));
    if (!sd_kind_parse(PQgetvalue(res, row, 2), &c->kind))
        c->kind = SD_KIND_B2C;
    read_cells(PQgetvalue(res, row, 3), c);
    if (!sd_trigger_parse(PQgetvalue(res, row, 4), &c->trigger))
        c->trigger = SD_TRIGGER_ENTER;
    c->every_ms = strtoll(PQgetvalue(res, row, 5), NULL, 10);
    snprintf(c->date_field, sizeof c->date_field, "%s", PQgetvalue(res, row, 6));
    snprintf(c->month_day, sizeof c->month_day, "%s", PQgetvalue(res, row, 7));
    c->days_before = (int)strtol(PQgetvalue(res, row, 8), NULL, 10);
    snprintf(c->channel, sizeof c->channel, "%s", PQgetvalue(res, row, 9));
    copy_opt(res, row, 10, c->strategy, sizeof c->strategy, &c->has_strategy);
    copy_opt(res, row, 11, c->action, sizeof c->action, &c->has_action);
    copy_opt(res, row, 12, c->template_id, sizeof c->template_id, &c->has_template);
    snprintf(c->webhook_url, sizeof c->webhook_url, "%s", PQgetvalue(res, row, 13));
    c->max_count = (int)strtol(PQgetvalue(res, row, 14), NULL, 10);
    c->max_per_ms = strtoll(PQgetvalue(res, row, 15), NULL, 10);
    if (!sd_reentry_parse(PQgetvalue(res, row, 16), &c->reentry))
        c->reentry = SD_REENTRY_AFTER_EXIT;
    c->active = PQgetvalue(res, row, 17)[0] == 't';
    copy_opt(res, row, 18, c->paused_reason, sizeof c->paused_reason, &c->has_paused_reason);
    c->previous_until = pga_read_us(PQgetvalue(res, row, 19));
    c->created_at = pga_read_us(PQgetvalue(res, row, 20));
    c->updated_at = pga_read_us(PQgetvalue(res, row, 21));
}

/* Runs a statement expected to return at most one campaign row. */
static enum sd_rc one_campaign(struct sd_db *db, const struct sd_stmt *stmt,
                               const char *const *params, struct sd_campaign *out)
{
    PGresult *res = NULL;
    enum sd_rc rc = sd_db_exec(db, stmt, params, &res);
    if (rc != SD_OK)
        return rc;
    if (PQntuples(res) == 0)
        rc = SD_ERR_NOT_FOUND;
    else if (out != NULL)
        read_row(res, 0, out);
    PQclear(res);
    return rc;
}

/* The text parameters of a campaign's editable fields, in the order both the INSERT and the
 * UPDATE take them (after workspace and id). */
struct field_params {
    struct sd_buf cells;
    char every[24], days[16], max_count[16], max_per[24];
    const char *v[17];
};

static enum sd_rc field_params_build(struct field_params *f, const struct sd_campaign *c)
{
    pga_begin(&f->cells, 4096);
    enum sd_rc rc = SD_OK;
    for (size_t i = 0; rc == SD_OK && i < c->ncells; i++)
        rc = pga_text(&f->cells, c->cells[i]);
    const char *cells = rc == SD_OK ? pga_end(&f->cells) : NULL;
    if (cells == NULL)
        return rc == SD_OK ? SD_ERR_TOO_LARGE : rc;
    bool schedule = c->trigger == SD_TRIGGER_SCHEDULE, date = c->trigger == SD_TRIGGER_DATE;
    snprintf(f->every, sizeof f->every, "%lld", (long long)c->every_ms);
    snprintf(f->days, sizeof f->days, "%d", date ? c->days_before : 0);
    snprintf(f->max_count, sizeof f->max_count, "%d", c->max_count);
    snprintf(f->max_per, sizeof f->max_per, "%lld", (long long)c->max_per_ms);
    bool limit = c->max_count > 0 && c->max_per_ms > 0;
    const char *v[17] = {c->name,
                         sd_kind_name(c->kind),
                         cells,
                         sd_trigger_name(c->trigger),
                         schedule ? f->every : NULL,
                         date && c->date_field[0] ? c->date_field : NULL,
                         date && c->month_day[0] ? c->month_day : NULL,
                         f->days,
                         c->channel,
                         c->has_strategy ? c->strategy : NULL,
                         c->has_action ? c->action : NULL,
                         c->has_template ? c->template_id : NULL,
                         c->webhook_url,
                         limit ? f->max_count : NULL,
                         limit ? f->max_per : NULL,
                         sd_reentry_name(c->reentry),
                         c->active ? "true" : "false"};
    memcpy(f->v, v, sizeof v);
    return SD_OK;
}

enum sd_rc sd_store_campaign_create(struct sd_db *db, long long ws, const struct sd_campaign *in,
                                    const char *secret, struct sd_campaign *out)
{
    char w[24];
    snprintf(w, sizeof w, "%lld", ws);
    struct field_params f;
    enum sd_rc rc = field_params_build(&f, in);
    if (rc == SD_OK) {
        const char *params[20] = {w};
        memcpy(params + 1, f.v, sizeof f.v);
        params[18] = secret;
        params[19] = in->trigger == SD_TRIGGER_ENTER ? "false" : "true";
        rc = one_campaign(db, &create_stmt, params, out);
    }
    sd_buf_free(&f.cells);
    return rc;
}

/* read_row for store_read_rows */
static void read_item(const PGresult *res, int row, void *item)
{
    read_row(res, row, item);
}

enum sd_rc sd_store_campaign_list(struct sd_db *db, long long ws, struct sd_campaign **items,
                                  size_t *count)
{
    char w[24];
    snprintf(w, sizeof w, "%lld", ws);
    const char *params[] = {w};
    void *arr = NULL;
    enum sd_rc rc =
        store_read_rows(db, &list_stmt, params, sizeof(struct sd_campaign), read_item, &arr, count);
    *items = arr;
    return rc;
}

enum sd_rc sd_store_campaign_get(struct sd_db *db, long long ws, long long id, bool for_update,
                                 struct sd_campaign *out)
{
    char w[24], i[24];
    snprintf(w, sizeof w, "%lld", ws);
    snprintf(i, sizeof i, "%lld", id);
    const char *params[] = {w, i};
    return one_campaign(db, for_update ? &lock_stmt : &get_stmt, params, out);
}

enum sd_rc sd_store_campaign_update(struct sd_db *db, long long ws, long long id,
                                    const struct sd_campaign *in, bool resume,
                                    enum sd_next_run next_run, struct sd_campaign *out)
{
    static const char *const next_run_names[] = {"keep", "now", "clear"};
    char w[24], i[24];
    snprintf(w, sizeof w, "%lld", ws);
    snprintf(i, sizeof i, "%lld", id);
    struct field_params f;
    enum sd_rc rc = field_params_build(&f, in);
    if (rc == SD_OK) {
        const char *params[21] = {w, i};
        memcpy(params + 2, f.v, sizeof f.v);
        params[19] = resume ? "true" : "false";
        params[20] = next_run_names[next_run];
        rc = one_campaign(db, &update_stmt, params, out);
    }
    sd_buf_free(&f.cells);
    return rc;
}

struct delete_ctx {
    const char *w, *id;
};

static enum sd_rc delete_tx(struct sd_db *db, void *arg)
{
    struct delete_ctx *c = arg;
    const char *params[] = {c->w, c->id};
    /* The lock keeps the enqueuers out: a delivery being inserted holds a key-share lock on its
     * campaign, so it either commits before this or sees no campaign. */
    enum sd_rc rc = one_campaign(db, &lock_stmt, params, NULL);
    if (rc != SD_OK)
        return rc;
    struct sd_pipe_step steps[] = {{&delete_attempts_stmt, params, NULL},
                                   {&delete_deliveries_stmt, params, NULL},
                                   {&delete_stmt, params, NULL}};
    return sd_db_pipeline(db, steps, (int)SD_ARRAY_LEN(steps));
}

enum sd_rc sd_store_campaign_delete(struct sd_db *db, long long ws, long long id)
{
    char w[24], i[24];
    snprintf(w, sizeof w, "%lld", ws);
    snprintf(i, sizeof i, "%lld", id);
    struct delete_ctx c = {w, i};
    return sd_db_transaction_on(db, delete_tx, &c);
}

enum sd_rc sd_store_campaign_rotate_secret(struct sd_db *db, long long ws, long long id,
                                           const char *secret, int64_t previous_until_us,
                                           struct sd_campaign *out)
{
    char w[24], i[24], until[40];
    snprintf(w, sizeof w, "%lld", ws);
    snprintf(i, sizeof i, "%lld", id);
    sd_time_format_us(previous_until_us, until, sizeof until);
    const char *params[] = {w, i, secret, until};
    return one_campaign(db, &rotate_stmt, params, out);
}
