#include <stdarg.h>
#include <string.h>

#include "segmentd/core_errors.h"

/* vsnprintf lives in <stdio.h>, which the pure core does not include; the declaration below is
 * the C standard's and pulls in no I/O. */
int vsnprintf(char *restrict s, size_t n, const char *restrict fmt, va_list ap);

void sd_errors_init(struct sd_errors *e)
{
    e->count = 0;
    e->dropped = 0;
}

void sd_errors_add(struct sd_errors *e, const char *message, const char *pointer_fmt, ...)
{
    if (e->count >= SD_ERRORS_MAX) {
        e->dropped++;
        return;
    }
    struct sd_error_item *it = &e->items[e->count++];
    va_list ap;
    va_start(ap, pointer_fmt);
    vsnprintf(it->pointer, sizeof it->pointer, pointer_fmt, ap);
    va_end(ap);
    size_t n = strlen(message);
    if (n >= sizeof it->message)
        n = sizeof it->message - 1;
    memcpy(it->message, message, n);
    it->message[n] = '\0';
}

bool sd_errors_any(const struct sd_errors *e)
{
    return e->count > 0 || e->dropped > 0;
}

void sd_pointer_escape(const char *token, char *out, size_t outlen)
{
    size_t o = 0;
    for (const char *p = token; *p != '\0'; p++) {
        bool escape = *p == '~' || *p == '/';
        if (o + (escape ? 2 : 1) >= outlen) /* room for it and the NUL; never half an escape */
            break;
        if (escape) {
            out[o++] = '~';
            out[o++] = *p == '~' ? '0' : '1';
        } else {
            out[o++] = *p;
        }
    }
    if (outlen > 0)
        out[o] = '\0';
}
