#include <stdio.h>
#include <string.h>

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
