/* Contact policy and campaign decisions (SPEC §2 "Campaigns and webhooks"): message limits, quiet
 * hours, campaign entry and re-entry, and the decision taken when a delivery is about to be sent.
 * Pure functions (src/core/policy.c): no I/O, no clock — the caller passes "now" and the UTC
 * offset of the policy's time zone. Times are milliseconds since the Unix epoch. */
#ifndef SEGMENTD_CORE_POLICY_H
#define SEGMENTD_CORE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Message limits ---- */

/* At most `count` messages per `per_ms`; count <= 0 means no limit. */
struct sd_limit {
    int count;
    int64_t per_ms;
};

/* May one more message go out at `now_ms`? `sent_at_ms` (borrowed, `nsent` entries, any order)
 * are the times of the customer's past delivered messages that the limit covers. Allowed when
 * fewer than `count` of them fall in (now − per, now]; later times (clock skew) do not count. */
bool sd_limit_allows(const struct sd_limit *l, const int64_t *sent_at_ms, size_t nsent,
                     int64_t now_ms);

/* ---- Quiet hours ---- */

/* A daily window in local time, minutes after midnight (0–1439). `from_min` is inside the window
 * and `to_min` is not: 21:00→09:00 is quiet from 21:00:00.000 up to 08:59:59.999. The window
 * wraps midnight when from > to; from == to (or a value out of range) means no quiet hours. */
struct sd_quiet_hours {
    bool enabled;
    int from_min;
    int to_min;
};

/* 0 if `now_ms` is outside the window, else the UTC time when it ends. Local time is now +
 * `utc_offset_s`, and the same offset is used for the end of the window: across a DST change the
 * true end may differ by the DST shift. The caller decides again at the returned time (the offset
 * then being the new one): where clocks fall back this yields one more SEND_LATER, never a message
 * inside quiet hours; where they spring forward the message goes out up to an hour late. */
int64_t sd_quiet_hours_release(const struct sd_quiet_hours *q, int64_t now_ms, int utc_offset_s);

/* "HH:MM" (exactly two digits each, 00:00–23:59) → minutes after midnight. */
bool sd_parse_hhmm(const char *s, int *minutes);

/* ---- Campaign entry ---- */

enum sd_reentry {
    SD_REENTRY_AFTER_EXIT, /* default: again only after leaving the cells and coming back */
    SD_REENTRY_ONCE,       /* never again */
    SD_REENTRY_ALWAYS,
};

/* An `enter` trigger fires on a move from outside the campaign's cells into one of them; a move
 * between two of its cells is not an entry. */
bool sd_campaign_is_entry(bool from_in_campaign_cells, bool to_in_campaign_cells);

/* May the customer get this campaign again? `ever_sent`: the campaign has already sent to them;
 * `left_cells_since_last_send`: they have left its cells since that last send. */
bool sd_reentry_allows(enum sd_reentry r, bool ever_sent, bool left_cells_since_last_send);

/* ---- The decision when a delivery is about to be sent ---- */

enum sd_send_decision {
    SD_SEND_NOW,
    SD_SEND_LATER, /* quiet hours: send at *send_at_ms */
    SD_SUPPRESS_OPTED_OUT,
    SD_SUPPRESS_MAX_MESSAGES,
    SD_SUPPRESS_LEFT_CELLS,
};

/* Everything the decision needs; the arrays are borrowed. For triggers that do not depend on the
 * customer staying in the cells, pass still_in_campaign_cells = true. */
struct sd_send_inputs {
    bool opted_out;
    bool still_in_campaign_cells;
    struct sd_limit campaign_limit;     /* the campaign's max_messages */
    const int64_t *campaign_sent_at_ms; /* this campaign's deliveries to this customer */
    size_t campaign_nsent;
    struct sd_limit workspace_limit;     /* the contact policy's max_messages */
    const int64_t *workspace_sent_at_ms; /* every delivery to this customer */
    size_t workspace_nsent;
    struct sd_quiet_hours quiet; /* the contact policy's quiet hours */
    int utc_offset_s;            /* of the quiet hours' time zone at now_ms */
    int64_t now_ms;
};

/* Checks, in order: opted out → left the cells → campaign limit → workspace limit → quiet hours
 * (SEND_LATER) → SEND_NOW. `send_at_ms` (may be NULL) receives now_ms for SEND_NOW, the end of
 * quiet hours for SEND_LATER and 0 for a suppression. */
enum sd_send_decision sd_decide_send(const struct sd_send_inputs *in, int64_t *send_at_ms);

#endif
