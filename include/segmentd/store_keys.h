/* API keys: stored as SHA-256 hashes, scoped to one workspace. */
#ifndef SEGMENTD_STORE_KEYS_H
#define SEGMENTD_STORE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "segmentd/db.h"

struct sd_api_key {
    long long id;
    long long workspace_id;
    char workspace[64];
    char name[804];
    char prefix[32];
    unsigned scopes; /* enum sd_scope bits */
    int64_t created_at;
};

/* Stores a key given its hash and display prefix; fills `out` (id, created_at …). */
enum sd_rc sd_store_key_create(struct sd_db *db, long long workspace_id, const char *name,
                               unsigned scopes, const unsigned char hash[32], const char *prefix,
                               struct sd_api_key *out) SD_MUST_CHECK;
/* The workspace's keys by id; `*items` is a new array the caller frees. */
enum sd_rc sd_store_key_list(struct sd_db *db, long long workspace_id, struct sd_api_key **items,
                             size_t *count) SD_MUST_CHECK;
/* SD_ERR_NOT_FOUND when no such key in this workspace. */
enum sd_rc sd_store_key_delete(struct sd_db *db, long long workspace_id,
                               long long id) SD_MUST_CHECK;
/* Finds the key with this hash in the workspace (SD_ERR_NOT_FOUND if none). */
enum sd_rc sd_store_key_find(struct sd_db *db, long long workspace_id, const unsigned char hash[32],
                             struct sd_api_key *out) SD_MUST_CHECK;

#endif
