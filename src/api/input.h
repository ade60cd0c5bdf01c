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

#endif
