/* The dispatcher thread: one loop around curl_multi_poll that claims due deliveries, decides
 * them, sends them within the in-flight bounds, and records the attempts.
 *
 * A delivery moves through three local lists: `waiting` (claimed and decided SEND_NOW, not yet
 * started: libcurl must not queue them itself, since a queued transfer spends its timeout —
 * TRAPS.md), `running` (in the multi handle) and `done` (ended, its outcome not yet written).
 * Claims ask for no more than the free slots, so a claimed row starts soon; one whose lease is
 * about to run out while it waits is dropped (another process may take it). */
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dispatch_internal.h"
#include "segmentd/log.h"
#include "segmentd/metrics.h"
#include "segmentd/util.h"

#define WAKE_DELAY_MS 20    /* wake-ups coalesce; the enqueuing transaction gets to commit */
#define RECHECK_MS 250      /* a second look after a wake-up, for a slow commit */
#define DEPTH_EVERY_MS 5000 /* outbox depth refresh */
#define MAX_WAIT_MS 1000    /* the loop turns at least this often (lease checks, stop) */
#define BACKLOG_CLAIM_MS 10 /* claims while working through a backlog, at most this often */
#define DOWN_POLL_MS 5000   /* looks for work while the database is unreachable */

/* ---- lists and endpoints ---- */

void wh_list_push(struct wh_list *l, struct wh_transfer *t)
{
    t->next = NULL;
    t->prev = l->tail;
    if (l->tail != NULL)
        l->tail->next = t;
    else
        l->head = t;
    l->tail = t;
    l->n++;
}

void wh_list_remove(struct wh_list *l, struct wh_transfer *t)
{
    if (t->prev != NULL)
        t->prev->next = t->next;
    else
        l->head = t->next;
    if (t->next != NULL)
        t->next->prev = t->prev;
    else
        l->tail = t->prev;
    t->prev = t->next = NULL;
    l->n--;
}

static struct wh_endpoint *endpoint_find(struct sd_dispatcher *d, const char *key)
{
    for (size_t i = 0; i < d->neps; i++) {
        if (strcmp(d->eps[i].key, key) == 0)
            return &d->eps[i];
    }
    return NULL;
}

static int endpoint_running(struct sd_dispatcher *d, const char *key)
{
    struct wh_endpoint *e = endpoint_find(d, key);
    return e ? e->running : 0;
}

/* `eps` has room for max_in_flight entries: one per transfer at most. */
static void endpoint_add(struct sd_dispatcher *d, const char *key, int delta)
{
    struct wh_endpoint *e = endpoint_find(d, key);
    if (e == NULL && delta > 0) {
        e = &d->eps[d->neps++];
        snprintf(e->key, sizeof e->key, "%s", key);
        e->running = 0;
    }
    if (e == NULL)
        return;
    e->running += delta;
    if (e->running <= 0)
        *e = d->eps[--d->neps];
}

/* ---- sending ---- */

static void start_waiting(struct sd_dispatcher *d, int64_t now)
{
    int64_t margin = d->cfg->webhooks_timeout_ms;
    if (margin > d->cfg->webhooks_lease_ms / 2)
        margin = d->cfg->webhooks_lease_ms / 2;
    struct wh_transfer *next;
    for (struct wh_transfer *t = d->waiting.head; t != NULL; t = next) {
        next = t->next;
        if (t->lease_deadline_ms - now < margin) {
            log_info("dispatcher: delivery %lld of workspace %lld waited too long for a slot; "
                     "left for its lease to run out",
                     t->item.id, t->item.ws);
            wh_list_remove(&d->waiting, t);
            wh_transfer_free(t, d->multi);
            atomic_fetch_add(&d->dropped, 1);
            d->freed++;
            continue;
        }
        if (d->running.n >= d->cfg->webhooks_max_in_flight)
            break;
        if (endpoint_running(d, t->endpoint) >= d->cfg->webhooks_max_per_endpoint)
            continue;
        wh_list_remove(&d->waiting, t);
        if (wh_transfer_start(t, d->multi, d->cfg) != SD_OK) {
            wh_transfer_outcome(t, d->cfg); /* counts as a failed attempt */
            wh_list_push(&d->done, t);
            continue;
        }
        endpoint_add(d, t->endpoint, 1);
        wh_list_push(&d->running, t);
    }
    atomic_store(&d->in_flight, d->running.n);
}

/* Moves the ended transfers to `done`; returns how many. */
static int collect_finished(struct sd_dispatcher *d)
{
    CURLMsg *msg;
    int left, n = 0;
    while ((msg = curl_multi_info_read(d->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct wh_transfer *t = NULL;
        CURLcode code = msg->data.result; /* msg is invalid once the handle is removed */
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        if (t == NULL)
            continue;
        wh_transfer_end(t, d->multi, code);
        endpoint_add(d, t->endpoint, -1);
        wh_list_remove(&d->running, t);
        wh_observe_latency(d, t->latency_us);
        d->freed++;
        wh_transfer_outcome(t, d->cfg);
        wh_list_push(&d->done, t);
        n++;
    }
    atomic_store(&d->in_flight, d->running.n);
    return n;
}

/* ---- the loop ---- */

/* Working through a backlog: claim again once slots were freed, at most every
 * BACKLOG_CLAIM_MS (0: not now). */
static int64_t backlog_claim_at(const struct sd_dispatcher *d, int free_slots)
{
    if (!d->backlog || d->freed <= 0 || free_slots <= 0)
        return 0;
    return d->last_claim_ms + BACKLOG_CLAIM_MS;
}

static bool claim_due(const struct sd_dispatcher *d, int64_t now, int free_slots)
{
    if (free_slots <= 0)
        return false;
    int64_t backlog_at = backlog_claim_at(d, free_slots);
    return (backlog_at != 0 && now >= backlog_at) || now >= d->next_poll_ms ||
           (d->wake_at_ms != 0 && now >= d->wake_at_ms) ||
           (d->recheck_at_ms != 0 && now >= d->recheck_at_ms);
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* How long curl_multi_poll may sleep: until the next timer that can do something. */
static int wait_ms(const struct sd_dispatcher *d, int64_t now, bool ready, bool draining)
{
    int64_t until = now + MAX_WAIT_MS;
    int free_slots = d->cfg->webhooks_max_in_flight - d->running.n - d->waiting.n;
    if (ready && !draining && free_slots > 0) {
        int64_t backlog_at = backlog_claim_at(d, free_slots);
        until =
            min64(until, backlog_at != 0 ? min64(backlog_at, d->next_poll_ms) : d->next_poll_ms);
        if (d->wake_at_ms != 0)
            until = min64(until, d->wake_at_ms);
        if (d->recheck_at_ms != 0)
            until = min64(until, d->recheck_at_ms);
    }
    if (ready && !draining)
        until = min64(until, d->next_depth_ms);
    int64_t listener = wh_listener_next_ms(&d->listener);
    if (!draining && listener != 0)
        until = min64(until, listener);
    if (d->done.n > 0)
        until = min64(until, d->record_at_ms);
    return until <= now ? 0 : (int)(until - now);
}

static void take_wakeups(struct sd_dispatcher *d, int64_t now)
{
    if (!atomic_exchange(&d->woken, false))
        return;
    if (d->wake_at_ms == 0)
        d->wake_at_ms = now + WAKE_DELAY_MS;
    d->recheck_at_ms = now + RECHECK_MS;
}

static void *dispatcher_main(void *arg)
{
    struct sd_dispatcher *d = arg;
    bool draining = false;
    for (;;) {
        int64_t now = sd_now_mono_ms();
        bool ready = atomic_load(&d->app->ready);
        take_wakeups(d, now);
        if (atomic_load(&d->stop) && !draining) {
            draining = true;
            wh_release_waiting(d);
            wh_listener_close(&d->listener);
        }
        int free_slots = d->cfg->webhooks_max_in_flight - d->running.n - d->waiting.n;
        if (!draining && ready && claim_due(d, now, free_slots)) {
            bool rediscover = now >= d->next_poll_ms ||
                              (d->wake_at_ms != 0 && now >= d->wake_at_ms) ||
                              (d->recheck_at_ms != 0 && now >= d->recheck_at_ms);
            enum sd_rc rc = wh_claim_round(d, rediscover);
            now = sd_now_mono_ms();
            d->db_down = rc == SD_ERR_DB_UNAVAILABLE;
            /* While the database is away, every look costs a connect attempt (and a log line):
             * look less often; the LISTEN connection says when it is back. */
            d->next_poll_ms = now + (d->db_down && d->cfg->webhooks_poll_interval_ms < DOWN_POLL_MS
                                         ? DOWN_POLL_MS
                                         : d->cfg->webhooks_poll_interval_ms);
            d->wake_at_ms = 0;
            if (d->recheck_at_ms != 0 && d->recheck_at_ms <= now)
                d->recheck_at_ms = 0;
        }
        if (!draining)
            start_waiting(d, now);
        if (!draining && ready && !d->db_down && now >= d->next_depth_ms) {
            wh_refresh_depth(d);
            d->next_depth_ms = now + DEPTH_EVERY_MS;
        }
        if (draining && d->running.n == 0) {
            wh_record_done(d, now, true);
            return NULL;
        }

        struct curl_waitfd fd = {0};
        int nfd = draining ? 0 : wh_listener_waitfd(&d->listener, &fd);
        int numfds = 0, still = 0;
        curl_multi_poll(d->multi, nfd ? &fd : NULL, (unsigned)nfd, wait_ms(d, now, ready, draining),
                        &numfds);
        curl_multi_perform(d->multi, &still);
        collect_finished(d);
        now = sd_now_mono_ms();
        /* refill the freed slots from `waiting` before the database work below, so the
         * endpoints stay busy while outcomes are written and more rows are claimed */
        /* (a local endpoint answers within that perform: collect again, or those transfers
         * would sit finished while the poll below sleeps) */
        while (!draining && d->waiting.n > 0) {
            int before = d->running.n;
            start_waiting(d, now);
            if (d->running.n == before)
                break;
            curl_multi_perform(d->multi, &still);
            if (collect_finished(d) == 0)
                break;
        }
        if (!draining && wh_listener_step(&d->listener, nfd ? fd.revents : 0, now))
            d->wake_at_ms = now; /* committed elsewhere: look at once */
        wh_record_done(d, now, false);
    }
}

/* ---- start, wake, stop ---- */

static void make_owner(char *out, size_t outlen)
{
    char host[64] = "";
    unsigned char rnd[4] = {0};
    char hex[9];
    if (gethostname(host, sizeof host) != 0 || host[0] == '\0')
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        uint64_t t = (uint64_t)sd_now_us();
        memcpy(rnd, &t, sizeof rnd);
    }
    sd_hex_encode(rnd, sizeof rnd, hex);
    snprintf(out, outlen, "%s:%ld:%s", host, (long)getpid(), hex);
}

static void dispatcher_free(struct sd_dispatcher *d)
{
    struct wh_list *lists[] = {&d->waiting, &d->running, &d->done};
    for (size_t i = 0; i < 3; i++) {
        while (lists[i]->head != NULL) {
            struct wh_transfer *t = lists[i]->head;
            wh_list_remove(lists[i], t);
            wh_transfer_free(t, d->multi);
        }
    }
    wh_listener_close(&d->listener);
    if (d->multi != NULL)
        curl_multi_cleanup(d->multi);
    curl_global_cleanup();
    free(d->eps);
    free(d->due_ws);
    free(d);
}

struct sd_dispatcher *sd_dispatcher_start(struct sd_app *app)
{
    struct sd_dispatcher *d = calloc(1, sizeof *d);
    if (d == NULL)
        return NULL;
    d->app = app;
    d->cfg = app->cfg;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(d);
        return NULL;
    }
    d->eps = calloc((size_t)d->cfg->webhooks_max_in_flight, sizeof *d->eps);
    d->multi = curl_multi_init();
    if (d->eps == NULL || d->multi == NULL) {
        dispatcher_free(d);
        return NULL;
    }
    /* Idle connections kept for reuse; libcurl never queues a transfer of ours (no host or
     * total connection limit is set): the bounds are counted here. */
    curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS, (long)d->cfg->webhooks_max_in_flight);
    make_owner(d->owner, sizeof d->owner);
    wh_listener_init(&d->listener, sd_pool_conninfo(app->pool));
    atomic_init(&d->stop, false);
    atomic_init(&d->woken, false);
    if (pthread_create(&d->thread, NULL, dispatcher_main, d) != 0) {
        dispatcher_free(d);
        return NULL;
    }
    sd_metrics_add_collector(app->metrics, wh_render_metrics, d);
    log_info("dispatcher started (process %s; %d in flight, %d per endpoint%s)", d->owner,
             d->cfg->webhooks_max_in_flight, d->cfg->webhooks_max_per_endpoint,
             d->cfg->webhooks_allow_private ? "; private addresses ALLOWED" : "");
    return d;
}

void sd_dispatcher_wake(struct sd_dispatcher *d)
{
    if (d == NULL)
        return;
    /* Only the first wake-up since the loop last looked needs to interrupt its poll. */
    if (!atomic_exchange(&d->woken, true))
        curl_multi_wakeup(d->multi);
}

void sd_dispatcher_wake_hook(void *ctx)
{
    sd_dispatcher_wake(ctx);
}

void sd_dispatcher_stop(struct sd_dispatcher *d)
{
    if (d == NULL)
        return;
    atomic_store(&d->stop, true);
    curl_multi_wakeup(d->multi);
    pthread_join(d->thread, NULL);
    dispatcher_free(d);
}
