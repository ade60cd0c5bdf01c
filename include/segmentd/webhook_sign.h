/* Standard Webhooks signing (SPEC §2 "Campaigns and webhooks"): `whsec_` secrets, the
 * `webhook-signature` header and the `webhook-id` of a delivery. No allocation: every result goes
 * into a caller-supplied buffer, which is left empty ("") on any failure so a half-written
 * signature can never be sent. Nothing here keeps state; all functions are thread-safe. */
#ifndef SEGMENTD_WEBHOOK_SIGN_H
#define SEGMENTD_WEBHOOK_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "segmentd/rc.h"

#define SD_WEBHOOK_SECRET_PREFIX "whsec_"
/* Random bytes in a secret we mint (the specification asks for 24 to 64). */
#define SD_WEBHOOK_SECRET_BYTES 32
/* Buffer for a minted secret: "whsec_" + 44 base64 characters + NUL. */
#define SD_WEBHOOK_SECRET_LEN 51
/* Longest key a secret may decode to: the specification's upper bound. */
#define SD_WEBHOOK_KEY_MAX 64
/* Buffer for one signature: "v1," + 44 base64 characters of HMAC-SHA256 + NUL. */
#define SD_WEBHOOK_SIGNATURE_LEN 48
/* Buffer for a message id: "msg_" + 26 characters + NUL, rounded up. */
#define SD_WEBHOOK_MSG_ID_LEN 40

/* Mints a new secret, "whsec_" + padded standard base64 of SD_WEBHOOK_SECRET_BYTES random bytes,
 * into `out` (at least SD_WEBHOOK_SECRET_LEN bytes, else SD_ERR_TOO_LARGE). SD_ERR_INTERNAL if
 * the random generator fails. */
enum sd_rc sd_webhook_secret_new(char *out, size_t outlen) SD_MUST_CHECK;

/* Decodes the key of a "whsec_" secret. `*keylen` is the capacity of `key` on entry and the key
 * length on return. SD_ERR_INVALID for a missing prefix, bad base64 (wrong alphabet, length not a
 * multiple of 4, misplaced '=') or an empty key; SD_ERR_TOO_LARGE if the key is longer than
 * `*keylen` or SD_WEBHOOK_KEY_MAX. */
enum sd_rc sd_webhook_secret_decode(const char *secret, unsigned char *key,
                                    size_t *keylen) SD_MUST_CHECK;

/* One signature: "v1," + base64(HMAC-SHA256(key, msg_id "." timestamp "." body)) into `out` (at
 * least SD_WEBHOOK_SIGNATURE_LEN bytes, else SD_ERR_TOO_LARGE). `timestamp` is the Unix time in
 * seconds of this attempt. `body` may be NULL only when `body_len` is 0. */
enum sd_rc sd_webhook_sign(const char *secret, const char *msg_id, int64_t timestamp,
                           const char *body, size_t body_len, char *out,
                           size_t outlen) SD_MUST_CHECK;

/* The `webhook-signature` header value: one signature per secret, joined by single spaces, in the
 * order given (during the 24 h after a rotation both the new and the old secret sign). Needs
 * nsecrets * SD_WEBHOOK_SIGNATURE_LEN bytes; fails as a whole if any secret is invalid. */
enum sd_rc sd_webhook_signature_header(const char *const *secrets, size_t nsecrets,
                                       const char *msg_id, int64_t timestamp, const char *body,
                                       size_t body_len, char *out, size_t outlen) SD_MUST_CHECK;

/* A new `webhook-id`: "msg_" + 26 random base62 characters. Chosen once when a delivery is
 * enqueued and kept across retries, because receivers deduplicate on it. */
void sd_webhook_msg_id_new(char out[SD_WEBHOOK_MSG_ID_LEN]);

#endif
