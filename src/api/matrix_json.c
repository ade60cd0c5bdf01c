/* The matrix document (SPEC §2 "Matrix"): JSON types and shapes here; the rules themselves stay
 * in core/matrix.c (sd_matrix_validate), so the PUT and every other caller agree on them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "segmentd/matrix_json.h"

enum axis_id { AXIS_FREQUENCY, AXIS_RECENCY, AXIS_MONETARY, AXIS_COUNT };

static const char *const axis_names[AXIS_COUNT] = {"frequency", "recency", "monetary"};

static const char *const axis_members[AXIS_COUNT][4] = {
    {"bounds", "labels", NULL},
    {"bounds", "labels", "sleeping", NULL},
    {"bounds", "labels", NULL},
};

static const char *const bound_rules[AXIS_COUNT] = {
    "must be an integer (the largest purchase count of its band)",
    "must be a duration such as \"30d\", \"12h\" or \"90s\", or a whole number of days",
    "must be an amount of at least 0 with at most 2 decimals",
};

/* 12 integer digits, as sd_amount_parse allows. */
#define AMOUNT_MAX_WHOLE INT64_C(999999999999)

/* The C string of a JSON string, or NULL: a string with an embedded NUL ("\u0000") would
 * otherwise be read as its prefix. */
static const char *plain_string(const json_t *v)
{
    if (!json_is_string(v))
        return NULL;
    const char *s = json_string_value(v);
    return strlen(s) == json_string_length(v) ? s : NULL;
}

/* Characters, not bytes: jansson already guarantees the string is valid UTF-8. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* A JSON member counts as absent when it is missing or null, as elsewhere in the API. */
static json_t *member(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

/* jansson holds every non-integer as a double, so the decimal the client wrote is recovered as
 * the shortest text that reads back to the same double: 129.9 → "129.9", never
 * "129.900000000000006". */
static bool real_amount(double v, int64_t *cents)
{
    /* Checked first so that the text below is short and whole values never need 13+ digits. */
    if (!isfinite(v) || v < 0 || v >= 1e12)
        return false;
    char text[40];
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(text, sizeof text, "%.*g", precision, v);
        if (strtod(text, NULL) == v) /* 17 digits always read back, so this ends the loop */
            break;
    }
    if (strpbrk(text, "eE") != NULL) {
        /* "1e+02": the shortest digits are all whole, and below 1e12 every whole double is
         * exact, so %.0f writes them out. Below 1 it is "1e-05": more than 2 decimals. */
        if (v < 1)
            return false;
        snprintf(text, sizeof text, "%.0f", v);
    }
    return sd_amount_parse(text, cents);
}

bool sd_json_amount(json_t *v, int64_t *cents)
{
    if (json_is_string(v)) {
        const char *s = plain_string(v);
        return s != NULL && sd_amount_parse(s, cents);
    }
    if (json_is_integer(v)) {
        json_int_t whole = json_integer_value(v);
        if (whole < 0 || whole > AMOUNT_MAX_WHOLE)
            return false;
        *cents = (int64_t)whole * 100;
        return true;
    }
    if (json_is_real(v))
        return real_amount(json_real_value(v), cents);
    return false;
}

static bool recency_bound(const json_t *v, int64_t *us)
{
    if (json_is_integer(v)) {
        /* A plain number of days goes through the same text rule, so the limits agree. */
        char text[32];
        snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return sd_recency_parse(text, us);
    }
    const char *s = plain_string(v);
    return s != NULL && sd_recency_parse(s, us);
}

/* Only the JSON type is judged here; a frequency bound below 1 is sd_matrix_validate's call. */
static bool read_bound(enum axis_id id, json_t *v, int64_t *out)
{
    if (id == AXIS_FREQUENCY) {
        if (!json_is_integer(v))
            return false;
        *out = json_integer_value(v);
        return true;
    }
    if (id == AXIS_RECENCY)
        return recency_bound(v, out);
    return sd_json_amount(v, out);
}

/* Sets nbands only when the count is storable; 0 tells later steps the labels are unknown. */
static void read_labels(json_t *obj, const char *name, struct sd_axis *axis, struct sd_errors *errs)
{
    json_t *arr = member(obj, "labels");
    if (arr == NULL) {
        sd_errors_add(errs, "required", "/%s/labels", name);
        return;
    }
    if (!json_is_array(arr)) {
        sd_errors_add(errs, "must be an array", "/%s/labels", name);
        return;
    }
    size_t n = json_array_size(arr);
    if (n < SD_MIN_BANDS || n > SD_MAX_BANDS) {
        sd_errors_add(errs, "an axis has 2 to 5 bands", "/%s/labels", name);
        return;
    }
    axis->nbands = (int)n;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *s = plain_string(v);
        if (s == NULL) {
            sd_errors_add(errs, "must be a string", "/%s/labels/%zu", name, i);
        } else if (strlen(s) > SD_LABEL_MAX) {
            /* Too long to store; the character rules are checked by sd_matrix_validate. */
            sd_errors_add(errs, "labels are 1-32 characters of a-z, 0-9, _", "/%s/labels/%zu", name,
                          i);
        } else {
            memcpy(axis->labels[i], s, strlen(s) + 1);
        }
    }
}

static void read_bounds(json_t *obj, enum axis_id id, struct sd_axis *axis, struct sd_errors *errs)
{
    const char *name = axis_names[id];
    json_t *arr = member(obj, "bounds");
    if (arr == NULL) {
        sd_errors_add(errs, "required", "/%s/bounds", name);
        return;
    }
    if (!json_is_array(arr)) {
        sd_errors_add(errs, "must be an array", "/%s/bounds", name);
        return;
    }
    if (axis->nbands > 0 && json_array_size(arr) != (size_t)axis->nbands - 1) {
        char msg[64];
        snprintf(msg, sizeof msg, "needs %d bounds for %d labels", axis->nbands - 1, axis->nbands);
        sd_errors_add(errs, msg, "/%s/bounds", name);
    }
    /* Every element is still read, so a wrong count does not hide a wrong value. */
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        int64_t bound;
        if (!read_bound(id, v, &bound))
            sd_errors_add(errs, bound_rules[id], "/%s/bounds/%zu", name, i);
        else if (i < SD_MAX_BANDS - 1)
            axis->bounds[i] = bound;
    }
}

static void read_axis(json_t *doc, enum axis_id id, struct sd_axis *axis, struct sd_errors *errs)
{
    const char *name = axis_names[id];
    json_t *obj = member(doc, name);
    if (obj == NULL) {
        sd_errors_add(errs, "required", "/%s", name);
        return;
    }
    if (!json_is_object(obj)) {
        sd_errors_add(errs, "must be an object", "/%s", name);
        return;
    }
    char base[16];
    snprintf(base, sizeof base, "/%s", name);
    input_reject_unknown(obj, axis_members[id], base, errs);
    read_labels(obj, name, axis, errs);
    read_bounds(obj, id, axis, errs);
}

static void read_sleeping(json_t *doc, struct sd_matrix *m, struct sd_errors *errs)
{
    json_t *recency = member(doc, "recency");
    json_t *arr = json_is_object(recency) ? member(recency, "sleeping") : NULL;
    if (arr == NULL) {
        /* SPEC §1: by default every band after the first is a sleeping band. */
        for (int i = 1; i < m->recency.nbands; i++)
            m->sleeping[i] = true;
        return;
    }
    if (!json_is_array(arr)) {
        sd_errors_add(errs, "must be an array", "/recency/sleeping");
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *s = plain_string(v);
        if (s == NULL) {
            sd_errors_add(errs, "must be a string", "/recency/sleeping/%zu", i);
            continue;
        }
        if (m->recency.nbands == 0) /* the labels are in error already */
            continue;
        int band = sd_axis_find(&m->recency, s);
        if (band < 0)
            sd_errors_add(errs, "not a label of a recency band", "/recency/sleeping/%zu", i);
        else if (m->sleeping[band])
            sd_errors_add(errs, "duplicate sleeping band", "/recency/sleeping/%zu", i);
        else
            m->sleeping[band] = true;
    }
}

static void read_names(json_t *doc, struct sd_matrix *m, struct sd_errors *errs)
{
    json_t *names = member(doc, "names");
    if (names == NULL)
        return;
    if (!json_is_object(names)) {
        sd_errors_add(errs, "must be an object", "/names");
        return;
    }
    /* Without both label lists no key can be judged; the labels carry the error then. */
    bool cells_known = m->frequency.nbands > 0 && m->recency.nbands > 0;
    const char *key;
    json_t *v;
    json_object_foreach(names, key, v)
    {
        char token[192];
        sd_pointer_escape(key, token, sizeof token);
        int f = -1, r = -1;
        if (cells_known && !sd_matrix_cell_parse(m, key, &f, &r)) {
            sd_errors_add(errs, "not a cell of this matrix", "/names/%s", token);
            continue;
        }
        const char *s = plain_string(v);
        size_t n = s != NULL ? utf8_chars(s) : 0;
        if (s == NULL)
            sd_errors_add(errs, "must be a string", "/names/%s", token);
        else if (n < 1 || n > SD_CELL_NAME_MAX)
            sd_errors_add(errs, "must be 1 to 64 characters", "/names/%s", token);
        else if (cells_known) /* 64 characters of at most 4 bytes fit names[f][r] */
            memcpy(m->names[f][r], s, strlen(s) + 1);
    }
}

/* True when `pointer` is `at` or lies under it. */
static bool pointer_within(const char *pointer, const char *at)
{
    size_t n = strlen(at);
    return strncmp(pointer, at, n) == 0 && (pointer[n] == '\0' || pointer[n] == '/');
}

/* The rule check runs even after shape errors, so that one PUT reports everything. What it says
 * about a place the shape pass already reported (and left as zero or "") is noise, and is left
 * out: a missing axis is not also "an axis has 2 to 5 bands". */
static void add_rule_errors(const struct sd_matrix *m, struct sd_errors *errs, size_t first)
{
    struct sd_errors rules;
    sd_errors_init(&rules);
    (void)sd_matrix_validate(m, &rules);
    for (size_t i = 0; i < rules.count; i++) {
        bool reported = false;
        for (size_t j = first; j < errs->count && !reported; j++)
            reported = pointer_within(rules.items[i].pointer, errs->items[j].pointer);
        if (!reported)
            sd_errors_add(errs, rules.items[i].message, "%s", rules.items[i].pointer);
    }
    errs->dropped += rules.dropped;
}

bool sd_matrix_from_json(json_t *doc, struct sd_matrix *out, struct sd_errors *errs)
{
    static const char *const top[] = {"frequency", "recency", "monetary", "names", NULL};
    struct sd_axis *axes[AXIS_COUNT] = {&out->frequency, &out->recency, &out->monetary};
    size_t first = errs->count;
    size_t dropped = errs->dropped;
    size_t before = errs->count + errs->dropped;

    /* Zeroed whole, padding included, so equal matrices compare equal byte for byte. */
    memset(out, 0, sizeof *out);
    if (!input_require_object(doc, errs))
        return false;
    input_reject_unknown(doc, top, "", errs);
    for (int id = 0; id < AXIS_COUNT; id++)
        read_axis(doc, (enum axis_id)id, axes[id], errs);
    read_sleeping(doc, out, errs);
    read_names(doc, out, errs);
    /* Once the list overflows, the rules' noise can no longer be told from news. */
    if (errs->dropped == dropped)
        add_rule_errors(out, errs, first);
    return errs->count + errs->dropped == before;
}

static json_t *bound_to_json(enum axis_id id, int64_t bound)
{
    char text[32];
    if (id == AXIS_FREQUENCY)
        return json_integer(bound);
    if (id == AXIS_RECENCY)
        sd_recency_format(bound, text, sizeof text);
    else
        sd_amount_format(bound, text, sizeof text);
    return json_string(text);
}

/* New reference, or NULL when out of memory. `sleeping` is NULL except for recency. */
static json_t *axis_to_json(const struct sd_axis *axis, enum axis_id id, const bool *sleeping)
{
    json_t *obj = json_object();
    json_t *bounds = json_array();
    json_t *labels = json_array();
    json_t *asleep = json_array();
    json_t *result = NULL;
    if (obj == NULL || bounds == NULL || labels == NULL || asleep == NULL)
        goto out;
    for (int i = 0; i < axis->nbands; i++) {
        if (i < axis->nbands - 1 &&
            json_array_append_new(bounds, bound_to_json(id, axis->bounds[i])) != 0)
            goto out;
        if (json_array_append_new(labels, json_string(axis->labels[i])) != 0)
            goto out;
        if (sleeping != NULL && sleeping[i] &&
            json_array_append_new(asleep, json_string(axis->labels[i])) != 0)
            goto out;
    }
    if (json_object_set(obj, "bounds", bounds) != 0 || json_object_set(obj, "labels", labels) != 0)
        goto out;
    if (sleeping != NULL && json_object_set(obj, "sleeping", asleep) != 0)
        goto out;
    result = obj;
    obj = NULL;
out:
    json_decref(asleep);
    json_decref(labels);
    json_decref(bounds);
    json_decref(obj);
    return result;
}

/* Only overridden cells: a default name follows its labels when they change. */
static json_t *names_to_json(const struct sd_matrix *m)
{
    json_t *obj = json_object();
    json_t *result = NULL;
    if (obj == NULL)
        goto out;
    for (int f = 0; f < m->frequency.nbands; f++) {
        for (int r = 0; r < m->recency.nbands; r++) {
            if (m->names[f][r][0] == '\0')
                continue;
            char key[SD_CELL_KEY_MAX + 1];
            sd_matrix_cell_key(m, f, r, key);
            if (json_object_set_new(obj, key, json_string(m->names[f][r])) != 0)
                goto out;
        }
    }
    result = obj;
    obj = NULL;
out:
    json_decref(obj);
    return result;
}

json_t *sd_matrix_to_json(const struct sd_matrix *m)
{
    const struct sd_axis *axes[AXIS_COUNT] = {&m->frequency, &m->recency, &m->monetary};
    json_t *doc = json_object();
    json_t *result = NULL;
    if (doc == NULL)
        goto out;
    for (int id = 0; id < AXIS_COUNT; id++) {
        const bool *sleeping = id == AXIS_RECENCY ? m->sleeping : NULL;
        /* json_object_set_new refuses a NULL value and frees a value it cannot store. */
        if (json_object_set_new(doc, axis_names[id],
                                axis_to_json(axes[id], (enum axis_id)id, sleeping)) != 0)
            goto out;
    }
    if (json_object_set_new(doc, "names", names_to_json(m)) != 0)
        goto out;
    result = doc;
    doc = NULL;
out:
    json_decref(doc);
    return result;
}
