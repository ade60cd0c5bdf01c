/* Structured logging: one JSON object per line on stderr.
 *
 * {"time":"2026-11-26T10:00:00.123Z","level":"info","msg":"...","request_id":"..."}
 *
 * The level is checked before anything is formatted (as Redis does), so a disabled debug line
 * costs one comparison. The request id is thread-local: the HTTP layer sets it while a request is
 * handled, so store code deep below logs it without passing it around. */
#ifndef SEGMENTD_LOG_H
#define SEGMENTD_LOG_H

#include <stdbool.h>

enum sd_log_level { SD_LOG_DEBUG = 0, SD_LOG_INFO, SD_LOG_WARN, SD_LOG_ERROR };

extern enum sd_log_level sd_log_min_level;

/* Parses "debug" / "info" / "warn" / "error"; false if unknown. */
bool sd_log_level_parse(const char *s, enum sd_log_level *out);
void sd_log_set_level(enum sd_log_level level);

/* Sets the calling thread's request id (copied; NULL clears it). */
void sd_log_set_request_id(const char *request_id);
const char *sd_log_request_id(void);

/* Writes one line. `fields` is either NULL or extra JSON members, already encoded, without braces
 * (e.g. "\"status\":200,\"path\":\"/x\""); use sd_log_json_escape for strings. */
void sd_log_write(enum sd_log_level level, const char *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Escapes `s` as the inside of a JSON string into `out` (always NUL-terminated, truncated to
 * `outlen`). Returns `out`. */
char *sd_log_json_escape(const char *s, char *out, unsigned long outlen);

#define SD_LOG_AT(lvl, fields, ...)                                                                \
    do {                                                                                           \
        if ((lvl) >= sd_log_min_level)                                                             \
            sd_log_write((lvl), (fields), __VA_ARGS__);                                            \
    } while (0)

#define log_debug(...) SD_LOG_AT(SD_LOG_DEBUG, NULL, __VA_ARGS__)
#define log_info(...) SD_LOG_AT(SD_LOG_INFO, NULL, __VA_ARGS__)
#define log_warn(...) SD_LOG_AT(SD_LOG_WARN, NULL, __VA_ARGS__)
#define log_error(...) SD_LOG_AT(SD_LOG_ERROR, NULL, __VA_ARGS__)

#endif
