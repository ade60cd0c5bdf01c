/* The delivery log: GET /v1/campaigns/{id}/deliveries (keyset pages, newest first, with every
 * attempt) and POST /v1/deliveries/{id}/retry (re-queue a dead one). */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "segmentd/store_campaigns.h"
#include "segmentd/util.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX 500

/* ---- rendering ---- */

static json_t *col_text(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? json_null() : json_string(PQgetvalue(res, r, c));
}

static json_t *col_int(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? json_null()
                                  : json_integer(strtoll(PQgetvalue(res, r, c), NULL, 10));
}

static json_t *col_time(const PGresult *res, int r, int c)
{
    if (PQgetisnull(res, r, c))
        return json_null();
    char buf[40];
    sd_time_format_us(strtoll(PQgetvalue(res, r, c), NULL, 10), buf, sizeof buf);
    return json_string(buf);
}

json_t *api_render_delivery(const PGresult *res, int r, bool with_campaign_name)
{
    json_t *d = json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
        col_int(res, r, SD_DLV_ID), "campaign_id", col_int(res, r, SD_DLV_CAMPAIGN_ID),
        "customer_id", col_text(res, r, SD_DLV_CUSTOMER), "webhook_id",
        col_text(res, r, SD_DLV_MSG_ID), "type", col_text(res, r, SD_DLV_TYPE), "from",
        col_text(res, r, SD_DLV_FROM), "to", col_text(res, r, SD_DLV_TO), "occasion",
        col_text(res, r, SD_DLV_OCCASION), "status", col_text(res, r, SD_DLV_STATUS), "reason",
        col_text(res, r, SD_DLV_REASON), "attempt_count", col_int(res, r, SD_DLV_ATTEMPTS),
        "due_at", col_time(res, r, SD_DLV_DUE), "created_at", col_time(res, r, SD_DLV_CREATED),
        "delivered_at", col_time(res, r, SD_DLV_DELIVERED), "last_status",
        col_int(res, r, SD_DLV_LAST_STATUS), "last_error", col_text(res, r, SD_DLV_LAST_ERROR));
    if (with_campaign_name)
        json_object_set_new(d, "campaign_name", col_text(res, r, SD_DLV_CAMPAIGN_NAME));
    return d;
}

/* The rows of `rows` with their attempts (`attempts` is ordered by delivery, then time). */
static json_t *render_with_attempts(const PGresult *rows, int nrows, const PGresult *attempts)
{
    /* Attempt lists by delivery id, in one pass (a page may hold thousands of attempts). */
    json_t *by_id = json_object();
    for (int a = 0; a < PQntuples(attempts); a++) {
        const char *id = PQgetvalue(attempts, a, SD_ATT_DELIVERY_ID);
        json_t *list = json_object_get(by_id, id);
        if (list == NULL) {
            list = json_array();
            json_object_set_new(by_id, id, list);
        }
        json_array_append_new(list, json_pack("{s:o, s:o, s:o, s:o}", "at",
                                              col_time(attempts, a, SD_ATT_AT), "status_code",
                                              col_int(attempts, a, SD_ATT_STATUS_CODE),
                                              "latency_ms", col_int(attempts, a, SD_ATT_LATENCY),
                                              "error", col_text(attempts, a, SD_ATT_ERROR)));
    }
    json_t *arr = json_array();
    for (int r = 0; r < nrows; r++) {
        json_t *d = api_render_delivery(rows, r, false);
        json_t *list = json_object_get(by_id, PQgetvalue(rows, r, SD_DLV_ID));
        json_object_set_new(d, "attempts", list != NULL ? json_incref(list) : json_array());
        json_array_append_new(arr, d);
    }
    json_decref(by_id);
    return arr;
}

/* ---- cursors: base64url of "created_us.id", opaque to clients ---- */

static void cursor_encode(int64_t created_us, const char *id, char *out, size_t outlen)
{
    char plain[64];
    int n = snprintf(plain, sizeof plain, "%lld.%s", (long long)created_us, id);
    if (n <= 0 || (size_t)n >= sizeof plain || outlen < 4 * ((size_t)n + 2) / 3 + 1) {
        out[0] = '\0';
        return;
    }
    int len = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)plain, n);
    for (int i = 0; i < len; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
        else if (out[i] == '=')
            out[i] = '\0';
    }
}

static bool cursor_decode(const char *cursor, struct sd_delivery_cursor *out)
{
    size_t n = strlen(cursor);
    char padded[96];
    unsigned char plain[96];
    size_t pad = (4 - n % 4) % 4;
    if (n == 0 || n % 4 == 1 || n + pad >= sizeof padded)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = cursor[i];
        if (c == '+' || c == '/' || c == '=')
            return false; /* only the URL-safe alphabet, unpadded */
        padded[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    memset(padded + n, '=', pad);
    padded[n + pad] = '\0';
    int len = EVP_DecodeBlock(plain, (const unsigned char *)padded, (int)(n + pad));
    if (len < 0)
        return false;
    len -= (int)pad; /* EVP_DecodeBlock counts the padding as bytes */
    plain[len] = '\0';
    char *dot = strchr((char *)plain, '.');
    if (dot == NULL || strlen((char *)plain) != (size_t)len)
        return false;
    *dot = '\0';
    int64_t us, id;
    if (!sd_parse_i64((char *)plain, 0, INT64_MAX / 2, &us) ||
        !sd_parse_i64(dot + 1, 1, INT64_MAX, &id))
        return false;
    out->set = true;
    out->created_us = us;
    out->id = (long long)id;
    return true;
}

/* ---- handlers ---- */

static bool status_valid(const char *s)
{
    static const char *const statuses[] = {"pending", "failed", "delivered", "suppressed", "dead"};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        if (strcmp(s, statuses[i]) == 0)
            return true;
    }
    return false;
}

struct log_query {
    const char *status;
    int limit;
    struct sd_delivery_cursor after;
};

/* Reads ?status=&limit=&cursor=; answers 422 itself when one is bad. */
static bool parse_log_query(struct sd_request *req, struct log_query *q)
{
    memset(q, 0, sizeof *q);
    q->status = http_req_query(req, "status");
    if (q->status != NULL && !status_valid(q->status)) {
        http_reply_problem(req, 422,
                           "Query parameter status must be pending, failed, delivered, "
                           "suppressed or dead.");
        return false;
    }
    const char *limit = http_req_query(req, "limit");
    int64_t l = PAGE_DEFAULT;
    if (limit != NULL && !sd_parse_i64(limit, 1, PAGE_MAX, &l)) {
        http_reply_problem(req, 422, "Query parameter limit must be 1 to 500.");
        return false;
    }
    q->limit = (int)l;
    const char *cursor = http_req_query(req, "cursor");
    if (cursor != NULL && !cursor_decode(cursor, &q->after)) {
        http_reply_problem(req, 422, "Query parameter cursor is not a next_cursor of this log.");
        return false;
    }
    return true;
}

void api_deliveries_list(struct sd_request *req)
{
    int64_t campaign;
    if (!sd_parse_i64(http_req_param(req, 0), 1, INT64_MAX, &campaign)) {
        http_reply_problem(req, 404, "No campaign with this id.");
        return;
    }
    struct log_query q;
    if (!parse_log_query(req, &q))
        return;
    PGresult *rows = NULL, *attempts = NULL;
    enum sd_rc rc = sd_store_delivery_page(http_req_db(req), http_req_caller(req)->workspace_id,
                                           (long long)campaign, q.status, &q.after, q.limit + 1,
                                           &rows, &attempts);
    if (rc == SD_ERR_NOT_FOUND) {
        http_reply_problem(req, 404, "No campaign with this id.");
        return;
    }
    if (rc != SD_OK) {
        http_reply_rc(req, rc);
        return;
    }
    int n = PQntuples(rows), shown = n > q.limit ? q.limit : n;
    json_t *next = json_null();
    if (n > q.limit) {
        char cursor[128];
        cursor_encode(strtoll(PQgetvalue(rows, shown - 1, SD_DLV_CREATED), NULL, 10),
                      PQgetvalue(rows, shown - 1, SD_DLV_ID), cursor, sizeof cursor);
        next = json_string(cursor);
    }
    json_t *doc = json_pack("{s:o, s:o}", "deliveries", render_with_attempts(rows, shown, attempts),
                            "next_cursor", next);
    PQclear(rows);
    PQclear(attempts);
    http_reply_json(req, 200, doc);
}

void api_deliveries_retry(struct sd_request *req)
{
    int64_t id;
    if (!sd_parse_i64(http_req_param(req, 0), 1, INT64_MAX, &id)) {
        http_reply_problem(req, 404, "No delivery with this id.");
        return;
    }
    PGresult *row = NULL, *attempts = NULL;
    enum sd_rc rc = sd_store_delivery_retry(http_req_db(req), http_req_caller(req)->workspace_id,
                                            (long long)id, &row, &attempts);
    if (rc == SD_ERR_NOT_FOUND) {
        http_reply_problem(req, 404, "No delivery with this id.");
    } else if (rc == SD_ERR_CONFLICT) {
        http_reply_problem(req, 409,
                           "Only a dead or failed delivery that is not being sent can be retried.");
    } else if (rc != SD_OK) {
        http_reply_rc(req, rc);
    } else {
        json_t *list = render_with_attempts(row, 1, attempts);
        json_t *d = json_incref(json_array_get(list, 0));
        json_decref(list);
        http_reply_json(req, 202, d);
    }
    PQclear(row);
    PQclear(attempts);
}
