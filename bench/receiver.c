/* The benchmark's fast webhook receiver: a libmicrohttpd server (thread per connection) that
 * answers 200 at once, checks every Standard Webhooks signature with OpenSSL, and keeps arrival
 * times in memory. A Node receiver with the reference library (tests/receiver) tops out near
 * 1 500 requests/s on this machine, below what the dispatcher is asked to do, so the figures use
 * this one; the tests keep verifying with the reference library.
 *
 *   POST /_secret   the campaign's whsec_ secret (raw body)
 *   POST /_reset    forget what arrived
 *   GET  /stats     {"count", "unique", "unverified", "first_ms", "last_ms", "arrivals_ms": [...],
 *                    "customers": [...]}
 *   POST anything   a webhook
 *
 * Prints "listening PORT" once ready; runs until killed.
 *   cc -O2 -o receiver bench/receiver.c $(pkg-config --cflags --libs libmicrohttpd libcrypto) */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 2000000
#define MAX_BODY 65536

struct event {
    long long at_ms;
    char customer[64];
    char id[48];
    int verified;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct event *events;
static size_t nevents;
static unsigned char key[64];
static int keylen;

struct body {
    char data[MAX_BODY];
    size_t len;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Does one of the space-separated "v1,<base64>" signatures match HMAC(key, id.ts.body)? */
static int verify(const char *id, const char *ts, const char *sigs, const char *body, size_t len)
{
    if (keylen == 0 || id == NULL || ts == NULL || sigs == NULL)
        return 0;
    size_t mlen = strlen(id) + strlen(ts) + len + 2;
    char *msg = malloc(mlen + 1);
    int n = snprintf(msg, mlen + 1, "%s.%s.", id, ts);
    memcpy(msg + n, body, len);
    unsigned char mac[32];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), key, keylen, (unsigned char *)msg, (size_t)n + len, mac, &maclen);
    free(msg);
    char expect[64];
    EVP_EncodeBlock((unsigned char *)expect, mac, 32);
    for (const char *p = strstr(sigs, "v1,"); p != NULL; p = strstr(p + 3, "v1,")) {
        if (strncmp(p + 3, expect, 44) == 0)
            return 1;
    }
    return 0;
}

static void record(struct MHD_Connection *c, const struct body *b)
{
    const char *id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-id");
    const char *ts = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-timestamp");
    const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-signature");
    struct event e = {now_ms(), "", "", 0};
    const char *cu = strstr(b->data, "\"customer_id\" : \"");
    if (cu != NULL)
        sscanf(cu + 17, "%63[^\"]", e.customer);
    snprintf(e.id, sizeof e.id, "%s", id ? id : "");
    e.verified = verify(id, ts, sig, b->data, b->len);
    pthread_mutex_lock(&mu);
    if (nevents < MAX_EVENTS)
        events[nevents++] = e;
    pthread_mutex_unlock(&mu);
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *stats(void)
{
    pthread_mutex_lock(&mu);
    size_t n = nevents, unverified = 0, unique = 0;
    long long first = 0, last = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || events[i].at_ms < first)
            first = events[i].at_ms;
        if (i == 0 || events[i].at_ms > last)
            last = events[i].at_ms;
    }
    char **ids = calloc(n + 1, sizeof *ids);
    for (size_t i = 0; i < n; i++) {
        ids[i] = events[i].id;
        unverified += !events[i].verified;
    }
    qsort(ids, n, sizeof *ids, cmp_id);
    for (size_t i = 0; i < n; i++)
        unique += i == 0 || strcmp(ids[i], ids[i - 1]) != 0;
    free(ids);
    size_t cap = 128 + n * 96, len = 0;
    char *out = malloc(cap);
    len += (size_t)snprintf(out + len, cap - len,
                            "{\"count\":%zu,\"unique\":%zu,\"unverified\":%zu,\"first_ms\":%lld,"
                            "\"last_ms\":%lld,\"arrivals_ms\":[",
                            n, unique, unverified, first, last);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%lld", i ? "," : "", events[i].at_ms);
    len += (size_t)snprintf(out + len, cap - len, "],\"customers\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s\"%s\"", i ? "," : "", events[i].customer);
    snprintf(out + len, cap - len, "]}");
    pthread_mutex_unlock(&mu);
    return out;
}

static void set_secret(const struct body *b)
{
    char text[128];
    snprintf(text, sizeof text, "%.*s", (int)b->len, b->data);
    const char *s = strncmp(text, "whsec_", 6) == 0 ? text + 6 : text;
    size_t slen = strcspn(s, " \r\n");
    unsigned char out[96];
    int n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)slen);
    while (slen > 0 && s[slen - 1] == '=') /* EVP_DecodeBlock counts the padding (TRAPS.md) */
        slen--, n--;
    keylen = n > 0 && n <= 64 ? n : 0;
    memcpy(key, out, (size_t)keylen);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **ctx)
{
    (void)cls, (void)version;
    struct body *b = *ctx;
    if (b == NULL) {
        *ctx = b = calloc(1, sizeof *b);
        return MHD_YES;
    }
    if (*size > 0) {
        size_t take = *size < MAX_BODY - 1 - b->len ? *size : MAX_BODY - 1 - b->len;
        memcpy(b->data + b->len, data, take);
        b->len += take;
        *size = 0;
        return MHD_YES;
    }
    char *text = NULL;
    if (strcmp(method, "GET") == 0 && strcmp(url, "/stats") == 0) {
        text = stats();
    } else if (strcmp(url, "/_secret") == 0) {
        set_secret(b);
    } else if (strcmp(url, "/_reset") == 0) {
        pthread_mutex_lock(&mu);
        nevents = 0;
        pthread_mutex_unlock(&mu);
    } else {
        record(c, b);
    }
    struct MHD_Response *r =
        text ? MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ok = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ok;
}

static void completed(void *cls, struct MHD_Connection *c, void **ctx,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    free(*ctx);
    *ctx = NULL;
}

int main(void)
{
    events = calloc(MAX_EVENTS, sizeof *events);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, answer,
        NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, completed,
        NULL, MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
    if (d == NULL || events == NULL)
        return 1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("listening %u\n", info->port);
    fflush(stdout);
    for (;;)
        pause();
}
