/* The outbox's writing side: the statements that turn transitions (and scheduled or dated
 * occasions) into webhook deliveries, in the transaction that caused them.
 *
 * The payload is rendered here, once, when the delivery is enqueued: SPEC §2 fixes the body like
 * the webhook-id at that moment, and every retry sends the same bytes. It is built with
 * json_build_object (key order kept, unlike jsonb) from the customer row as the same transaction
 * has just written it. */
#include "segmentd/store_enqueue.h"
#include "store_util.h"

/* RFC 3339 UTC, whole seconds, like every other time the API shows. */
#define RFC3339(expr) "to_char((" expr ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The event body; needs `cu` (customers) and `c` (campaigns) in scope. */
#define EVENT_BODY(type, at, from, to, extra)                                                      \
    "json_build_object('type', " type ", 'timestamp', " RFC3339(                                   \
        at) ", 'data', json_build_object("                                                         \
            "'customer', json_build_object('customer_id', cu.external_id, 'kind', cu.kind, "       \
            "'name', cu.name, 'phone', cu.phone, 'email', cu.email, 'purchases', cu.purchases, "   \
            "'revenue', (cu.revenue_cents / 100.0)::numeric(16, 2)::text, "                        \
            "'last_purchase_at', " RFC3339(                                                        \
                "cu.last_purchase_at") ", 'cell', cu.cell, "                                       \
                                       "'monetary', cu.monetary), 'from', " from                   \
                                       ", 'to', " to extra ", "                                    \
                                       "'campaign', json_build_object('id', c.id, 'name', "        \
                                       "c.name, 'channel', c.channel, "                            \
                                       "'strategy', c.strategy, 'action', c.action)))::text"

/* A webhook-id: random, so that two identical moves (same customer, cells and instant, as a
 * cancellation and a re-purchase can produce) are never deduplicated away by the receiver. */
#define MSG_ID "'msg_' || replace(gen_random_uuid()::text, '-', '')"

/* `enter` campaigns (SPEC §2): a move from outside the campaign's cells into one of them.
 * `reentry = once` holds back a second entry of a customer the campaign has already sent to (or
 * is sending to): recorded as suppressed with its reason, never silently dropped. `after_exit`
 * and `always` both allow every entry, since an entry always follows an exit. */
/* clang-format off */
const struct sd_stmt store_enqueue_entries_stmt = {
    "enqueue_entries",
    "INSERT INTO deliveries (workspace_id, campaign_id, customer_id, msg_id, event_type, "
    "from_cell, to_cell, body, status, reason, due_at) "
    "SELECT $1::bigint, c.id, u.id, " MSG_ID ", 'customer.cell_entered', u.from_cell, u.to_cell, "
    EVENT_BODY("'customer.cell_entered'", "u.at", "u.from_cell", "u.to_cell", "") ", "
    "CASE WHEN s.sent THEN 'suppressed' ELSE 'pending' END, "
    "CASE WHEN s.sent THEN 'reentry' END, now() "
    "FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) "
    "AS u(id, kind, from_cell, to_cell, at) "
    "JOIN campaigns c ON c.workspace_id = $1::bigint AND c.kind = u.kind "
    "AND c.trigger_type = 'enter' AND c.active AND u.to_cell = ANY (c.cells) "
    "AND (u.from_cell IS NULL OR NOT u.from_cell = ANY (c.cells)) "
    "JOIN customers cu ON cu.workspace_id = $1::bigint AND cu.id = u.id "
    "CROSS JOIN LATERAL (SELECT c.reentry = 'once' AND EXISTS (SELECT 1 FROM deliveries d "
    "WHERE d.workspace_id = $1::bigint AND d.campaign_id = c.id AND d.customer_id = u.id "
    "AND d.status IN ('pending', 'failed', 'delivered', 'dead')) AS sent) s",
    6};
/* clang-format on */

/* A hint for the other processes' dispatchers, sent only when this transaction enqueued a
 * delivery (its due_at is the transaction's now()). */
const struct sd_stmt store_enqueue_notify_stmt = {
    "enqueue_notify",
    "SELECT pg_notify('" SD_OUTBOX_CHANNEL "', '') WHERE EXISTS (SELECT 1 FROM deliveries "
    "WHERE workspace_id = $1::bigint AND status = 'pending' AND due_at = now())",
    1};

/* `schedule` and `date` campaigns: every customer of the campaign's kind currently in its cells
 * (and, for `date`, whose occasion falls on the target day) gets one delivery per occasion — the
 * unique index on (campaign, customer, occasion) makes a second run of the same occasion, by any
 * process, insert nothing. Re-entry: `once` — never a second occasion; `after_exit` — a further
 * occasion only after the customer has left the cells since the last one (a transition out of
 * them after it); `always` — every occasion.
 * $1 ws, $2 campaign id, $3 occasion (text), $4 event type, $5 the birthdays ('MM-DD' text[])
 * to match, or NULL for every customer in the cells. */
/* clang-format off */
const struct sd_stmt store_enqueue_occasion_stmt = {
    "enqueue_occasion",
    "INSERT INTO deliveries (workspace_id, campaign_id, customer_id, msg_id, event_type, "
    "from_cell, to_cell, occasion, body, status, due_at) "
    "SELECT $1::bigint, c.id, cu.id, " MSG_ID ", $4, NULL, cu.cell, $3, "
    EVENT_BODY("$4::text", "now()", "NULL::text", "cu.cell", ", 'occasion', $3::text") ", "
    "'pending', now() "
    "FROM campaigns c JOIN customers cu ON cu.workspace_id = $1::bigint AND cu.kind = c.kind "
    "AND cu.cell = ANY (c.cells) "
    "WHERE c.workspace_id = $1::bigint AND c.id = $2::bigint AND c.active "
    "AND ($5::text[] IS NULL OR to_char(cu.birthday, 'MM-DD') = ANY ($5::text[])) "
    "AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.workspace_id = $1::bigint "
    "AND d.campaign_id = c.id AND d.customer_id = cu.id AND d.occasion IS NOT NULL "
    "AND d.status <> 'suppressed' AND (c.reentry = 'once' OR (c.reentry = 'after_exit' "
    "AND NOT EXISTS (SELECT 1 FROM transitions t WHERE t.workspace_id = $1::bigint "
    "AND t.customer_id = cu.id AND t.kind = c.kind AND t.at > d.created_at "
    "AND t.from_cell = ANY (c.cells) AND (t.to_cell IS NULL OR NOT t.to_cell = ANY (c.cells))))))"
    " ON CONFLICT DO NOTHING",
    5};
/* clang-format on */
