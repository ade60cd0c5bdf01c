/* Configuration loader: defaults, the shipped file, INI and environment overrides, errors. */
#include <check.h>
#include <ctype.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segmentd/config.h"

#define SHIPPED_INI SEGMENTD_SOURCE_DIR "/config/segmentd.ini"

static char *const no_env[] = {NULL};

/* Writes `text` to a new temporary file; the caller unlinks and frees the returned path. */
static char *write_ini(const char *text)
{
    const char *dir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/segmentd-config-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    size_t len = strlen(text);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    ck_assert_int_eq(close(fd), 0);
    char *copy = strdup(path);
    ck_assert_ptr_nonnull(copy);
    return copy;
}

/* Loads `ini` (NULL: no file) with `env`; returns the result, leaves the message in `err`. */
static enum sd_rc load_text(struct sd_config *cfg, const char *ini, char *const *env, char *err,
                            size_t errlen, char **path_out)
{
    char *path = ini ? write_ini(ini) : NULL;
    enum sd_rc rc = sd_config_load(cfg, path, false, env, err, errlen);
    if (path != NULL)
        unlink(path);
    if (path_out != NULL)
        *path_out = path;
    else
        free(path);
    return rc;
}

/* Expects loading to succeed. */
static void load_ok(struct sd_config *cfg, const char *ini, char *const *env)
{
    char err[512];
    enum sd_rc rc = load_text(cfg, ini, env, err, sizeof err, NULL);
    ck_assert_msg(rc == SD_OK, "load failed (%s): %s", sd_rc_str(rc), err);
}

/* Expects loading to fail with SD_ERR_INVALID and a message containing `needle`. */
static void load_fails(const char *ini, char *const *env, const char *needle)
{
    struct sd_config cfg;
    char err[512];
    enum sd_rc rc = load_text(&cfg, ini, env, err, sizeof err, NULL);
    ck_assert_int_eq(rc, SD_ERR_INVALID);
    ck_assert_msg(strstr(err, needle) != NULL, "message \"%s\" lacks \"%s\"", err, needle);
    ck_assert_ptr_null(cfg.http_bind); /* freed on error */
}

static void env_fails(const char *assignment, const char *needle)
{
    char *env[] = {(char *)assignment, NULL};
    load_fails(NULL, env, needle);
}

START_TEST(test_defaults)
{
    struct sd_config c;
    ck_assert_int_eq(sd_config_defaults(&c), SD_OK);
    ck_assert_str_eq(c.http_bind, "127.0.0.1");
    ck_assert_int_eq(c.http_port, 8080);
    ck_assert_int_eq(c.http_threads, 2);
    ck_assert_int_eq(c.http_workers, 16);
    ck_assert_int_eq(c.http_connection_limit, 1024);
    ck_assert_int_eq(c.http_idle_timeout_ms, 30000);
    ck_assert_int_eq(c.http_header_timeout_ms, 30000);
    ck_assert_int_eq(c.http_shutdown_timeout_ms, 30000);
    ck_assert_str_eq(c.http_cors_origins, "");
    ck_assert_str_eq(c.http_tls_cert, "");
    ck_assert_str_eq(c.http_tls_key, "");
    ck_assert_str_eq(c.database_url, "");
    ck_assert_int_eq(c.database_pool_size, 16);
    ck_assert_int_eq(c.database_pool_wait_ms, 5000);
    ck_assert_int_eq(c.database_connect_timeout_ms, 5000);
    ck_assert(!c.database_prepared_statements);
    ck_assert_str_eq(c.database_embedded_dir, "./var/pg");
    ck_assert_str_eq(c.database_embedded_user, "postgres");
    ck_assert_str_eq(c.auth_admin_key, "");
    ck_assert_int_eq(c.limits_max_body_bytes, 1048576);
    ck_assert_int_eq(c.limits_max_batch, 1000);
    ck_assert_int_eq(c.limits_rate_per_key, 0);
    ck_assert_int_eq(c.limits_rate_burst, 0);
    ck_assert_int_eq(c.scheduler_interval_ms, 5000);
    ck_assert(!c.webhooks_allow_private);
    ck_assert_int_eq(c.webhooks_timeout_ms, 15000);
    ck_assert_int_eq(c.webhooks_max_in_flight, 64);
    ck_assert_int_eq(c.webhooks_max_per_endpoint, 8);
    static const int64_t retries[] = {5000, 300000, 1800000, 7200000, 18000000, 36000000, 36000000};
    ck_assert_int_eq(c.webhooks_retry_count, 7);
    for (int i = 0; i < 7; i++)
        ck_assert_int_eq(c.webhooks_retry_schedule_ms[i], retries[i]);
    ck_assert_int_eq(c.webhooks_disable_after_ms, 5 * 86400 * INT64_C(1000));
    ck_assert_int_eq(c.webhooks_poll_interval_ms, 1000);
    ck_assert_int_eq(c.webhooks_lease_ms, 300000);
    ck_assert_int_eq(c.log_level, SD_LOG_INFO);
    sd_config_free(&c);
}
END_TEST

/* The shipped file sets every key to its default: the file and the table agree. */
START_TEST(test_shipped_file_equals_defaults)
{
    struct sd_config defaults, shipped;
    char err[512];
    ck_assert_int_eq(sd_config_defaults(&defaults), SD_OK);
    enum sd_rc rc = sd_config_load(&shipped, SHIPPED_INI, false, no_env, err, sizeof err);
    ck_assert_msg(rc == SD_OK, "%s", err);
    char *a = sd_config_describe(&defaults);
    char *b = sd_config_describe(&shipped);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    sd_config_free(&defaults);
    sd_config_free(&shipped);
}
END_TEST

static int collect_name(void *user, const char *section, const char *name, const char *value)
{
    (void)value;
    char line[160];
    snprintf(line, sizeof line, "\n%s.%s = ", section, name);
    strncat(user, line, 8192 - strlen(user) - 1);
    return 1;
}

/* ...and it names every key explicitly, so a newcomer sees all of them. */
START_TEST(test_shipped_file_names_every_key)
{
    char *names = calloc(1, 8192);
    ck_assert_ptr_nonnull(names);
    ck_assert_int_eq(ini_parse(SHIPPED_INI, collect_name, names), 0);
    struct sd_config c;
    ck_assert_int_eq(sd_config_defaults(&c), SD_OK);
    char *desc = sd_config_describe(&c);
    ck_assert_ptr_nonnull(desc);
    for (char *line = strtok(desc, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char key[160];
        snprintf(key, sizeof key, "\n%.*s = ", (int)strcspn(line, " "), line);
        ck_assert_msg(strstr(names, key) != NULL, "%s is missing from the shipped file", line);
    }
    free(desc);
    free(names);
    sd_config_free(&c);
}
END_TEST

START_TEST(test_ini_overrides)
{
    struct sd_config c;
    load_ok(&c,
            "; comment\n"
            "# another\n"
            "[http]\n"
            "bind = 0.0.0.0\n"
            "port=9000\n"
            "  threads = 4\n"
            "cors_origins = https://a.example,https://b.example\n"
            "[database]\n"
            "url = postgresql://app@db/segmentd\n"
            "prepared_statements = yes\n"
            "pool_wait = 250ms\n"
            "[limits]\n"
            "max_body_bytes = 512k\n"
            "[webhooks]\n"
            "allow_private = on\n"
            "retry_schedule = 1s\n"
            "[log]\n"
            "level = DEBUG\n"
            "[HTTP]\n"
            "Workers = 3\n",
            no_env);
    ck_assert_str_eq(c.http_bind, "0.0.0.0");
    ck_assert_int_eq(c.http_port, 9000);
    ck_assert_int_eq(c.http_threads, 4);
    ck_assert_int_eq(c.http_workers, 3);
    ck_assert_str_eq(c.http_cors_origins, "https://a.example,https://b.example");
    ck_assert_str_eq(c.database_url, "postgresql://app@db/segmentd");
    ck_assert(c.database_prepared_statements);
    ck_assert_int_eq(c.database_pool_wait_ms, 250);
    ck_assert_int_eq(c.limits_max_body_bytes, 512 * 1024);
    ck_assert(c.webhooks_allow_private);
    ck_assert_int_eq(c.webhooks_retry_count, 1);
    ck_assert_int_eq(c.webhooks_retry_schedule_ms[0], 1000);
    ck_assert_int_eq(c.log_level, SD_LOG_DEBUG);
    ck_assert_int_eq(c.http_connection_limit, 1024); /* untouched keys keep their default */
    sd_config_free(&c);
}
END_TEST

START_TEST(test_ini_quotes_and_duplicates)
{
    struct sd_config c;
    load_ok(&c, "[http]\nbind = \"::1\"\nport = 1\nport = 2\n[database]\nurl = \"\"\n", no_env);
    ck_assert_str_eq(c.http_bind, "::1");
    ck_assert_int_eq(c.http_port, 2); /* the last one wins */
    ck_assert_str_eq(c.database_url, "");
    sd_config_free(&c);
}
END_TEST

START_TEST(test_env_beats_file)
{
    struct sd_config c;
    char *env[] = {"PATH=/usr/bin",
                   "SEGMENTD_HTTP_PORT=9100",
                   "SEGMENTD_WEBHOOKS_RETRY_SCHEDULE=1s, 2s ,3m",
                   "SEGMENTD_LOG_LEVEL=warn",
                   "SEGMENTD_DATABASE_PREPARED_STATEMENTS=true",
                   "SEGMENTD_HTTP_CORS_ORIGINS=*",
                   "SEGMENTD_LIMITS_RATE_PER_KEY=5",
                   NULL};
    load_ok(&c, "[http]\nport = 9000\n[log]\nlevel = error\n[limits]\nrate_burst = 40\n", env);
    ck_assert_int_eq(c.http_port, 9100);
    ck_assert_int_eq(c.webhooks_retry_count, 3);
    ck_assert_int_eq(c.webhooks_retry_schedule_ms[0], 1000);
    ck_assert_int_eq(c.webhooks_retry_schedule_ms[1], 2000);
    ck_assert_int_eq(c.webhooks_retry_schedule_ms[2], 180000);
    ck_assert_int_eq(c.log_level, SD_LOG_WARN);
    ck_assert(c.database_prepared_statements);
    ck_assert_str_eq(c.http_cors_origins, "*");
    ck_assert_int_eq(c.limits_rate_per_key, 5);
    ck_assert_int_eq(c.limits_rate_burst, 40);
    sd_config_free(&c);
}
END_TEST

START_TEST(test_env_aliases)
{
    struct sd_config c;
    char *aliases[] = {"DATABASE_URL=postgresql://a/x", "SEGMENTD_ADMIN_KEY=k1", NULL};
    load_ok(&c, NULL, aliases);
    ck_assert_str_eq(c.database_url, "postgresql://a/x");
    ck_assert_str_eq(c.auth_admin_key, "k1");
    sd_config_free(&c);

    /* Canonical names win, whichever comes first in the environment. */
    char *both[] = {"DATABASE_URL=postgresql://alias/x", "SEGMENTD_DATABASE_URL=postgresql://c/x",
                    "SEGMENTD_AUTH_ADMIN_KEY=canonical", "SEGMENTD_ADMIN_KEY=alias", NULL};
    load_ok(&c, NULL, both);
    ck_assert_str_eq(c.database_url, "postgresql://c/x");
    ck_assert_str_eq(c.auth_admin_key, "canonical");
    sd_config_free(&c);

    /* An alias still beats the file. */
    load_ok(&c, "[auth]\nadmin_key = from-file\n", aliases);
    ck_assert_str_eq(c.auth_admin_key, "k1");
    sd_config_free(&c);
}
END_TEST

START_TEST(test_env_non_config_names_allowed)
{
    struct sd_config c;
    char *env[] = {"SEGMENTD_SKIP_DEPS=1", "SEGMENTDX=1", "HOME=/root", NULL};
    load_ok(&c, NULL, env);
    sd_config_free(&c);
}
END_TEST

START_TEST(test_unknown_names_rejected)
{
    load_fails("[http]\nprot = 1\n", no_env, ":2: [http] prot: unknown key");
    load_fails("[http]\n[htttp]\nport = 1\n", no_env, ":3: [htttp] port: unknown section [htttp]");
    load_fails("port = 1\n", no_env, ":1: port: key outside any [section]");
    env_fails("SEGMENTD_HTTP_PROT=1", "environment SEGMENTD_HTTP_PROT: unknown variable");
    /* a name an earlier version allowed for the Makefile; nothing reads it any more */
    env_fails("SEGMENTD_DEMO_ON_FIRST_START=1",
              "environment SEGMENTD_DEMO_ON_FIRST_START: unknown variable");
    env_fails("SEGMENTD_PORT=1", "SEGMENTD_PORT");
    env_fails("SEGMENTD_=1", "environment SEGMENTD_:");
}
END_TEST

/* The whole message, with the path and line of the offending value. */
START_TEST(test_file_message_format)
{
    struct sd_config c;
    char err[512], want[1024], *path;
    enum sd_rc rc = load_text(&c, "[http]\n\nport = 80x\n", no_env, err, sizeof err, &path);
    ck_assert_int_eq(rc, SD_ERR_INVALID);
    snprintf(want, sizeof want, "%s:3: [http] port: \"80x\" is not an integer in 1..65535", path);
    ck_assert_str_eq(err, want);
    free(path);

    char *env[] = {"SEGMENTD_HTTP_PORT=0", NULL};
    rc = load_text(&c, NULL, env, err, sizeof err, NULL);
    ck_assert_int_eq(rc, SD_ERR_INVALID);
    ck_assert_str_eq(err, "environment SEGMENTD_HTTP_PORT: \"0\" is not an integer in 1..65535");

    char *alias[] = {"SEGMENTD_ADMIN_KEY=k", "SEGMENTD_LIMITS_MAX_BATCH=many", NULL};
    rc = load_text(&c, NULL, alias, err, sizeof err, NULL);
    ck_assert_int_eq(rc, SD_ERR_INVALID);
    ck_assert_str_eq(err, "environment SEGMENTD_LIMITS_MAX_BATCH: \"many\" is not an integer in "
                          "1..100000");
}
END_TEST

START_TEST(test_syntax_errors)
{
    load_fails("[http]\nport = 1\n[http\n", no_env, ":3: syntax error");
    load_fails("[http]\nport\n", no_env, ":2: syntax error");
    /* inih would take an indented line as a continuation of the value above: we do not. */
    load_fails("[http]\nport = 80\n  90\n", no_env, ":3: syntax error");
    /* The first error is reported, even when a later line has a bad value. */
    load_fails("[http\nport = x\n", no_env, ":1: syntax error");
    /* A line inih would cut in two (and so truncate the value). */
    char ini[600];
    snprintf(ini, sizeof ini, "[database]\nurl = postgresql://u@h/%0300d\n", 0);
    load_fails(ini, no_env, ":2: line is longer than");
    /* Long comments are fine. */
    struct sd_config c;
    snprintf(ini, sizeof ini, "; %0400d\n[http]\nport = 1\n", 0);
    load_ok(&c, ini, no_env);
    ck_assert_int_eq(c.http_port, 1);
    sd_config_free(&c);
}
END_TEST

static const struct {
    const char *assignment;
    const char *needle;
} bad_values[] = {
    {"SEGMENTD_HTTP_PORT=", "\"\" is not an integer in 1..65535"},
    {"SEGMENTD_HTTP_PORT= 80", "not an integer"},
    {"SEGMENTD_HTTP_PORT=65536", "not an integer in 1..65535"},
    {"SEGMENTD_HTTP_THREADS=65", "not an integer in 1..64"},
    {"SEGMENTD_HTTP_WORKERS=0", "not an integer in 1..1024"},
    {"SEGMENTD_DATABASE_POOL_SIZE=1001", "not an integer in 1..1000"},
    {"SEGMENTD_LIMITS_MAX_BATCH=99999999999999999999", "not an integer"},
    {"SEGMENTD_WEBHOOKS_ALLOW_PRIVATE=maybe", "\"maybe\" is not a boolean"},
    {"SEGMENTD_DATABASE_PREPARED_STATEMENTS=", "not a boolean"},
    {"SEGMENTD_SCHEDULER_INTERVAL=5x", "\"5x\" is not a duration in 1ms..1d"},
    {"SEGMENTD_SCHEDULER_INTERVAL=0s", "is not a duration"},
    {"SEGMENTD_SCHEDULER_INTERVAL=2d", "is not a duration in 1ms..1d"},
    {"SEGMENTD_SCHEDULER_INTERVAL=-1s", "is not a duration"},
    {"SEGMENTD_HTTP_IDLE_TIMEOUT=500ms", "is not a duration in 1s..1d"},
    {"SEGMENTD_HTTP_HEADER_TIMEOUT=500ms", "is not a duration in 1s..1d"},
    {"SEGMENTD_WEBHOOKS_DISABLE_AFTER=99999999999999999999d", "is not a duration"},
    {"SEGMENTD_WEBHOOKS_POLL_INTERVAL=2h", "is not a duration in 1ms..1h"},
    {"SEGMENTD_WEBHOOKS_LEASE=500ms", "is not a duration in 1s..1d"},
    {"SEGMENTD_LIMITS_MAX_BODY_BYTES=1T", "\"1T\" is not a size in 1k..1G"},
    {"SEGMENTD_LIMITS_MAX_BODY_BYTES=1023", "is not a size in 1k..1G"},
    {"SEGMENTD_LIMITS_MAX_BODY_BYTES=2G", "is not a size"},
    {"SEGMENTD_LIMITS_RATE_PER_KEY=-1", "\"-1\" is not an integer in 0..1000000"},
    {"SEGMENTD_LIMITS_RATE_PER_KEY=2.5", "is not an integer"},
    {"SEGMENTD_LIMITS_RATE_BURST=10000001", "is not an integer in 0..10000000"},
    {"SEGMENTD_LOG_LEVEL=loud", "\"loud\" is not a log level (debug, info, warn, error)"},
    {"SEGMENTD_HTTP_BIND=", "SEGMENTD_HTTP_BIND: must not be empty"},
    {"SEGMENTD_DATABASE_EMBEDDED_DIR=", "must not be empty"},
    {"SEGMENTD_WEBHOOKS_RETRY_SCHEDULE=", "entry 1 (\"\") is not a duration"},
    {"SEGMENTD_WEBHOOKS_RETRY_SCHEDULE=5s,,5m", "entry 2 (\"\") is not a duration"},
    {"SEGMENTD_WEBHOOKS_RETRY_SCHEDULE=5s,5m,", "entry 3 (\"\")"},
    {"SEGMENTD_WEBHOOKS_RETRY_SCHEDULE=5s,x", "entry 2 (\"x\") is not a duration in 1ms..30d"},
    {"SEGMENTD_WEBHOOKS_RETRY_SCHEDULE=5s 5m", "entry 1 (\"5s 5m\")"},
    {"SEGMENTD_WEBHOOKS_RETRY_SCHEDULE=31d", "entry 1 (\"31d\")"},
    {"SEGMENTD_WEBHOOKS_RETRY_SCHEDULE=1s,2s,3s,4s,5s,6s,7s,8s,9s,10s,11s,12s,13s,14s,15s,16s,17s",
     "has more than 16 entries"},
};

static void lower(char *s)
{
    for (; *s != '\0'; s++)
        *s = (char)tolower((unsigned char)*s);
}

START_TEST(test_bad_values)
{
    const char *assignment = bad_values[_i].assignment;
    env_fails(assignment, bad_values[_i].needle);

    /* The same value in the file is refused too, naming file, line, section and key. inih trims
     * blanks around values, so a value with a leading blank says nothing there. */
    const char *name = assignment + strlen("SEGMENTD_");
    const char *eq = strchr(name, '=');
    if (eq[1] == ' ')
        return;
    int seclen = (int)strcspn(name, "_");
    int keylen = (int)(eq - name) - seclen - 1;
    char where[128], ini[512];
    snprintf(where, sizeof where, ":2: [%.*s] %.*s: ", seclen, name, keylen, name + seclen + 1);
    lower(where);
    snprintf(ini, sizeof ini, "[%.*s]\n%.*s = %s\n", seclen, name, keylen, name + seclen + 1,
             eq + 1);
    load_fails(ini, no_env, where);
}
END_TEST

START_TEST(test_durations)
{
    static const struct {
        const char *text;
        int64_t ms;
    } cases[] = {{"250ms", 250},  {"90s", 90000},          {"5m", 300000},
                 {"2h", 7200000}, {"30d", 2592000000LL},   {"7", 7000},
                 {"1ms", 1},      {"365d", 31536000000LL}, {"0001s", 1000}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char assignment[64];
        snprintf(assignment, sizeof assignment, "SEGMENTD_WEBHOOKS_DISABLE_AFTER=%s",
                 cases[i].text);
        char *env[] = {assignment, NULL};
        struct sd_config c;
        load_ok(&c, NULL, env);
        ck_assert_int_eq(c.webhooks_disable_after_ms, cases[i].ms);
        sd_config_free(&c);
    }
}
END_TEST

START_TEST(test_retry_schedule)
{
    struct sd_config c;
    load_ok(&c, "[webhooks]\nretry_schedule = 250ms ,\t90s, 5m ,2h,30d\n", no_env);
    static const int64_t want[] = {250, 90000, 300000, 7200000, 2592000000LL};
    ck_assert_int_eq(c.webhooks_retry_count, 5);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(c.webhooks_retry_schedule_ms[i], want[i]);
    sd_config_free(&c);

    load_ok(&c,
            "[webhooks]\nretry_schedule = 1s,2s,3s,4s,5s,6s,7s,8s,9s,10s,11s,12s,13s,14s,15s,16s\n",
            no_env);
    ck_assert_int_eq(c.webhooks_retry_count, SD_CONFIG_MAX_RETRIES);
    ck_assert_int_eq(c.webhooks_retry_schedule_ms[15], 16000);
    sd_config_free(&c);
}
END_TEST

START_TEST(test_missing_file)
{
    struct sd_config c;
    char err[512];
    const char *missing = "/nonexistent/segmentd-test.ini";
    ck_assert_int_eq(sd_config_load(&c, missing, true, no_env, err, sizeof err), SD_OK);
    ck_assert_int_eq(c.http_port, 8080);
    sd_config_free(&c);

    ck_assert_int_eq(sd_config_load(&c, missing, false, no_env, err, sizeof err), SD_ERR_NOT_FOUND);
    ck_assert_msg(strstr(err, missing) != NULL, "%s", err);
    ck_assert_ptr_null(c.http_bind);

    /* No file at all: defaults, then the environment. */
    char *env[] = {"SEGMENTD_HTTP_PORT=1234", NULL};
    ck_assert_int_eq(sd_config_load(&c, NULL, false, env, err, sizeof err), SD_OK);
    ck_assert_int_eq(c.http_port, 1234);
    sd_config_free(&c);

    /* No environment, and nobody interested in the message. */
    ck_assert_int_eq(sd_config_load(&c, missing, false, NULL, NULL, 0), SD_ERR_NOT_FOUND);
}
END_TEST

START_TEST(test_describe_masks_secrets)
{
    struct sd_config c;
    char *env[] = {"DATABASE_URL=postgresql://app:s3cret@db:5432/segmentd?sslmode=require",
                   "SEGMENTD_ADMIN_KEY=topsecret", NULL};
    load_ok(&c, NULL, env);
    char *d = sd_config_describe(&c);
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_nonnull(strstr(d, "\nauth.admin_key = ***\n"));
    ck_assert_ptr_nonnull(
        strstr(d, "\ndatabase.url = postgresql://app:***@db:5432/segmentd?sslmode=require\n"));
    ck_assert_ptr_null(strstr(d, "s3cret"));
    ck_assert_ptr_null(strstr(d, "topsecret"));
    ck_assert_ptr_nonnull(strstr(d, "http.bind = 127.0.0.1\n"));
    ck_assert_ptr_nonnull(strstr(d, "\nhttp.idle_timeout = 30s\n"));
    ck_assert_ptr_nonnull(strstr(d, "\nlimits.max_body_bytes = 1M\n"));
    ck_assert_ptr_nonnull(strstr(d, "\nwebhooks.retry_schedule = 5s,5m,30m,2h,5h,10h,10h\n"));
    ck_assert_ptr_nonnull(strstr(d, "\nwebhooks.allow_private = false\n"));
    ck_assert_ptr_nonnull(strstr(d, "\nlog.level = info\n"));
    ck_assert_ptr_nonnull(strstr(d, "\nhttp.cors_origins = \"\"\n"));
    free(d);
    sd_config_free(&c);
}
END_TEST

static void check_masked_url(const char *url, const char *shown)
{
    char assignment[512], want[600];
    snprintf(assignment, sizeof assignment, "SEGMENTD_DATABASE_URL=%s", url);
    char *env[] = {assignment, NULL};
    struct sd_config c;
    load_ok(&c, NULL, env);
    char *d = sd_config_describe(&c);
    ck_assert_ptr_nonnull(d);
    snprintf(want, sizeof want, "\ndatabase.url = %s\n", shown);
    ck_assert_msg(strstr(d, want) != NULL, "want %s in\n%s", want, d);
    free(d);
    sd_config_free(&c);
}

START_TEST(test_describe_masks_url_forms)
{
    check_masked_url("postgresql://app@db/x", "postgresql://app@db/x");
    check_masked_url("postgres://app:@db/x", "postgres://app:@db/x");
    check_masked_url("postgresql://app:p@ss@db/x", "postgresql://app:***@db/x");
    check_masked_url("postgresql://db/x?user=app&password=s3cret&sslmode=require",
                     "postgresql://db/x?user=app&password=***&sslmode=require");
    check_masked_url("host=db user=app password=s3cret dbname=x",
                     "host=db user=app password=*** dbname=x");
    check_masked_url("host=db password = 'a b\\' c' dbname=x", "host=db password = *** dbname=x");
    check_masked_url("host=db passwordfile=/x", "host=db passwordfile=/x");
}
END_TEST

/* describe's output, turned back into an INI file, loads to the same configuration. */
START_TEST(test_describe_round_trip)
{
    struct sd_config a, b;
    char *env[] = {"SEGMENTD_HTTP_PORT=9",
                   "SEGMENTD_WEBHOOKS_RETRY_SCHEDULE=250ms,1500ms,61m",
                   "SEGMENTD_LIMITS_MAX_BODY_BYTES=1537",
                   "SEGMENTD_SCHEDULER_INTERVAL=1001ms",
                   "SEGMENTD_LOG_LEVEL=error",
                   NULL};
    load_ok(&a, NULL, env);
    char *d = sd_config_describe(&a);
    ck_assert_ptr_nonnull(d);
    char *ini = calloc(1, strlen(d) * 2 + 64);
    ck_assert_ptr_nonnull(ini);
    char *save = NULL;
    for (char *line = strtok_r(d, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t dot = strcspn(line, ".");
        sprintf(ini + strlen(ini), "[%.*s]\n%s\n", (int)dot, line, line + dot + 1);
    }
    load_ok(&b, ini, no_env);
    char *d2 = sd_config_describe(&b);
    char *d1 = sd_config_describe(&a);
    ck_assert_str_eq(d1, d2);
    free(d);
    free(d1);
    free(d2);
    free(ini);
    sd_config_free(&a);
    sd_config_free(&b);
}
END_TEST

START_TEST(test_free_twice_and_zeroed)
{
    struct sd_config c = {0};
    sd_config_free(&c);
    sd_config_free(NULL);
    ck_assert_int_eq(sd_config_defaults(&c), SD_OK);
    sd_config_free(&c);
    sd_config_free(&c);
    ck_assert_ptr_null(c.http_bind);
    char *d = sd_config_describe(&c); /* a freed configuration still describes */
    ck_assert_ptr_nonnull(d);
    free(d);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_shipped_file_equals_defaults);
    tcase_add_test(tc, test_shipped_file_names_every_key);
    tcase_add_test(tc, test_ini_overrides);
    tcase_add_test(tc, test_ini_quotes_and_duplicates);
    tcase_add_test(tc, test_env_beats_file);
    tcase_add_test(tc, test_env_aliases);
    tcase_add_test(tc, test_env_non_config_names_allowed);
    tcase_add_test(tc, test_unknown_names_rejected);
    tcase_add_test(tc, test_file_message_format);
    tcase_add_test(tc, test_syntax_errors);
    tcase_add_loop_test(tc, test_bad_values, 0, (int)(sizeof bad_values / sizeof bad_values[0]));
    tcase_add_test(tc, test_durations);
    tcase_add_test(tc, test_retry_schedule);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_describe_masks_secrets);
    tcase_add_test(tc, test_describe_masks_url_forms);
    tcase_add_test(tc, test_describe_round_trip);
    tcase_add_test(tc, test_free_twice_and_zeroed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
