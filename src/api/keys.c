/* /v1/keys: API keys of the caller's workspace (admin). */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../http/auth_cache.h"
#include "handlers.h"
#include "input.h"
#include "render.h"
#include "segmentd/api.h"
#include "segmentd/core_access.h"
#include "segmentd/util.h"

#define KEY_SECRET_BYTES 32
#define KEY_PREFIX_SECRET_CHARS 6

/* base64url without padding: the key goes into headers and shells unquoted. */
static void base64url(const unsigned char *in, size_t len, char *out)
{
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    for (int i = 0; i < n; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
        else if (out[i] == '=') {
            out[i] = '\0';
            break;
        }
    }
}

enum sd_rc sd_api_key_mint(struct sd_db *db, long long workspace_id, const char *name,
                           unsigned scopes, struct sd_api_key *out, char *key_out)
{
    unsigned char secret[KEY_SECRET_BYTES], digest[SHA256_DIGEST_LENGTH];
    char encoded[64];
    if (RAND_bytes(secret, sizeof secret) != 1)
        return SD_ERR_INTERNAL;
    base64url(secret, sizeof secret, encoded);
    int head = snprintf(key_out, 128, "sdk_%lld_", workspace_id);
    snprintf(key_out + head, 128 - (size_t)head, "%s", encoded);
    SHA256((const unsigned char *)key_out, strlen(key_out), digest);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%.*s", head + KEY_PREFIX_SECRET_CHARS, key_out);
    OPENSSL_cleanse(secret, sizeof secret);
    return sd_store_key_create(db, workspace_id, name, scopes, digest, prefix, out);
}

static json_t *render_key(const struct sd_api_key *k)
{
    json_t *scopes = json_array();
    for (unsigned bit = 1; bit <= SD_SCOPE_ADMIN; bit <<= 1) {
        if (k->scopes & bit)
            json_array_append_new(scopes, json_string(sd_scope_name(bit)));
    }
    return json_pack("{s:I, s:s, s:o, s:s, s:s, s:o}", "id", (json_int_t)k->id, "name", k->name,
                     "scopes", scopes, "workspace", k->workspace, "prefix", k->prefix, "created_at",
                     render_time(k->created_at));
}

/* "scopes": a non-empty array of distinct known scope names. */
static unsigned read_scopes(json_t *body, struct sd_errors *errs)
{
    json_t *arr = json_object_get(body, "scopes");
    if (arr == NULL) {
        sd_errors_add(errs, "required", "/scopes");
        return 0;
    }
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        sd_errors_add(errs, "must be a non-empty array of read, ingest, admin", "/scopes");
        return 0;
    }
    unsigned scopes = 0;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        unsigned bit = json_is_string(v) ? sd_scope_from_name(json_string_value(v)) : 0;
        if (bit == 0)
            sd_errors_add(errs, "unknown scope (read, ingest or admin)", "/scopes/%zu", i);
        else if (scopes & bit)
            sd_errors_add(errs, "duplicate scope", "/scopes/%zu", i);
        scopes |= bit;
    }
    return scopes;
}

void api_keys_create(struct sd_request *req)
{
    static const char *const fields[] = {"name", "scopes", NULL};
    json_t *body = http_req_json(req);
    struct sd_errors errs;
    sd_errors_init(&errs);
    const char *name = NULL;
    unsigned scopes = 0;
    if (input_require_object(body, &errs)) {
        input_reject_unknown(body, fields, "", &errs);
        name = input_string(body, "name", true, 200, "", &errs);
        scopes = read_scopes(body, &errs);
    }
    if (sd_errors_any(&errs)) {
        http_reply_invalid(req, &errs);
        return;
    }
    struct sd_api_key key;
    char clear[128];
    enum sd_rc rc = sd_api_key_mint(http_req_db(req), http_req_caller(req)->workspace_id, name,
                                    scopes, &key, clear);
    if (rc != SD_OK) {
        http_reply_rc(req, rc);
        return;
    }
    json_t *doc = render_key(&key);
    json_object_set_new(doc, "key", json_string(clear));
    OPENSSL_cleanse(clear, sizeof clear);
    char location[64];
    snprintf(location, sizeof location, "/v1/keys/%lld", key.id);
    http_reply_json(req, 201, doc);
    http_reply_header(req, "Location", location);
}

void api_keys_list(struct sd_request *req)
{
    struct sd_api_key *keys = NULL;
    size_t n = 0;
    enum sd_rc rc =
        sd_store_key_list(http_req_db(req), http_req_caller(req)->workspace_id, &keys, &n);
    if (rc != SD_OK) {
        http_reply_rc(req, rc);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, render_key(&keys[i]));
    free(keys);
    http_reply_json(req, 200, json_pack("{s:o}", "items", items));
}

void api_keys_delete(struct sd_request *req)
{
    int64_t id;
    if (!sd_parse_i64(http_req_param(req, 0), 1, INT64_MAX, &id)) {
        http_reply_problem(req, 404, "No API key with this id.");
        return;
    }
    enum sd_rc rc = sd_store_key_delete(http_req_db(req), http_req_caller(req)->workspace_id, id);
    if (rc == SD_OK)
        auth_cache_flush(); /* this process stops trusting it at once */
    if (rc == SD_ERR_NOT_FOUND)
        http_reply_problem(req, 404, "No API key with this id.");
    else
        http_reply_rc(req, rc);
}
