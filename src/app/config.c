/* Configuration loader.
 *
 * One table (cfg_keys) drives everything: defaults, the INI file, the environment, sd_config_free
 * and sd_config_describe. A key therefore cannot be readable from the file but not from the
 * environment, or have a default that the parser would reject: defaults go through the same
 * parser as user input. */
#include "segmentd/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include <ini.h>

#include "segmentd/util.h"

#define MS_SECOND INT64_C(1000)
#define MS_MINUTE (60 * MS_SECOND)
#define MS_HOUR (60 * MS_MINUTE)
#define MS_DAY (24 * MS_HOUR)
#define KIB INT64_C(1024)
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)

/* sd_config_describe output stays far below this; the cap only guards against a runaway. */
#define DESCRIBE_MAX (1024 * 1024)

enum cfg_type {
    CFG_STRING,
    CFG_INT,           /* int in min..max */
    CFG_BOOL,          /* bool */
    CFG_DURATION,      /* int64_t milliseconds in min..max */
    CFG_SIZE,          /* int64_t bytes in min..max */
    CFG_DURATION_LIST, /* int64_t[SD_CONFIG_MAX_RETRIES] + int count; each entry in min..max */
    CFG_LOG_LEVEL,     /* enum sd_log_level */
};

enum {
    CFG_NONEMPTY = 1u << 0, /* a string that must not be empty */
    CFG_SECRET = 1u << 1,   /* describe prints "***" instead of the value */
    CFG_CONNINFO = 1u << 2, /* describe hides the password inside a libpq URL / conninfo */
};

struct cfg_key {
    const char *section;
    const char *name;
    enum cfg_type type;
    unsigned flags;
    size_t offset;       /* of the field in struct sd_config */
    size_t count_offset; /* CFG_DURATION_LIST only: the int that receives the entry count */
    const char *def;     /* parsed like user input */
    int64_t min, max;
};

#define OFF(field) offsetof(struct sd_config, field)
/* Kept one per line: clang-format would spread each initializer over four. */
/* clang-format off */
#define K_STR(sec, key, field, flags, def) {sec, key, CFG_STRING, flags, OFF(field), 0, def, 0, 0}
#define K_INT(sec, key, field, def, lo, hi) {sec, key, CFG_INT, 0, OFF(field), 0, def, lo, hi}
#define K_BOOL(sec, key, field, def) {sec, key, CFG_BOOL, 0, OFF(field), 0, def, 0, 0}
#define K_DUR(sec, key, field, def, lo, hi) {sec, key, CFG_DURATION, 0, OFF(field), 0, def, lo, hi}
#define K_SIZE(sec, key, field, def, lo, hi) {sec, key, CFG_SIZE, 0, OFF(field), 0, def, lo, hi}
/* clang-format on */

/* Keep config/segmentd.ini in step: tests/unit/test_config.c checks that it names every key here
 * with this default. Lower bounds of 1s exist where the consumer counts in whole seconds
 * (libmicrohttpd's connection timeout, libpq's connect_timeout), where less would round to 0,
 * which both read as "wait forever". */
static const struct cfg_key cfg_keys[] = {
    K_STR("http", "bind", http_bind, CFG_NONEMPTY, "127.0.0.1"),
    K_INT("http", "port", http_port, "8080", 1, 65535),
    K_INT("http", "threads", http_threads, "2", 1, 64),
    K_INT("http", "workers", http_workers, "16", 1, 1024),
    K_INT("http", "connection_limit", http_connection_limit, "1024", 1, 100000),
    K_DUR("http", "idle_timeout", http_idle_timeout_ms, "30s", MS_SECOND, MS_DAY),
    K_DUR("http", "header_timeout", http_header_timeout_ms, "30s", MS_SECOND, MS_DAY),
    K_DUR("http", "shutdown_timeout", http_shutdown_timeout_ms, "30s", 1, MS_HOUR),
    K_STR("http", "cors_origins", http_cors_origins, 0, ""),
    K_STR("http", "tls_cert", http_tls_cert, 0, ""),
    K_STR("http", "tls_key", http_tls_key, 0, ""),

    K_STR("database", "url", database_url, CFG_CONNINFO, ""),
    K_INT("database", "pool_size", database_pool_size, "16", 1, 1000),
    K_DUR("database", "pool_wait", database_pool_wait_ms, "5s", 1, MS_HOUR),
    K_DUR("database", "connect_timeout", database_connect_timeout_ms, "5s", MS_SECOND, MS_HOUR),
    K_BOOL("database", "prepared_statements", database_prepared_statements, "false"),
    K_STR("database", "embedded_dir", database_embedded_dir, CFG_NONEMPTY, "./var/pg"),
    K_STR("database", "embedded_user", database_embedded_user, CFG_NONEMPTY, "postgres"),

    K_STR("auth", "admin_key", auth_admin_key, CFG_SECRET, ""),
    K_DUR("auth", "key_cache_ttl", auth_key_cache_ttl_ms, "5s", 0, MS_HOUR),

    K_SIZE("limits", "max_body_bytes", limits_max_body_bytes, "1M", KIB, GIB),
    K_INT("limits", "max_batch", limits_max_batch, "1000", 1, 100000),
    K_SIZE("limits", "max_import_bytes", limits_max_import_bytes, "10G", KIB, 1024 * GIB),
    K_STR("limits", "spool_dir", limits_spool_dir, CFG_NONEMPTY, "/tmp"),
    K_INT("limits", "rate_per_key", limits_rate_per_key, "0", 0, 1000000),
    K_INT("limits", "rate_burst", limits_rate_burst, "0", 0, 10000000),

    K_DUR("scheduler", "interval", scheduler_interval_ms, "5s", 1, MS_DAY),

    K_BOOL("webhooks", "allow_private", webhooks_allow_private, "false"),
    K_DUR("webhooks", "timeout", webhooks_timeout_ms, "15s", 1, MS_HOUR),
    K_INT("webhooks", "max_in_flight", webhooks_max_in_flight, "64", 1, 10000),
    K_INT("webhooks", "max_per_endpoint", webhooks_max_per_endpoint, "8", 1, 1000),
    {"webhooks", "retry_schedule", CFG_DURATION_LIST, 0, OFF(webhooks_retry_schedule_ms),
     OFF(webhooks_retry_count), "5s,5m,30m,2h,5h,10h,10h", 1, 30 * MS_DAY},
    K_DUR("webhooks", "disable_after", webhooks_disable_after_ms, "5d", 1, 365 * MS_DAY),
    K_DUR("webhooks", "poll_interval", webhooks_poll_interval_ms, "1s", 1, MS_HOUR),
    K_DUR("webhooks", "lease", webhooks_lease_ms, "5m", MS_SECOND, MS_DAY),

    {"log", "level", CFG_LOG_LEVEL, 0, OFF(log_level), 0, "info", 0, 0},
};

#define NKEYS (sizeof cfg_keys / sizeof cfg_keys[0])

/* Other names for a key's variable; the canonical SEGMENTD_ name wins when both are set. */
static const struct {
    const char *alias;
    const char *canonical;
} env_aliases[] = {
    {"DATABASE_URL", "SEGMENTD_DATABASE_URL"},
    {"SEGMENTD_ADMIN_KEY", "SEGMENTD_AUTH_ADMIN_KEY"},
};

/* SEGMENTD_ variables that are not configuration keys (read by scripts and the Makefile). Any
 * other unknown SEGMENTD_ name is an error, so that a typo is not silently ignored. */
static const char *const env_not_config[] = {
    "SEGMENTD_SKIP_DEPS",
};

#define ENV_PREFIX "SEGMENTD_"
#define ENV_NAME_MAX 64

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* Caller-supplied error text; either pointer may be NULL / 0 when nobody wants the message. */
struct msgbuf {
    char *text;
    size_t size;
};

__attribute__((format(printf, 2, 3))) static void msg_set(struct msgbuf *m, const char *fmt, ...)
{
    if (m->text == NULL || m->size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->text, m->size, fmt, ap);
    va_end(ap);
}

static void *field_of(struct sd_config *cfg, const struct cfg_key *k)
{
    return (char *)cfg + k->offset;
}

static const void *cfield_of(const struct sd_config *cfg, const struct cfg_key *k)
{
    return (const char *)cfg + k->offset;
}

/* ---- formatting of durations and sizes (messages and describe) ---- */

/* Largest unit that divides exactly, so that the output parses back to the same value. */
static void format_duration(int64_t ms, char *out, size_t outlen)
{
    static const struct {
        int64_t ms;
        const char *unit;
    } units[] = {{MS_DAY, "d"}, {MS_HOUR, "h"}, {MS_MINUTE, "m"}, {MS_SECOND, "s"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ms != 0 && ms % units[i].ms == 0) {
            snprintf(out, outlen, "%" PRId64 "%s", ms / units[i].ms, units[i].unit);
            return;
        }
    }
    snprintf(out, outlen, "%" PRId64 "ms", ms);
}

static void format_size(int64_t bytes, char *out, size_t outlen)
{
    static const struct {
        int64_t factor;
        const char *unit;
    } units[] = {{GIB, "G"}, {MIB, "M"}, {KIB, "k"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (bytes != 0 && bytes % units[i].factor == 0) {
            snprintf(out, outlen, "%" PRId64 "%s", bytes / units[i].factor, units[i].unit);
            return;
        }
    }
    snprintf(out, outlen, "%" PRId64, bytes);
}

/* ---- parsing one value into its field ---- */

static enum sd_rc set_string(struct sd_config *cfg, const struct cfg_key *k, const char *s,
                             struct msgbuf *problem)
{
    if ((k->flags & CFG_NONEMPTY) && *s == '\0') {
        msg_set(problem, "must not be empty");
        return SD_ERR_INVALID;
    }
    char *copy = strdup(s);
    if (copy == NULL) {
        msg_set(problem, "out of memory");
        return SD_ERR_NOMEM;
    }
    char **slot = field_of(cfg, k);
    free(*slot);
    *slot = copy;
    return SD_OK;
}

static enum sd_rc set_int(struct sd_config *cfg, const struct cfg_key *k, const char *s,
                          struct msgbuf *problem)
{
    int64_t v;
    if (!sd_parse_i64(s, k->min, k->max, &v)) {
        msg_set(problem, "\"%.80s\" is not an integer in %" PRId64 "..%" PRId64, s, k->min, k->max);
        return SD_ERR_INVALID;
    }
    *(int *)field_of(cfg, k) = (int)v;
    return SD_OK;
}

static enum sd_rc set_bool(struct sd_config *cfg, const struct cfg_key *k, const char *s,
                           struct msgbuf *problem)
{
    if (!sd_parse_bool(s, field_of(cfg, k))) {
        msg_set(problem, "\"%.80s\" is not a boolean (true/false, yes/no, on/off, 1/0)", s);
        return SD_ERR_INVALID;
    }
    return SD_OK;
}

static bool parse_duration_in(const char *s, const struct cfg_key *k, int64_t *out)
{
    return sd_parse_duration_ms(s, out) && *out >= k->min && *out <= k->max;
}

static void duration_range(const struct cfg_key *k, char *out, size_t outlen)
{
    char lo[32], hi[32];
    format_duration(k->min, lo, sizeof lo);
    format_duration(k->max, hi, sizeof hi);
    snprintf(out, outlen, "a duration in %s..%s (e.g. 250ms, 90s, 5m, 2h, 30d)", lo, hi);
}

static enum sd_rc set_duration(struct sd_config *cfg, const struct cfg_key *k, const char *s,
                               struct msgbuf *problem)
{
    int64_t ms;
    if (!parse_duration_in(s, k, &ms)) {
        char range[128];
        duration_range(k, range, sizeof range);
        msg_set(problem, "\"%.80s\" is not %s", s, range);
        return SD_ERR_INVALID;
    }
    *(int64_t *)field_of(cfg, k) = ms;
    return SD_OK;
}

static enum sd_rc set_size(struct sd_config *cfg, const struct cfg_key *k, const char *s,
                           struct msgbuf *problem)
{
    int64_t v;
    if (!sd_parse_size(s, &v) || v < k->min || v > k->max) {
        char lo[32], hi[32];
        format_size(k->min, lo, sizeof lo);
        format_size(k->max, hi, sizeof hi);
        msg_set(problem, "\"%.80s\" is not a size in %s..%s (bytes, or with k, M, G: 512k, 1M)", s,
                lo, hi);
        return SD_ERR_INVALID;
    }
    *(int64_t *)field_of(cfg, k) = v;
    return SD_OK;
}

/* Parses entry `n` (1-based, for the message) of a duration list: `s` is not NUL-terminated. */
static enum sd_rc parse_list_entry(const struct cfg_key *k, const char *s, size_t len, int n,
                                   int64_t *out, struct msgbuf *problem)
{
    char entry[32];
    if (len < sizeof entry) {
        memcpy(entry, s, len);
        entry[len] = '\0';
        if (parse_duration_in(entry, k, out))
            return SD_OK;
    }
    char range[128];
    duration_range(k, range, sizeof range);
    msg_set(problem, "entry %d (\"%.*s\") is not %s", n, (int)(len < 40 ? len : 40), s, range);
    return SD_ERR_INVALID;
}

/* "5s, 5m,30m": comma-separated durations, blanks allowed around the commas. The field is only
 * written once the whole list parsed. */
static enum sd_rc set_duration_list(struct sd_config *cfg, const struct cfg_key *k, const char *s,
                                    struct msgbuf *problem)
{
    int64_t values[SD_CONFIG_MAX_RETRIES];
    int n = 0;
    for (const char *p = s;; p++) {
        size_t len = strcspn(p, ",");
        const char *begin = p, *end = p + len;
        while (begin < end && (*begin == ' ' || *begin == '\t'))
            begin++;
        while (end > begin && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (n == SD_CONFIG_MAX_RETRIES) {
            msg_set(problem, "\"%.80s\" has more than %d entries", s, SD_CONFIG_MAX_RETRIES);
            return SD_ERR_INVALID;
        }
        enum sd_rc rc =
            parse_list_entry(k, begin, (size_t)(end - begin), n + 1, &values[n], problem);
        if (rc != SD_OK)
            return rc;
        n++;
        p += len;
        if (*p == '\0')
            break;
    }
    memcpy(field_of(cfg, k), values, (size_t)n * sizeof values[0]);
    *(int *)((char *)cfg + k->count_offset) = n;
    return SD_OK;
}

static enum sd_rc set_log_level(struct sd_config *cfg, const struct cfg_key *k, const char *s,
                                struct msgbuf *problem)
{
    /* Operators write INFO as often as info; sd_log_level_parse wants lower case. */
    char lower[16];
    size_t len = strlen(s);
    if (len < sizeof lower) {
        for (size_t i = 0; i <= len; i++)
            lower[i] = (char)tolower((unsigned char)s[i]);
        if (sd_log_level_parse(lower, field_of(cfg, k)))
            return SD_OK;
    }
    msg_set(problem, "\"%.80s\" is not a log level (debug, info, warn, error)", s);
    return SD_ERR_INVALID;
}

/* Parses `s` into the field of `k`. On failure the field keeps its old value and `problem` says
 * why, without naming the key (the caller knows where the value came from). */
static enum sd_rc cfg_apply(struct sd_config *cfg, const struct cfg_key *k, const char *s,
                            struct msgbuf *problem)
{
    switch (k->type) {
    case CFG_STRING:
        return set_string(cfg, k, s, problem);
    case CFG_INT:
        return set_int(cfg, k, s, problem);
    case CFG_BOOL:
        return set_bool(cfg, k, s, problem);
    case CFG_DURATION:
        return set_duration(cfg, k, s, problem);
    case CFG_SIZE:
        return set_size(cfg, k, s, problem);
    case CFG_DURATION_LIST:
        return set_duration_list(cfg, k, s, problem);
    case CFG_LOG_LEVEL:
        return set_log_level(cfg, k, s, problem);
    }
    msg_set(problem, "internal error: unknown key type");
    return SD_ERR_INTERNAL;
}

static enum sd_rc apply_defaults(struct sd_config *cfg, struct msgbuf *err)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const struct cfg_key *k = &cfg_keys[i];
        char text[256];
        struct msgbuf problem = {text, sizeof text};
        enum sd_rc rc = cfg_apply(cfg, k, k->def, &problem);
        if (rc != SD_OK) {
            /* Only a bad table entry or out of memory gets here. */
            msg_set(err, "built-in default of [%s] %s: %s", k->section, k->name, text);
            return rc;
        }
    }
    return SD_OK;
}

/* ---- the INI file ---- */

struct file_ctx {
    struct sd_config *cfg;
    const char *path;
    FILE *file;
    char *line; /* getline buffer */
    size_t line_cap;
    int lineno;    /* physical lines handed to inih so far: equals inih's own count */
    int fail_line; /* line of our first error */
    enum sd_rc rc; /* SD_OK until our first error */
    struct msgbuf *err;
};

/* Records the first error, prefixed with "path:line: ". */
__attribute__((format(printf, 3, 4))) static void file_fail(struct file_ctx *fc, enum sd_rc rc,
                                                            const char *fmt, ...)
{
    if (fc->rc != SD_OK)
        return;
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    fc->rc = rc;
    fc->fail_line = fc->lineno;
    msg_set(fc->err, "%s:%d: %s", fc->path, fc->lineno, text);
}

/* inih's reader hook. Reading whole lines ourselves keeps our line number equal to inih's and
 * catches what inih would get silently wrong: it cuts a line longer than its buffer in two
 * (truncating, say, a long database URL) and reads an indented line as the continuation of the
 * previous value. We strip the indentation, so such a line is parsed, and rejected, on its own. */
static char *file_read_line(char *str, int num, void *stream)
{
    struct file_ctx *fc = stream;
    if (fc->rc != SD_OK)
        return NULL; /* inih goes on after an error; we stop at the first */
    errno = 0;
    ssize_t n = getline(&fc->line, &fc->line_cap, fc->file);
    if (n < 0) {
        if (ferror(fc->file) || errno == ENOMEM) {
            int e = errno;
            fc->lineno++;
            file_fail(fc, e == ENOMEM ? SD_ERR_NOMEM : SD_ERR_IO, "cannot read: %s", strerror(e));
        }
        return NULL;
    }
    fc->lineno++;
    if ((size_t)n != strlen(fc->line)) {
        file_fail(fc, SD_ERR_INVALID, "line contains a NUL byte");
        return NULL;
    }
    const char *p = fc->line + strspn(fc->line, " \t");
    if (*p == ';' || *p == '#')
        p = "\n"; /* comments may be as long as they like */
    size_t len = strlen(p);
    if (num < 4 || len >= (size_t)num) {
        file_fail(fc, SD_ERR_INVALID, "line is longer than %d characters", num - 3);
        return NULL;
    }
    memcpy(str, p, len + 1);
    return str;
}

/* Finds the key for `section` / `name` (case-insensitive, as INI files usually are). */
static const struct cfg_key *find_file_key(const char *section, const char *name,
                                           struct msgbuf *problem)
{
    bool section_known = false;
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcasecmp(cfg_keys[i].section, section) != 0)
            continue;
        section_known = true;
        if (strcasecmp(cfg_keys[i].name, name) == 0)
            return &cfg_keys[i];
    }
    if (*section == '\0')
        msg_set(problem, "%s: key outside any [section]", name);
    else if (!section_known)
        msg_set(problem, "[%s] %s: unknown section [%s]", section, name, section);
    else
        msg_set(problem, "[%s] %s: unknown key", section, name);
    return NULL;
}

/* `"value"` → `value`, so that `url = ""` means empty rather than two quote characters. Returns
 * `value` itself or a copy in *copy (NULL when out of memory). */
static const char *unquote(const char *value, char **copy)
{
    size_t len = strlen(value);
    *copy = NULL;
    if (len < 2 || value[0] != '"' || value[len - 1] != '"')
        return value;
    *copy = strndup(value + 1, len - 2);
    return *copy;
}

static int on_ini_value(void *user, const char *section, const char *name, const char *value)
{
    struct file_ctx *fc = user;
    char text[256];
    struct msgbuf problem = {text, sizeof text};
    if (fc->rc != SD_OK)
        return 0;
    const struct cfg_key *k = find_file_key(section, name, &problem);
    if (k == NULL) {
        file_fail(fc, SD_ERR_INVALID, "%s", text);
        return 0;
    }
    char *copy;
    const char *v = unquote(value, &copy);
    enum sd_rc rc = SD_ERR_NOMEM;
    if (v == NULL)
        msg_set(&problem, "out of memory");
    else
        rc = cfg_apply(fc->cfg, k, v, &problem);
    free(copy);
    if (rc != SD_OK) {
        file_fail(fc, rc, "[%s] %s: %s", k->section, k->name, text);
        return 0;
    }
    return 1;
}

static enum sd_rc load_file(struct sd_config *cfg, const char *path, bool optional,
                            struct msgbuf *err)
{
    struct file_ctx fc = {.cfg = cfg, .path = path, .rc = SD_OK, .err = err};
    enum sd_rc rc = SD_ERR_IO;

    fc.file = fopen(path, "r");
    if (fc.file == NULL) {
        int e = errno;
        if (e == ENOENT && optional) {
            rc = SD_OK;
            goto out;
        }
        rc = e == ENOENT ? SD_ERR_NOT_FOUND : SD_ERR_IO;
        msg_set(err, "%s: cannot open: %s", path, strerror(e));
        goto out;
    }
    int bad_line = ini_parse_stream(file_read_line, &fc, on_ini_value, &fc);
    if (bad_line > 0 && (fc.rc == SD_OK || bad_line < fc.fail_line)) {
        /* inih found a line that is neither "[section]" nor "key = value" before any error of
         * ours; anything we reported came from a later line. */
        rc = SD_ERR_INVALID;
        msg_set(err, "%s:%d: syntax error: expected [section], key = value or a ; comment", path,
                bad_line);
        goto out;
    }
    rc = fc.rc;
    if (rc == SD_OK && bad_line < 0) {
        rc = SD_ERR_NOMEM; /* -2: inih could not allocate its line buffer */
        msg_set(err, "%s: out of memory", path);
    }
out:
    if (fc.file != NULL)
        fclose(fc.file);
    free(fc.line);
    return rc;
}

/* ---- the environment ---- */

/* "SEGMENTD_" + upper(section) + "_" + upper(key). */
static void env_name(const struct cfg_key *k, char *out, size_t outlen)
{
    snprintf(out, outlen, ENV_PREFIX "%s_%s", k->section, k->name);
    for (char *p = out; *p != '\0'; p++)
        *p = (char)toupper((unsigned char)*p);
}

static bool name_is(const char *name, size_t len, const char *candidate)
{
    return strlen(candidate) == len && memcmp(name, candidate, len) == 0;
}

/* The value of `name` in `envp`, or NULL. */
static const char *env_lookup(char *const *envp, const char *name)
{
    size_t len = strlen(name);
    for (char *const *e = envp; *e != NULL; e++) {
        if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
            return *e + len + 1;
    }
    return NULL;
}

static bool env_name_known(const char *name, size_t len)
{
    char known[ENV_NAME_MAX];
    for (size_t i = 0; i < NKEYS; i++) {
        env_name(&cfg_keys[i], known, sizeof known);
        if (name_is(name, len, known))
            return true;
    }
    for (size_t i = 0; i < sizeof env_aliases / sizeof env_aliases[0]; i++) {
        if (name_is(name, len, env_aliases[i].alias))
            return true;
    }
    for (size_t i = 0; i < sizeof env_not_config / sizeof env_not_config[0]; i++) {
        if (name_is(name, len, env_not_config[i]))
            return true;
    }
    return false;
}

static enum sd_rc check_env_names(char *const *envp, struct msgbuf *err)
{
    for (char *const *e = envp; *e != NULL; e++) {
        if (strncmp(*e, ENV_PREFIX, strlen(ENV_PREFIX)) != 0)
            continue;
        size_t len = strcspn(*e, "=");
        if (!env_name_known(*e, len)) {
            msg_set(err, "environment %.*s: unknown variable (no configuration key has this name)",
                    (int)len, *e);
            return SD_ERR_INVALID;
        }
    }
    return SD_OK;
}

/* The value for `k` and the variable it came from (canonical name first, then its alias). */
static const char *env_value_for(char *const *envp, const struct cfg_key *k, char *name,
                                 size_t namelen, const char **used)
{
    env_name(k, name, namelen);
    *used = name;
    const char *v = env_lookup(envp, name);
    for (size_t i = 0; v == NULL && i < sizeof env_aliases / sizeof env_aliases[0]; i++) {
        if (strcmp(env_aliases[i].canonical, name) == 0) {
            *used = env_aliases[i].alias;
            v = env_lookup(envp, *used);
        }
    }
    return v;
}

static enum sd_rc load_env(struct sd_config *cfg, char *const *envp, struct msgbuf *err)
{
    if (envp == NULL)
        return SD_OK;
    enum sd_rc rc = check_env_names(envp, err);
    if (rc != SD_OK)
        return rc;
    for (size_t i = 0; i < NKEYS; i++) {
        char name[ENV_NAME_MAX], text[256];
        struct msgbuf problem = {text, sizeof text};
        const char *used;
        const char *v = env_value_for(envp, &cfg_keys[i], name, sizeof name, &used);
        if (v == NULL)
            continue;
        rc = cfg_apply(cfg, &cfg_keys[i], v, &problem);
        if (rc != SD_OK) {
            msg_set(err, "environment %s: %s", used, text);
            return rc;
        }
    }
    return SD_OK;
}

/* ---- public entry points ---- */

enum sd_rc sd_config_defaults(struct sd_config *cfg)
{
    struct msgbuf none = {NULL, 0};
    *cfg = (struct sd_config){0};
    enum sd_rc rc = apply_defaults(cfg, &none);
    if (rc != SD_OK)
        sd_config_free(cfg);
    return rc;
}

enum sd_rc sd_config_load(struct sd_config *cfg, const char *path, bool optional, char *const *envp,
                          char *err, size_t errlen)
{
    struct msgbuf msg = {err, errlen};
    enum sd_rc rc = SD_ERR_INTERNAL;

    msg_set(&msg, "%s", "");
    *cfg = (struct sd_config){0};
    rc = apply_defaults(cfg, &msg);
    if (rc != SD_OK)
        goto out;
    if (path != NULL) {
        rc = load_file(cfg, path, optional, &msg);
        if (rc != SD_OK)
            goto out;
    }
    rc = load_env(cfg, envp, &msg);
out:
    if (rc != SD_OK)
        sd_config_free(cfg);
    return rc;
}

void sd_config_free(struct sd_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < NKEYS; i++) {
        if (cfg_keys[i].type != CFG_STRING)
            continue;
        char **slot = field_of(cfg, &cfg_keys[i]);
        free(*slot);
        *slot = NULL;
    }
}

/* ---- describe ---- */

/* The length of the password in a "scheme://user:password@host/..." URL, and where it starts.
 * Like libpq, the user info ends at the first '/' after "://"; the last '@' before it counts, so
 * that an unencoded '@' in the password is hidden too. */
static size_t url_password(const char *url, size_t *start)
{
    const char *auth = strstr(url, "://");
    if (auth == NULL)
        return 0;
    auth += 3;
    const char *end = auth + strcspn(auth, "/");
    const char *at = NULL;
    for (const char *p = auth; p < end; p++) {
        if (*p == '@')
            at = p;
    }
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon == NULL)
        return 0;
    *start = (size_t)(colon + 1 - url);
    return (size_t)(at - colon - 1);
}

/* Length of the value of a "password=value" parameter (URL query or keyword/value conninfo)
 * starting at url[i], and where the value starts; 0 if there is none at i. */
static size_t param_password(const char *url, size_t i, size_t *start)
{
    static const char key[] = "password";
    if ((i > 0 && strchr(" \t?&", url[i - 1]) == NULL) || strncmp(url + i, key, 8) != 0)
        return 0;
    const char *p = url + i + 8;
    p += strspn(p, " \t");
    if (*p != '=')
        return 0;
    p++;
    p += strspn(p, " \t");
    const char *end = p;
    if (*p == '\'') { /* conninfo quoting: 'it''s' is not valid there, \' is */
        for (end = p + 1; *end != '\0' && *end != '\''; end++) {
            if (*end == '\\' && end[1] != '\0')
                end++;
        }
        if (*end == '\'')
            end++;
    } else {
        end = p + strcspn(p, " \t&");
    }
    *start = (size_t)(p - url);
    return (size_t)(end - p);
}

/* Appends a libpq URL or conninfo string with every password replaced by "***". */
static enum sd_rc append_conninfo_masked(struct sd_buf *b, const char *url)
{
    size_t uri_start = 0;
    size_t uri_len = url_password(url, &uri_start);
    size_t i = 0, done = 0; /* url[..done) is already in `b` */
    enum sd_rc rc = SD_OK;
    while (rc == SD_OK && url[i] != '\0') {
        size_t start = i, len;
        if (uri_len > 0 && i == uri_start)
            len = uri_len;
        else
            len = param_password(url, i, &start);
        if (len == 0) {
            i++;
            continue;
        }
        rc = sd_buf_append(b, url + done, start - done);
        if (rc == SD_OK)
            rc = sd_buf_append(b, "***", 3);
        i = done = start + len;
    }
    if (rc == SD_OK)
        rc = sd_buf_append(b, url + done, i - done);
    return rc;
}

static enum sd_rc describe_string(struct sd_buf *b, const struct cfg_key *k, const char *s)
{
    if (s == NULL || *s == '\0')
        return sd_buf_append(b, "\"\"", 2);
    if (k->flags & CFG_SECRET)
        return sd_buf_append(b, "***", 3);
    if (k->flags & CFG_CONNINFO)
        return append_conninfo_masked(b, s);
    return sd_buf_append(b, s, strlen(s));
}

static enum sd_rc describe_list(struct sd_buf *b, const struct sd_config *cfg,
                                const struct cfg_key *k)
{
    const int64_t *values = cfield_of(cfg, k);
    int n = *(const int *)((const char *)cfg + k->count_offset);
    enum sd_rc rc = SD_OK;
    for (int i = 0; rc == SD_OK && i < n && i < SD_CONFIG_MAX_RETRIES; i++) {
        char text[32];
        format_duration(values[i], text, sizeof text);
        rc = sd_buf_printf(b, "%s%s", i > 0 ? "," : "", text);
    }
    return rc;
}

static enum sd_rc describe_value(struct sd_buf *b, const struct sd_config *cfg,
                                 const struct cfg_key *k)
{
    const void *field = cfield_of(cfg, k);
    char text[32] = "";
    switch (k->type) {
    case CFG_STRING:
        return describe_string(b, k, *(char *const *)field);
    case CFG_INT:
        return sd_buf_printf(b, "%d", *(const int *)field);
    case CFG_BOOL:
        return sd_buf_printf(b, "%s", *(const bool *)field ? "true" : "false");
    case CFG_DURATION:
        format_duration(*(const int64_t *)field, text, sizeof text);
        break;
    case CFG_SIZE:
        format_size(*(const int64_t *)field, text, sizeof text);
        break;
    case CFG_DURATION_LIST:
        return describe_list(b, cfg, k);
    case CFG_LOG_LEVEL: {
        unsigned level = (unsigned)*(const enum sd_log_level *)field;
        snprintf(text, sizeof text, "%s", level < 4 ? level_names[level] : "?");
        break;
    }
    }
    return sd_buf_printf(b, "%s", text);
}

char *sd_config_describe(const struct sd_config *cfg)
{
    struct sd_buf b;
    char *result = NULL;
    sd_buf_init(&b, DESCRIBE_MAX);
    for (size_t i = 0; i < NKEYS; i++) {
        const struct cfg_key *k = &cfg_keys[i];
        if (sd_buf_printf(&b, "%s.%s = ", k->section, k->name) != SD_OK ||
            describe_value(&b, cfg, k) != SD_OK || sd_buf_append(&b, "\n", 1) != SD_OK)
            goto out;
    }
    result = sd_buf_steal(&b, NULL);
out:
    sd_buf_free(&b);
    return result;
}
