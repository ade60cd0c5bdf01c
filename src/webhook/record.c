/* The dispatcher's outcomes and metrics: the attempts of ended transfers written one
 * transaction per workspace, the outbox depth, and the collector for /metrics. */
#include <stdio.h>
#include <stdlib.h>

#include "dispatch_internal.h"
#include "segmentd/log.h"

#define RECORD_RETRY_MS 1000 /* after the database refused to record outcomes */
#define RECORD_BATCH_MS 10   /* outcomes are written at most this often: fewer, larger batches */

const double wh_buckets[WH_NBUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
const char *const wh_result_names[WH_RESULTS] = {"delivered", "failed", "dead", "suppressed",
                                                 "deferred"};

void wh_observe_latency(struct sd_dispatcher *d, int64_t us)
{
    double s = (double)us / 1e6;
    size_t b = 0;
    while (b < WH_NBUCKETS && s > wh_buckets[b])
        b++;
    atomic_fetch_add(&d->bucket[b], 1);
    atomic_fetch_add(&d->sum_us, (unsigned long long)(us < 0 ? 0 : us));
    atomic_fetch_add(&d->count, 1);
}

/* ---- recording ---- */

static void count_recorded(struct sd_dispatcher *d, const struct sd_outbox_outcome *o)
{
    enum wh_result r = o->action == SD_OUTBOX_DELIVERED ? WH_DELIVERED
                       : o->action == SD_OUTBOX_DEAD    ? WH_DEAD
                                                        : WH_FAILED;
    atomic_fetch_add(&d->results[r], 1);
    if (o->lease_lost) {
        atomic_fetch_add(&d->leases_lost, 1);
        log_warn("dispatcher: delivery %lld was no longer this process's when its attempt "
                 "ended (its lease ran out, or it was erased); another process may send it again",
                 o->id);
    }
}

static bool transient(enum sd_rc rc)
{
    return rc == SD_ERR_DB_UNAVAILABLE || rc == SD_ERR_DB_BUSY || rc == SD_ERR_DB_RETRY ||
           rc == SD_ERR_DB_TIMEOUT || rc == SD_ERR_NOMEM;
}

/* A batch the database refused for a reason other than its availability: one transaction per
 * outcome, so that one bad row does not sink the others. Marks those that were written. */
static void record_one_by_one(struct sd_dispatcher *d, struct sd_db *db, long long ws,
                              struct sd_outbox_outcome *o, size_t n, bool *written)
{
    for (size_t i = 0; i < n; i++) {
        enum sd_rc rc = sd_outbox_record(db, ws, d->owner, &o[i], 1);
        written[i] = rc == SD_OK;
        if (rc != SD_OK)
            log_warn("dispatcher: the attempt of delivery %lld (workspace %lld) could not be "
                     "recorded: %s; it is sent again when its lease runs out",
                     o[i].id, ws, sd_rc_str(rc));
    }
}

/* Writes one workspace's ended transfers; returns false to keep them for a later try. */
static bool record_workspace(struct sd_dispatcher *d, struct sd_db *db, long long ws, bool final)
{
    struct sd_outbox_outcome *o = calloc((size_t)d->done.n + 1, sizeof *o);
    bool *written = calloc((size_t)d->done.n + 1, sizeof *written);
    if (o == NULL || written == NULL) {
        free(o);
        free(written);
        return false;
    }
    size_t n = 0;
    for (struct wh_transfer *t = d->done.head; t != NULL; t = t->next) {
        if (t->item.ws == ws)
            o[n++] = t->outcome;
    }
    enum sd_rc rc = sd_outbox_record(db, ws, d->owner, o, n);
    if (rc != SD_OK) {
        atomic_fetch_add(&d->errors, 1);
        log_warn("dispatcher: recording %zu attempt(s) of workspace %lld failed: %s%s", n, ws,
                 sd_rc_str(rc), transient(rc) && !final ? " (will retry)" : "");
    }
    if (rc != SD_OK && transient(rc) && !final) {
        free(o);
        free(written);
        return false;
    }
    for (size_t k = 0; rc == SD_OK && k < n; k++)
        written[k] = true;
    if (rc != SD_OK && !transient(rc) && n > 1)
        record_one_by_one(d, db, ws, o, n, written);
    size_t i = 0;
    struct wh_transfer *next;
    for (struct wh_transfer *t = d->done.head; t != NULL; t = next) {
        next = t->next;
        if (t->item.ws != ws)
            continue;
        if (written[i])
            count_recorded(d, &o[i]);
        i++;
        wh_list_remove(&d->done, t);
        wh_transfer_free(t, d->multi);
    }
    free(o);
    free(written);
    return true;
}

void wh_record_done(struct sd_dispatcher *d, int64_t now, bool final)
{
    if (d->done.n == 0 || (!final && now < d->record_at_ms))
        return;
    struct sd_db *db = NULL;
    if (sd_pool_acquire(d->app->pool, &db) != SD_OK) {
        d->record_at_ms = now + RECORD_RETRY_MS;
        if (final)
            log_warn("dispatcher: %d attempt(s) could not be recorded at shutdown; they will be "
                     "sent again when their lease runs out",
                     d->done.n);
        return;
    }
    /* Workspace by workspace, in the order their first transfer ended. */
    d->record_at_ms = now + RECORD_BATCH_MS;
    struct wh_transfer *cursor = d->done.head;
    while (cursor != NULL) {
        long long ws = cursor->item.ws;
        if (!record_workspace(d, db, ws, final)) {
            d->record_at_ms = now + RECORD_RETRY_MS;
            break;
        }
        cursor = d->done.head;
    }
    sd_pool_release(d->app->pool, db);
}

/* Gives back the leases of the deliveries that never started (shutdown). */
void wh_refresh_depth(struct sd_dispatcher *d)
{
    struct sd_db *db = NULL;
    long long pending = 0, failed = 0;
    if (sd_pool_acquire(d->app->pool, &db) != SD_OK)
        return;
    if (sd_outbox_depth(db, &pending, &failed) == SD_OK) {
        atomic_store(&d->depth_pending, pending);
        atomic_store(&d->depth_failed, failed);
    }
    sd_pool_release(d->app->pool, db);
}

/* ---- metrics ---- */

enum sd_rc wh_render_metrics(struct sd_buf *out, void *ctx)
{
    struct sd_dispatcher *d = ctx;
    enum sd_rc rc = sd_buf_printf(
        out,
        "# HELP segmentd_outbox_depth Webhook deliveries waiting to go out, all processes "
        "(refreshed every few seconds).\n"
        "# TYPE segmentd_outbox_depth gauge\n"
        "segmentd_outbox_depth{state=\"pending\"} %lld\n"
        "segmentd_outbox_depth{state=\"failed\"} %lld\n"
        "# HELP segmentd_deliveries_total Webhook deliveries handled by this process, by "
        "result (failed: an attempt failed and will be retried).\n"
        "# TYPE segmentd_deliveries_total counter\n",
        atomic_load(&d->depth_pending), atomic_load(&d->depth_failed));
    for (int r = 0; rc == SD_OK && r < WH_RESULTS; r++)
        rc = sd_buf_printf(out, "segmentd_deliveries_total{result=\"%s\"} %lld\n",
                           wh_result_names[r], atomic_load(&d->results[r]));
    if (rc == SD_OK)
        rc = sd_buf_printf(
            out,
            "# HELP segmentd_delivery_in_flight Webhook requests in flight.\n"
            "# TYPE segmentd_delivery_in_flight gauge\n"
            "segmentd_delivery_in_flight %d\n"
            "# HELP segmentd_delivery_leases_lost_total Attempts whose lease ran out before "
            "they were recorded.\n"
            "# TYPE segmentd_delivery_leases_lost_total counter\n"
            "segmentd_delivery_leases_lost_total %lld\n"
            "# HELP segmentd_delivery_dropped_total Claimed deliveries left for their lease to "
            "run out because no slot freed up in time.\n"
            "# TYPE segmentd_delivery_dropped_total counter\n"
            "segmentd_delivery_dropped_total %lld\n"
            "# HELP segmentd_dispatcher_errors_total Claims and writes of the dispatcher that "
            "failed.\n"
            "# TYPE segmentd_dispatcher_errors_total counter\n"
            "segmentd_dispatcher_errors_total %lld\n"
            "# HELP segmentd_delivery_duration_seconds Duration of one webhook attempt.\n"
            "# TYPE segmentd_delivery_duration_seconds histogram\n",
            atomic_load(&d->in_flight), atomic_load(&d->leases_lost), atomic_load(&d->dropped),
            atomic_load(&d->errors));
    unsigned long long cum = 0;
    for (size_t b = 0; rc == SD_OK && b <= WH_NBUCKETS; b++) {
        cum += atomic_load(&d->bucket[b]);
        char le[24];
        if (b < WH_NBUCKETS)
            snprintf(le, sizeof le, "%g", wh_buckets[b]);
        else
            snprintf(le, sizeof le, "+Inf");
        rc = sd_buf_printf(out, "segmentd_delivery_duration_seconds_bucket{le=\"%s\"} %llu\n", le,
                           cum);
    }
    if (rc == SD_OK)
        rc = sd_buf_printf(out,
                           "segmentd_delivery_duration_seconds_sum %.6f\n"
                           "segmentd_delivery_duration_seconds_count %llu\n",
                           (double)atomic_load(&d->sum_us) / 1e6, atomic_load(&d->count));
    return rc;
}
