/* /v1/customers/{customer_id}: one customer's profile, aggregates and placement; profile edits;
 * erasure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "input.h"
#include "segmentd/matrix_cache.h"
#include "segmentd/store_campaigns.h"
#include "segmentd/store_customers.h"
#include "segmentd/util.h"

#define RECENT_TRANSITIONS 20
#define RECENT_DELIVERIES 10

static json_t *time_or_null(int64_t us)
{
    if (us == 0)
        return json_null();
    char buf[40];
    sd_time_format_us(us, buf, sizeof buf);
    return json_string(buf);
}

static json_t *text_or_null(bool has, const char *s)
{
    return has ? json_string(s) : json_null();
}

static json_t *render_transitions(const PGresult *res)
{
    json_t *arr = json_array();
    for (int r = 0; r < PQntuples(res); r++) {
        json_t *t = json_pack(
            "{s:s, s:o, s:o, s:o, s:s}", "kind", PQgetvalue(res, r, 0), "from",
            PQgetisnull(res, r, 1) ? json_null() : json_string(PQgetvalue(res, r, 1)), "to",
            PQgetisnull(res, r, 2) ? json_null() : json_string(PQgetvalue(res, r, 2)), "at",
            time_or_null(strtoll(PQgetvalue(res, r, 3), NULL, 10)), "reason",
            PQgetvalue(res, r, 4));
        json_array_append_new(arr, t);
    }
    return arr;
}

static json_t *render_customer(const struct sd_customer *c, const struct sd_matrix *m)
{
    const struct sd_customer_state *s = &c->state;
    char revenue[32];
    sd_amount_format(s->revenue_cents, revenue, sizeof revenue);
    json_t *doc = json_pack(
        "{s:s, s:s, s:o, s:o, s:o, s:o, s:b, s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
        "customer_id", s->external_id, "kind", sd_kind_name(s->kind), "name",
        text_or_null(c->has_name, c->name), "phone", text_or_null(c->has_phone, c->phone), "email",
        text_or_null(c->has_email, c->email), "birthday",
        text_or_null(c->has_birthday, c->birthday), "contact_opt_out", c->contact_opt_out,
        "purchases", (json_int_t)s->purchases, "revenue", revenue, "first_purchase_at",
        time_or_null(s->first_purchase_at), "last_purchase_at", time_or_null(s->last_purchase_at),
        "cell", s->cell[0] ? json_string(s->cell) : json_null(), "monetary",
        s->monetary[0] ? json_string(s->monetary) : json_null(), "cell_since",
        time_or_null(s->cell_since), "next_change_at", time_or_null(sd_customer_next_change(m, s)),
        "created_at", time_or_null(c->created_at), "updated_at", time_or_null(c->updated_at));
    return doc;
}

void api_customers_get(struct sd_request *req)
{
    struct sd_db *db = http_req_db(req);
    long long ws = http_req_caller(req)->workspace_id;
    struct sd_customer *c = malloc(sizeof *c);
    struct sd_matrix_set *ms = malloc(sizeof *ms);
    PGresult *tr = NULL, *dl = NULL;
    enum sd_rc rc =
        c && ms ? sd_store_customer_get(db, ws, http_req_param(req, 0), c) : SD_ERR_NOMEM;
    if (rc == SD_OK)
        rc = matrix_cache_get(db, ws, true, false, ms);
    if (rc == SD_OK)
        rc = sd_store_customer_transitions(db, ws, c->state.id, RECENT_TRANSITIONS, &tr);
    if (rc == SD_OK)
        rc = sd_store_customer_deliveries(db, ws, c->state.id, RECENT_DELIVERIES, &dl);
    if (rc == SD_ERR_NOT_FOUND) {
        http_reply_problem(req, 404, "No customer with this customer_id.");
    } else if (rc != SD_OK) {
        http_reply_rc(req, rc);
    } else {
        json_t *doc = render_customer(c, &ms->m[c->state.kind]);
        json_object_set_new(doc, "transitions", render_transitions(tr));
        json_t *deliveries = json_array();
        for (int r = 0; r < PQntuples(dl); r++)
            json_array_append_new(deliveries, api_render_delivery(dl, r, true));
        json_object_set_new(doc, "recent_deliveries", deliveries);
        http_reply_json(req, 200, doc);
    }
    PQclear(tr);
    PQclear(dl);
    free(c);
    free(ms);
}

/* A nullable text member: absent → unchanged, null → cleared. */
static void patch_text(json_t *body, const char *key, size_t max, struct sd_errors *errs,
                       const char **value, bool *clear)
{
    json_t *v = json_object_get(body, key);
    *clear = v != NULL && json_is_null(v);
    *value = *clear ? NULL : input_string(body, key, false, max, "", errs);
}

struct patch_input {
    struct sd_profile_patch p;
    struct input_text phone, email, birthday;
};

static void parse_patch(json_t *body, struct patch_input *in, struct sd_errors *errs)
{
    static const char *const fields[] = {"name", "phone",           "email", "birthday",
                                         "kind", "contact_opt_out", NULL};
    memset(in, 0, sizeof *in);
    in->p.contact_opt_out = -1;
    if (!input_require_object(body, errs))
        return;
    input_reject_unknown(body, fields, "", errs);
    patch_text(body, "name", 200, errs, &in->p.name, &in->p.clear_name);
    in->p.clear_phone = json_is_null(json_object_get(body, "phone"));
    in->p.clear_email = json_is_null(json_object_get(body, "email"));
    in->p.clear_birthday = json_is_null(json_object_get(body, "birthday"));
    input_phone(body, "phone", "", errs, &in->phone);
    input_email(body, "email", "", errs, &in->email);
    input_birthday(body, "birthday", "", errs, &in->birthday, sd_now_us());
    in->p.phone = in->phone.present ? in->phone.value : NULL;
    in->p.email = in->email.present ? in->email.value : NULL;
    in->p.birthday = in->birthday.present ? in->birthday.value : NULL;
    json_t *kind = json_object_get(body, "kind");
    enum sd_kind k;
    if (kind != NULL && !(json_is_string(kind) && sd_kind_parse(json_string_value(kind), &k)))
        sd_errors_add(errs, "b2c or b2b", "/kind");
    else if (kind != NULL)
        in->p.kind = json_string_value(kind);
    json_t *opt = json_object_get(body, "contact_opt_out");
    if (opt != NULL && !json_is_boolean(opt))
        sd_errors_add(errs, "must be true or false", "/contact_opt_out");
    else if (opt != NULL)
        in->p.contact_opt_out = json_is_true(opt);
}

void api_customers_patch(struct sd_request *req)
{
    struct patch_input *in = malloc(sizeof *in);
    struct sd_errors *errs = malloc(sizeof *errs);
    struct sd_matrix_set *ms = malloc(sizeof *ms);
    if (in == NULL || errs == NULL || ms == NULL) {
        http_reply_rc(req, SD_ERR_NOMEM);
        goto out;
    }
    sd_errors_init(errs);
    parse_patch(http_req_json(req), in, errs);
    if (sd_errors_any(errs)) {
        http_reply_invalid(req, errs);
        goto out;
    }
    struct sd_db *db = http_req_db(req);
    long long ws = http_req_caller(req)->workspace_id;
    enum sd_rc rc = matrix_cache_get(db, ws, true, false, ms);
    if (rc == SD_OK)
        rc = sd_store_customer_patch(db, ws, http_req_param(req, 0), &in->p, ms->m);
    if (rc == SD_ERR_NOT_FOUND)
        http_reply_problem(req, 404, "No customer with this customer_id.");
    else if (rc != SD_OK)
        http_reply_rc(req, rc);
    else
        api_customers_get(req);
out:
    free(in);
    free(errs);
    free(ms);
}

void api_customers_delete(struct sd_request *req)
{
    enum sd_rc rc = sd_store_customer_delete(http_req_db(req), http_req_caller(req)->workspace_id,
                                             http_req_param(req, 0));
    if (rc == SD_ERR_NOT_FOUND)
        http_reply_problem(req, 404, "No customer with this customer_id.");
    else
        http_reply_rc(req, rc);
}
