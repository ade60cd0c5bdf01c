/* /v1/campaigns and /v1/campaign-templates: campaigns of the caller's workspace (who, when, by
 * which channel, to which webhook), their signing secrets, and the methodology's templates. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "input.h"
#include "segmentd/core_ssrf.h"
#include "segmentd/core_templates.h"
#include "segmentd/matrix_cache.h"
#include "segmentd/store_campaigns.h"
#include "segmentd/util.h"
#include "segmentd/webhook_sign.h"

#define MS_PER_MINUTE INT64_C(60000)
#define MS_PER_DAY (1440 * MS_PER_MINUTE)
#define MAX_COUNT 1000
#define MAX_PER_DAYS 3650
#define SCHEDULE_MIN_MS MS_PER_MINUTE
#define SCHEDULE_MAX_MS (MAX_PER_DAYS * MS_PER_DAY)
#define DAYS_BEFORE_MAX 366
#define SECRET_OVERLAP_US (INT64_C(86400) * 1000000) /* both secrets sign for 24 h */

/* ---- rendering ---- */

static json_t *time_or_null(int64_t us)
{
    if (us == 0)
        return json_null();
    char buf[40];
    sd_time_format_us(us, buf, sizeof buf);
    return json_string(buf);
}

/* The canonical text of a period: the largest unit that divides it ("7d", "36h", "90m"). */
static void format_every(int64_t ms, char *out, size_t outlen)
{
    static const struct {
        int64_t ms;
        const char *unit;
    } units[] = {{MS_PER_DAY, "d"}, {3600000, "h"}, {MS_PER_MINUTE, "m"}, {1000, "s"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ms % units[i].ms == 0) {
            snprintf(out, outlen, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
            return;
        }
    }
    snprintf(out, outlen, "%lldms", (long long)ms);
}

static json_t *render_trigger(const struct sd_campaign *c)
{
    json_t *t = json_pack("{s:s}", "type", sd_trigger_name(c->trigger));
    if (c->trigger == SD_TRIGGER_SCHEDULE) {
        char every[32];
        format_every(c->every_ms, every, sizeof every);
        json_object_set_new(t, "every", json_string(every));
    } else if (c->trigger == SD_TRIGGER_DATE) {
        if (c->date_field[0])
            json_object_set_new(t, "field", json_string(c->date_field));
        else
            json_object_set_new(t, "month_day", json_string(c->month_day));
        json_object_set_new(t, "days_before", json_integer(c->days_before));
    }
    return t;
}

json_t *api_render_max_messages(int count, int64_t per_ms)
{
    if (count <= 0 || per_ms <= 0)
        return json_null();
    return json_pack("{s:i, s:I}", "count", count, "per_days",
                     (json_int_t)((per_ms + MS_PER_DAY - 1) / MS_PER_DAY));
}

static json_t *opt_text(bool has, const char *s)
{
    return has ? json_string(s) : json_null();
}

static json_t *render_campaign(const struct sd_campaign *c, int64_t now_us)
{
    json_t *cells = json_array();
    for (size_t i = 0; i < c->ncells; i++)
        json_array_append_new(cells, json_string(c->cells[i]));
    return json_pack(
        "{s:I, s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:s, s:o, s:s, s:b, s:o, s:o, s:o, s:o}",
        "id", (json_int_t)c->id, "name", c->name, "kind", sd_kind_name(c->kind), "cells", cells,
        "trigger", render_trigger(c), "channel", c->channel, "strategy",
        opt_text(c->has_strategy, c->strategy), "action", opt_text(c->has_action, c->action),
        "template", opt_text(c->has_template, c->template_id), "webhook_url", c->webhook_url,
        "max_messages", api_render_max_messages(c->max_count, c->max_per_ms), "reentry",
        sd_reentry_name(c->reentry), "active", c->active, "paused_reason",
        opt_text(c->has_paused_reason, c->paused_reason), "secret_rotated_until",
        c->previous_until > now_us ? time_or_null(c->previous_until) : json_null(), "created_at",
        time_or_null(c->created_at), "updated_at", time_or_null(c->updated_at));
}

/* ---- reading the body ---- */

bool api_parse_max_messages(json_t *v, const char *pointer, int *count, int64_t *per_ms,
                            struct sd_errors *errs)
{
    static const char *const fields[] = {"count", "per_days", NULL};
    *count = 0;
    *per_ms = 0;
    if (json_is_null(v))
        return true;
    if (!json_is_object(v)) {
        sd_errors_add(errs, "must be {\"count\": N, \"per_days\": D} or null", "%s", pointer);
        return false;
    }
    size_t before = errs->count + errs->dropped;
    input_reject_unknown(v, fields, pointer, errs);
    json_t *n = json_object_get(v, "count"), *d = json_object_get(v, "per_days");
    if (!json_is_integer(n) || json_integer_value(n) < 1 || json_integer_value(n) > MAX_COUNT)
        sd_errors_add(errs, "an integer from 1 to 1000", "%s/count", pointer);
    if (!json_is_integer(d) || json_integer_value(d) < 1 || json_integer_value(d) > MAX_PER_DAYS)
        sd_errors_add(errs, "an integer from 1 to 3650", "%s/per_days", pointer);
    if (errs->count + errs->dropped != before)
        return false;
    *count = (int)json_integer_value(n);
    *per_ms = json_integer_value(d) * MS_PER_DAY;
    return true;
}

static void parse_schedule(json_t *t, struct sd_campaign *c, struct sd_errors *errs)
{
    static const char *const fields[] = {"type", "every", NULL};
    input_reject_unknown(t, fields, "/trigger", errs);
    const char *every = input_string(t, "every", true, 32, "/trigger", errs);
    int64_t ms = 0;
    if (every != NULL &&
        (!sd_parse_duration_ms(every, &ms) || ms < SCHEDULE_MIN_MS || ms > SCHEDULE_MAX_MS))
        sd_errors_add(errs, "a duration from 1m to 3650d, e.g. \"7d\" or \"12h\"",
                      "/trigger/every");
    c->every_ms = ms;
}

static void parse_date(json_t *t, struct sd_campaign *c, struct sd_errors *errs)
{
    static const char *const fields[] = {"type", "field", "month_day", "days_before", NULL};
    input_reject_unknown(t, fields, "/trigger", errs);
    json_t *field = json_object_get(t, "field"), *md = json_object_get(t, "month_day");
    if (field != NULL && md != NULL) {
        sd_errors_add(errs, "give either field or month_day, not both", "/trigger");
    } else if (field != NULL) {
        if (!json_is_string(field) || strcmp(json_string_value(field), "birthday") != 0)
            sd_errors_add(errs, "the only date field is \"birthday\"", "/trigger/field");
        else
            snprintf(c->date_field, sizeof c->date_field, "birthday");
    } else if (md != NULL) {
        if (!json_is_string(md) || !sd_month_day_valid(json_string_value(md)))
            sd_errors_add(errs, "a day of the year as \"MM-DD\", e.g. \"03-08\"",
                          "/trigger/month_day");
        else
            snprintf(c->month_day, sizeof c->month_day, "%s", json_string_value(md));
    } else {
        sd_errors_add(errs, "a date trigger needs field (\"birthday\") or month_day (\"MM-DD\")",
                      "/trigger");
    }
    json_t *days = json_object_get(t, "days_before");
    if (days == NULL)
        return;
    if (!json_is_integer(days) || json_integer_value(days) < 0 ||
        json_integer_value(days) > DAYS_BEFORE_MAX)
        sd_errors_add(errs, "an integer from 0 to 366", "/trigger/days_before");
    else
        c->days_before = (int)json_integer_value(days);
}

static void parse_trigger(json_t *t, struct sd_campaign *c, struct sd_errors *errs)
{
    c->every_ms = 0;
    c->date_field[0] = c->month_day[0] = '\0';
    c->days_before = 0;
    if (!json_is_object(t)) {
        sd_errors_add(errs, "must be an object with a type: enter, schedule or date", "/trigger");
        return;
    }
    json_t *type = json_object_get(t, "type");
    if (!json_is_string(type) || !sd_trigger_parse(json_string_value(type), &c->trigger)) {
        sd_errors_add(errs, "enter, schedule or date", "/trigger/type");
        return;
    }
    static const char *const enter_fields[] = {"type", NULL};
    if (c->trigger == SD_TRIGGER_ENTER)
        input_reject_unknown(t, enter_fields, "/trigger", errs);
    else if (c->trigger == SD_TRIGGER_SCHEDULE)
        parse_schedule(t, c, errs);
    else
        parse_date(t, c, errs);
}

/* A nullable text of at most `max` characters: absent → unchanged, null → cleared. */
static void parse_opt_text(json_t *body, const char *key, size_t max, char *out, size_t outlen,
                           bool *has, struct sd_errors *errs)
{
    json_t *v = json_object_get(body, key);
    if (v == NULL)
        return;
    if (json_is_null(v)) {
        *has = false;
        out[0] = '\0';
        return;
    }
    const char *s = input_string(body, key, false, max, "", errs);
    if (s != NULL) {
        snprintf(out, outlen, "%s", s);
        *has = true;
    }
}

/* A text that may be left out but not set to null; NULL when absent or invalid. */
static const char *parse_text(json_t *body, const char *key, size_t max, struct sd_errors *errs)
{
    json_t *v = json_object_get(body, key);
    if (v != NULL && json_is_null(v)) {
        sd_errors_add(errs, "must not be null", "/%s", key);
        return NULL;
    }
    return input_string(body, key, false, max, "", errs);
}

/* Fills the campaign from a template: the defaults the body may override. */
static void apply_template(const struct sd_campaign_template *t, struct sd_campaign *c)
{
    snprintf(c->name, sizeof c->name, "%s", t->name);
    c->kind = t->kind;
    c->ncells = 1;
    snprintf(c->cells[0], sizeof c->cells[0], "%s", t->cell);
    snprintf(c->channel, sizeof c->channel, "%s", t->channel);
    snprintf(c->strategy, sizeof c->strategy, "%s", t->strategy);
    snprintf(c->action, sizeof c->action, "%s", t->action);
    c->has_strategy = c->has_action = c->has_template = true;
    snprintf(c->template_id, sizeof c->template_id, "%s", t->id);
}

/* "cells": a non-empty array of distinct cell keys of the kind's current matrix. */
static void parse_cells(json_t *arr, const struct sd_matrix *m, enum sd_kind kind,
                        struct sd_campaign *c, struct sd_errors *errs)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        sd_errors_add(errs, "must be a non-empty array of cell keys, e.g. \"regular/asleep\"",
                      "/cells");
        return;
    }
    char msg[96];
    snprintf(msg, sizeof msg, "not a cell of the workspace's %s matrix", sd_kind_name(kind));
    c->ncells = 0;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        int f, r;
        const char *key = json_is_string(v) ? json_string_value(v) : NULL;
        if (key == NULL) {
            sd_errors_add(errs, "must be a cell key (a string)", "/cells/%zu", i);
            continue;
        }
        if (!sd_matrix_cell_parse(m, key, &f, &r)) {
            sd_errors_add(errs, msg, "/cells/%zu", i);
            continue;
        }
        char canonical[SD_CELL_KEY_MAX + 1];
        sd_matrix_cell_key(m, f, r, canonical);
        bool dup = false;
        for (size_t k = 0; k < c->ncells && !dup; k++)
            dup = strcmp(c->cells[k], canonical) == 0;
        if (dup)
            sd_errors_add(errs, "duplicate cell", "/cells/%zu", i);
        else if (c->ncells < SD_CAMPAIGN_CELLS_MAX)
            snprintf(c->cells[c->ncells++], SD_CELL_KEY_MAX + 1, "%s", canonical);
    }
}

/* Re-checks cells that did not come with the body against the (possibly new) kind's matrix. */
static void check_kept_cells(const struct sd_campaign *c, const struct sd_matrix *m,
                             const char *pointer, struct sd_errors *errs)
{
    for (size_t i = 0; i < c->ncells; i++) {
        int f, r;
        if (!sd_matrix_cell_parse(m, c->cells[i], &f, &r)) {
            char msg[192];
            snprintf(msg, sizeof msg, "the cell %s is not in the workspace's %s matrix",
                     c->cells[i], sd_kind_name(c->kind));
            sd_errors_add(errs, msg, "%s", pointer);
        }
    }
}

/* What a body changed, beyond the fields. */
struct body_effects {
    bool trigger_given;
    bool activated; /* "active": true */
};

static void parse_kind(json_t *body, struct sd_campaign *c, struct sd_errors *errs)
{
    json_t *kind = json_object_get(body, "kind");
    if (kind != NULL && !(json_is_string(kind) && sd_kind_parse(json_string_value(kind), &c->kind)))
        sd_errors_add(errs, "b2c or b2b", "/kind");
}

static void parse_scalars(json_t *body, struct sd_campaign *c, struct body_effects *fx,
                          struct sd_errors *errs)
{
    const char *s = parse_text(body, "name", SD_CAMPAIGN_NAME_MAX, errs);
    if (s != NULL)
        snprintf(c->name, sizeof c->name, "%s", s);
    s = parse_text(body, "channel", 16, errs);
    if (s != NULL && !sd_channel_valid(s))
        sd_errors_add(errs, sd_channel_list(), "/channel");
    else if (s != NULL)
        snprintf(c->channel, sizeof c->channel, "%s", s);
    parse_opt_text(body, "strategy", SD_CAMPAIGN_TEXT_MAX, c->strategy, sizeof c->strategy,
                   &c->has_strategy, errs);
    parse_opt_text(body, "action", SD_CAMPAIGN_TEXT_MAX, c->action, sizeof c->action,
                   &c->has_action, errs);
    s = parse_text(body, "webhook_url", SD_CAMPAIGN_URL_MAX, errs);
    if (s != NULL && !sd_url_scheme_allowed(s))
        sd_errors_add(errs, "an http:// or https:// URL with a host", "/webhook_url");
    else if (s != NULL)
        snprintf(c->webhook_url, sizeof c->webhook_url, "%s", s);
    json_t *v = json_object_get(body, "max_messages");
    if (v != NULL)
        (void)api_parse_max_messages(v, "/max_messages", &c->max_count, &c->max_per_ms, errs);
    v = json_object_get(body, "reentry");
    if (v != NULL && !(json_is_string(v) && sd_reentry_parse(json_string_value(v), &c->reentry)))
        sd_errors_add(errs, "after_exit, once or always", "/reentry");
    v = json_object_get(body, "active");
    if (v != NULL && !json_is_boolean(v))
        sd_errors_add(errs, "must be true or false", "/active");
    else if (v != NULL)
        c->active = json_is_true(v);
    fx->activated = json_is_true(v);
    v = json_object_get(body, "trigger");
    fx->trigger_given = v != NULL;
    if (v != NULL)
        parse_trigger(v, c, errs);
}

/* Applies a POST (`create`) or PATCH body over `c` (defaults, or the stored campaign). */
static void apply_body(json_t *body, bool create, const struct sd_matrix_set *ms,
                       struct sd_campaign *c, struct body_effects *fx, struct sd_errors *errs)
{
    static const char *const fields[] = {
        "name",     "kind",   "cells",       "trigger",      "channel", "strategy", "action",
        "template", "active", "webhook_url", "max_messages", "reentry", NULL};
    memset(fx, 0, sizeof *fx);
    if (!input_require_object(body, errs))
        return;
    input_reject_unknown(body, fields, "", errs);
    json_t *tpl = json_object_get(body, "template");
    const struct sd_campaign_template *t = NULL;
    if (tpl != NULL && json_is_null(tpl)) {
        c->has_template = false;
        c->template_id[0] = '\0';
    } else if (tpl != NULL) {
        t = json_is_string(tpl) ? sd_template_find(json_string_value(tpl)) : NULL;
        if (t == NULL)
            sd_errors_add(errs, "no such template (see GET /v1/campaign-templates)", "/template");
        else
            apply_template(t, c);
    }
    enum sd_kind kind_before = c->kind;
    parse_kind(body, c, errs);
    parse_scalars(body, c, fx, errs);
    json_t *cells = json_object_get(body, "cells");
    if (cells != NULL)
        parse_cells(cells, &ms->m[c->kind], c->kind, c, errs);
    else if (t != NULL)
        check_kept_cells(c, &ms->m[c->kind], "/template", errs);
    else if (c->kind != kind_before)
        check_kept_cells(c, &ms->m[c->kind], "/kind", errs);
    if (!create)
        return;
    /* A creation names its webhook, and everything a template would when it has none. */
    static const char *const required[] = {"webhook_url", "name", "cells", "channel"};
    size_t nrequired = tpl != NULL ? 1 : sizeof required / sizeof required[0];
    for (size_t i = 0; i < nrequired; i++) {
        if (json_object_get(body, required[i]) == NULL)
            sd_errors_add(errs, "required", "/%s", required[i]);
    }
}

static void campaign_defaults(struct sd_campaign *c)
{
    memset(c, 0, sizeof *c);
    c->kind = SD_KIND_B2C;
    c->trigger = SD_TRIGGER_ENTER;
    c->reentry = SD_REENTRY_AFTER_EXIT;
    c->active = true;
}

/* ---- handlers ---- */

/* The {id} of the path, or false after answering 404 for an id that cannot exist. */
static bool path_id(struct sd_request *req, long long *id)
{
    int64_t v;
    if (!sd_parse_i64(http_req_param(req, 0), 1, INT64_MAX, &v)) {
        http_reply_problem(req, 404, "No campaign with this id.");
        return false;
    }
    *id = (long long)v;
    return true;
}

static void reply_campaign(struct sd_request *req, unsigned status, enum sd_rc rc,
                           const struct sd_campaign *c)
{
    if (rc == SD_ERR_NOT_FOUND)
        http_reply_problem(req, 404, "No campaign with this id.");
    else if (rc != SD_OK)
        http_reply_rc(req, rc);
    else
        http_reply_json(req, status, render_campaign(c, sd_now_us()));
}

static struct sd_matrix_set *load_matrices(struct sd_request *req)
{
    struct sd_matrix_set *ms = malloc(sizeof *ms);
    enum sd_rc rc =
        ms ? matrix_cache_get(http_req_db(req), http_req_caller(req)->workspace_id, true, false, ms)
           : SD_ERR_NOMEM;
    if (rc != SD_OK) {
        free(ms);
        http_reply_rc(req, rc);
        return NULL;
    }
    return ms;
}

void api_campaigns_create(struct sd_request *req)
{
    struct sd_campaign *in = malloc(sizeof *in), *out = malloc(sizeof *out);
    struct sd_errors *errs = malloc(sizeof *errs);
    struct sd_matrix_set *ms = NULL;
    char secret[SD_WEBHOOK_SECRET_LEN] = "";
    if (in == NULL || out == NULL || errs == NULL) {
        http_reply_rc(req, SD_ERR_NOMEM);
        goto out;
    }
    if ((ms = load_matrices(req)) == NULL)
        goto out;
    campaign_defaults(in);
    sd_errors_init(errs);
    struct body_effects fx;
    json_t *body = http_req_json(req);
    apply_body(body, true, ms, in, &fx, errs);
    if (sd_errors_any(errs)) {
        http_reply_invalid(req, errs);
        goto out;
    }
    enum sd_rc rc = sd_webhook_secret_new(secret, sizeof secret);
    if (rc == SD_OK)
        rc = sd_store_campaign_create(http_req_db(req), http_req_caller(req)->workspace_id, in,
                                      secret, out);
    if (rc != SD_OK) {
        http_reply_rc(req, rc);
        goto out;
    }
    json_t *doc = render_campaign(out, sd_now_us());
    json_object_set_new(doc, "secret", json_string(secret));
    char location[64];
    snprintf(location, sizeof location, "/v1/campaigns/%lld", out->id);
    http_reply_json(req, 201, doc);
    http_reply_header(req, "Location", location);
out:
    OPENSSL_cleanse(secret, sizeof secret);
    free(in);
    free(out);
    free(errs);
    free(ms);
}

void api_campaigns_list(struct sd_request *req)
{
    struct sd_campaign *items = NULL;
    size_t n = 0;
    enum sd_rc rc =
        sd_store_campaign_list(http_req_db(req), http_req_caller(req)->workspace_id, &items, &n);
    if (rc != SD_OK) {
        http_reply_rc(req, rc);
        return;
    }
    int64_t now = sd_now_us();
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, render_campaign(&items[i], now));
    free(items);
    http_reply_json(req, 200, json_pack("{s:o}", "items", arr));
}

void api_campaigns_get(struct sd_request *req)
{
    long long id;
    if (!path_id(req, &id))
        return;
    struct sd_campaign *c = malloc(sizeof *c);
    enum sd_rc rc = c ? sd_store_campaign_get(http_req_db(req), http_req_caller(req)->workspace_id,
                                              id, false, c)
                      : SD_ERR_NOMEM;
    reply_campaign(req, 200, rc, c);
    free(c);
}

struct patch_ctx {
    long long ws, id;
    json_t *body;
    const struct sd_matrix_set *ms;
    struct sd_campaign cur, out;
    struct sd_errors errs;
};

static enum sd_rc patch_tx(struct sd_db *db, void *arg)
{
    struct patch_ctx *p = arg;
    sd_errors_init(&p->errs);
    enum sd_rc rc = sd_store_campaign_get(db, p->ws, p->id, true, &p->cur);
    if (rc != SD_OK)
        return rc;
    bool was_running = p->cur.active && !p->cur.has_paused_reason;
    struct body_effects fx;
    apply_body(p->body, false, p->ms, &p->cur, &fx, &p->errs);
    if (sd_errors_any(&p->errs))
        return SD_ERR_INVALID;
    enum sd_next_run next = SD_NEXT_RUN_KEEP;
    if (fx.trigger_given)
        next = p->cur.trigger == SD_TRIGGER_ENTER ? SD_NEXT_RUN_CLEAR : SD_NEXT_RUN_NOW;
    return sd_store_campaign_update(db, p->ws, p->id, &p->cur, fx.activated && !was_running, next,
                                    &p->out);
}

void api_campaigns_update(struct sd_request *req)
{
    long long id;
    if (!path_id(req, &id))
        return;
    struct patch_ctx *p = malloc(sizeof *p);
    if (p == NULL) {
        http_reply_rc(req, SD_ERR_NOMEM);
        return;
    }
    struct sd_matrix_set *ms = load_matrices(req);
    if (ms != NULL) {
        p->ws = http_req_caller(req)->workspace_id;
        p->id = id;
        p->body = http_req_json(req);
        p->ms = ms;
        enum sd_rc rc = sd_db_transaction_on(http_req_db(req), patch_tx, p);
        if (rc == SD_ERR_INVALID && sd_errors_any(&p->errs))
            http_reply_invalid(req, &p->errs);
        else
            reply_campaign(req, 200, rc, &p->out);
    }
    free(ms);
    free(p);
}

void api_campaigns_delete(struct sd_request *req)
{
    long long id;
    if (!path_id(req, &id))
        return;
    enum sd_rc rc =
        sd_store_campaign_delete(http_req_db(req), http_req_caller(req)->workspace_id, id);
    if (rc == SD_ERR_NOT_FOUND)
        http_reply_problem(req, 404, "No campaign with this id.");
    else
        http_reply_rc(req, rc);
}

void api_campaigns_rotate_secret(struct sd_request *req)
{
    long long id;
    if (!path_id(req, &id))
        return;
    struct sd_campaign *c = malloc(sizeof *c);
    char secret[SD_WEBHOOK_SECRET_LEN] = "";
    int64_t until = sd_now_us() + SECRET_OVERLAP_US;
    enum sd_rc rc = c ? sd_webhook_secret_new(secret, sizeof secret) : SD_ERR_NOMEM;
    if (rc == SD_OK)
        rc = sd_store_campaign_rotate_secret(http_req_db(req), http_req_caller(req)->workspace_id,
                                             id, secret, until, c);
    if (rc == SD_ERR_NOT_FOUND) {
        http_reply_problem(req, 404, "No campaign with this id.");
    } else if (rc != SD_OK) {
        http_reply_rc(req, rc);
    } else {
        http_reply_json(req, 200,
                        json_pack("{s:I, s:s, s:o}", "id", (json_int_t)c->id, "secret", secret,
                                  "previous_valid_until", time_or_null(c->previous_until)));
    }
    OPENSSL_cleanse(secret, sizeof secret);
    free(c);
}

void api_campaign_templates_list(struct sd_request *req)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < sd_templates_count(); i++) {
        const struct sd_campaign_template *t = sd_template_at(i);
        json_array_append_new(arr,
                              json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "id", t->id,
                                        "kind", sd_kind_name(t->kind), "cell", t->cell, "name",
                                        t->name, "strategy", t->strategy, "channel", t->channel,
                                        "action", t->action, "trigger", "type", "enter"));
    }
    http_reply_json(req, 200, json_pack("{s:o}", "templates", arr));
}
