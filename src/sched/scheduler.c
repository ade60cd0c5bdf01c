/* The scheduler thread. Its cost follows the number of due customers, not the size of the base:
 * per workspace one pipeline of index-range claims (one per cell with a column to its right). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "segmentd/log.h"
#include "segmentd/matrix_cache.h"
#include "segmentd/metrics.h"
#include "segmentd/scheduler.h"
#include "segmentd/store_due.h"
#include "segmentd/store_occasions.h"
#include "segmentd/util.h"

#define CLAIM_LIMIT 1000       /* per cell and round: bounded transactions */
#define MAX_ROUNDS 100         /* per workspace and tick: others get their turn */
#define MIN_SLEEP_US 200000    /* between two ticks, at least (unless woken) */
#define BOUNDARY_SLACK_US 1000 /* past a boundary before looking: it is due from then on */

struct sd_scheduler {
    struct sd_app *app;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, woken;
    atomic_llong moved_total;
    atomic_llong transitions_total;
    atomic_llong ticks_total;
    atomic_llong errors_total;
    atomic_llong occasions_total; /* deliveries enqueued by schedule and date campaigns */
    atomic_llong snapshots_total;
    atomic_llong due_last_tick; /* customers the last tick moved */
    int64_t next_due_us;        /* the earliest boundary ahead seen by the last tick (0: none) */
    atomic_llong last_tick_us;
    atomic_llong lag_us;
};

/* Moves one workspace's due customers; returns the oldest passed boundary seen (0 = none). */
static enum sd_rc tick_workspace(struct sd_scheduler *s, struct sd_db *db, long long ws,
                                 struct sd_matrix_set *ms, int64_t *oldest, int64_t *next_due)
{
    enum sd_rc rc = matrix_cache_get(db, ws, false, false, ms);
    *oldest = 0;
    *next_due = 0;
    for (int round = 0; rc == SD_OK && round < MAX_ROUNDS; round++) {
        long long moved = 0, transitions = 0;
        int64_t due = 0;
        rc = sd_store_due_move(db, ws, ms, sd_now_us(), CLAIM_LIMIT, &moved, &transitions, &due,
                               next_due);
        if (rc == SD_ERR_STALE) { /* a PUT landed: reload the matrices and go on */
            rc = matrix_cache_get(db, ws, false, true, ms);
            continue;
        }
        if (due != 0 && (*oldest == 0 || due < *oldest))
            *oldest = due;
        atomic_fetch_add(&s->moved_total, moved);
        atomic_fetch_add(&s->transitions_total, transitions);
        if (moved == 0)
            break;
    }
    long long enqueued = 0, taken = 0;
    if (rc == SD_OK)
        rc = sd_store_occasions_run(db, ws, sd_now_us(), &enqueued);
    atomic_fetch_add(&s->occasions_total, enqueued);
    /* a no-op (one index probe) once the day is recorded */
    if (rc == SD_OK)
        rc = sd_store_snapshot_take(db, ws, sd_now_us(), &taken);
    atomic_fetch_add(&s->snapshots_total, taken);
    return rc;
}

static void tick(struct sd_scheduler *s)
{
    struct sd_app *app = s->app;
    if (!atomic_load(&app->ready))
        return;
    int64_t started = sd_now_us();
    struct sd_db *db = NULL;
    long long *ids = NULL;
    size_t n = 0;
    struct sd_matrix_set *ms = malloc(sizeof *ms);
    enum sd_rc rc = ms ? sd_pool_acquire(app->pool, &db) : SD_ERR_NOMEM;
    if (rc == SD_OK)
        rc = sd_store_workspace_ids(db, &ids, &n);
    int64_t oldest = 0, next_due = 0;
    long long moved_before = atomic_load(&s->moved_total);
    for (size_t i = 0; rc == SD_OK && i < n; i++) {
        int64_t ws_oldest = 0, ws_next = 0;
        rc = tick_workspace(s, db, ids[i], ms, &ws_oldest, &ws_next);
        if (ws_next != 0 && (next_due == 0 || ws_next < next_due))
            next_due = ws_next;
        if (ws_oldest != 0 && (oldest == 0 || ws_oldest < oldest))
            oldest = ws_oldest;
    }
    if (db != NULL)
        sd_pool_release(app->pool, db);
    if (rc != SD_OK) {
        atomic_fetch_add(&s->errors_total, 1);
        if (rc != SD_ERR_DB_UNAVAILABLE && rc != SD_ERR_DB_BUSY)
            log_warn("scheduler tick failed: %s", sd_rc_str(rc));
    }
    int64_t now = sd_now_us();
    atomic_store(&s->lag_us, oldest ? now - oldest : 0);
    s->next_due_us = rc == SD_OK ? next_due : 0;
    atomic_store(&s->due_last_tick, atomic_load(&s->moved_total) - moved_before);
    atomic_store(&s->last_tick_us, now - started);
    atomic_fetch_add(&s->ticks_total, 1);
    free(ids);
    free(ms);
}

/* When the next tick starts: after the interval, or at the next boundary if that comes first
 * (so a customer falls asleep within moments of the boundary, not up to an interval later), but
 * never sooner than MIN_SLEEP_US (a boundary held by another process's claim must not make us
 * spin). */
static struct timespec next_tick_at(const struct sd_scheduler *s)
{
    int64_t now = sd_now_us();
    int64_t interval = s->app->cfg->scheduler_interval_ms * 1000;
    int64_t at = now + interval;
    if (s->next_due_us != 0 && s->next_due_us + BOUNDARY_SLACK_US < at)
        at = s->next_due_us + BOUNDARY_SLACK_US;
    int64_t floor = now + (MIN_SLEEP_US < interval ? MIN_SLEEP_US : interval);
    if (at < floor)
        at = floor;
    struct timespec ts = {(time_t)(at / 1000000), (long)(at % 1000000) * 1000};
    return ts;
}

static void *scheduler_main(void *arg)
{
    struct sd_scheduler *s = arg;
    for (;;) {
        tick(s);
        struct timespec until = next_tick_at(s);
        pthread_mutex_lock(&s->mu);
        while (!s->stop && !s->woken && pthread_cond_timedwait(&s->cv, &s->mu, &until) == 0)
            ;
        bool stop = s->stop;
        s->woken = false;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            return NULL;
    }
}

static enum sd_rc render_metrics(struct sd_buf *out, void *ctx)
{
    struct sd_scheduler *s = ctx;
    enum sd_rc rc = sd_buf_printf(
        out,
        "# HELP segmentd_scheduler_ticks_total Scheduler ticks.\n"
        "# TYPE segmentd_scheduler_ticks_total counter\n"
        "segmentd_scheduler_ticks_total %lld\n"
        "# HELP segmentd_scheduler_customers_moved_total Customers moved by time.\n"
        "# TYPE segmentd_scheduler_customers_moved_total counter\n"
        "segmentd_scheduler_customers_moved_total %lld\n"
        "# HELP segmentd_scheduler_transitions_total Transitions recorded by the scheduler.\n"
        "# TYPE segmentd_scheduler_transitions_total counter\n"
        "segmentd_scheduler_transitions_total %lld\n"
        "# HELP segmentd_scheduler_errors_total Ticks that failed.\n"
        "# TYPE segmentd_scheduler_errors_total counter\n"
        "segmentd_scheduler_errors_total %lld\n"
        "# HELP segmentd_scheduler_occasions_total Deliveries enqueued by schedule and date "
        "campaigns.\n"
        "# TYPE segmentd_scheduler_occasions_total counter\n"
        "segmentd_scheduler_occasions_total %lld\n"
        "# HELP segmentd_scheduler_snapshot_rows_total Daily segment-size rows recorded.\n"
        "# TYPE segmentd_scheduler_snapshot_rows_total counter\n"
        "segmentd_scheduler_snapshot_rows_total %lld\n"
        "# HELP segmentd_scheduler_last_tick_seconds Duration of the last tick.\n"
        "# TYPE segmentd_scheduler_last_tick_seconds gauge\n"
        "segmentd_scheduler_last_tick_seconds %.6f\n"
        "# HELP segmentd_scheduler_lag_seconds Age of the oldest passed next_change_at seen in "
        "the last tick (0: nothing was due).\n"
        "# TYPE segmentd_scheduler_lag_seconds gauge\n"
        "segmentd_scheduler_lag_seconds %.3f\n"
        "# HELP segmentd_scheduler_due_last_tick Due customers the last tick moved.\n"
        "# TYPE segmentd_scheduler_due_last_tick gauge\n"
        "segmentd_scheduler_due_last_tick %lld\n",
        atomic_load(&s->ticks_total), atomic_load(&s->moved_total),
        atomic_load(&s->transitions_total), atomic_load(&s->errors_total),
        atomic_load(&s->occasions_total), atomic_load(&s->snapshots_total),
        (double)atomic_load(&s->last_tick_us) / 1e6, (double)atomic_load(&s->lag_us) / 1e6,
        atomic_load(&s->due_last_tick));
    return rc == SD_OK ? sd_store_transitions_metrics(out) : rc;
}

struct sd_scheduler *sd_scheduler_start(struct sd_app *app)
{
    struct sd_scheduler *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->app = app;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    sd_metrics_add_collector(app->metrics, render_metrics, s);
    if (pthread_create(&s->thread, NULL, scheduler_main, s) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

void sd_scheduler_wake(struct sd_scheduler *s)
{
    pthread_mutex_lock(&s->mu);
    s->woken = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void sd_scheduler_stop(struct sd_scheduler *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
