#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segmentd/util.h"

void sd_buf_init(struct sd_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

static enum sd_rc buf_reserve(struct sd_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return SD_ERR_TOO_LARGE;
    size_t need = b->len + extra + 1; /* room for the NUL */
    if (need <= b->cap)
        return SD_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *data = realloc(b->data, cap);
    if (data == NULL)
        return SD_ERR_NOMEM;
    b->data = data;
    b->cap = cap;
    return SD_OK;
}

enum sd_rc sd_buf_append(struct sd_buf *b, const void *data, size_t len)
{
    enum sd_rc rc = buf_reserve(b, len);
    if (rc != SD_OK)
        return rc;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return SD_OK;
}

enum sd_rc sd_buf_printf(struct sd_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return SD_ERR_INTERNAL;
    enum sd_rc rc = buf_reserve(b, (size_t)n);
    if (rc != SD_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return SD_OK;
}

void sd_buf_reset(struct sd_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

void sd_buf_free(struct sd_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *sd_buf_steal(struct sd_buf *b, size_t *len)
{
    char *data = b->data;
    if (len != NULL)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return data;
}
