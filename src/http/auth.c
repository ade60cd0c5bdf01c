/* Bearer-key authentication and the scope check (SPEC §2 "Auth", §0 workspaces).
 *
 * Every presented key is hashed (SHA-256) before anything else, so the bootstrap key and stored
 * keys are compared as digests with CRYPTO_memcmp: the time taken does not depend on how much of
 * a guess was right. */
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

#include "auth_cache.h"
#include "http_internal.h"
#include "segmentd/core_access.h"
#include "segmentd/log.h"
#include "segmentd/store_keys.h"
#include "segmentd/store_workspaces.h"

static void reply_unauthorized(struct sd_request *req, const char *detail)
{
    http_reply_problem(req, 401, detail);
    http_reply_header(req, "WWW-Authenticate", "Bearer realm=\"segmentd\"");
}

/* "Bearer KEY" → KEY (borrowed), or NULL. */
static const char *bearer_token(const char *authorization)
{
    if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    const char *key = authorization + 7;
    while (*key == ' ')
        key++;
    return *key != '\0' && strlen(key) <= 256 ? key : NULL;
}

/* The bootstrap key acts in the workspace named by Segmentd-Workspace (default: "default"). */
static bool auth_bootstrap(struct sd_request *req)
{
    const char *name = req->headers[H_WORKSPACE] ? req->headers[H_WORKSPACE] : "default";
    if (!sd_workspace_name_valid(name)) {
        http_reply_problem(req, 400, "Segmentd-Workspace must match [a-z0-9_-]{1,63}.");
        return false;
    }
    struct sd_workspace ws;
    enum sd_rc rc = sd_store_workspace_get(req->db, name, &ws);
    if (rc == SD_ERR_NOT_FOUND) {
        http_reply_problem(req, 404, "Unknown workspace (Segmentd-Workspace).");
        return false;
    }
    if (rc != SD_OK) {
        http_reply_rc(req, rc);
        return false;
    }
    req->caller.is_bootstrap = true;
    req->caller.workspace_id = ws.id;
    snprintf(req->caller.workspace, sizeof req->caller.workspace, "%s", ws.name);
    req->caller.scopes = SD_SCOPE_READ | SD_SCOPE_INGEST | SD_SCOPE_ADMIN;
    return true;
}

static bool auth_stored_key(struct sd_request *req, const char *key, const unsigned char digest[32])
{
    long long ws_id;
    if (!sd_api_key_parse(key, &ws_id)) {
        reply_unauthorized(req, "Unknown API key.");
        return false;
    }
    struct sd_api_key found;
    enum sd_rc rc = sd_store_key_find(req->db, ws_id, digest, &found);
    if (rc == SD_ERR_NOT_FOUND) {
        reply_unauthorized(req, "Unknown API key.");
        return false;
    }
    if (rc != SD_OK) {
        http_reply_rc(req, rc);
        return false;
    }
    if (req->headers[H_WORKSPACE] != NULL) {
        http_reply_problem(req, 403,
                           "Only the bootstrap admin key may choose a workspace "
                           "with Segmentd-Workspace.");
        return false;
    }
    req->caller.workspace_id = found.workspace_id;
    snprintf(req->caller.workspace, sizeof req->caller.workspace, "%s", found.workspace);
    req->caller.scopes = found.scopes;
    req->caller.key_id = found.id;
    return true;
}

bool http_authenticate(struct sd_request *req)
{
    const struct sd_route *route = req->match.route;
    const char *key = bearer_token(req->headers[H_AUTHORIZATION]);
    if (key == NULL) {
        reply_unauthorized(req, "Send an API key as 'Authorization: Bearer KEY'.");
        return false;
    }
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)key, strlen(key), digest);

    struct sd_app *app = req->app;
    unsigned char cache_id[SHA256_DIGEST_LENGTH];
    bool cacheable = auth_cache_id(digest, req->headers[H_WORKSPACE], cache_id);
    if (!cacheable || !auth_cache_get(cache_id, &req->caller)) {
        bool is_bootstrap =
            app->has_admin_key && CRYPTO_memcmp(digest, app->admin_key_hash, sizeof digest) == 0;
        bool ok = is_bootstrap ? auth_bootstrap(req) : auth_stored_key(req, key, digest);
        if (!ok)
            return false;
        if (cacheable)
            auth_cache_put(cache_id, &req->caller, app->cfg->auth_key_cache_ttl_ms);
    }
    /* Counted before the scope check: a key hammering an endpoint it may not use is limited too. */
    if (!http_rate_admit(req))
        return false;
    if (!sd_access_allows(route->access, req->caller.scopes, req->caller.is_bootstrap)) {
        http_reply_problem(req, 403,
                           route->access == SD_ACCESS_BOOTSTRAP
                               ? "Only the bootstrap admin key manages workspaces."
                               : "This API key lacks the scope this endpoint needs.");
        return false;
    }
    return true;
}
