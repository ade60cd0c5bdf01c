/* Private to src/api: reading request JSON into validation errors with pointers. */
#ifndef SEGMENTD_API_INPUT_H
#define SEGMENTD_API_INPUT_H

#include <jansson.h>
#include <stdbool.h>

#include "segmentd/core_errors.h"

/* Flags every member of `obj` not in the NULL-terminated `allowed` list ("unknown field"). */
void input_reject_unknown(json_t *obj, const char *const *allowed, const char *base,
                          struct sd_errors *errs);

/* The string member `key` of `obj`, 1..max_chars characters; NULL (and an error) when absent
 * and `required`, or of the wrong type or length. */
const char *input_string(json_t *obj, const char *key, bool required, size_t max_chars,
                         const char *base, struct sd_errors *errs);

/* Adds an error "body must be a JSON object" unless `doc` is an object. */
bool input_require_object(json_t *doc, struct sd_errors *errs);

#include <stdint.h>

/* Profile fields, normalised into caller buffers; false (and an error at base/key) if invalid.
 * Absent or null members leave *present false. */
struct input_text {
    bool present;
    char value[1024];
};
/* "+33 6 12 34 56 78" → "+33612345678": digits with a leading '+', 5–15 digits; spaces, dots,
 * dashes and parentheses are dropped; anything else is an error. */
void input_phone(json_t *obj, const char *key, const char *base, struct sd_errors *errs,
                 struct input_text *out);
/* Lower-cased; one '@', a dot in the domain, no spaces, at most 254 characters. */
void input_email(json_t *obj, const char *key, const char *base, struct sd_errors *errs,
                 struct input_text *out);
/* A calendar date YYYY-MM-DD, not in the future. */
void input_birthday(json_t *obj, const char *key, const char *base, struct sd_errors *errs,
                    struct input_text *out, int64_t now_us);

#endif
