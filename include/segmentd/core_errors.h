/* Validation errors: a caller-supplied list of (JSON pointer, message) pairs, in the way jansson
 * hands back json_error_t. Validators append every problem they find, so a client sees them all
 * at once. Pure: no allocation, fixed capacity (further errors are counted, not stored). */
#ifndef SEGMENTD_CORE_ERRORS_H
#define SEGMENTD_CORE_ERRORS_H

#include <stdbool.h>
#include <stddef.h>

#define SD_ERRORS_MAX 50

struct sd_error_item {
    char pointer[256]; /* RFC 6901 pointer into the request body, e.g. "/3/amount" */
    char message[192];
};

struct sd_errors {
    struct sd_error_item items[SD_ERRORS_MAX];
    size_t count;   /* stored */
    size_t dropped; /* found beyond SD_ERRORS_MAX */
};

void sd_errors_init(struct sd_errors *e);
/* Appends one error; `pointer` is a printf format for the pointer, message a plain string. */
void sd_errors_add(struct sd_errors *e, const char *message, const char *pointer_fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool sd_errors_any(const struct sd_errors *e);

/* Escapes one reference token for a JSON pointer ("~" → "~0", "/" → "~1") into out. */
void sd_pointer_escape(const char *token, char *out, size_t outlen);

#endif
