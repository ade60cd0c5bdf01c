/* Identified callers, remembered for [auth] key_cache_ttl: most requests then skip the key
 * lookup, one of the few database round trips a purchase costs. Entries are found by a digest
 * of (key digest, Segmentd-Workspace), so a key is only ever matched by the key itself. Deleting
 * a key or a workspace flushes the table of this process; other processes forget within the TTL. */
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <string.h>

#include "auth_cache.h"
#include "segmentd/util.h"

#define SLOTS 1024

struct entry {
    unsigned char id[SHA256_DIGEST_LENGTH];
    int64_t expires_ms; /* 0 = empty */
    struct sd_caller caller;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct entry table[SLOTS];

bool auth_cache_id(const unsigned char key_digest[32], const char *workspace, unsigned char out[32])
{
    unsigned char buf[32 + 1 + 64];
    size_t n = workspace ? strlen(workspace) : 0;
    if (n > 63) /* not a workspace name: never cached */
        return false;
    memcpy(buf, key_digest, 32);
    buf[32] = workspace ? 1 : 0; /* "no header" differs from any name */
    if (n > 0)
        memcpy(buf + 33, workspace, n);
    SHA256(buf, 33 + n, out);
    return true;
}

static struct entry *slot(const unsigned char id[32])
{
    unsigned idx = ((unsigned)id[0] << 8 | id[1]) % SLOTS;
    return &table[idx];
}

bool auth_cache_get(const unsigned char id[32], struct sd_caller *out)
{
    bool hit = false;
    pthread_mutex_lock(&mu);
    struct entry *e = slot(id);
    if (e->expires_ms > sd_now_mono_ms() && CRYPTO_memcmp(e->id, id, 32) == 0) {
        *out = e->caller;
        hit = true;
    }
    pthread_mutex_unlock(&mu);
    return hit;
}

void auth_cache_put(const unsigned char id[32], const struct sd_caller *caller, int64_t ttl_ms)
{
    if (ttl_ms <= 0)
        return;
    pthread_mutex_lock(&mu);
    struct entry *e = slot(id);
    memcpy(e->id, id, 32);
    e->caller = *caller;
    e->expires_ms = sd_now_mono_ms() + ttl_ms;
    pthread_mutex_unlock(&mu);
}

void auth_cache_flush(void)
{
    pthread_mutex_lock(&mu);
    memset(table, 0, sizeof table);
    pthread_mutex_unlock(&mu);
}
