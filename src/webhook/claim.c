/* The dispatcher's claims and decisions: due workspaces, a fair share of the free slots for each,
 * the lease, the read of everything the decision needs, and the decision itself
 * (core_policy.h) — sends join the local `waiting` list, suppressions and deferrals are written
 * at once. */
#include <stdlib.h>
#include <string.h>

#include "dispatch_internal.h"
#include "segmentd/log.h"

/* An endpoint with this many times max_per_endpoint running or waiting here gets no more rows
 * until some end: deep enough to keep its connections busy between claims, shallow enough to
 * leave slots to the other endpoints. */
#define BUSY_FACTOR 4
#define BACKLOG_DEFER_MS 1000 /* on top of the timeout: a conflicting send of ours resolves */

/* ---- deciding ---- */

/* Adds the sends of this process to the same customer that are not recorded yet (waiting, in
 * flight or ended), which the database cannot know about. */
static size_t unrecorded_sends(struct sd_dispatcher *d, const struct sd_outbox_item *it,
                               bool same_campaign, int64_t *out, size_t cap)
{
    struct wh_list *lists[] = {&d->waiting, &d->running, &d->done};
    size_t n = 0;
    for (size_t i = 0; i < 3; i++) {
        for (struct wh_transfer *t = lists[i]->head; t != NULL && n < cap; t = t->next) {
            if (t->item.ws != it->ws || t->item.customer_id != it->customer_id)
                continue;
            if (lists[i] == &d->done && t->outcome.action != SD_OUTBOX_DELIVERED)
                continue; /* ended without reaching the customer */
            if (!same_campaign || t->item.campaign_id == it->campaign_id)
                out[n++] = t->item.send.now_ms;
        }
    }
    return n;
}

static size_t merge(const int64_t *a, size_t na, const int64_t *b, size_t nb, int64_t *out)
{
    memcpy(out, a, na * sizeof *a);
    memcpy(out + na, b, nb * sizeof *b);
    return na + nb;
}

/* The core's decision; a limit that only sends of ours still in the air would break defers the
 * delivery until their outcome is known, rather than suppressing it for good. */
static enum sd_send_decision decide(struct sd_dispatcher *d, struct sd_outbox_item *it,
                                    int64_t *at_ms)
{
    enum sd_send_decision dec = sd_decide_send(&it->send, at_ms);
    if (dec != SD_SEND_NOW ||
        (it->send.campaign_limit.count <= 0 && it->send.workspace_limit.count <= 0))
        return dec;
    size_t cap = (size_t)(d->waiting.n + d->running.n + d->done.n);
    int64_t *mine_c = calloc(cap + 1, sizeof *mine_c), *mine_w = calloc(cap + 1, sizeof *mine_w);
    int64_t *all_c = NULL, *all_w = NULL;
    size_t nc = mine_c ? unrecorded_sends(d, it, true, mine_c, cap) : 0;
    size_t nw = mine_w ? unrecorded_sends(d, it, false, mine_w, cap) : 0;
    if (nw > 0) {
        struct sd_send_inputs in = it->send;
        all_c = calloc(in.campaign_nsent + nc + 1, sizeof *all_c);
        all_w = calloc(in.workspace_nsent + nw + 1, sizeof *all_w);
        if (all_c != NULL && all_w != NULL) {
            in.campaign_nsent = merge(in.campaign_sent_at_ms, in.campaign_nsent, mine_c, nc, all_c);
            in.campaign_sent_at_ms = all_c;
            in.workspace_nsent =
                merge(in.workspace_sent_at_ms, in.workspace_nsent, mine_w, nw, all_w);
            in.workspace_sent_at_ms = all_w;
            if (sd_decide_send(&in, NULL) == SD_SUPPRESS_MAX_MESSAGES) {
                dec = SD_SEND_LATER;
                *at_ms = it->send.now_ms + d->cfg->webhooks_timeout_ms + BACKLOG_DEFER_MS;
            }
        }
    }
    free(all_c);
    free(all_w);
    free(mine_c);
    free(mine_w);
    return dec;
}

static const char *suppress_reason(enum sd_send_decision dec)
{
    switch (dec) {
    case SD_SUPPRESS_OPTED_OUT:
        return "opted_out";
    case SD_SUPPRESS_MAX_MESSAGES:
        return "max_messages";
    case SD_SUPPRESS_LEFT_CELLS:
        return "left_cells";
    default:
        return NULL;
    }
}

/* Decides the loaded items of one workspace: those to send join `waiting` (taking the item
 * over), the others are recorded at once. Returns how many joined `waiting`. */
static int decide_items(struct sd_dispatcher *d, struct sd_db *db, long long ws,
                        struct sd_outbox_item *items, size_t n, int64_t lease_deadline_ms)
{
    struct sd_outbox_outcome *held = calloc(n + 1, sizeof *held);
    size_t nheld = 0;
    int queued = 0;
    long long suppressed = 0, deferred = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t at = 0;
        enum sd_send_decision dec = decide(d, &items[i], &at);
        struct wh_transfer *t = dec == SD_SEND_NOW ? calloc(1, sizeof *t) : NULL;
        if (t != NULL) {
            t->item = items[i];
            items[i] = (struct sd_outbox_item){0};
            t->lease_deadline_ms = lease_deadline_ms;
            sd_dispatch_endpoint_key(t->item.url, t->endpoint); /* "" if invalid: curl says why */
            wh_list_push(&d->waiting, t);
            queued++;
        } else if (dec != SD_SEND_NOW && held != NULL) {
            struct sd_outbox_outcome *o = &held[nheld++];
            *o = (struct sd_outbox_outcome){.id = items[i].id, .campaign_id = items[i].campaign_id};
            o->action = dec == SD_SEND_LATER ? SD_OUTBOX_DEFER : SD_OUTBOX_SUPPRESS;
            o->due_at_ms = at;
            o->reason = suppress_reason(dec);
            if (dec == SD_SEND_LATER)
                deferred++;
            else
                suppressed++;
        } /* else out of memory: the lease runs out and the row comes back */
    }
    enum sd_rc rc = sd_outbox_record(db, ws, d->owner, held, nheld);
    if (rc == SD_OK) {
        atomic_fetch_add(&d->results[WH_SUPPRESSED], suppressed);
        atomic_fetch_add(&d->results[WH_DEFERRED], deferred);
    } else {
        atomic_fetch_add(&d->errors, 1);
        log_warn("dispatcher: recording decisions of workspace %lld failed: %s", ws, sd_rc_str(rc));
    }
    free(held);
    return queued;
}

/* ---- claiming ---- */

/* Campaigns of workspace `ws` whose endpoint already has a full set in flight and another
 * waiting: a claim skips them, since their rows could not start soon. */
static size_t busy_campaigns(struct sd_dispatcher *d, long long ws, long long *out, size_t cap)
{
    struct wh_list *lists[] = {&d->running, &d->waiting};
    struct load {
        const char *endpoint;
        int n;
    } *loads = calloc(cap + 1, sizeof *loads);
    size_t nloads = 0, n = 0;
    if (loads == NULL)
        return 0;
    for (size_t i = 0; i < 2; i++) {
        for (struct wh_transfer *t = lists[i]->head; t != NULL; t = t->next) {
            size_t k = 0;
            while (k < nloads && strcmp(loads[k].endpoint, t->endpoint) != 0)
                k++;
            if (k == nloads && nloads < cap)
                loads[nloads++] = (struct load){t->endpoint, 0};
            if (k < nloads)
                loads[k].n++;
        }
    }
    for (size_t i = 0; i < 2; i++) {
        for (struct wh_transfer *t = lists[i]->head; t != NULL && n < cap; t = t->next) {
            if (t->item.ws != ws)
                continue;
            size_t k = 0;
            while (k < nloads && strcmp(loads[k].endpoint, t->endpoint) != 0)
                k++;
            bool seen = false;
            for (size_t j = 0; j < n && !seen; j++)
                seen = out[j] == t->item.campaign_id;
            if (k < nloads && loads[k].n >= BUSY_FACTOR * d->cfg->webhooks_max_per_endpoint &&
                !seen)
                out[n++] = t->item.campaign_id;
        }
    }
    free(loads);
    return n;
}

static enum sd_rc claim_workspace(struct sd_dispatcher *d, struct sd_db *db, long long ws,
                                  int limit, int *queued)
{
    size_t cap = (size_t)(d->running.n + d->waiting.n);
    long long *skip = calloc(cap + 1, sizeof *skip);
    long long *ids = NULL;
    struct sd_outbox_item *items = NULL;
    size_t nids = 0, nitems = 0;
    *queued = 0;
    if (skip == NULL)
        return SD_ERR_NOMEM;
    size_t nskip = busy_campaigns(d, ws, skip, cap);
    int64_t claimed_at = sd_now_mono_ms();
    enum sd_rc rc = sd_outbox_claim(db, ws, d->owner, d->cfg->webhooks_lease_ms, limit, skip, nskip,
                                    &ids, &nids);
    if (rc == SD_OK && nids > 0)
        rc = sd_outbox_load(db, ws, ids, nids, &items, &nitems);
    if (rc == SD_OK && ((int)nids >= limit || nskip > 0))
        d->backlog = true;
    if (rc == SD_OK && nitems > 0)
        *queued = decide_items(d, db, ws, items, nitems, claimed_at + d->cfg->webhooks_lease_ms);
    if (rc == SD_OK)
        d->freed += (int)nids - *queued; /* decided without a send: the slots are free again */
    for (size_t i = 0; i < nitems; i++)
        sd_outbox_item_clear(&items[i]);
    free(items);
    free(ids);
    free(skip);
    return rc;
}

enum sd_rc wh_claim_round(struct sd_dispatcher *d, bool rediscover)
{
    int free_slots = d->cfg->webhooks_max_in_flight - d->running.n - d->waiting.n;
    struct sd_db *db = NULL;
    d->backlog = false;
    d->freed = 0;
    d->last_claim_ms = sd_now_mono_ms();
    enum sd_rc rc = sd_pool_acquire(d->app->pool, &db);
    if (rc == SD_OK && (rediscover || d->ndue_ws == 0)) {
        free(d->due_ws);
        d->due_ws = NULL;
        d->ndue_ws = 0;
        rc = sd_outbox_due_workspaces(db, &d->due_ws, &d->ndue_ws);
    }
    size_t nws = d->ndue_ws;
    for (size_t j = 0; rc == SD_OK && j < nws && free_slots > 0; j++) {
        long long w = d->due_ws[(d->rr + j) % nws];
        int left = (int)(nws - j);
        int limit = (free_slots + left - 1) / left; /* a fair share of what is left */
        int queued = 0;
        enum sd_rc ws_rc = claim_workspace(d, db, w, limit, &queued);
        free_slots -= queued;
        if (ws_rc == SD_ERR_DB_UNAVAILABLE || ws_rc == SD_ERR_DB_BUSY || ws_rc == SD_ERR_NOMEM) {
            rc = ws_rc;
        } else if (ws_rc != SD_OK) { /* one workspace's trouble must not hold up the others */
            atomic_fetch_add(&d->errors, 1);
            log_warn("dispatcher: claim in workspace %lld failed: %s", w, sd_rc_str(ws_rc));
        }
    }
    d->rr++;
    if (db != NULL)
        sd_pool_release(d->app->pool, db);
    if (rc != SD_OK) {
        d->backlog = false;
        d->ndue_ws = 0; /* rediscover next time */
        atomic_fetch_add(&d->errors, 1);
        if (rc != SD_ERR_DB_UNAVAILABLE && rc != SD_ERR_DB_BUSY)
            log_warn("dispatcher: claim failed: %s", sd_rc_str(rc));
    }
    return rc;
}

void wh_release_waiting(struct sd_dispatcher *d)
{
    if (d->waiting.n == 0)
        return;
    struct sd_db *db = NULL;
    long long *ids = calloc((size_t)d->waiting.n + 1, sizeof *ids);
    if (ids != NULL && sd_pool_acquire(d->app->pool, &db) == SD_OK) {
        while (d->waiting.head != NULL) {
            long long ws = d->waiting.head->item.ws;
            size_t n = 0;
            struct wh_transfer *next;
            for (struct wh_transfer *t = d->waiting.head; t != NULL; t = next) {
                next = t->next;
                if (t->item.ws != ws)
                    continue;
                ids[n++] = t->item.id;
                wh_list_remove(&d->waiting, t);
                wh_transfer_free(t, d->multi);
            }
            if (sd_outbox_release(db, ws, d->owner, ids, n) != SD_OK)
                log_warn("dispatcher: could not give back %zu lease(s) of workspace %lld; they "
                         "run out by themselves",
                         n, ws);
        }
        sd_pool_release(d->app->pool, db);
    }
    while (d->waiting.head != NULL) { /* no database: the leases run out by themselves */
        struct wh_transfer *t = d->waiting.head;
        wh_list_remove(&d->waiting, t);
        wh_transfer_free(t, d->multi);
    }
    free(ids);
}
