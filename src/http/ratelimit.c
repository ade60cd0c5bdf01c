/* Per-key rate limiting: one token bucket per API key, in this process.
 *
 * The table is small and bounded (RL_SLOTS) so that a flood of distinct keys cannot grow memory.
 * A key hashes to a window of RL_PROBE slots. A bucket that has refilled to its burst is the same
 * as no bucket at all, so such a slot is free for another key; when none is, the bucket touched
 * longest ago in the window is dropped. The worst a full table does is forget that a key had
 * spent some of its burst. One mutex: the critical section is a few arithmetic operations. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>

#include "http_internal.h"

#define RL_SLOTS 4096
#define RL_PROBE 16

struct bucket {
    long long key_id; /* 0 is the bootstrap key */
    bool used;
    double tokens;
    int64_t at_us; /* when `tokens` was last brought up to date */
};

static struct bucket buckets[RL_SLOTS];
static pthread_mutex_t buckets_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t slot_of(long long key_id)
{
    uint64_t h = (uint64_t)key_id * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 52) % RL_SLOTS;
}

static double refilled(const struct bucket *b, double rate, double burst, int64_t now_us)
{
    double t = b->tokens + rate * (double)(now_us - b->at_us) / 1e6;
    return t > burst ? burst : t;
}

/* The bucket of `key_id`, found or newly made full; never NULL. Called with the lock held. */
static struct bucket *bucket_for(long long key_id, double rate, double burst, int64_t now_us)
{
    size_t first = slot_of(key_id);
    struct bucket *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < RL_PROBE; i++) {
        struct bucket *b = &buckets[(first + i) % RL_SLOTS];
        if (b->used && b->key_id == key_id)
            return b;
        if (free_slot == NULL && (!b->used || refilled(b, rate, burst, now_us) >= burst))
            free_slot = b;
        if (oldest == NULL || b->at_us < oldest->at_us)
            oldest = b;
    }
    struct bucket *b = free_slot ? free_slot : oldest;
    *b = (struct bucket){.key_id = key_id, .used = true, .tokens = burst, .at_us = now_us};
    return b;
}

/* 0 when the request may go on, else the whole seconds (≥ 1) until one token is back. */
static long rate_take(long long key_id, double rate, double burst, int64_t now_us)
{
    long wait_s = 0;
    pthread_mutex_lock(&buckets_lock);
    struct bucket *b = bucket_for(key_id, rate, burst, now_us);
    b->tokens = refilled(b, rate, burst, now_us);
    b->at_us = now_us;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
    } else {
        wait_s = (long)ceil((1.0 - b->tokens) / rate);
        if (wait_s < 1)
            wait_s = 1;
    }
    pthread_mutex_unlock(&buckets_lock);
    return wait_s;
}

bool http_rate_admit(struct sd_request *req)
{
    const struct sd_config *cfg = req->app->cfg;
    if (cfg->limits_rate_per_key <= 0)
        return true;
    double rate = cfg->limits_rate_per_key;
    double burst = cfg->limits_rate_burst > 0 ? cfg->limits_rate_burst : 2.0 * rate;
    if (burst < 1.0)
        burst = 1.0;
    long long key_id = req->caller.is_bootstrap ? 0 : req->caller.key_id;
    long wait_s = rate_take(key_id, rate, burst, http_now_us());
    if (wait_s == 0)
        return true;
    char detail[160], retry[24];
    snprintf(detail, sizeof detail,
             "This API key sent more than %d requests per second ([limits] rate_per_key); "
             "retry after %ld s.",
             cfg->limits_rate_per_key, wait_s);
    snprintf(retry, sizeof retry, "%ld", wait_s);
    http_reply_problem(req, 429, detail);
    http_reply_header(req, "Retry-After", retry);
    return false;
}
