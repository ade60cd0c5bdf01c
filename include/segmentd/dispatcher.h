/* The webhook dispatcher thread (SPEC §2 "Campaigns and webhooks", §3): it claims due deliveries
 * from the outbox with a lease (any number of processes share the work, SCALE.md), decides each
 * one with the contact policy (core_policy.h), sends it with libcurl multi — signed per Standard
 * Webhooks, a timeout per attempt, a bounded number in flight overall and per endpoint, private
 * addresses refused unless webhooks.allow_private — and records every attempt, retry, death and
 * pause.
 *
 * It looks for work every webhooks.poll_interval, at once when this process enqueues a delivery
 * (sd_dispatcher_wake, wired to the store's enqueue hook), and when a NOTIFY arrives on
 * SD_OUTBOX_CHANNEL over its own dedicated connection (a hint: polling stays the truth). */
#ifndef SEGMENTD_DISPATCHER_H
#define SEGMENTD_DISPATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segmentd/app.h"
#include "segmentd/store_outbox.h"

struct sd_dispatcher;

/* Starts the thread (and registers its metrics collector; call before the HTTP server starts).
 * NULL on failure. `app` is borrowed and must outlive the dispatcher. */
struct sd_dispatcher *sd_dispatcher_start(struct sd_app *app);
/* Makes the thread look for due deliveries now. Thread-safe and cheap (no lock, no I/O beyond
 * curl_multi_wakeup); fit for the store's enqueue hook (`ctx` = the dispatcher). */
void sd_dispatcher_wake(struct sd_dispatcher *d);
void sd_dispatcher_wake_hook(void *ctx);
/* Stops claiming, gives back the leases of deliveries not yet started, lets the transfers in
 * flight finish (each bounded by webhooks.timeout), records them, then joins the thread and
 * frees everything. NULL accepted. */
void sd_dispatcher_stop(struct sd_dispatcher *d);

/* ---- Parts of the dispatcher without I/O, exposed for unit tests ---- */

/* Room for an endpoint key: "https://" + a 253-byte host (or bracketed IPv6) + ":65535". */
#define SD_ENDPOINT_KEY_MAX 320

/* The endpoint of a webhook URL — what webhooks.max_per_endpoint bounds: "scheme://host:port",
 * scheme and host lower-cased, the scheme's default port filled in. False if the URL does not
 * parse or has no host (`out` is then ""). */
bool sd_dispatch_endpoint_key(const char *url, char out[SD_ENDPOINT_KEY_MAX]);

/* How an attempt ended: from libcurl's result code (a CURLcode) and the HTTP status. */
struct sd_attempt_end {
    int curl_code;
    long status;              /* 0: no answer */
    const char *refused;      /* what the address guard refused last ("address refused: …"), or
                                 NULL / "" */
    const char *curl_message; /* libcurl's error buffer, or NULL / "" */
};

enum sd_attempt_result {
    SD_ATTEMPT_DELIVERED, /* any 2xx */
    SD_ATTEMPT_FAILED,    /* another status, a timeout, a connection error: retry */
    SD_ATTEMPT_GONE,      /* 410: pause the campaign */
};

/* Classifies an attempt and writes the error text to log with it into `error` ("" when the
 * HTTP status says it all): "timeout", "connection refused", "address refused: 10.0.0.1 is not
 * public", "redirects are not followed (HTTP 302)", … */
enum sd_attempt_result sd_dispatch_classify(const struct sd_attempt_end *e, char *error,
                                            size_t errlen);

/* The delivery's next state after a failed attempt: SD_OUTBOX_RETRY with `*retry_in_ms`, or
 * SD_OUTBOX_DEAD when the schedule (borrowed, `count` entries) is exhausted. `attempts_before`
 * attempts were made before this one. A 429 or 503 with a Retry-After value (NULL: none) waits
 * what it asks instead of the schedule's delay. `random_bits` jitter the delay. */
enum sd_outbox_action sd_dispatch_after_failure(long status, const char *retry_after,
                                                const int64_t *schedule_ms, int count,
                                                int attempts_before, int64_t now_ms,
                                                uint64_t random_bits, int64_t *retry_in_ms);

/* Why a campaign is paused after `disable_after_ms` without a success, failing since
 * `since_us`: "no successful delivery for 5d (since 2026-11-20T10:00:00Z)". */
void sd_dispatch_pause_reason(int64_t disable_after_ms, int64_t since_us, char *out, size_t outlen);

struct curl_slist;
/* The request headers of one attempt: content-type, webhook-id, webhook-timestamp,
 * webhook-signature (signed with `secret`, and `previous_secret` too when not NULL), user-agent,
 * and an empty Expect (no 100-continue round trip). `*out` is a new list the caller frees with
 * curl_slist_free_all. SD_ERR_INVALID for a secret that does not decode or a msg_id with
 * characters that cannot go in a header. */
enum sd_rc sd_dispatch_headers(const char *msg_id, const char *secret, const char *previous_secret,
                               int64_t timestamp, const char *body, size_t body_len,
                               struct curl_slist **out) SD_MUST_CHECK;

#endif
