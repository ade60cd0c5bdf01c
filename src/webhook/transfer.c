/* One webhook attempt with libcurl: the request, the address guard, and what its end means
 * (SPEC §2 "Campaigns and webhooks", TRAPS.md "libcurl"). */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "dispatch_internal.h"
#include "segmentd/core_retry.h"
#include "segmentd/core_ssrf.h"
#include "segmentd/util.h"
#include "segmentd/webhook_sign.h"

#define USER_AGENT "segmentd/" SEGMENTD_VERSION

/* ---- the endpoint key ---- */

static void lower(char *s)
{
    for (; *s != '\0'; s++)
        *s = (char)tolower((unsigned char)*s);
}

bool sd_dispatch_endpoint_key(const char *url, char out[SD_ENDPOINT_KEY_MAX])
{
    bool ok = false;
    char *scheme = NULL, *host = NULL, *port = NULL;
    CURLU *u = curl_url();
    out[0] = '\0';
    if (u == NULL || url == NULL)
        goto out;
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0' ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    int n = snprintf(out, SD_ENDPOINT_KEY_MAX, "%s://%s:%s", scheme, host, port);
    if (n < 0 || n >= SD_ENDPOINT_KEY_MAX) {
        out[0] = '\0';
        goto out;
    }
    lower(out);
    ok = true;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return ok;
}

/* ---- classification ---- */

enum sd_attempt_result sd_dispatch_classify(const struct sd_attempt_end *e, char *error,
                                            size_t errlen)
{
    const char *msg = e->curl_message ? e->curl_message : "";
    snprintf(error, errlen, "%s", "");
    switch ((CURLcode)e->curl_code) {
    case CURLE_OK:
        if (e->status >= 200 && e->status <= 299)
            return SD_ATTEMPT_DELIVERED;
        if (e->status == 410) {
            snprintf(error, errlen, "endpoint answered 410 Gone: campaign paused");
            return SD_ATTEMPT_GONE;
        }
        if (e->status >= 300 && e->status <= 399)
            snprintf(error, errlen, "redirects are not followed (HTTP %ld)", e->status);
        else if (e->status < 100)
            snprintf(error, errlen, "no HTTP status in the answer");
        return SD_ATTEMPT_FAILED;
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(error, errlen, "timeout");
        break;
    case CURLE_COULDNT_CONNECT:
        if (e->refused != NULL && e->refused[0] != '\0')
            snprintf(error, errlen, "%s", e->refused);
        else if (strstr(msg, "refused") != NULL || strstr(msg, "Couldn't connect") != NULL)
            snprintf(error, errlen, "connection refused");
        else
            snprintf(error, errlen, "cannot connect: %s", msg);
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(error, errlen, "cannot resolve host");
        break;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        snprintf(error, errlen, "invalid webhook URL (http and https only)");
        break;
    case CURLE_GOT_NOTHING:
        snprintf(error, errlen, "empty reply (connection closed without an answer)");
        break;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
        snprintf(error, errlen, "connection reset: %s", msg);
        break;
    default:
        snprintf(error, errlen, "%s", msg[0] ? msg : curl_easy_strerror((CURLcode)e->curl_code));
        break;
    }
    return SD_ATTEMPT_FAILED;
}

enum sd_outbox_action sd_dispatch_after_failure(long status, const char *retry_after,
                                                const int64_t *schedule_ms, int count,
                                                int attempts_before, int64_t now_ms,
                                                uint64_t random_bits, int64_t *retry_in_ms)
{
    int64_t delay = sd_retry_delay_ms(schedule_ms, count, attempts_before + 1, random_bits);
    *retry_in_ms = 0;
    if (delay < 0)
        return SD_OUTBOX_DEAD;
    if ((status == 429 || status == 503) && retry_after != NULL) {
        int64_t asked = sd_retry_after_ms(retry_after, now_ms);
        if (asked >= 0)
            delay = asked;
    }
    *retry_in_ms = delay;
    return SD_OUTBOX_RETRY;
}

/* Largest unit that divides exactly, as the configuration writes durations. */
static void format_duration(int64_t ms, char *out, size_t outlen)
{
    static const struct {
        int64_t ms;
        const char *unit;
    } units[] = {{INT64_C(86400000), "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ms != 0 && ms % units[i].ms == 0) {
            snprintf(out, outlen, "%" PRId64 "%s", ms / units[i].ms, units[i].unit);
            return;
        }
    }
    snprintf(out, outlen, "%" PRId64 "ms", ms);
}

void sd_dispatch_pause_reason(int64_t disable_after_ms, int64_t since_us, char *out, size_t outlen)
{
    char d[32], since[40];
    format_duration(disable_after_ms, d, sizeof d);
    sd_time_format_us(since_us - since_us % 1000000, since, sizeof since);
    snprintf(out, outlen, "no successful delivery for %s (since %s)", d, since);
}

/* ---- the request ---- */

static bool header_safe(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    }
    return true;
}

static enum sd_rc add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *grown = curl_slist_append(*list, line);
    if (grown == NULL)
        return SD_ERR_NOMEM;
    *list = grown;
    return SD_OK;
}

enum sd_rc sd_dispatch_headers(const char *msg_id, const char *secret, const char *previous_secret,
                               int64_t timestamp, const char *body, size_t body_len,
                               struct curl_slist **out)
{
    const char *secrets[2] = {secret, previous_secret};
    size_t nsecrets = previous_secret != NULL ? 2 : 1;
    char sig[2 * SD_WEBHOOK_SIGNATURE_LEN];
    char line[2 * SD_WEBHOOK_SIGNATURE_LEN + 64];
    struct curl_slist *list = NULL;
    *out = NULL;
    if (msg_id == NULL || !header_safe(msg_id) || strlen(msg_id) > 200)
        return SD_ERR_INVALID;
    enum sd_rc rc = sd_webhook_signature_header(secrets, nsecrets, msg_id, timestamp, body,
                                                body_len, sig, sizeof sig);
    if (rc != SD_OK)
        return SD_ERR_INVALID;
    rc = add_header(&list, "content-type: application/json");
    if (rc == SD_OK) {
        snprintf(line, sizeof line, "webhook-id: %s", msg_id);
        rc = add_header(&list, line);
    }
    if (rc == SD_OK) {
        snprintf(line, sizeof line, "webhook-timestamp: %" PRId64, timestamp);
        rc = add_header(&list, line);
    }
    if (rc == SD_OK) {
        snprintf(line, sizeof line, "webhook-signature: %s", sig);
        rc = add_header(&list, line);
    }
    if (rc == SD_OK)
        rc = add_header(&list, "user-agent: " USER_AGENT);
    if (rc == SD_OK)
        rc = add_header(&list, "Expect:");
    if (rc != SD_OK) {
        curl_slist_free_all(list);
        return rc;
    }
    *out = list;
    return SD_OK;
}

/* The address guard: every address libcurl is about to connect to, for every resolved address
 * and every attempt (redirects are off, proxies too), must be public. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct wh_transfer *t = clientp;
    char text[INET6_ADDRSTRLEN] = "?";
    bool ok = false;
    (void)purpose;
    if (a->family == AF_INET && a->addrlen >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in;
        memcpy(&in, &a->addr, sizeof in);
        ok = sd_addr_is_public_v4((const unsigned char *)&in.sin_addr);
        inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    } else if (a->family == AF_INET6 && a->addrlen >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        memcpy(&in6, &a->addr, sizeof in6);
        ok = sd_addr_is_public_v6((const unsigned char *)&in6.sin6_addr);
        inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    }
    if (!ok) {
        snprintf(t->refused, sizeof t->refused, "address refused: %s is not public", text);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

static size_t discard_body(char *ptr, size_t size, size_t n, void *ud)
{
    (void)ptr;
    (void)ud;
    return size * n;
}

/* Keeps the Retry-After of the last response (an interim 1xx starts a new one). */
static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
    struct wh_transfer *t = ud;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        t->retry_after[0] = '\0';
    } else if (len > sizeof name - 1 && strncasecmp(buf, name, sizeof name - 1) == 0) {
        size_t vlen = len - (sizeof name - 1);
        while (vlen > 0 &&
               (buf[sizeof name - 2 + vlen] == '\r' || buf[sizeof name - 2 + vlen] == '\n'))
            vlen--;
        if (vlen >= sizeof t->retry_after)
            vlen = sizeof t->retry_after - 1;
        memcpy(t->retry_after, buf + sizeof name - 1, vlen);
        t->retry_after[vlen] = '\0';
    }
    return len;
}

#define SETOPT(h, opt, val) (rc == CURLE_OK ? (rc = curl_easy_setopt(h, opt, val)) : rc)

static CURLcode configure(struct wh_transfer *t, const struct sd_config *cfg)
{
    CURL *h = t->easy;
    CURLcode rc = CURLE_OK;
    SETOPT(h, CURLOPT_URL, t->item.url);
    SETOPT(h, CURLOPT_POSTFIELDS, t->item.body);
    SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->item.body_len);
    SETOPT(h, CURLOPT_HTTPHEADER, t->headers);
    SETOPT(h, CURLOPT_TIMEOUT_MS, (long)cfg->webhooks_timeout_ms);
    SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(h, CURLOPT_PROXY, ""); /* an http_proxy variable would move the address check */
    SETOPT(h, CURLOPT_NOSIGNAL, 1L);
    SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SETOPT(h, CURLOPT_WRITEFUNCTION, discard_body);
    SETOPT(h, CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(h, CURLOPT_HEADERDATA, t);
    SETOPT(h, CURLOPT_ERRORBUFFER, t->errbuf);
    SETOPT(h, CURLOPT_PRIVATE, t);
    if (!cfg->webhooks_allow_private) {
        SETOPT(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
        SETOPT(h, CURLOPT_OPENSOCKETDATA, t);
    }
    return rc;
}

enum sd_rc wh_transfer_start(struct wh_transfer *t, CURLM *multi, const struct sd_config *cfg)
{
    t->started_us = sd_now_us();
    t->errbuf[0] = t->refused[0] = t->retry_after[0] = '\0';
    t->status = 0;
    t->latency_us = 0;
    enum sd_rc rc =
        sd_dispatch_headers(t->item.msg_id, t->item.secret, t->item.previous_secret,
                            t->started_us / 1000000, t->item.body, t->item.body_len, &t->headers);
    if (rc != SD_OK) {
        t->code = CURLE_ABORTED_BY_CALLBACK;
        snprintf(t->errbuf, sizeof t->errbuf, "%s",
                 rc == SD_ERR_INVALID ? "cannot sign: the campaign's secret or msg_id is invalid"
                                      : "out of memory");
        return rc;
    }
    t->easy = curl_easy_init();
    if (t->easy == NULL || configure(t, cfg) != CURLE_OK ||
        curl_multi_add_handle(multi, t->easy) != CURLM_OK) {
        curl_easy_cleanup(t->easy);
        t->easy = NULL;
        curl_slist_free_all(t->headers);
        t->headers = NULL;
        t->code = CURLE_FAILED_INIT;
        snprintf(t->errbuf, sizeof t->errbuf, "cannot set up the request");
        return SD_ERR_INTERNAL;
    }
    return SD_OK;
}

void wh_transfer_end(struct wh_transfer *t, CURLM *multi, CURLcode code)
{
    curl_off_t total = 0;
    t->code = code;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
    if (curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &total) == CURLE_OK)
        t->latency_us = (int64_t)total;
    else
        t->latency_us = sd_now_us() - t->started_us;
    curl_multi_remove_handle(multi, t->easy);
    curl_easy_cleanup(t->easy);
    t->easy = NULL;
    curl_slist_free_all(t->headers);
    t->headers = NULL;
}

static uint64_t random_bits(void)
{
    uint64_t bits;
    if (RAND_bytes((unsigned char *)&bits, sizeof bits) != 1)
        bits = (uint64_t)sd_now_us() * UINT64_C(0x9E3779B97F4A7C15);
    return bits;
}

void wh_transfer_outcome(struct wh_transfer *t, const struct sd_config *cfg)
{
    struct sd_outbox_outcome *o = &t->outcome;
    struct sd_attempt_end e = {t->code, t->code == CURLE_OK ? t->status : 0, t->refused, t->errbuf};
    enum sd_attempt_result r = sd_dispatch_classify(&e, t->error, sizeof t->error);
    int64_t now_us = sd_now_us();
    *o = (struct sd_outbox_outcome){
        .id = t->item.id,
        .campaign_id = t->item.campaign_id,
        .at_us = t->started_us,
        .status_code = (int)e.status,
        .latency_ms = (int)(t->latency_us / 1000),
        .error = t->error[0] ? t->error : NULL,
    };
    if (r == SD_ATTEMPT_DELIVERED) {
        o->action = SD_OUTBOX_DELIVERED;
        return;
    }
    if (r == SD_ATTEMPT_GONE)
        o->action = SD_OUTBOX_GONE;
    else
        o->action = sd_dispatch_after_failure(e.status, t->retry_after[0] ? t->retry_after : NULL,
                                              cfg->webhooks_retry_schedule_ms,
                                              cfg->webhooks_retry_count, t->item.attempts,
                                              now_us / 1000, random_bits(), &o->retry_in_ms);
    /* Failing since before the cut-off: pause. The database checks again (another process may
     * have seen a success meanwhile); this only spares the statement when it cannot apply. */
    int64_t cutoff_us = now_us - cfg->webhooks_disable_after_ms * 1000;
    int64_t since_us = t->item.failing_since_ms * 1000;
    if (since_us != 0 && since_us <= cutoff_us) {
        sd_dispatch_pause_reason(cfg->webhooks_disable_after_ms, since_us, t->pause_reason,
                                 sizeof t->pause_reason);
        o->pause_cutoff_us = cutoff_us;
        o->pause_reason = t->pause_reason;
    }
}

void wh_transfer_free(struct wh_transfer *t, CURLM *multi)
{
    if (t == NULL)
        return;
    if (t->easy != NULL) {
        curl_multi_remove_handle(multi, t->easy);
        curl_easy_cleanup(t->easy);
    }
    curl_slist_free_all(t->headers);
    sd_outbox_item_clear(&t->item);
    free(t);
}
