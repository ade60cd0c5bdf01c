/* `schedule` and `date` campaigns and the daily snapshot (store_occasions.h). The timing is
 * decided by the core (core_occasion.h); this file claims, enqueues and records. */
#include <stdlib.h>
#include <string.h>

#include "segmentd/core_occasion.h"
#include "segmentd/store_enqueue.h"
#include "segmentd/store_occasions.h"
#include "segmentd/util.h"
#include "store_util.h"

#define US_PER_MS 1000

static const struct sd_stmt due_campaigns_stmt = {
    "occasions_due",
    "SELECT id, trigger_type, coalesce(every_ms, 0), coalesce(date_field, ''), "
    "coalesce(month_day, ''), days_before, " US(
        "next_run_at") " FROM campaigns "
                       "WHERE workspace_id = $1::bigint AND active AND trigger_type IN "
                       "('schedule', 'date') "
                       "AND next_run_at <= $2::timestamptz ORDER BY id FOR UPDATE SKIP LOCKED",
    2};

static const struct sd_stmt next_run_stmt = {"occasions_next_run",
                                             "UPDATE campaigns SET next_run_at = $3::timestamptz "
                                             "WHERE workspace_id = $1::bigint AND id = $2::bigint",
                                             3};

static const struct sd_stmt snapshot_stmt = {
    "snapshot_take",
    "INSERT INTO segment_snapshots (workspace_id, day, kind, cell, customers, taken_at) "
    "SELECT $1::bigint, $2::date, kind, cell, sum(customers), now() FROM cell_counts "
    "WHERE workspace_id = $1::bigint "
    "AND NOT EXISTS (SELECT 1 FROM segment_snapshots WHERE workspace_id = $1::bigint "
    "AND day = $2::date) "
    "GROUP BY kind, cell ON CONFLICT DO NOTHING",
    2};

/* One claimed campaign and the statement parameters of its occasion. */
struct occasion {
    char id[24];
    char name[40];      /* the occasion: a period start or a date */
    char birthdays[32]; /* text[] literal or "" (everyone in the cells) */
    char next_run[40];
    const char *type; /* event type, or NULL: nothing falls on this run */
};

static void date_text(struct sd_date d, char *out, size_t len)
{
    snprintf(out, len, "%04d-%02d-%02d", d.year, d.month, d.day);
}

/* A `date` campaign runs once a UTC day; it announces the occasions `days_before` days ahead. */
static void plan_date(const PGresult *res, int row, int64_t now, struct occasion *o)
{
    struct sd_date today = sd_date_of(now);
    struct sd_date target = sd_date_add_days(today, atoi(PQgetvalue(res, row, 5)));
    sd_time_format_us(sd_date_start_us(sd_date_add_days(today, 1)), o->next_run,
                      sizeof o->next_run);
    date_text(target, o->name, sizeof o->name);
    const char *month_day = PQgetvalue(res, row, 4);
    int m, d;
    if (month_day[0] != '\0') {
        o->type = sd_month_day_parse(month_day, &m, &d) && sd_month_day_falls_on(m, d, target)
                      ? "customer.occasion"
                      : NULL;
        return;
    }
    /* birthdays: those born on 02-29 are greeted on 02-28 in other years */
    bool leap_day_too =
        target.month == 2 && target.day == 28 && sd_month_day_falls_on(2, 29, target);
    snprintf(o->birthdays, sizeof o->birthdays, "{%02d-%02d%s}", target.month, target.day,
             leap_day_too ? ",02-29" : "");
    o->type = "customer.occasion";
}

static void plan(const PGresult *res, int row, int64_t now, struct occasion *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->id, sizeof o->id, "%s", PQgetvalue(res, row, 0));
    if (strcmp(PQgetvalue(res, row, 1), "date") == 0) {
        plan_date(res, row, now, o);
        return;
    }
    int64_t every = strtoll(PQgetvalue(res, row, 2), NULL, 10) * US_PER_MS;
    int64_t next_run = strtoll(PQgetvalue(res, row, 6), NULL, 10);
    int64_t start, following;
    sd_schedule_period(next_run, every > 0 ? every : 86400LL * 1000000, now, &start, &following);
    sd_time_format_us(start, o->name, sizeof o->name);
    sd_time_format_us(following, o->next_run, sizeof o->next_run);
    o->type = "customer.scheduled";
}

static enum sd_rc run_claimed(struct sd_db *db, const char *w, const PGresult *due, int64_t now,
                              long long *enqueued)
{
    int n = PQntuples(due);
    struct occasion *o = calloc((size_t)n + 1, sizeof *o);
    PGresult **res = calloc((size_t)n + 1, sizeof *res);
    struct sd_pipe_step *steps = calloc(2 * (size_t)n + 2, sizeof *steps);
    const char **params = calloc(5 * (size_t)n + 1, sizeof *params);
    enum sd_rc rc = o && res && steps && params ? SD_OK : SD_ERR_NOMEM;
    int nsteps = 0;
    for (int i = 0; rc == SD_OK && i < n; i++) {
        plan(due, i, now, &o[i]);
        const char **p = &params[5 * i];
        p[0] = w, p[1] = o[i].id, p[2] = o[i].name, p[3] = o[i].type;
        p[4] = o[i].birthdays[0] ? o[i].birthdays : NULL;
        if (o[i].type != NULL)
            steps[nsteps++] = (struct sd_pipe_step){&store_enqueue_occasion_stmt, p, &res[i]};
    }
    const char **next = calloc(3 * (size_t)n + 1, sizeof *next);
    if (rc == SD_OK && next == NULL)
        rc = SD_ERR_NOMEM;
    for (int i = 0; rc == SD_OK && i < n; i++) {
        next[3 * i] = w, next[3 * i + 1] = o[i].id, next[3 * i + 2] = o[i].next_run;
        steps[nsteps++] = (struct sd_pipe_step){&next_run_stmt, &next[3 * i], NULL};
    }
    const char *p_ws[] = {w};
    if (rc == SD_OK) {
        steps[nsteps++] = (struct sd_pipe_step){&store_enqueue_notify_stmt, p_ws, NULL};
        steps[nsteps++] = (struct sd_pipe_step){&store_commit_stmt, NULL, NULL};
        rc = sd_db_pipeline(db, steps, nsteps);
    }
    for (int i = 0; res && i < n; i++) {
        if (res[i] != NULL)
            *enqueued += strtoll(PQcmdTuples(res[i]), NULL, 10);
        PQclear(res[i]);
    }
    free(next);
    free(params);
    free(steps);
    free(res);
    free(o);
    return rc;
}

enum sd_rc sd_store_occasions_run(struct sd_db *db, long long ws, int64_t now_us,
                                  long long *enqueued)
{
    char w[24], now[40];
    snprintf(w, sizeof w, "%lld", ws);
    sd_time_format_us(now_us, now, sizeof now);
    *enqueued = 0;
    PGresult *due = NULL;
    const char *p_due[] = {w, now};
    struct sd_pipe_step claim[] = {{&store_begin_stmt, NULL, NULL},
                                   {&due_campaigns_stmt, p_due, &due}};
    enum sd_rc rc = sd_db_pipeline(db, claim, 2);
    if (rc == SD_OK)
        rc = PQntuples(due) > 0 ? run_claimed(db, w, due, now_us, enqueued)
                                : sd_db_exec(db, &store_commit_stmt, NULL, NULL);
    if (rc != SD_OK && sd_db_conn(db) && PQtransactionStatus(sd_db_conn(db)) != PQTRANS_IDLE)
        PQclear(PQexec(sd_db_conn(db), "ROLLBACK"));
    PQclear(due);
    if (rc == SD_OK && *enqueued > 0)
        sd_store_enqueued();
    return rc;
}

enum sd_rc sd_store_snapshot_take(struct sd_db *db, long long ws, int64_t now_us, long long *taken)
{
    char w[24], day[16];
    snprintf(w, sizeof w, "%lld", ws);
    struct sd_date d = sd_date_of(now_us);
    snprintf(day, sizeof day, "%04d-%02d-%02d", d.year, d.month, d.day);
    const char *params[] = {w, day};
    PGresult *res = NULL;
    enum sd_rc rc = sd_db_exec(db, &snapshot_stmt, params, &res);
    *taken = rc == SD_OK ? strtoll(PQcmdTuples(res), NULL, 10) : 0;
    PQclear(res);
    return rc;
}
