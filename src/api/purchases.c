/* POST /v1/purchases and POST /v1/cancellations (ingest). All-or-nothing validation: one bad
 * item and nothing is written (422 with a pointer per problem). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "input.h"
#include "purchases.h"
#include "segmentd/matrix_cache.h"
#include "segmentd/matrix_json.h"
#include "segmentd/store_purchases.h"
#include "segmentd/util.h"

#define FUTURE_TOLERANCE_US (5 * 60 * SD_US_PER_SECOND)

/* The items of a body that is one object or an array of 1..max_batch objects. */
static json_t *body_items_of(json_t *body, int max, bool *is_array, struct sd_errors *errs)
{
    *is_array = json_is_array(body);
    if (json_is_object(body))
        return body;
    if (!*is_array) {
        sd_errors_add(errs, "the body is an object or an array of objects", "%s", "");
    } else if (json_array_size(body) == 0) {
        sd_errors_add(errs, "the array is empty", "%s", "");
    } else if (json_array_size(body) > (size_t)max) {
        char msg[96];
        snprintf(msg, sizeof msg, "at most %d items per request ([limits] max_batch)", max);
        sd_errors_add(errs, msg, "%s", "");
    }
    return sd_errors_any(errs) ? NULL : body;
}

static json_t *body_items(struct sd_request *req, bool *is_array, struct sd_errors *errs)
{
    return body_items_of(http_req_json(req), http_req_app(req)->cfg->limits_max_batch, is_array,
                         errs);
}

static void parse_profile(json_t *obj, const char *base, struct sd_purchase_item *it,
                          struct sd_errors *errs, int64_t now)
{
    static const char *const fields[] = {"kind", "name", "phone", "email", "birthday", NULL};
    char b[64];
    snprintf(b, sizeof b, "%s/customer", base);
    json_t *c = json_object_get(obj, "customer");
    if (c == NULL || json_is_null(c))
        return;
    if (!json_is_object(c)) {
        sd_errors_add(errs, "must be an object", "%s", b);
        return;
    }
    input_reject_unknown(c, fields, b, errs);
    it->in.kind = input_string(c, "kind", false, 3, b, errs);
    enum sd_kind k;
    if (it->in.kind != NULL && !sd_kind_parse(it->in.kind, &k)) {
        sd_errors_add(errs, "b2c or b2b", "%s/kind", b);
        it->in.kind = NULL;
    }
    it->in.name = input_string(c, "name", false, 200, b, errs);
    input_phone(c, "phone", b, errs, &it->phone);
    input_email(c, "email", b, errs, &it->email);
    input_birthday(c, "birthday", b, errs, &it->birthday, now);
    it->in.phone = it->phone.present ? it->phone.value : NULL;
    it->in.email = it->email.present ? it->email.value : NULL;
    it->in.birthday = it->birthday.present ? it->birthday.value : NULL;
}

static void parse_time(json_t *obj, const char *base, int64_t now, int64_t *out,
                       struct sd_errors *errs)
{
    json_t *v = json_object_get(obj, "purchased_at");
    *out = now;
    if (v == NULL || json_is_null(v))
        return;
    if (!json_is_string(v) || !sd_time_parse_rfc3339(json_string_value(v), out)) {
        sd_errors_add(errs, "an RFC 3339 time, e.g. 2026-11-20T10:00:00Z", "%s/purchased_at", base);
        return;
    }
    if (*out > now + FUTURE_TOLERANCE_US)
        sd_errors_add(errs, "more than 5 minutes in the future", "%s/purchased_at", base);
}

static void parse_purchase(json_t *obj, const char *base, struct sd_purchase_item *it,
                           struct sd_errors *errs, int64_t now)
{
    static const char *const fields[] = {"order_id",     "customer_id", "amount",
                                         "purchased_at", "customer",    NULL};
    memset(it, 0, sizeof *it);
    if (!json_is_object(obj)) {
        sd_errors_add(errs, "each purchase is an object", "%s", base);
        return;
    }
    input_reject_unknown(obj, fields, base, errs);
    it->in.order_id = input_string(obj, "order_id", true, 128, base, errs);
    it->in.customer_id = input_string(obj, "customer_id", true, 128, base, errs);
    json_t *amount = json_object_get(obj, "amount");
    if (amount == NULL)
        sd_errors_add(errs, "required", "%s/amount", base);
    else if (!sd_json_amount(amount, &it->in.amount_cents))
        sd_errors_add(errs, "an amount ≥ 0 with at most 2 decimals and 12 digits, e.g. \"129.90\"",
                      "%s/amount", base);
    parse_time(obj, base, now, &it->in.purchased_at, errs);
    parse_profile(obj, base, it, errs, now);
}

enum sd_rc sd_purchases_validate(json_t *body, int max_batch, int64_t now_us,
                                 struct sd_purchase_item **items, size_t *n, bool *is_array,
                                 struct sd_errors *errs)
{
    *items = NULL;
    *n = 0;
    body = body_items_of(body, max_batch, is_array, errs);
    if (body == NULL)
        return SD_OK;
    size_t count = *is_array ? json_array_size(body) : 1;
    struct sd_purchase_item *it = calloc(count, sizeof *it);
    if (it == NULL)
        return SD_ERR_NOMEM;
    for (size_t i = 0; i < count; i++) {
        char base[24] = "";
        if (*is_array)
            snprintf(base, sizeof base, "/%zu", i);
        parse_purchase(*is_array ? json_array_get(body, i) : body, base, &it[i], errs, now_us);
    }
    *items = it;
    *n = count;
    return SD_OK;
}

static const char *const purchase_status[] = {"created", "duplicate", "conflict"};

static json_t *render_purchase_result(const struct sd_purchase_in *in,
                                      const struct sd_purchase_out *out)
{
    json_t *r = json_pack("{s:s, s:s, s:s}", "order_id", in->order_id, "customer_id",
                          in->customer_id, "status", purchase_status[out->status]);
    json_object_set_new(r, "cell", out->cell[0] ? json_string(out->cell) : json_null());
    if (out->status == SD_PURCHASE_CONFLICT) {
        char amount[32], at[40];
        sd_amount_format(out->stored_amount_cents, amount, sizeof amount);
        sd_time_format_us(out->stored_purchased_at, at, sizeof at);
        json_object_set_new(r, "stored",
                            json_pack("{s:s, s:s}", "amount", amount, "purchased_at", at));
    }
    return r;
}

/* Runs `ingest` with the cached matrices, reloading them if a matrix changed meanwhile. */
typedef enum sd_rc (*ingest_fn)(struct sd_db *db, long long ws, const struct sd_matrix_set *ms,
                                void *ctx);

static enum sd_rc with_matrices(struct sd_request *req, ingest_fn fn, void *ctx)
{
    struct sd_db *db = http_req_db(req);
    long long ws = http_req_caller(req)->workspace_id;
    struct sd_matrix_set *ms = malloc(sizeof *ms);
    if (ms == NULL)
        return SD_ERR_NOMEM;
    enum sd_rc rc = matrix_cache_get(db, ws, false, false, ms);
    if (rc == SD_OK)
        rc = fn(db, ws, ms, ctx);
    /* Every PUT between our reload and our commit makes the matrices stale again: a burst of
     * PUTs must not turn a valid purchase into a 500, so reload a few times. */
    for (int attempt = 0; rc == SD_ERR_STALE && attempt < 5; attempt++) {
        rc = matrix_cache_get(db, ws, false, true, ms);
        if (rc == SD_OK)
            rc = fn(db, ws, ms, ctx);
    }
    free(ms);
    return rc;
}

struct purchase_batch {
    struct sd_purchase_in *in;
    struct sd_purchase_out *out;
    size_t n;
};

static enum sd_rc ingest_purchases(struct sd_db *db, long long ws, const struct sd_matrix_set *ms,
                                   void *ctx)
{
    struct purchase_batch *b = ctx;
    return sd_store_purchases_ingest(db, ws, ms, b->in, b->n, b->out);
}

static void reply_purchases(struct sd_request *req, const struct purchase_batch *b)
{
    size_t counts[3] = {0, 0, 0};
    json_t *results = json_array();
    for (size_t i = 0; i < b->n; i++) {
        counts[b->out[i].status]++;
        json_array_append_new(results, render_purchase_result(&b->in[i], &b->out[i]));
    }
    http_reply_json(req, 200,
                    json_pack("{s:I, s:I, s:I, s:o}", "accepted", (json_int_t)counts[0],
                              "duplicates", (json_int_t)counts[1], "conflicts",
                              (json_int_t)counts[2], "results", results));
}

void api_purchases_create(struct sd_request *req)
{
    struct sd_errors *errs = malloc(sizeof *errs);
    struct sd_purchase_item *items = NULL;
    struct purchase_batch b = {0};
    if (errs == NULL)
        goto oom;
    sd_errors_init(errs);
    bool is_array;
    if (sd_purchases_validate(http_req_json(req), http_req_app(req)->cfg->limits_max_batch,
                              sd_now_us(), &items, &b.n, &is_array, errs) != SD_OK)
        goto oom;
    if (items != NULL) {
        b.in = calloc(b.n, sizeof *b.in);
        b.out = calloc(b.n, sizeof *b.out);
        if (b.in == NULL || b.out == NULL)
            goto oom;
        for (size_t i = 0; i < b.n; i++)
            b.in[i] = items[i].in;
    }
    if (sd_errors_any(errs)) {
        http_reply_invalid(req, errs);
    } else {
        enum sd_rc rc = with_matrices(req, ingest_purchases, &b);
        if (rc == SD_OK)
            reply_purchases(req, &b);
        else
            http_reply_rc(req, rc);
    }
    goto out;
oom:
    http_reply_rc(req, SD_ERR_NOMEM);
out:
    free(errs);
    free(items);
    free(b.in);
    free(b.out);
}

/* ---- cancellations ---- */

struct cancel_batch {
    struct sd_cancel_in *in;
    struct sd_cancel_out *out;
    size_t n;
};

static enum sd_rc ingest_cancellations(struct sd_db *db, long long ws,
                                       const struct sd_matrix_set *ms, void *ctx)
{
    struct cancel_batch *b = ctx;
    return sd_store_cancellations(db, ws, ms, b->in, b->n, b->out);
}

static void parse_cancel(json_t *obj, const char *base, struct sd_cancel_in *in,
                         struct sd_errors *errs)
{
    static const char *const fields[] = {"customer_id", "order_id", NULL};
    if (!json_is_object(obj)) {
        sd_errors_add(errs, "each cancellation is an object", "%s", base);
        return;
    }
    input_reject_unknown(obj, fields, base, errs);
    in->customer_id = input_string(obj, "customer_id", true, 128, base, errs);
    in->order_id = input_string(obj, "order_id", true, 128, base, errs);
}

static void reply_cancellations(struct sd_request *req, const struct cancel_batch *b)
{
    static const char *const names[] = {"cancelled", "already_cancelled", "not_found"};
    size_t counts[3] = {0, 0, 0};
    json_t *results = json_array();
    for (size_t i = 0; i < b->n; i++) {
        const struct sd_cancel_out *o = &b->out[i];
        counts[o->status]++;
        json_t *r = json_pack("{s:s, s:s, s:s}", "customer_id", b->in[i].customer_id, "order_id",
                              b->in[i].order_id, "status", names[o->status]);
        json_object_set_new(r, "cell", o->cell[0] ? json_string(o->cell) : json_null());
        json_array_append_new(results, r);
    }
    http_reply_json(req, 200,
                    json_pack("{s:I, s:I, s:I, s:o}", "cancelled", (json_int_t)counts[0],
                              "already_cancelled", (json_int_t)counts[1], "not_found",
                              (json_int_t)counts[2], "results", results));
}

void api_cancellations_create(struct sd_request *req)
{
    struct sd_errors *errs = malloc(sizeof *errs);
    struct cancel_batch b = {0};
    if (errs == NULL) {
        http_reply_rc(req, SD_ERR_NOMEM);
        return;
    }
    sd_errors_init(errs);
    bool is_array;
    json_t *body = body_items(req, &is_array, errs);
    if (body != NULL) {
        b.n = is_array ? json_array_size(body) : 1;
        b.in = calloc(b.n, sizeof *b.in);
        b.out = calloc(b.n, sizeof *b.out);
        for (size_t i = 0; b.in && b.out && i < b.n; i++) {
            char base[24] = "";
            if (is_array)
                snprintf(base, sizeof base, "/%zu", i);
            parse_cancel(is_array ? json_array_get(body, i) : body, base, &b.in[i], errs);
        }
    }
    if (body != NULL && (b.in == NULL || b.out == NULL))
        http_reply_rc(req, SD_ERR_NOMEM);
    else if (sd_errors_any(errs))
        http_reply_invalid(req, errs);
    else {
        enum sd_rc rc = with_matrices(req, ingest_cancellations, &b);
        if (rc == SD_OK)
            reply_cancellations(req, &b);
        else
            http_reply_rc(req, rc);
    }
    free(errs);
    free(b.in);
    free(b.out);
}
