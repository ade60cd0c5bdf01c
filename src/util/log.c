#include "segmentd/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum sd_log_level sd_log_min_level = SD_LOG_INFO;

static _Thread_local char current_request_id[72];

static const char *const level_names[] = {"debug", "info", "warn", "error"};

bool sd_log_level_parse(const char *s, enum sd_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum sd_log_level)i;
            return true;
        }
    }
    if (strcmp(s, "warning") == 0) {
        *out = SD_LOG_WARN;
        return true;
    }
    return false;
}

void sd_log_set_level(enum sd_log_level level)
{
    sd_log_min_level = level;
}

void sd_log_set_request_id(const char *request_id)
{
    if (request_id == NULL) {
        current_request_id[0] = '\0';
        return;
    }
    snprintf(current_request_id, sizeof current_request_id, "%s", request_id);
}

const char *sd_log_request_id(void)
{
    return current_request_id;
}

/* Bytes in the UTF-8 character that starts at `p` (a lead byte >= 0xc0); 1 if the sequence is
 * broken, so that a stray byte is copied alone. */
static size_t utf8_char_len(const unsigned char *p)
{
    size_t n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 1;
    }
    return n;
}

char *sd_log_json_escape(const char *s, char *out, unsigned long outlen)
{
    size_t o = 0;
    if (outlen == 0)
        return out;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0';) {
        char tmp[8];
        const char *piece = tmp;
        size_t n, used = 1; /* bytes written, bytes read */
        if (*p == '"' || *p == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)*p;
            n = 2;
        } else if (*p < 0x20 || *p == 0x7f) {
            n = (size_t)snprintf(tmp, sizeof tmp, "\\u%04x", *p);
        } else if (*p >= 0xc0) {
            /* A multi-byte character goes whole or not at all: truncation must not leave half a
             * character, which would make the line invalid UTF-8 (and so invalid JSON). */
            piece = (const char *)p;
            n = used = utf8_char_len(p);
        } else {
            tmp[0] = (char)*p;
            n = 1;
        }
        if (o + n >= outlen)
            break;
        memcpy(out + o, piece, n);
        o += n;
        p += used;
    }
    out[o] = '\0';
    return out;
}

void sd_log_write(enum sd_log_level level, const char *fields, const char *fmt, ...)
{
    char msg[2048], emsg[4096], rid[200], stamp[40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + k, sizeof stamp - k, ".%03ldZ", ts.tv_nsec / 1000000);

    sd_log_json_escape(msg, emsg, sizeof emsg);
    rid[0] = '\0';
    if (current_request_id[0] != '\0') {
        char esc[150];
        snprintf(rid, sizeof rid, ",\"request_id\":\"%s\"",
                 sd_log_json_escape(current_request_id, esc, sizeof esc));
    }
    /* One fprintf per line: stdio locks the stream, so lines from threads never interleave. */
    fprintf(stderr, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\"%s%s%s}\n", stamp,
            level_names[level], emsg, rid, fields ? "," : "", fields ? fields : "");
}
