/* The outbox's sending side: how the dispatcher finds, claims, reads and finishes webhook
 * deliveries (SCALE.md "Background work without a leader").
 *
 * Work is found across workspaces with a plain GROUP BY, then claimed one workspace at a time
 * (FOR UPDATE SKIP LOCKED, committed at once) by setting a lease: lease_owner = the process,
 * lease_until = now + lease. Every write that finishes a delivery requires lease_owner to still be
 * the process (zero rows: the lease ran out and another process may have taken the row). A lease
 * that runs out (crashed process) makes the row claimable again by anyone.
 *
 * Times: values read from the database are in ms since the epoch on the database's clock;
 * instants computed by the caller are passed as parameters (SCALE.md Q3). */
#ifndef SEGMENTD_STORE_OUTBOX_H
#define SEGMENTD_STORE_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segmentd/core_policy.h"
#include "segmentd/db.h"

/* The workspaces that have deliveries due now (pending or failed, due_at passed, leased or not).
 * `*ids` is a new array the caller frees. */
enum sd_rc sd_outbox_due_workspaces(struct sd_db *db, long long **ids, size_t *n) SD_MUST_CHECK;

/* Claims up to `limit` due deliveries of one workspace whose campaign is active and whose lease
 * is free or expired, oldest due first, skipping the campaigns in `skip_campaigns` (borrowed,
 * `nskip` entries: their endpoints are busy in this process). Commits at once. `*ids` is a new
 * array of the claimed delivery ids the caller frees. */
enum sd_rc sd_outbox_claim(struct sd_db *db, long long ws, const char *owner, int64_t lease_ms,
                           int limit, const long long *skip_campaigns, size_t nskip,
                           long long **ids, size_t *n) SD_MUST_CHECK;

/* Gives leases back without an attempt (shutdown, a campaign paused meanwhile): the rows are
 * claimable again at once. Rows no longer leased by `owner` are left alone. */
enum sd_rc sd_outbox_release(struct sd_db *db, long long ws, const char *owner,
                             const long long *ids, size_t n) SD_MUST_CHECK;

/* A claimed delivery with everything needed to decide about it and to send it. Owns its strings
 * and arrays (sd_outbox_item_clear frees them). */
struct sd_outbox_item {
    long long ws, id, campaign_id, customer_id;
    char *msg_id; /* webhook-id */
    char *body;   /* the exact bytes to sign and send */
    size_t body_len;
    char *url;                /* the campaign's webhook_url */
    char *secret;             /* whsec_… */
    char *previous_secret;    /* NULL unless a rotation happened less than 24 h ago */
    int attempts;             /* attempts made before this one */
    int64_t failing_since_ms; /* the campaign's endpoint has failed since (0: healthy) */
    /* The decision's inputs, database clock (send.now_ms = the database's now()). The arrays
     * point into campaign_sent / workspace_sent. */
    struct sd_send_inputs send;
    int64_t *campaign_sent;  /* this campaign's deliveries to the customer, within its limit */
    int64_t *workspace_sent; /* every delivery to the customer within the policy's limit */
};

/* Reads the claimed deliveries `ids` (borrowed, `n` entries) of workspace `ws`, with their
 * campaign, customer and contact policy. Rows that vanished (customer erased, campaign deleted)
 * are left out. `*items` is a new array (oldest due first) the caller frees after clearing each
 * item. */
enum sd_rc sd_outbox_load(struct sd_db *db, long long ws, const long long *ids, size_t n,
                          struct sd_outbox_item **items, size_t *nitems) SD_MUST_CHECK;
/* Frees what an item owns (not the item itself) and zeroes it. */
void sd_outbox_item_clear(struct sd_outbox_item *it);

/* What became of one claimed delivery. */
enum sd_outbox_action {
    SD_OUTBOX_DELIVERED, /* the attempt was answered 2xx */
    SD_OUTBOX_RETRY,     /* the attempt failed: 'failed', next attempt in retry_in_ms */
    SD_OUTBOX_DEAD,      /* the attempt failed and the retry schedule is exhausted */
    SD_OUTBOX_GONE,      /* 410 Gone: 'failed' (due again on a resume), the campaign paused */
    SD_OUTBOX_SUPPRESS,  /* no attempt: held back by a rule, `reason` */
    SD_OUTBOX_DEFER,     /* no attempt: back to 'pending' until due_at_ms (quiet hours) */
};

struct sd_outbox_outcome {
    long long id, campaign_id;
    enum sd_outbox_action action;
    /* The attempt (every action but SUPPRESS and DEFER). */
    int64_t at_us;   /* when it started */
    int status_code; /* HTTP status; 0: no answer */
    int latency_ms;
    const char *error;   /* borrowed; NULL when an HTTP answer says it all */
    int64_t retry_in_ms; /* RETRY */
    /* A failure pauses the campaign when its endpoint has been failing since `pause_cutoff_us`
     * or earlier (0: never), with `pause_reason` (borrowed). */
    int64_t pause_cutoff_us;
    const char *pause_reason;
    int64_t due_at_ms;  /* DEFER, database clock */
    const char *reason; /* SUPPRESS: opted_out | max_messages | left_cells (borrowed) */
    bool lease_lost;    /* out: the row was no longer leased by the owner; nothing written to it */
};

/* Writes the outcomes of one workspace in one transaction (one pipeline): for each the
 * delivery's new state and, for an attempt, a delivery_attempts row (process = `owner`), then the
 * campaigns' health (last_success_at / failing_since; pauses for 410 and for long failure). Sets
 * `lease_lost` on the outcomes whose row was no longer ours (the attempt is still logged, unless
 * the delivery no longer exists). */
enum sd_rc sd_outbox_record(struct sd_db *db, long long ws, const char *owner,
                            struct sd_outbox_outcome *outcomes, size_t n) SD_MUST_CHECK;

/* Rows waiting to go out, all workspaces: a count for the metrics. */
enum sd_rc sd_outbox_depth(struct sd_db *db, long long *pending, long long *failed) SD_MUST_CHECK;

#endif
