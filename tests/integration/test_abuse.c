/* Abusive and careless clients against the real server: per-key rate limiting, no-store on API
 * answers, oversized headers and bodies, and a slowloris crowd of 1000 connections that must not
 * starve a normal client (SPEC §3: "Slow or idle clients time out; they cannot starve others"). */
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define RATE 5
#define CROWD 1000

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = 8192;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
        want = rl.rlim_max;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void suite_setup(void)
{
    /* Before the server starts, so that it inherits the limit too (TRAPS.md: 1000 connections
     * need more than 1024 descriptors). */
    raise_nofile();
    harness_start_db();
    const char *env[] = {
        "SEGMENTD_LIMITS_RATE_PER_KEY=5",      "SEGMENTD_HTTP_IDLE_TIMEOUT=2s",
        "SEGMENTD_HTTP_HEADER_TIMEOUT=3s",     "SEGMENTD_HTTP_CONNECTION_LIMIT=4096",
        "SEGMENTD_LIMITS_MAX_BODY_BYTES=4096", NULL};
    harness_start_server(env, true);
}

static void suite_teardown(void)
{
    harness_stop_all();
}

static void test_setup(void)
{
    harness_reset();
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long count_keys(void)
{
    return harness_sql_long("SELECT count(*) FROM api_keys");
}

/* A key of its own for each use, so the bootstrap key's bucket stays nearly full. */
static void new_key(const char *scopes, char out[256])
{
    const char *k = make_key(NULL, scopes);
    ck_assert_ptr_nonnull(k);
    snprintf(out, 256, "%s", k);
}

/* ---- rate limiting ---- */

START_TEST(rate_limit_per_key)
{
    char a[256], b[256];
    new_key("[\"read\"]", a);
    new_key("[\"read\"]", b);
    int ok = 0, limited = 0;
    long retry_after = 0;
    double t0 = now_s();
    for (int i = 0; i < 30; i++) {
        struct resp *r = with_key(a, "GET", "/v1/segments?kind=b2c", NULL);
        if (r->status == 200) {
            ok++;
        } else {
            assert_problem(r, 429);
            const char *ra = resp_header(r, "Retry-After");
            ck_assert_ptr_nonnull(ra);
            retry_after = strtol(ra, NULL, 10);
            ck_assert_int_ge(retry_after, 1);
            ck_assert_msg(strspn(ra, "0123456789") == strlen(ra), "Retry-After: %s", ra);
            limited++;
        }
        resp_free(r);
    }
    double elapsed = now_s() - t0;
    fprintf(stderr, "rate limit: 30 requests in %.3f s: %d served, %d refused (429)\n", elapsed, ok,
            limited);
    ck_assert_int_gt(limited, 0);
    /* the burst (2 × rate) plus what refilled meanwhile, and not more */
    ck_assert_int_le(ok, 2 * RATE + (int)(elapsed * RATE) + 1);
    ck_assert_int_ge(ok, 2 * RATE);

    /* another key is still served */
    struct resp *r = with_key(b, "GET", "/v1/segments?kind=b2c", NULL);
    ck_assert_int_eq(r->status, 200);
    resp_free(r);

    /* after the announced wait the key works again */
    sleep((unsigned)retry_after);
    r = with_key(a, "GET", "/v1/segments?kind=b2c", NULL);
    ck_assert_int_eq(r->status, 200);
    resp_free(r);
}
END_TEST

START_TEST(rate_limited_request_does_nothing)
{
    char k[256];
    new_key("[\"admin\"]", k);
    long before = count_keys();
    struct resp *r = NULL;
    for (int i = 0; i < 40; i++) {
        resp_free(r);
        r = with_key(k, "GET", "/v1/keys", NULL);
        if (r->status == 429)
            break;
    }
    ck_assert_int_eq(r->status, 429);
    resp_free(r);
    r = with_key(k, "POST", "/v1/keys", "{\"name\":\"extra\",\"scopes\":[\"read\"]}");
    assert_problem(r, 429);
    ck_assert_ptr_nonnull(resp_header(r, "Retry-After"));
    resp_free(r);
    ck_assert_int_eq(count_keys(), before);
}
END_TEST

/* ---- no-store ---- */

static void assert_no_store(struct resp *r)
{
    const char *cc = resp_header(r, "Cache-Control");
    ck_assert_msg(cc != NULL && strcmp(cc, "no-store") == 0, "status %ld: Cache-Control %s",
                  r->status, cc ? cc : "(none)");
}

START_TEST(api_answers_are_no_store)
{
    char k[256];
    new_key("[\"read\",\"ingest\"]", k);
    struct resp *r = with_key(k, "POST", "/v1/purchases",
                              "{\"order_id\":\"o1\",\"customer_id\":\"c1\",\"amount\":\"10.00\"}");
    ck_assert_int_eq(r->status, 200);
    assert_no_store(r);
    resp_free(r);
    const char *paths[] = {"/v1/segments?kind=b2c", "/v1/customers/c1",
                           "/v1/segments/new/active/customers"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        r = with_key(k, "GET", paths[i], NULL);
        ck_assert_msg(r->status == 200, "%s: %ld", paths[i], r->status);
        assert_no_store(r);
        resp_free(r);
    }
    char auth[300];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", k);
    const char *csv[] = {auth, "Accept: text/csv", NULL};
    r = http("GET", "/v1/segments/new/active/customers", csv, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_ptr_nonnull(strstr(r->body, "c1"));
    assert_no_store(r);
    resp_free(r);
    /* errors under /v1 too */
    r = http("GET", "/v1/keys", NULL, NULL);
    assert_problem(r, 401);
    assert_no_store(r);
    resp_free(r);
    r = http("GET", "/v1/nowhere", NULL, NULL);
    assert_problem(r, 404);
    assert_no_store(r);
    resp_free(r);
    /* the dashboard's files keep their own caching */
    r = http("GET", "/", NULL, NULL);
    if (r->status == 200) {
        const char *cc = resp_header(r, "Cache-Control");
        ck_assert(cc == NULL || strcmp(cc, "no-store") != 0);
    }
    resp_free(r);
}
END_TEST

/* ---- raw sockets ---- */

static int tcp_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)H.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static bool send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}

/* Reads what the server answers until it closes or `timeout_ms` passes; returns the bytes read
 * (into buf, NUL-terminated) or -1 when the connection was reset before anything came. */
static ssize_t read_answer(int fd, char *buf, size_t size, int timeout_ms)
{
    size_t got = 0;
    double deadline = now_s() + timeout_ms / 1000.0;
    while (got + 1 < size) {
        int left = (int)((deadline - now_s()) * 1000);
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, left) <= 0)
            break;
        ssize_t n = recv(fd, buf + got, size - 1 - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            if (got == 0) {
                buf[0] = '\0';
                return -1;
            }
            break;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    return (ssize_t)got;
}

static void assert_healthy(void)
{
    struct resp *r = http("GET", "/healthz", NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    resp_free(r);
}

START_TEST(oversized_headers_refused)
{
    /* libmicrohttpd keeps a request's headers in the connection's memory pool (32 KiB by
     * default, MHD_OPTION_CONNECTION_MEMORY_LIMIT): 100 KiB of headers cannot fit. */
    size_t n = 100 * 1024;
    char *req = malloc(n + 256);
    int k = snprintf(req, n + 256, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Junk: ");
    memset(req + k, 'a', n);
    snprintf(req + k + n, 256, "\r\n\r\n");
    int fd = tcp_connect();
    double t0 = now_s();
    send_all(fd, req, strlen(req)); /* may fail midway: the server can close first */
    char answer[4096];
    ssize_t got = read_answer(fd, answer, sizeof answer, 5000);
    double took = now_s() - t0;
    close(fd);
    free(req);
    fprintf(stderr, "oversized headers (100 KiB): %s after %.3f s\n",
            got > 0 ? strtok(answer, "\r\n") : "connection closed without an answer", took);
    if (got > 0)
        ck_assert_msg(strstr(answer, " 431 ") || strstr(answer, " 413 ") || strstr(answer, " 414 "),
                      "%s", answer);
    ck_assert(took < 5.0);

    /* a huge request line alone too */
    req = malloc(n + 64);
    k = snprintf(req, n + 64, "GET /healthz?");
    memset(req + k, 'q', n);
    snprintf(req + k + n, 64, " HTTP/1.1\r\nHost: x\r\n\r\n");
    fd = tcp_connect();
    send_all(fd, req, strlen(req));
    got = read_answer(fd, answer, sizeof answer, 5000);
    close(fd);
    free(req);
    fprintf(stderr, "oversized request line (100 KiB): %s\n",
            got > 0 ? strtok(answer, "\r\n") : "connection closed without an answer");
    if (got > 0)
        ck_assert_msg(strstr(answer, " 414 ") || strstr(answer, " 431 ") || strstr(answer, " 413 "),
                      "%s", answer);
    assert_healthy();
}
END_TEST

START_TEST(oversized_body_refused_before_read)
{
    /* Announced 1 GiB; the body is never sent. The server must answer without waiting for it. */
    const char *head = "POST /v1/keys HTTP/1.1\r\nHost: x\r\n"
                       "Authorization: Bearer " ADMIN_KEY "\r\n"
                       "Content-Type: application/json\r\nContent-Length: 1073741824\r\n"
                       "Expect: 100-continue\r\n\r\n";
    int fd = tcp_connect();
    double t0 = now_s();
    ck_assert(send_all(fd, head, strlen(head)));
    char answer[4096];
    ssize_t got = read_answer(fd, answer, sizeof answer, 3000);
    double took = now_s() - t0;
    close(fd);
    fprintf(stderr, "1 GiB body announced with Expect: %s after %.3f s\n",
            got > 0 ? strtok(answer, "\r\n") : "(nothing)", took);
    ck_assert(got > 0);
    ck_assert_ptr_nonnull(strstr(answer, " 413 "));
    ck_assert(took < 1.0);

    /* without Expect: a little of the body is sent, then the client stalls; the answer must not
     * wait for the rest of the gigabyte (past 64 MiB it is not read and dropped either) */
    const char *head2 = "POST /v1/keys HTTP/1.1\r\nHost: x\r\n"
                        "Authorization: Bearer " ADMIN_KEY "\r\n"
                        "Content-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n"
                        "{\"name\":\"";
    fd = tcp_connect();
    t0 = now_s();
    ck_assert(send_all(fd, head2, strlen(head2)));
    got = read_answer(fd, answer, sizeof answer, 3000);
    took = now_s() - t0;
    close(fd);
    fprintf(stderr, "1 GiB body announced without Expect: %s after %.3f s\n",
            got > 0 ? strtok(answer, "\r\n") : "connection closed without an answer", took);
    ck_assert(got > 0);
    ck_assert_ptr_nonnull(strstr(answer, " 413 "));
    ck_assert(took < 1.0);
    ck_assert_int_eq(count_keys(), 0);
    assert_healthy();
}
END_TEST

/* ---- slowloris ---- */

static bool is_closed(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

struct timed {
    double worst;
    double sum;
    int n;
};

static void timed_get(struct timed *t, const char *path, const char *key)
{
    double t0 = now_s();
    struct resp *r = key ? with_key(key, "GET", path, NULL) : http("GET", path, NULL, NULL);
    double took = now_s() - t0;
    ck_assert_msg(r->status == 200, "%s: %ld", path, r->status);
    resp_free(r);
    ck_assert_msg(took < 1.0, "%s took %.3f s beside the slow crowd", path, took);
    if (took > t->worst)
        t->worst = took;
    t->sum += took;
    t->n++;
}

START_TEST(slowloris_does_not_starve_others)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < CROWD + 200) {
        fprintf(stderr, "slowloris: skipped, RLIMIT_NOFILE is %llu\n",
                (unsigned long long)rl.rlim_cur);
        return;
    }
    char key[256];
    new_key("[\"read\"]", key);
    static const char partial[] = "GET /v1/segments HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    static int fds[CROWD];
    for (int i = 0; i < CROWD; i++) {
        fds[i] = tcp_connect();
        /* the even ones dribble one byte a second; the odd ones say nothing at all */
        if (i % 2 == 0)
            ck_assert(send_all(fds[i], partial, 1));
    }
    double t0 = now_s();
    struct timed health = {0}, segments = {0};
    size_t sent = 1;
    int second = 0, dribblers_at_2s = -1;
    /* 5 s: past the 2 s idle timeout, so the silent half must be gone by the end, and past the
     * 3 s header timeout, which the dribblers' bytes do not extend */
    while (now_s() - t0 < 5.0) {
        if (dribblers_at_2s < 0 && now_s() - t0 >= 2.5) {
            dribblers_at_2s = 0;
            for (int i = 0; i < CROWD; i += 2)
                dribblers_at_2s += !is_closed(fds[i]);
        }
        if (now_s() - t0 >= second + 1) {
            second++;
            for (int i = 0; i < CROWD; i += 2)
                send_all(fds[i], partial + sent, 1);
            sent = sent + 1 < sizeof partial - 1 ? sent + 1 : sent;
        }
        timed_get(&health, "/healthz", NULL);
        timed_get(&segments, "/v1/segments?kind=b2c", key);
        usleep(400 * 1000); /* stays under the key's 5 requests/s */
    }
    int silent_closed = 0, dribblers_open = 0;
    for (int i = 0; i < CROWD; i++) {
        bool closed = is_closed(fds[i]);
        if (i % 2 == 1 && closed)
            silent_closed++;
        if (i % 2 == 0 && !closed)
            dribblers_open++;
        close(fds[i]);
    }
    fprintf(stderr,
            "slowloris: %d connections opened (%d dribbling 1 byte/s, %d silent); dribblers held "
            "at 2.5 s: %d/%d; after %.1f s: %d/%d silent closed by the server (idle_timeout 2s), "
            "%d/%d dribblers still held (header_timeout 3s)\n",
            CROWD, CROWD / 2, CROWD / 2, dribblers_at_2s, CROWD / 2, now_s() - t0, silent_closed,
            CROWD / 2, dribblers_open, CROWD / 2);
    fprintf(stderr,
            "slowloris: normal client GET /healthz: %d requests, mean %.1f ms, worst %.1f ms; "
            "GET /v1/segments: %d requests, mean %.1f ms, worst %.1f ms\n",
            health.n, 1000 * health.sum / health.n, 1000 * health.worst, segments.n,
            1000 * segments.sum / segments.n, 1000 * segments.worst);
    ck_assert_int_eq(silent_closed, CROWD / 2);
    ck_assert_int_eq(dribblers_at_2s, CROWD / 2); /* bytes keep the idle timeout away... */
    ck_assert_int_eq(dribblers_open, 0);          /* ...but not the header deadline */
    assert_healthy();
}
END_TEST

START_TEST(idle_connection_closed)
{
    int fd = tcp_connect();
    double t0 = now_s();
    char buf[64];
    ssize_t got = read_answer(fd, buf, sizeof buf, 10000);
    double took = now_s() - t0;
    close(fd);
    fprintf(stderr, "idle connection closed by the server after %.2f s (idle_timeout 2s)\n", took);
    ck_assert_int_le(got, 0);
    ck_assert(took >= 1.5 && took < 5.0);
}
END_TEST

/* ---- TLS ---- */

static size_t sink(char *data, size_t size, size_t n, void *user)
{
    (void)data;
    (void)user;
    return size * n;
}

/* GET over HTTPS trusting `ca`; returns the status (0 on a transport error). */
static long https_get(int port, const char *path, const char *ca, const char *auth)
{
    CURL *c = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "https://127.0.0.1:%d%s", port, path);
    struct curl_slist *hl = auth ? curl_slist_append(NULL, auth) : NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return status;
}

/* Starts segmentd on `port` with these TLS files; returns its pid. */
static pid_t spawn_tls_server(int port, const char *cert, const char *key)
{
    char env_port[64], env_db[320], env_cert[300], env_key[300], log[300];
    snprintf(env_port, sizeof env_port, "SEGMENTD_HTTP_PORT=%d", port);
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", H.database_url);
    snprintf(env_cert, sizeof env_cert, "SEGMENTD_HTTP_TLS_CERT=%s", cert);
    snprintf(env_key, sizeof env_key, "SEGMENTD_HTTP_TLS_KEY=%s", key);
    snprintf(log, sizeof log, "%s/segmentd-tls-%d.log", H.dir, port);
    const char *env[] = {"PATH=/usr/local/bin:/usr/bin:/bin",
                         env_port,
                         env_db,
                         "SEGMENTD_ADMIN_KEY=" ADMIN_KEY,
                         "SEGMENTD_AUTH_KEY_CACHE_TTL=0s",
                         env_cert,
                         key[0] ? env_key : "SEGMENTD_HTTP_TLS_KEY=",
                         NULL};
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        execle(SEGMENTD_BINARY, SEGMENTD_BINARY, "--config",
               SEGMENTD_SOURCE_DIR "/config/segmentd.ini", (char *)NULL, (char *const *)env);
        _exit(127);
    }
    return pid;
}

START_TEST(https_with_tls_cert_and_key)
{
    char cert[256], key[256], cmd[1024];
    snprintf(cert, sizeof cert, "%s/tls-cert.pem", H.dir);
    snprintf(key, sizeof key, "%s/tls-key.pem", H.dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s 2>/dev/null",
             key, cert);
    ck_assert_int_eq(system(cmd), 0);

    int port = harness_free_port();
    pid_t pid = spawn_tls_server(port, cert, key);
    long status = 0;
    for (int i = 0; i < 300 && status != 200; i++) {
        status = https_get(port, "/readyz", cert, NULL);
        if (status != 200)
            usleep(100 * 1000);
    }
    ck_assert_int_eq(status, 200);
    char auth[300];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", make_key(NULL, "[\"read\"]"));
    ck_assert_int_eq(https_get(port, "/v1/segments?kind=b2c", cert, auth), 200);
    ck_assert_int_eq(https_get(port, "/v1/segments?kind=b2c", cert, NULL), 401);
    /* plain HTTP on the HTTPS port gets no answer */
    int saved = H.port;
    H.port = port;
    struct resp *r = http("GET", "/healthz", NULL, NULL);
    H.port = saved;
    ck_assert_int_ne(r->status, 200);
    resp_free(r);
    fprintf(stderr, "https: /readyz, /v1/segments served over TLS on port %d\n", port);
    kill(pid, SIGTERM);
    int ws;
    ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
    ck_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);

    /* a certificate without its key stops start-up */
    pid = spawn_tls_server(harness_free_port(), cert, "");
    ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
    ck_assert(WIFEXITED(ws) && WEXITSTATUS(ws) != 0);
}
END_TEST

static Suite *abuse_suite(void)
{
    Suite *s = suite_create("abuse");
    TCase *tc = tcase_create("abuse");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_checked_fixture(tc, test_setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, rate_limit_per_key);
    tcase_add_test(tc, rate_limited_request_does_nothing);
    tcase_add_test(tc, api_answers_are_no_store);
    tcase_add_test(tc, oversized_headers_refused);
    tcase_add_test(tc, oversized_body_refused_before_read);
    tcase_add_test(tc, idle_connection_closed);
    tcase_add_test(tc, slowloris_does_not_starve_others);
    tcase_add_test(tc, https_with_tls_cert_and_key);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(abuse_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
