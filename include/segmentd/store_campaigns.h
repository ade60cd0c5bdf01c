/* Campaigns, the workspace's contact policy and the delivery log (SPEC §2 "Campaigns and
 * webhooks"). Every statement is scoped by workspace_id; values travel as parameters.
 *
 * Structs are filled by value into caller storage; functions that return a PGresult hand over a
 * new result that the caller PQclear()s (NULL on failure). */
#ifndef SEGMENTD_STORE_CAMPAIGNS_H
#define SEGMENTD_STORE_CAMPAIGNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segmentd/core_matrix.h"
#include "segmentd/core_policy.h"
#include "segmentd/core_templates.h"
#include "segmentd/db.h"

#define SD_CAMPAIGN_NAME_MAX 200  /* characters */
#define SD_CAMPAIGN_TEXT_MAX 1000 /* characters of strategy and action */
#define SD_CAMPAIGN_URL_MAX 2048  /* characters of webhook_url */
#define SD_CAMPAIGN_CELLS_MAX (SD_MAX_BANDS * SD_MAX_BANDS)
#define SD_CAMPAIGN_SECRET_MAX 128

/* A campaign as stored. Times in µs since the epoch (0 = none). Text buffers hold up to 4 bytes
 * per character. The secrets are never read back: only create and rotate see them. */
struct sd_campaign {
    long long id;
    char name[SD_CAMPAIGN_NAME_MAX * 4 + 1];
    enum sd_kind kind;
    size_t ncells;
    char cells[SD_CAMPAIGN_CELLS_MAX][SD_CELL_KEY_MAX + 1];
    enum sd_trigger_type trigger;
    int64_t every_ms;    /* schedule: the period */
    char date_field[16]; /* date: "birthday", or "" */
    char month_day[8];   /* date: "MM-DD", or "" */
    int days_before;     /* date: 0–366 */
    char channel[16];
    bool has_strategy, has_action, has_template;
    char strategy[SD_CAMPAIGN_TEXT_MAX * 4 + 1];
    char action[SD_CAMPAIGN_TEXT_MAX * 4 + 1];
    char template_id[SD_TEMPLATE_ID_MAX + 1];
    char webhook_url[SD_CAMPAIGN_URL_MAX * 4 + 1];
    int max_count; /* 0: no campaign limit */
    int64_t max_per_ms;
    enum sd_reentry reentry;
    bool active;
    bool has_paused_reason;
    char paused_reason[1024]; /* why the dispatcher paused it (truncated) */
    int64_t previous_until;   /* the previous secret signs until then (0: no previous secret) */
    int64_t created_at, updated_at;
};

/* Inserts a campaign of workspace `ws` with signing secret `secret` (the caller mints it);
 * schedule and date campaigns are due at once (next_run_at = now()). Fills `out` as stored.
 * Every field of `in` but id, paused_reason, previous_until and the times is written. */
enum sd_rc sd_store_campaign_create(struct sd_db *db, long long ws, const struct sd_campaign *in,
                                    const char *secret, struct sd_campaign *out) SD_MUST_CHECK;
/* The workspace's campaigns by id; `*items` is a new array the caller frees. */
enum sd_rc sd_store_campaign_list(struct sd_db *db, long long ws, struct sd_campaign **items,
                                  size_t *count) SD_MUST_CHECK;
/* One campaign (SD_ERR_NOT_FOUND if none). `for_update`: lock the row (inside the caller's
 * transaction) so that a read-modify-write does not lose a concurrent change. */
enum sd_rc sd_store_campaign_get(struct sd_db *db, long long ws, long long id, bool for_update,
                                 struct sd_campaign *out) SD_MUST_CHECK;

/* What an update does to the schedule: keep next_run_at, make the campaign due now, or clear it
 * (an `enter` trigger has no runs). */
enum sd_next_run { SD_NEXT_RUN_KEEP, SD_NEXT_RUN_NOW, SD_NEXT_RUN_CLEAR };

/* Writes every editable field of `in` over campaign `id` (the secret is untouched). `resume`
 * clears paused_reason and failing_since (the endpoint gets a fresh chance). Fills `out`;
 * SD_ERR_NOT_FOUND if there is no such campaign. */
enum sd_rc sd_store_campaign_update(struct sd_db *db, long long ws, long long id,
                                    const struct sd_campaign *in, bool resume,
                                    enum sd_next_run next_run,
                                    struct sd_campaign *out) SD_MUST_CHECK;
/* Deletes the campaign with its deliveries and their attempts, in one transaction of its own.
 * SD_ERR_NOT_FOUND if there is no such campaign. */
enum sd_rc sd_store_campaign_delete(struct sd_db *db, long long ws, long long id) SD_MUST_CHECK;
/* Replaces the signing secret by `secret`; the old one keeps signing until `previous_until_us`.
 * Fills `out`; SD_ERR_NOT_FOUND if there is no such campaign. */
enum sd_rc sd_store_campaign_rotate_secret(struct sd_db *db, long long ws, long long id,
                                           const char *secret, int64_t previous_until_us,
                                           struct sd_campaign *out) SD_MUST_CHECK;

/* ---- the contact policy ---- */

/* A workspace's contact policy; has_* false = no limit / no quiet hours. */
struct sd_contact_policy {
    bool has_max;
    int max_count;
    int64_t max_per_ms;
    bool has_quiet;
    int quiet_from_min, quiet_to_min; /* minutes after local midnight */
    char timezone[128];               /* IANA name */
};

/* The policy; a workspace without one gets both parts absent (SD_OK). */
enum sd_rc sd_store_contact_policy_get(struct sd_db *db, long long ws,
                                       struct sd_contact_policy *out) SD_MUST_CHECK;
/* Replaces the policy (an upsert of the workspace's single row). */
enum sd_rc sd_store_contact_policy_put(struct sd_db *db, long long ws,
                                       const struct sd_contact_policy *in) SD_MUST_CHECK;
/* Does PostgreSQL know this time zone name (pg_timezone_names)? */
enum sd_rc sd_store_timezone_exists(struct sd_db *db, const char *name, bool *exists) SD_MUST_CHECK;

/* ---- the delivery log ---- */

/* Delivery rows, as every function below returns them. Columns: 0 id, 1 campaign_id,
 * 2 customer external_id, 3 msg_id, 4 event_type, 5 from_cell, 6 to_cell, 7 occasion, 8 status,
 * 9 reason, 10 attempts, 11 due_us, 12 created_us, 13 delivered_us, 14 last_status,
 * 15 last_error, 16 campaign name. Nullable: 5, 6, 7, 9, 13, 14, 15. */
enum {
    SD_DLV_ID,
    SD_DLV_CAMPAIGN_ID,
    SD_DLV_CUSTOMER,
    SD_DLV_MSG_ID,
    SD_DLV_TYPE,
    SD_DLV_FROM,
    SD_DLV_TO,
    SD_DLV_OCCASION,
    SD_DLV_STATUS,
    SD_DLV_REASON,
    SD_DLV_ATTEMPTS,
    SD_DLV_DUE,
    SD_DLV_CREATED,
    SD_DLV_DELIVERED,
    SD_DLV_LAST_STATUS,
    SD_DLV_LAST_ERROR,
    SD_DLV_CAMPAIGN_NAME,
};
/* Attempt rows: 0 delivery_id, 1 at_us, 2 status_code (nullable), 3 latency_ms, 4 error
 * (nullable); ordered by delivery, then time. */
enum { SD_ATT_DELIVERY_ID, SD_ATT_AT, SD_ATT_STATUS_CODE, SD_ATT_LATENCY, SD_ATT_ERROR };

/* Where a page of the log starts: after (created_at, id) in newest-first order. */
struct sd_delivery_cursor {
    bool set; /* false: the first page */
    int64_t created_us;
    long long id;
};

/* One page of a campaign's deliveries, newest first (created_at DESC, id DESC), at most `limit`
 * rows, only those of `status` when not NULL; `*attempts` holds the attempts of those rows (one
 * query for the page). SD_ERR_NOT_FOUND when the campaign does not exist. */
enum sd_rc sd_store_delivery_page(struct sd_db *db, long long ws, long long campaign_id,
                                  const char *status, const struct sd_delivery_cursor *after,
                                  int limit, PGresult **rows, PGresult **attempts) SD_MUST_CHECK;
/* Re-queues a dead or failed delivery in one transaction: pending, no attempts, due now, no
 * lease, no reason, and a NOTIFY on SD_OUTBOX_CHANNEL. Then reads it back into `*row` (one row)
 * and `*attempts`. SD_ERR_NOT_FOUND: no such delivery; SD_ERR_CONFLICT: its status is not dead or
 * failed, or a dispatcher holds it right now. */
enum sd_rc sd_store_delivery_retry(struct sd_db *db, long long ws, long long id, PGresult **row,
                                   PGresult **attempts) SD_MUST_CHECK;
/* A customer's (internal id) `limit` most recent deliveries, newest first, with campaign names. */
enum sd_rc sd_store_customer_deliveries(struct sd_db *db, long long ws, long long customer_id,
                                        int limit, PGresult **rows) SD_MUST_CHECK;

#endif
