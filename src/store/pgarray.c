#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgarray.h"

void pga_begin(struct sd_buf *b, size_t max)
{
    sd_buf_init(b, max);
    if (sd_buf_append(b, "{", 1) != SD_OK)
        b->len = 0;
}

static enum sd_rc sep(struct sd_buf *b)
{
    return b->len > 1 ? sd_buf_append(b, ",", 1) : SD_OK;
}

enum sd_rc pga_text(struct sd_buf *b, const char *s)
{
    enum sd_rc rc = sep(b);
    if (rc != SD_OK)
        return rc;
    if (s == NULL)
        return sd_buf_append(b, "NULL", 4);
    rc = sd_buf_append(b, "\"", 1);
    for (const char *p = s; rc == SD_OK && *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            rc = sd_buf_append(b, "\\", 1);
        if (rc == SD_OK)
            rc = sd_buf_append(b, p, 1);
    }
    return rc == SD_OK ? sd_buf_append(b, "\"", 1) : rc;
}

enum sd_rc pga_i64(struct sd_buf *b, int64_t v)
{
    enum sd_rc rc = sep(b);
    return rc == SD_OK ? sd_buf_printf(b, "%lld", (long long)v) : rc;
}

enum sd_rc pga_time(struct sd_buf *b, int64_t us, bool zero_is_null)
{
    if (us == 0 && zero_is_null)
        return pga_text(b, NULL);
    char t[40];
    sd_time_format_us(us, t, sizeof t);
    return pga_text(b, t);
}

enum sd_rc pga_bool(struct sd_buf *b, bool v)
{
    enum sd_rc rc = sep(b);
    return rc == SD_OK ? sd_buf_append(b, v ? "t" : "f", 1) : rc;
}

const char *pga_end(struct sd_buf *b)
{
    if (sd_buf_append(b, "}", 1) != SD_OK)
        return NULL;
    return b->data;
}

int64_t pga_read_us(const char *text)
{
    return text && *text ? strtoll(text, NULL, 10) : 0;
}
