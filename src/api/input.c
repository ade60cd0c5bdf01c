#include <stdio.h>
#include <string.h>

#include "segmentd/util.h"

#include "input.h"

void input_reject_unknown(json_t *obj, const char *const *allowed, const char *base,
                          struct sd_errors *errs)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        bool known = false;
        for (size_t i = 0; allowed[i] != NULL && !known; i++)
            known = strcmp(key, allowed[i]) == 0;
        if (!known) {
            char token[128];
            sd_pointer_escape(key, token, sizeof token);
            sd_errors_add(errs, "unknown field", "%s/%s", base, token);
        }
    }
}

/* Characters, not bytes: jansson already guarantees the string is valid UTF-8. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

const char *input_string(json_t *obj, const char *key, bool required, size_t max_chars,
                         const char *base, struct sd_errors *errs)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v)) {
        if (required)
            sd_errors_add(errs, "required", "%s/%s", base, key);
        return NULL;
    }
    if (!json_is_string(v)) {
        sd_errors_add(errs, "must be a string", "%s/%s", base, key);
        return NULL;
    }
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v)) {
        sd_errors_add(errs, "must not contain NUL characters", "%s/%s", base, key);
        return NULL;
    }
    size_t n = utf8_chars(s);
    if (n == 0 || n > max_chars) {
        char msg[64];
        snprintf(msg, sizeof msg, "must be 1 to %zu characters", max_chars);
        sd_errors_add(errs, msg, "%s/%s", base, key);
        return NULL;
    }
    return s;
}

bool input_require_object(json_t *doc, struct sd_errors *errs)
{
    if (json_is_object(doc))
        return true;
    sd_errors_add(errs, "the body must be a JSON object", "%s", "");
    return false;
}

void input_phone(json_t *obj, const char *key, const char *base, struct sd_errors *errs,
                 struct input_text *out)
{
    out->present = false;
    const char *s = input_string(obj, key, false, 64, base, errs);
    if (s == NULL)
        return;
    size_t n = 0, digits = 0;
    out->value[n++] = '+';
    for (const char *p = s; *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9') {
            out->value[n++] = *p;
            digits++;
        } else if (!(*p == ' ' || *p == '-' || *p == '.' || *p == '(' || *p == ')' ||
                     (*p == '+' && p == s))) {
            sd_errors_add(errs, "a phone number has digits, spaces, - . ( ) and a leading +",
                          "%s/%s", base, key);
            return;
        }
        if (digits > 15)
            break;
    }
    out->value[n] = '\0';
    if (digits < 5 || digits > 15) {
        sd_errors_add(errs, "a phone number has 5 to 15 digits", "%s/%s", base, key);
        return;
    }
    out->present = true;
}

void input_email(json_t *obj, const char *key, const char *base, struct sd_errors *errs,
                 struct input_text *out)
{
    out->present = false;
    const char *s = input_string(obj, key, false, 254, base, errs);
    if (s == NULL)
        return;
    const char *at = strchr(s, '@');
    bool ok = at != NULL && at != s && strchr(at + 1, '@') == NULL && strchr(at + 1, '.') != NULL &&
              at[1] != '.' && s[strlen(s) - 1] != '.';
    size_t n = 0;
    for (const char *p = s; ok && *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        ok = c > ' ' && c != 0x7f;
        out->value[n++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    out->value[n] = '\0';
    if (!ok) {
        sd_errors_add(errs, "not an e-mail address", "%s/%s", base, key);
        return;
    }
    out->present = true;
}

void input_birthday(json_t *obj, const char *key, const char *base, struct sd_errors *errs,
                    struct input_text *out, int64_t now_us)
{
    out->present = false;
    const char *s = input_string(obj, key, false, 10, base, errs);
    if (s == NULL)
        return;
    int64_t us;
    if (!sd_date_parse(s, &us) || us > now_us) {
        sd_errors_add(errs, "a past date YYYY-MM-DD", "%s/%s", base, key);
        return;
    }
    snprintf(out->value, sizeof out->value, "%s", s);
    out->present = true;
}
