/* Integration: real throwaway clusters through src/store/embedded.c.
 *
 * Every cluster lives under one mkdtemp directory per run; the teardown (run in the parent, so
 * also after a failed or timed-out test) kills any postmaster left behind and removes it all. */
/* nftw() is an XSI extension of POSIX. */
#define _XOPEN_SOURCE 700

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/sha.h>

#include "segmentd/embedded.h"
#include "segmentd/util.h"

/* Long enough that <dir>/run/.s.PGSQL.5432 passes the 107 bytes of sun_path. */
#define LONG_NAME                                                                                  \
    "a-cluster-directory-with-a-name-long-enough-to-push-the-unix-socket-path-past-sun-path"

static char base[32]; /* the mkdtemp directory of this run, "/tmp/sdemb-XXXXXX" */

/* ---- helpers ---------------------------------------------------------------------------- */

static void in_base(char *out, size_t outlen, const char *name)
{
    snprintf(out, outlen, "%s/%s", base, name);
}

/* The embedded module names fallback and socket directories after SHA-256 of the path. */
static void hash12(const char *s, char out[13])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, strlen(s), md);
    sd_hex_encode(md, 6, out);
}

static void fallback_dir(char *out, size_t outlen)
{
    char path[256], hash[13];
    in_base(path, sizeof path, "locked/cluster");
    hash12(path, hash);
    snprintf(out, outlen, "/var/lib/segmentd/pg-%s", hash);
}

static void short_sock_dir(char *out, size_t outlen)
{
    char path[256], hash[13];
    in_base(path, sizeof path, LONG_NAME);
    hash12(path, hash);
    snprintf(out, outlen, "/tmp/segmentd-pg-%s", hash);
}

static int free_port(void)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    close(fd);
    return ntohs(addr.sin_port);
}

/* The single value `sql` returns on a fresh connection (caller frees), NULL on any failure. */
static char *query_one(const char *conninfo, const char *sql)
{
    char *value = NULL;
    PGconn *conn = PQconnectdb(conninfo);
    if (PQstatus(conn) == CONNECTION_OK) {
        PGresult *res = PQexec(conn, sql);
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
            value = strdup(PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    PQfinish(conn);
    return value;
}

static bool select_one_works(const char *conninfo)
{
    char *v = query_one(conninfo, "SELECT 1");
    bool ok = v != NULL && strcmp(v, "1") == 0;
    free(v);
    return ok;
}

static void assert_setting(const char *conninfo, const char *sql, const char *expected)
{
    char *v = query_one(conninfo, sql);
    ck_assert_msg(v != NULL, "%s failed on %s", sql, conninfo);
    ck_assert_str_eq(v, expected);
    free(v);
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static struct sd_embedded *start_ok(const char *dir, int tcp_port)
{
    struct sd_embedded_opts opts = {.dir = dir, .run_as = NULL, .tcp_port = tcp_port, .fast = true};
    struct sd_embedded *emb = NULL;
    char err[512] = "";
    enum sd_rc rc = sd_embedded_start(&opts, &emb, err, sizeof err);
    ck_assert_msg(rc == SD_OK, "sd_embedded_start(%s): %s: %s", dir, sd_rc_str(rc), err);
    ck_assert_ptr_nonnull(emb);
    return emb;
}

/* ---- fixture ---------------------------------------------------------------------------- */

/* Immediate shutdown (SIGQUIT) of the postmaster whose postmaster.pid this is. */
static int kill_postmaster(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    if (type != FTW_F || strcmp(path + ftw->base, "postmaster.pid") != 0)
        return 0;
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (f == NULL || fscanf(f, "%ld", &pid) != 1)
        pid = 0;
    if (f != NULL)
        fclose(f);
    if (pid <= 1 || kill((pid_t)pid, SIGQUIT) != 0)
        return 0;
    for (int i = 0; i < 100 && kill((pid_t)pid, 0) == 0; i++) {
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    return 0;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

static void clean_tree(const char *dir)
{
    if (!exists(dir))
        return;
    nftw(dir, kill_postmaster, 16, FTW_PHYS);
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
    snprintf(base, sizeof base, "/tmp/sdemb-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(base));
    /* mkdtemp makes it 0700: the postgres user (when we are root) must be able to enter. */
    ck_assert_int_eq(chmod(base, 0755), 0);
}

static void teardown(void)
{
    char path[64];
    fallback_dir(path, sizeof path);
    clean_tree(path);
    short_sock_dir(path, sizeof path);
    clean_tree(path);
    clean_tree(base);
}

/* ---- tests ------------------------------------------------------------------------------ */

START_TEST(test_tcp_pause_resume_reuse)
{
    char dir[256], expected[64];
    in_base(dir, sizeof dir, "tcp");
    int port = free_port();
    struct sd_embedded *emb = start_ok(dir, port);
    const char *conninfo = sd_embedded_conninfo(emb);
    snprintf(expected, sizeof expected, "host=127.0.0.1 port=%d user=segmentd dbname=segmentd",
             port);
    ck_assert_str_eq(conninfo, expected);
    ck_assert(select_one_works(conninfo));
    /* initdb with LANG unset would make SQL_ASCII. */
    assert_setting(conninfo, "SHOW server_encoding", "UTF8");
    assert_setting(conninfo, "SHOW max_connections", "200");
    assert_setting(conninfo, "SHOW fsync", "off");
    assert_setting(conninfo, "SELECT current_database()", "segmentd");

    ck_assert_int_eq(sd_embedded_pause(emb), SD_OK);
    ck_assert(!select_one_works(conninfo));
    ck_assert_int_eq(sd_embedded_resume(emb), SD_OK);
    ck_assert(select_one_works(conninfo));

    /* segmentd killed with SIGKILL and started again: the running postmaster is reused. */
    char *born = query_one(conninfo, "SELECT pg_postmaster_start_time()");
    ck_assert_ptr_nonnull(born);
    struct sd_embedded *again = start_ok(dir, port);
    ck_assert_str_eq(sd_embedded_conninfo(again), conninfo);
    assert_setting(sd_embedded_conninfo(again), "SELECT pg_postmaster_start_time()", born);
    free(born);

    /* ... but not when it listens elsewhere: our conninfo would point at nothing. */
    struct sd_embedded_opts other = {.dir = dir, .tcp_port = free_port(), .fast = true};
    struct sd_embedded *wrong = NULL;
    char err[512] = "";
    ck_assert_int_eq(sd_embedded_start(&other, &wrong, err, sizeof err), SD_ERR_CONFLICT);
    ck_assert_ptr_null(wrong);
    ck_assert_msg(strstr(err, "other settings") != NULL, "%s", err);

    sd_embedded_stop(again, false); /* stops the one server both handles share */
    ck_assert(!select_one_works(conninfo));
    ck_assert(exists(dir));
    sd_embedded_stop(emb, true);
    ck_assert(!exists(dir));
}
END_TEST

START_TEST(test_socket_only)
{
    char dir[256], expected[512];
    in_base(dir, sizeof dir, "sock");
    struct sd_embedded *emb = start_ok(dir, 0);
    const char *conninfo = sd_embedded_conninfo(emb);
    snprintf(expected, sizeof expected, "host=%s/run port=5432 user=segmentd dbname=segmentd", dir);
    ck_assert_str_eq(conninfo, expected);
    ck_assert(select_one_works(conninfo));
    assert_setting(conninfo, "SHOW listen_addresses", "");

    char socket_file[512];
    snprintf(socket_file, sizeof socket_file, "%s/run/.s.PGSQL.5432", dir);
    ck_assert(exists(socket_file));
    sd_embedded_stop(emb, true);
    ck_assert(!exists(dir));
}
END_TEST

START_TEST(test_long_path_moves_socket)
{
    char dir[256], sock[64], expected[512];
    in_base(dir, sizeof dir, LONG_NAME);
    short_sock_dir(sock, sizeof sock);
    ck_assert_uint_gt(strlen(dir) + strlen("/run/.s.PGSQL.5432"), 107);

    struct sd_embedded *emb = start_ok(dir, 0);
    snprintf(expected, sizeof expected, "host=%s port=5432 user=segmentd dbname=segmentd", sock);
    ck_assert_str_eq(sd_embedded_conninfo(emb), expected);
    ck_assert(select_one_works(sd_embedded_conninfo(emb)));
    sd_embedded_stop(emb, true);
    ck_assert(!exists(dir));
    ck_assert(!exists(sock));
}
END_TEST

/* As root, a directory the postgres user cannot reach moves the cluster to /var/lib/segmentd. */
START_TEST(test_unreachable_dir_falls_back)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_unreachable_dir_falls_back: not root, nothing to check\n");
        return;
    }
    char locked[256], dir[256], fallback[64], probe[128];
    in_base(locked, sizeof locked, "locked");
    in_base(dir, sizeof dir, "locked/cluster");
    fallback_dir(fallback, sizeof fallback);
    ck_assert_int_eq(mkdir(locked, 0700), 0); /* like /root */

    struct sd_embedded *emb = start_ok(dir, 0);
    ck_assert(select_one_works(sd_embedded_conninfo(emb)));
    snprintf(probe, sizeof probe, "%s/data/PG_VERSION", fallback);
    ck_assert_msg(exists(probe), "no cluster in %s", fallback);
    ck_assert(!exists(dir)); /* the empty directory made before falling back is gone */
    sd_embedded_stop(emb, true);
    ck_assert(!exists(fallback));
}
END_TEST

START_TEST(test_bad_options)
{
    struct sd_embedded *emb = NULL;
    char err[256] = "";
    struct sd_embedded_opts no_dir = {.dir = NULL};
    ck_assert_int_eq(sd_embedded_start(&no_dir, &emb, err, sizeof err), SD_ERR_INVALID);
    ck_assert_ptr_null(emb);
    struct sd_embedded_opts bad_port = {.dir = base, .tcp_port = 70000};
    ck_assert_int_eq(sd_embedded_start(&bad_port, &emb, err, sizeof err), SD_ERR_INVALID);
    ck_assert_ptr_null(emb);
    sd_embedded_stop(NULL, true);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("embedded");
    TCase *tc = tcase_create("clusters");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_bad_options);
    tcase_add_test(tc, test_tcp_pause_resume_reuse);
    tcase_add_test(tc, test_socket_only);
    tcase_add_test(tc, test_long_path_moves_socket);
    tcase_add_test(tc, test_unreachable_dir_falls_back);
    suite_add_tcase(s, tc);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
