/* The service as a process: database outages, slow requests, graceful stop, concurrent
 * migrations, the command line. Runs without forking (CK_NOFORK) because tests start and stop
 * the server and the cluster themselves. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "segmentd/embedded.h"
#include "segmentd/embedded_files.h"

static void suite_setup(void)
{
    harness_start_db();
}

static void suite_teardown(void)
{
    harness_stop_all();
}

static void test_teardown(void)
{
    if (H.server_pid > 0)
        harness_stop_server(SIGTERM);
}

/* Polls `path` with the bootstrap key until it answers `want` (up to 30 s). */
static bool eventually(const char *path, long want)
{
    for (int i = 0; i < 300; i++) {
        struct resp *r = admin("GET", path, NULL);
        long status = r->status;
        resp_free(r);
        if (status == want)
            return true;
        usleep(100 * 1000);
    }
    return false;
}

START_TEST(database_outage_gives_503_then_recovers)
{
    harness_start_server(NULL, true);
    ck_assert(sd_embedded_pause(H.pg) == SD_OK);
    struct resp *r = admin("GET", "/v1/keys", NULL);
    ck_assert_int_eq(r->status, 503);
    ck_assert_ptr_nonnull(resp_header(r, "Retry-After"));
    ck_assert_str_eq(resp_header(r, "Content-Type"), "application/problem+json");
    resp_free(r);
    r = http("GET", "/readyz", NULL, NULL);
    ck_assert_int_eq(r->status, 503);
    ck_assert_ptr_nonnull(resp_header(r, "Retry-After"));
    resp_free(r);
    r = http("GET", "/healthz", NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    resp_free(r);
    r = http("GET", "/metrics", NULL, NULL);
    ck_assert_ptr_nonnull(strstr(r->body, "segmentd_db_up 0"));
    resp_free(r);
    ck_assert(sd_embedded_resume(H.pg) == SD_OK);
    ck_assert_msg(eventually("/v1/keys", 200), "no recovery after the database came back");
    ck_assert(eventually("/readyz", 200));
    ck_assert_int_eq(harness_stop_server(SIGTERM), 0);
}
END_TEST

START_TEST(starts_before_the_database_and_migrates_once_it_is_up)
{
    ck_assert(sd_embedded_pause(H.pg) == SD_OK);
    harness_start_server(NULL, false);
    struct resp *r = http("GET", "/readyz", NULL, NULL);
    ck_assert_int_eq(r->status, 503);
    resp_free(r);
    r = admin("GET", "/v1/keys", NULL);
    ck_assert_int_eq(r->status, 503);
    resp_free(r);
    ck_assert(sd_embedded_resume(H.pg) == SD_OK);
    ck_assert(eventually("/readyz", 200));
    ck_assert(eventually("/v1/keys", 200));
    ck_assert_int_eq(harness_stop_server(SIGTERM), 0);
}
END_TEST

/* ---- slow requests ---- */

struct slow_call {
    pthread_t thread;
    long status;
};

static void *slow_call_main(void *arg)
{
    struct slow_call *c = arg;
    struct resp *r = admin("GET", "/v1/keys", NULL);
    c->status = r->status;
    resp_free(r);
    return NULL;
}

/* Blocks every statement on api_keys until the returned connection commits. */
static PGconn *lock_keys_table(void)
{
    PGconn *c = harness_db();
    PGresult *r = PQexec(c, "BEGIN; LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE");
    ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    return c;
}

static void unlock_keys_table(PGconn *c)
{
    PGresult *r = PQexec(c, "COMMIT");
    PQclear(r);
    PQfinish(c);
}

START_TEST(slow_requests_never_stall_healthz)
{
    const char *env[] = {"SEGMENTD_HTTP_THREADS=2", "SEGMENTD_HTTP_WORKERS=8", NULL};
    harness_start_server(env, true);
    PGconn *lock = lock_keys_table();
    /* more blocked requests than I/O threads: every I/O thread has a stuck connection on it.
     * static: a failed assertion leaves this frame while the threads still write their status */
    static struct slow_call calls[6];
    for (int i = 0; i < 6; i++)
        pthread_create(&calls[i].thread, NULL, slow_call_main, &calls[i]);
    bool all_stuck = false; /* the 6 calls plus this /metrics request in flight */
    for (int i = 0; i < 200 && !all_stuck; i++) {
        struct resp *r = http("GET", "/metrics", NULL, NULL);
        all_stuck = strstr(r->body, "segmentd_http_requests_in_flight 7") != NULL;
        resp_free(r);
        if (!all_stuck)
            usleep(50 * 1000);
    }
    ck_assert_msg(all_stuck, "the slow requests never reached the server");
    for (int i = 0; i < 10; i++) {
        struct resp *r = http("GET", "/healthz", NULL, NULL);
        ck_assert_int_eq(r->status, 200);
        resp_free(r);
    }
    unlock_keys_table(lock);
    for (int i = 0; i < 6; i++) {
        pthread_join(calls[i].thread, NULL);
        ck_assert_int_eq(calls[i].status, 200);
    }
    ck_assert_int_eq(harness_stop_server(SIGTERM), 0);
}
END_TEST

START_TEST(sigterm_finishes_in_flight_requests)
{
    harness_start_server(NULL, true);
    pid_t pid = H.server_pid;
    PGconn *lock = lock_keys_table();
    static struct slow_call call;
    pthread_create(&call.thread, NULL, slow_call_main, &call);
    bool in_flight = false; /* the slow call and this /metrics request */
    for (int i = 0; i < 200 && !in_flight; i++) {
        struct resp *r = http("GET", "/metrics", NULL, NULL);
        in_flight = strstr(r->body, "segmentd_http_requests_in_flight 2") != NULL;
        resp_free(r);
        if (!in_flight)
            usleep(50 * 1000);
    }
    ck_assert_msg(in_flight, "the slow request never reached the server");
    kill(pid, SIGTERM);
    usleep(500 * 1000);
    /* no longer accepting */
    struct resp *r = http("GET", "/healthz", NULL, NULL);
    ck_assert_int_eq(r->status, 0);
    resp_free(r);
    unlock_keys_table(lock);
    pthread_join(call.thread, NULL);
    ck_assert_int_eq(call.status, 200);
    ck_assert_int_eq(harness_stop_server(0), 0); /* already signalled: just reap, exit 0 */
}
END_TEST

/* ---- migrations ---- */

static pid_t spawn_segmentd(const char *database_url, const char *const *args, int out_fd)
{
    pid_t pid = fork();
    if (pid == 0) {
        char db[300];
        snprintf(db, sizeof db, "DATABASE_URL=%s", database_url);
        const char *env[] = {"PATH=/usr/bin:/bin", db, "SEGMENTD_LOG_LEVEL=warn",
                             getenv("ASAN_OPTIONS") ? "ASAN_OPTIONS=detect_leaks=1" : NULL, NULL};
        const char *argv[16] = {SEGMENTD_BINARY};
        size_t n = 1;
        for (size_t i = 0; args[i] && n < 15; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        if (out_fd >= 0) {
            dup2(out_fd, STDOUT_FILENO);
            dup2(out_fd, STDERR_FILENO);
        }
        execve(SEGMENTD_BINARY, (char *const *)argv, (char *const *)env);
        _exit(127);
    }
    return pid;
}

static int wait_exit(pid_t pid)
{
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(two_processes_migrate_exactly_once)
{
    PGconn *c = harness_db();
    PGresult *r = PQexec(c, "DROP DATABASE IF EXISTS migrate_race");
    PQclear(r);
    r = PQexec(c, "CREATE DATABASE migrate_race");
    ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(c);
    char url[300];
    snprintf(url, sizeof url, "%.*s/migrate_race",
             (int)(strrchr(H.database_url, '/') - H.database_url), H.database_url);
    const char *args[] = {"migrate", NULL};
    pid_t a = spawn_segmentd(url, args, -1), b = spawn_segmentd(url, args, -1);
    ck_assert_int_eq(wait_exit(a), 0);
    ck_assert_int_eq(wait_exit(b), 0);
    PGconn *m = PQconnectdb(url);
    r = PQexec(m, "SELECT (SELECT count(*) FROM schema_migrations), "
                  "(SELECT count(*) FROM workspaces WHERE name = 'default')");
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    char expected[16];
    snprintf(expected, sizeof expected, "%lu", sd_migration_files_count);
    ck_assert_str_eq(PQgetvalue(r, 0, 0), expected); /* each migration exactly once */
    ck_assert_str_eq(PQgetvalue(r, 0, 1), "1");
    PQclear(r);
    PQfinish(m);
    /* a third run finds nothing to do */
    ck_assert_int_eq(wait_exit(spawn_segmentd(url, args, -1)), 0);
}
END_TEST

/* ---- command line ---- */

/* Runs segmentd with args and extra env, capturing its output into `out`. */
static int run_cli(const char *const *args, const char *extra_env, char *out, size_t outlen)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        char db[300];
        snprintf(db, sizeof db, "DATABASE_URL=%s", H.database_url);
        const char *env[] = {"PATH=/usr/bin:/bin", db, "SEGMENTD_LOG_LEVEL=warn", extra_env, NULL};
        const char *argv[16] = {SEGMENTD_BINARY};
        size_t n = 1;
        for (size_t i = 0; args[i] && n < 15; i++)
            argv[n++] = args[i];
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        execve(SEGMENTD_BINARY, (char *const *)argv, (char *const *)env);
        _exit(127);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t k;
    while (got + 1 < outlen && (k = read(fds[0], out + got, outlen - 1 - got)) > 0)
        got += (size_t)k;
    out[got] = '\0';
    close(fds[0]);
    return wait_exit(pid);
}

START_TEST(cli_help_version_and_config_errors)
{
    char out[4096];
    const char *help[] = {"--help", NULL};
    ck_assert_int_eq(run_cli(help, NULL, out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: segmentd"));
    const char *version[] = {"--version", NULL};
    ck_assert_int_eq(run_cli(version, NULL, out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "segmentd 0."));
    const char *none[] = {NULL};
    ck_assert_int_eq(run_cli(none, "SEGMENTD_HTTP_PROT=9000", out, sizeof out), 2);
    ck_assert_ptr_nonnull(strstr(out, "SEGMENTD_HTTP_PROT"));
    ck_assert_int_eq(run_cli(none, "SEGMENTD_HTTP_PORT=80x", out, sizeof out), 2);
    ck_assert_ptr_nonnull(strstr(out, "SEGMENTD_HTTP_PORT"));
    const char *missing[] = {"--config", "/nonexistent/segmentd.ini", NULL};
    ck_assert_int_eq(run_cli(missing, NULL, out, sizeof out), 2);
    ck_assert_ptr_nonnull(strstr(out, "/nonexistent/segmentd.ini"));
    const char *bogus[] = {"frobnicate", NULL};
    ck_assert_int_eq(run_cli(bogus, NULL, out, sizeof out), 2);
}
END_TEST

START_TEST(cli_keys_create_mints_a_working_key)
{
    char out[4096];
    const char *args[] = {"keys", "create", "--scope", "admin", "--name", "ops", NULL};
    ck_assert_int_eq(run_cli(args, NULL, out, sizeof out), 0);
    out[strcspn(out, "\n")] = '\0';
    ck_assert_int_eq(strncmp(out, "sdk_1_", 6), 0);
    harness_start_server(NULL, true);
    struct resp *r = with_key(out, "GET", "/v1/keys", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_ptr_nonnull(strstr(r->body, "\"name\":\"ops\""));
    resp_free(r);
    const char *bad[] = {"keys", "create", "--scope", "root", NULL};
    ck_assert_int_eq(run_cli(bad, NULL, out, sizeof out), 2);
}
END_TEST

static Suite *lifecycle_suite(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *tc = tcase_create("process");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_checked_fixture(tc, NULL, test_teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, database_outage_gives_503_then_recovers);
    tcase_add_test(tc, starts_before_the_database_and_migrates_once_it_is_up);
    tcase_add_test(tc, slow_requests_never_stall_healthz);
    tcase_add_test(tc, sigterm_finishes_in_flight_requests);
    tcase_add_test(tc, two_processes_migrate_exactly_once);
    tcase_add_test(tc, cli_help_version_and_config_errors);
    tcase_add_test(tc, cli_keys_create_mints_a_working_key);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(lifecycle_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
