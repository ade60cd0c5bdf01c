/* Standard Webhooks signing: secrets, signatures, message ids (see segmentd/webhook_sign.h). */
#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "segmentd/webhook_sign.h"

#define PREFIX_LEN (sizeof SD_WEBHOOK_SECRET_PREFIX - 1)
#define MAC_LEN 32 /* SHA-256 */
#define SIG_CHARS (SD_WEBHOOK_SIGNATURE_LEN - 1)
/* Base64 text of the longest key we accept, padding included. */
#define B64_MAX ((SD_WEBHOOK_KEY_MAX + 2) / 3 * 4)
#define MSG_ID_PREFIX "msg_"
#define MSG_ID_CHARS 26

static bool b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* EVP_DecodeBlock skips surrounding whitespace and tolerates more than the reference libraries do,
 * so the text is checked first: whole 4-character groups, standard alphabet, at most two '=' and
 * only at the very end. Returns the number of '=' or -1. */
static int b64_padding(const char *s, size_t n)
{
    size_t pad = 0;
    if (n == 0 || n % 4 != 0)
        return -1;
    while (pad < n && s[n - 1 - pad] == '=')
        pad++;
    if (pad > 2)
        return -1;
    for (size_t i = 0; i < n - pad; i++) {
        if (!b64_char(s[i]))
            return -1;
    }
    return (int)pad;
}

enum sd_rc sd_webhook_secret_new(char *out, size_t outlen)
{
    enum sd_rc result = SD_ERR_TOO_LARGE;
    unsigned char key[SD_WEBHOOK_SECRET_BYTES];

    if (!out)
        return SD_ERR_INVALID;
    if (outlen)
        out[0] = '\0';
    if (outlen < SD_WEBHOOK_SECRET_LEN)
        goto out;
    result = SD_ERR_INTERNAL;
    if (RAND_bytes(key, sizeof key) != 1)
        goto out;
    memcpy(out, SD_WEBHOOK_SECRET_PREFIX, PREFIX_LEN);
    /* EVP_EncodeBlock pads and NUL-terminates, as the reference libraries' secrets are padded. */
    EVP_EncodeBlock((unsigned char *)out + PREFIX_LEN, key, sizeof key);
    result = SD_OK;
out:
    OPENSSL_cleanse(key, sizeof key);
    return result;
}

enum sd_rc sd_webhook_secret_decode(const char *secret, unsigned char *key, size_t *keylen)
{
    enum sd_rc result = SD_ERR_INVALID;
    /* EVP_DecodeBlock writes whole 3-byte groups, padding included: more than the key itself. */
    unsigned char scratch[B64_MAX / 4 * 3];
    size_t cap, n, len;
    int pad;

    if (!secret || !key || !keylen)
        return SD_ERR_INVALID;
    cap = *keylen;
    *keylen = 0;
    if (strncmp(secret, SD_WEBHOOK_SECRET_PREFIX, PREFIX_LEN) != 0)
        return SD_ERR_INVALID;
    secret += PREFIX_LEN;
    n = strnlen(secret, B64_MAX + 1);
    if (n > B64_MAX)
        return SD_ERR_TOO_LARGE;
    pad = b64_padding(secret, n);
    if (pad < 0)
        return SD_ERR_INVALID;
    /* The real length comes from the '=' count: EVP_DecodeBlock counts padding as bytes, so a
     * 32-byte key would come back as 33 (TRAPS.md). */
    len = n / 4 * 3 - (size_t)pad;
    result = SD_ERR_TOO_LARGE;
    if (len > cap)
        goto out;
    result = SD_ERR_INVALID;
    if (EVP_DecodeBlock(scratch, (const unsigned char *)secret, (int)n) != (int)(n / 4 * 3))
        goto out;
    memcpy(key, scratch, len);
    *keylen = len;
    result = SD_OK;
out:
    OPENSSL_cleanse(scratch, sizeof scratch);
    return result;
}

/* EVP_MAC rather than one-shot HMAC(): it takes the signed content in pieces, so the body is never
 * copied just to put the id and timestamp in front of it. */
static enum sd_rc hmac_sha256(const unsigned char *key, size_t keylen, const char *msg_id,
                              const char *timestamp, const char *body, size_t body_len,
                              unsigned char mac[MAC_LEN])
{
    enum sd_rc result = SD_ERR_INTERNAL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = NULL;
    size_t maclen = 0;

    if (!hmac)
        goto out;
    ctx = EVP_MAC_CTX_new(hmac);
    if (!ctx) {
        result = SD_ERR_NOMEM;
        goto out;
    }
    if (EVP_MAC_init(ctx, key, keylen, params) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)msg_id, strlen(msg_id)) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)".", 1) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)timestamp, strlen(timestamp)) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)".", 1) != 1 ||
        (body_len && EVP_MAC_update(ctx, (const unsigned char *)body, body_len) != 1))
        goto out;
    if (EVP_MAC_final(ctx, mac, &maclen, MAC_LEN) != 1 || maclen != MAC_LEN)
        goto out;
    result = SD_OK;
out:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(hmac);
    return result;
}

enum sd_rc sd_webhook_sign(const char *secret, const char *msg_id, int64_t timestamp,
                           const char *body, size_t body_len, char *out, size_t outlen)
{
    enum sd_rc result = SD_ERR_INVALID;
    unsigned char key[SD_WEBHOOK_KEY_MAX], mac[MAC_LEN];
    size_t keylen = sizeof key;
    char ts[24];

    if (!out)
        return SD_ERR_INVALID;
    if (outlen)
        out[0] = '\0';
    if (!msg_id || !*msg_id || timestamp < 0 || (!body && body_len))
        return SD_ERR_INVALID;
    if (outlen < SD_WEBHOOK_SIGNATURE_LEN)
        return SD_ERR_TOO_LARGE;
    result = sd_webhook_secret_decode(secret, key, &keylen);
    if (result != SD_OK)
        goto out;
    snprintf(ts, sizeof ts, "%" PRId64, timestamp);
    result = hmac_sha256(key, keylen, msg_id, ts, body, body_len, mac);
    if (result != SD_OK)
        goto out;
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, mac, sizeof mac);
out:
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(mac, sizeof mac);
    return result;
}

enum sd_rc sd_webhook_signature_header(const char *const *secrets, size_t nsecrets,
                                       const char *msg_id, int64_t timestamp, const char *body,
                                       size_t body_len, char *out, size_t outlen)
{
    enum sd_rc result = SD_ERR_INVALID;
    size_t pos = 0;

    if (!out)
        return SD_ERR_INVALID;
    if (outlen)
        out[0] = '\0';
    if (!secrets || nsecrets == 0)
        return SD_ERR_INVALID;
    /* Checked up front so that a short buffer fails the same way whatever the secrets hold. */
    if (nsecrets > outlen / SD_WEBHOOK_SIGNATURE_LEN)
        return SD_ERR_TOO_LARGE;
    for (size_t i = 0; i < nsecrets; i++) {
        if (i > 0)
            out[pos++] = ' ';
        result =
            sd_webhook_sign(secrets[i], msg_id, timestamp, body, body_len, out + pos, outlen - pos);
        if (result != SD_OK)
            goto out;
        pos += SIG_CHARS;
    }
out:
    if (result != SD_OK)
        out[0] = '\0';
    return result;
}

/* Ids need uniqueness, not secrecy: should the generator ever fail, hashing the clock, the process
 * id and a counter still gives distinct ids, where failing would lose the delivery. */
static void msg_id_random(unsigned char buf[SHA256_DIGEST_LENGTH])
{
    static atomic_uint_fast64_t counter;
    struct {
        struct timespec now;
        pid_t pid;
        uint_fast64_t n;
    } seed;

    if (RAND_bytes(buf, SHA256_DIGEST_LENGTH) == 1)
        return;
    memset(&seed, 0, sizeof seed);
    clock_gettime(CLOCK_REALTIME, &seed.now);
    seed.pid = getpid();
    seed.n = atomic_fetch_add(&counter, 1);
    SHA256((const unsigned char *)&seed, sizeof seed, buf);
}

void sd_webhook_msg_id_new(char out[SD_WEBHOOK_MSG_ID_LEN])
{
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    unsigned char rnd[SHA256_DIGEST_LENGTH];
    size_t used = sizeof rnd, n = 0;

    memcpy(out, MSG_ID_PREFIX, sizeof MSG_ID_PREFIX - 1);
    while (n < MSG_ID_CHARS) {
        if (used == sizeof rnd) {
            msg_id_random(rnd);
            used = 0;
        }
        /* 248 = 4 * 62: dropping the top values keeps every character equally likely. */
        if (rnd[used] < 248)
            out[sizeof MSG_ID_PREFIX - 1 + n++] = alphabet[rnd[used] % 62];
        used++;
    }
    out[sizeof MSG_ID_PREFIX - 1 + n] = '\0';
}
