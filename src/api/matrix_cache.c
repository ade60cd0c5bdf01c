#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "segmentd/matrix_cache.h"
#include "segmentd/log.h"
#include "segmentd/matrix_json.h"
#include "segmentd/store_matrices.h"

#define SLOTS 256 /* direct-mapped by workspace id: a miss only costs a reload */

struct slot {
    long long ws; /* 0 = empty */
    struct sd_matrix_set set;
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct slot cache[SLOTS];

static struct slot *slot_of(long long ws)
{
    return &cache[(unsigned long long)ws % SLOTS];
}

static bool cached(long long ws, struct sd_matrix_set *out)
{
    pthread_mutex_lock(&cache_mu);
    struct slot *s = slot_of(ws);
    bool hit = s->ws == ws;
    if (hit)
        *out = s->set;
    pthread_mutex_unlock(&cache_mu);
    return hit;
}

static void remember(long long ws, const struct sd_matrix_set *set)
{
    pthread_mutex_lock(&cache_mu);
    struct slot *s = slot_of(ws);
    s->ws = ws;
    s->set = *set;
    pthread_mutex_unlock(&cache_mu);
}

void matrix_cache_forget(long long ws)
{
    pthread_mutex_lock(&cache_mu);
    struct slot *s = slot_of(ws);
    if (s->ws == ws)
        s->ws = 0;
    pthread_mutex_unlock(&cache_mu);
}

static enum sd_rc load_kind(struct sd_db *db, long long ws, enum sd_kind kind, struct sd_matrix *m,
                            int *version)
{
    char *text = NULL;
    enum sd_rc rc = sd_store_matrix_current(db, ws, kind, &text, version);
    if (rc == SD_ERR_NOT_FOUND) {
        sd_matrix_preset(kind, m);
        *version = 0;
        return SD_OK;
    }
    if (rc != SD_OK)
        return rc;
    json_t *doc = json_loads(text, 0, NULL);
    struct sd_errors errs;
    sd_errors_init(&errs);
    if (doc == NULL || !sd_matrix_from_json(doc, m, &errs)) {
        log_error("stored matrix %s of workspace %lld v%d does not decode", sd_kind_name(kind), ws,
                  *version);
        rc = SD_ERR_INTERNAL;
    }
    json_decref(doc);
    free(text);
    return rc;
}

enum sd_rc matrix_cache_get(struct sd_db *db, long long ws, bool verify, bool reload,
                            struct sd_matrix_set *out)
{
    struct sd_matrix_set *set = malloc(sizeof *set);
    if (set == NULL)
        return SD_ERR_NOMEM;
    enum sd_rc rc = SD_OK;
    bool hit = !reload && cached(ws, set);
    if (hit && verify) {
        int now[SD_KIND_COUNT];
        rc = sd_store_matrix_versions_now(db, ws, now);
        hit = rc == SD_OK && memcmp(now, set->version, sizeof now) == 0;
    }
    for (int k = 0; rc == SD_OK && !hit && k < SD_KIND_COUNT; k++)
        rc = load_kind(db, ws, (enum sd_kind)k, &set->m[k], &set->version[k]);
    if (rc == SD_OK && !hit)
        remember(ws, set);
    if (rc == SD_OK)
        *out = *set;
    free(set);
    return rc;
}
