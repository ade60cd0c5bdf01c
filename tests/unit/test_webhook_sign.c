/* Standard Webhooks signing: known answers from the reference libraries, secret decoding,
 * rotation headers, message ids, short buffers. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "segmentd/webhook_sign.h"

/* The known-answer vector published with the Standard Webhooks reference libraries (24-byte key,
 * so its base64 has no padding). */
#define KAT_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define KAT_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define KAT_TS INT64_C(1614265330)
#define KAT_BODY "{\"test\": 2432232314}"
#define KAT_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

/* Padded secrets, which the vector above cannot cover. Produced with the reference library, npm
 * `standardwebhooks` 1.1.1 on Node 20, by:
 *   const { Webhook } = require("standardwebhooks");
 *   const secret = "whsec_" + Buffer.from([...Array(n).keys()]).toString("base64");
 *   new Webhook(secret).sign(REF_ID, new Date(1700000000 * 1000), REF_BODY);
 * with n = 32 (bytes 0..31, one '=') and n = 64 (bytes 0..63, two '='). */
#define REF_ID "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
#define REF_TS INT64_C(1700000000)
#define REF_BODY "{\"type\":\"customer.cell_entered\",\"n\":1}"
#define REF32_SECRET "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define REF32_SIG "v1,STlPNqHCHLdEWewoWs27keaqoJvGPppdWUhpO/pKmKs="
/* HMAC pads a key shorter than the SHA-256 block (64 bytes) with zeros, so the stray zero byte of
 * a 33-byte EVP_DecodeBlock result leaves the 32-byte signature unchanged; only the decoded length
 * shows that trap there. A 64-byte key decoded as 66 bytes gets hashed and signs wrongly. */
#define REF64_SECRET                                                                               \
    "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+"   \
    "Pw=="
#define REF64_SIG "v1,KfN89N5R9Oe1nSq2I1dOLLAevpoh2zfkGZXJGdMLTA8="

static enum sd_rc sign(const char *secret, const char *id, int64_t ts, const char *body, char *out,
                       size_t outlen)
{
    return sd_webhook_sign(secret, id, ts, body, strlen(body), out, outlen);
}

START_TEST(test_known_answer)
{
    char sig[SD_WEBHOOK_SIGNATURE_LEN];
    ck_assert_int_eq(sign(KAT_SECRET, KAT_ID, KAT_TS, KAT_BODY, sig, sizeof sig), SD_OK);
    ck_assert_str_eq(sig, KAT_SIG);
}
END_TEST

START_TEST(test_reference_padded_secrets)
{
    char sig[SD_WEBHOOK_SIGNATURE_LEN];
    ck_assert_int_eq(sign(REF32_SECRET, REF_ID, REF_TS, REF_BODY, sig, sizeof sig), SD_OK);
    ck_assert_str_eq(sig, REF32_SIG);
    ck_assert_int_eq(sign(REF64_SECRET, REF_ID, REF_TS, REF_BODY, sig, sizeof sig), SD_OK);
    ck_assert_str_eq(sig, REF64_SIG);
}
END_TEST

START_TEST(test_decode_lengths)
{
    unsigned char key[SD_WEBHOOK_KEY_MAX];
    size_t len = sizeof key;
    ck_assert_int_eq(sd_webhook_secret_decode(REF32_SECRET, key, &len), SD_OK);
    ck_assert_uint_eq(len, 32);
    for (size_t i = 0; i < len; i++)
        ck_assert_uint_eq(key[i], i);

    len = sizeof key;
    ck_assert_int_eq(sd_webhook_secret_decode(REF64_SECRET, key, &len), SD_OK);
    ck_assert_uint_eq(len, 64);
    ck_assert_uint_eq(key[63], 63);

    len = sizeof key;
    ck_assert_int_eq(sd_webhook_secret_decode(KAT_SECRET, key, &len), SD_OK);
    ck_assert_uint_eq(len, 24);

    /* The capacity is honoured exactly. */
    len = 32;
    ck_assert_int_eq(sd_webhook_secret_decode(REF32_SECRET, key, &len), SD_OK);
    ck_assert_uint_eq(len, 32);
    len = 31;
    ck_assert_int_eq(sd_webhook_secret_decode(REF32_SECRET, key, &len), SD_ERR_TOO_LARGE);
    ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(test_decode_rejects)
{
    static const char *const bad[] = {
        "",
        "whsec_",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",        /* no prefix */
        "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  /* prefix is case-sensitive */
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",   /* length not a multiple of 4 */
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!",  /* outside the alphabet */
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa-w",  /* base64url is not the standard alphabet */
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa w",  /* embedded space */
        " whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", /* leading space */
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ", /* trailing space */
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
        "whsec_MfKQ9r8GKYqr=wjUPD8ILPZIo2LaLaSw", /* '=' in the middle */
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaL===", /* three '=' */
        "whsec_====",
        "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=AAAA", /* '=' before the last group */
    };
    unsigned char key[SD_WEBHOOK_KEY_MAX];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len = sizeof key;
        ck_assert_msg(sd_webhook_secret_decode(bad[i], key, &len) == SD_ERR_INVALID, "accepted %s",
                      bad[i]);
        ck_assert_uint_eq(len, 0);
    }
    size_t len = sizeof key;
    ck_assert_int_eq(sd_webhook_secret_decode(NULL, key, &len), SD_ERR_INVALID);

    /* 65 bytes: one more than the specification allows. */
    char big[128] = "whsec_";
    memset(big + 6, 'A', 87);
    strcpy(big + 6 + 87, "=");
    len = sizeof key;
    ck_assert_int_eq(sd_webhook_secret_decode(big, key, &len), SD_ERR_TOO_LARGE);

    /* An invalid secret makes signing fail and leaves no partial output. */
    char sig[SD_WEBHOOK_SIGNATURE_LEN] = "junk";
    ck_assert_int_eq(sign("whsec_not base64", KAT_ID, KAT_TS, KAT_BODY, sig, sizeof sig),
                     SD_ERR_INVALID);
    ck_assert_str_eq(sig, "");
}
END_TEST

START_TEST(test_secret_new_round_trip)
{
    char a[SD_WEBHOOK_SECRET_LEN], b[SD_WEBHOOK_SECRET_LEN];
    unsigned char key[SD_WEBHOOK_KEY_MAX];
    size_t len = sizeof key;

    ck_assert_int_eq(sd_webhook_secret_new(a, sizeof a), SD_OK);
    ck_assert_int_eq(sd_webhook_secret_new(b, sizeof b), SD_OK);
    ck_assert_uint_eq(strlen(a), SD_WEBHOOK_SECRET_LEN - 1);
    ck_assert_int_eq(strncmp(a, "whsec_", 6), 0);
    ck_assert_int_eq(a[strlen(a) - 1], '='); /* padded, like the reference libraries' secrets */
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(sd_webhook_secret_decode(a, key, &len), SD_OK);
    ck_assert_uint_eq(len, 32);

    /* A fresh secret signs. */
    char sig[SD_WEBHOOK_SIGNATURE_LEN];
    ck_assert_int_eq(sign(a, KAT_ID, KAT_TS, KAT_BODY, sig, sizeof sig), SD_OK);
    ck_assert_int_eq(strncmp(sig, "v1,", 3), 0);
    ck_assert_uint_eq(strlen(sig), SD_WEBHOOK_SIGNATURE_LEN - 1);

    ck_assert_int_eq(sd_webhook_secret_new(a, SD_WEBHOOK_SECRET_LEN - 1), SD_ERR_TOO_LARGE);
    ck_assert_str_eq(a, "");
}
END_TEST

START_TEST(test_signature_header)
{
    const char *const both[] = {REF32_SECRET, KAT_SECRET};
    char out[2 * SD_WEBHOOK_SIGNATURE_LEN];
    char kat[SD_WEBHOOK_SIGNATURE_LEN], expected[sizeof out];

    /* The KAT secret over the reference message, to build the expected header independently. */
    ck_assert_int_eq(sign(KAT_SECRET, REF_ID, REF_TS, REF_BODY, kat, sizeof kat), SD_OK);
    strcpy(expected, REF32_SIG " ");
    strcat(expected, kat);

    ck_assert_int_eq(sd_webhook_signature_header(both, 2, REF_ID, REF_TS, REF_BODY,
                                                 strlen(REF_BODY), out, sizeof out),
                     SD_OK);
    ck_assert_str_eq(out, expected);
    ck_assert_ptr_null(strstr(out, "  "));

    ck_assert_int_eq(sd_webhook_signature_header(both, 1, REF_ID, REF_TS, REF_BODY,
                                                 strlen(REF_BODY), out, sizeof out),
                     SD_OK);
    ck_assert_str_eq(out, REF32_SIG);

    /* No secret is a caller bug, not an empty header. */
    ck_assert_int_eq(sd_webhook_signature_header(both, 0, REF_ID, REF_TS, REF_BODY,
                                                 strlen(REF_BODY), out, sizeof out),
                     SD_ERR_INVALID);
    ck_assert_str_eq(out, "");

    /* One bad secret fails the whole header. */
    const char *const one_bad[] = {REF32_SECRET, "whsec_!!!!"};
    ck_assert_int_eq(sd_webhook_signature_header(one_bad, 2, REF_ID, REF_TS, REF_BODY,
                                                 strlen(REF_BODY), out, sizeof out),
                     SD_ERR_INVALID);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_small_buffers)
{
    const char *const both[] = {REF32_SECRET, KAT_SECRET};
    char out[2 * SD_WEBHOOK_SIGNATURE_LEN];

    strcpy(out, "junk");
    ck_assert_int_eq(sign(KAT_SECRET, KAT_ID, KAT_TS, KAT_BODY, out, SD_WEBHOOK_SIGNATURE_LEN - 1),
                     SD_ERR_TOO_LARGE);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(sign(KAT_SECRET, KAT_ID, KAT_TS, KAT_BODY, out, 0), SD_ERR_TOO_LARGE);
    ck_assert_int_eq(sd_webhook_signature_header(both, 2, REF_ID, REF_TS, REF_BODY,
                                                 strlen(REF_BODY), out, sizeof out - 1),
                     SD_ERR_TOO_LARGE);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_sign_arguments)
{
    char sig[SD_WEBHOOK_SIGNATURE_LEN];
    ck_assert_int_eq(sign(KAT_SECRET, "", KAT_TS, KAT_BODY, sig, sizeof sig), SD_ERR_INVALID);
    ck_assert_int_eq(sign(KAT_SECRET, KAT_ID, -1, KAT_BODY, sig, sizeof sig), SD_ERR_INVALID);
    ck_assert_int_eq(sd_webhook_sign(KAT_SECRET, KAT_ID, KAT_TS, NULL, 3, sig, sizeof sig),
                     SD_ERR_INVALID);
    /* An empty body still signs "id.timestamp.". */
    ck_assert_int_eq(sd_webhook_sign(KAT_SECRET, KAT_ID, KAT_TS, NULL, 0, sig, sizeof sig), SD_OK);
    ck_assert_str_ne(sig, KAT_SIG);
    /* The signature covers the body bytes given, not up to a NUL. */
    char trimmed[SD_WEBHOOK_SIGNATURE_LEN];
    ck_assert_int_eq(sd_webhook_sign(KAT_SECRET, KAT_ID, KAT_TS, KAT_BODY "extra", strlen(KAT_BODY),
                                     trimmed, sizeof trimmed),
                     SD_OK);
    ck_assert_str_eq(trimmed, KAT_SIG);
}
END_TEST

static int cmp_str(const void *a, const void *b)
{
    return strcmp(a, b);
}

START_TEST(test_msg_ids)
{
    enum { N = 2000 };
    static char ids[N][SD_WEBHOOK_MSG_ID_LEN];

    for (size_t i = 0; i < N; i++) {
        sd_webhook_msg_id_new(ids[i]);
        ck_assert_uint_eq(strlen(ids[i]), 30);
        ck_assert_int_eq(strncmp(ids[i], "msg_", 4), 0);
        ck_assert_uint_eq(strspn(ids[i] + 4, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "abcdefghijklmnopqrstuvwxyz"),
                          26);
    }
    qsort(ids, N, sizeof ids[0], cmp_str);
    for (size_t i = 1; i < N; i++)
        ck_assert_str_ne(ids[i - 1], ids[i]);
}
END_TEST

static Suite *webhook_sign_suite(void)
{
    Suite *s = suite_create("webhook_sign");
    TCase *vectors = tcase_create("vectors");
    tcase_add_test(vectors, test_known_answer);
    tcase_add_test(vectors, test_reference_padded_secrets);
    suite_add_tcase(s, vectors);

    TCase *secrets = tcase_create("secrets");
    tcase_add_test(secrets, test_decode_lengths);
    tcase_add_test(secrets, test_decode_rejects);
    tcase_add_test(secrets, test_secret_new_round_trip);
    suite_add_tcase(s, secrets);

    TCase *header = tcase_create("header");
    tcase_add_test(header, test_signature_header);
    tcase_add_test(header, test_small_buffers);
    tcase_add_test(header, test_sign_arguments);
    tcase_add_test(header, test_msg_ids);
    suite_add_tcase(s, header);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(webhook_sign_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
