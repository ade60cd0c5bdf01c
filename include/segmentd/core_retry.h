/* Webhook retry timing (SPEC §2 "Campaigns and webhooks"): the jittered retry schedule and the
 * Retry-After header of a 429/503. Pure functions (src/core/retry.c): no I/O, no clock, no random
 * source — the caller passes "now" and random bits. Times and delays are milliseconds. */
#ifndef SEGMENTD_CORE_RETRY_H
#define SEGMENTD_CORE_RETRY_H

#include <stdint.h>

/* The longest wait a Retry-After may impose: a longer one is cut to this. */
#define SD_RETRY_AFTER_MAX_MS (INT64_C(24) * 3600 * 1000)

/* The delay before the next attempt once `attempt` attempts (1-based) have failed: schedule_ms
 * [attempt - 1] (borrowed, `count` entries) moved by up to ±20 % according to `random_bits` (the
 * caller draws them from a CSPRNG; the same bits give the same delay). Returns -1 when the
 * schedule is exhausted (attempt > count: the delivery is dead), 0 when attempt < 1 (nothing has
 * failed yet). A negative schedule entry counts as 0. */
int64_t sd_retry_delay_ms(const int64_t *schedule_ms, int count, int attempt, uint64_t random_bits);

/* An HTTP Retry-After value (RFC 9110 §10.2.3) → how many ms from `now_ms` to wait: delay-seconds
 * ("120"), or an HTTP-date — IMF-fixdate ("Wed, 21 Oct 2015 07:28:00 GMT"), and the obsolete
 * RFC 850 ("Wednesday, 21-Oct-15 07:28:00 GMT") and asctime ("Wed Oct 21 07:28:00 2015") forms
 * that recipients must accept. A date in the past gives 0; anything above
 * SD_RETRY_AFTER_MAX_MS gives that. Surrounding spaces and tabs are ignored. Returns -1 if the
 * value is NULL or does not parse. */
int64_t sd_retry_after_ms(const char *header, int64_t now_ms);

#endif
