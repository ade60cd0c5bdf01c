#include "harness.h"

#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "segmentd/embedded.h"

struct harness H;
static CURL *session;

/* Receivers still running, so that a fatal error stops them too: one left behind keeps the test
 * runner's pipes open and the run hangs. */
#define MAX_RECEIVERS 8
static pid_t receiver_pids[MAX_RECEIVERS];

static void die(const char *what)
{
    fprintf(stderr, "harness: %s\n", what);
    harness_dump_log();
    for (int i = 0; i < MAX_RECEIVERS; i++) {
        if (receiver_pids[i] > 0)
            kill(receiver_pids[i], SIGKILL);
    }
    if (H.server_pid > 0)
        kill(H.server_pid, SIGKILL);
    if (H.pg != NULL)
        sd_embedded_stop(H.pg, true);
    exit(99);
}

static void receiver_track(pid_t pid, pid_t replaced)
{
    for (int i = 0; i < MAX_RECEIVERS; i++) {
        if (receiver_pids[i] == replaced) {
            receiver_pids[i] = pid;
            return;
        }
    }
}

int harness_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        die("no free port");
    close(fd);
    return ntohs(a.sin_port);
}

void harness_start_db(void)
{
    char err[512];
    snprintf(H.dir, sizeof H.dir, "/tmp/sdtest-XXXXXX");
    if (mkdtemp(H.dir) == NULL)
        die("mkdtemp");
    chmod(H.dir, 0755); /* the cluster runs as the postgres user when we are root */
    char pgdir[200];
    snprintf(pgdir, sizeof pgdir, "%s/pg", H.dir);
    int pgport = harness_free_port();
    struct sd_embedded_opts o = {.dir = pgdir, .tcp_port = pgport, .fast = true};
    if (sd_embedded_start(&o, &H.pg, err, sizeof err) != SD_OK)
        die(err);
    snprintf(H.database_url, sizeof H.database_url, "postgresql://segmentd@127.0.0.1:%d/segmentd",
             pgport);
    snprintf(H.log_path, sizeof H.log_path, "%s/segmentd.log", H.dir);
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void exec_server(int http_port, const char *log_path, const char *const *extra_env)
{
    char port[32], db[300], admin_key[128];
    snprintf(port, sizeof port, "SEGMENTD_HTTP_PORT=%d", http_port);
    snprintf(db, sizeof db, "DATABASE_URL=%s", H.database_url);
    snprintf(admin_key, sizeof admin_key, "SEGMENTD_ADMIN_KEY=%s", ADMIN_KEY);
    const char *env[48] = {
        "PATH=/usr/local/bin:/usr/bin:/bin", port, db, admin_key, "SEGMENTD_LOG_LEVEL=info",
        "SEGMENTD_HTTP_SHUTDOWN_TIMEOUT=20s"};
    size_t n = 6;
    const char *asan = getenv("ASAN_OPTIONS"), *ubsan = getenv("UBSAN_OPTIONS");
    static char asan_env[256], ubsan_env[256];
    if (asan) {
        snprintf(asan_env, sizeof asan_env, "ASAN_OPTIONS=%s", asan);
        env[n++] = asan_env;
    }
    if (ubsan) {
        snprintf(ubsan_env, sizeof ubsan_env, "UBSAN_OPTIONS=%s", ubsan);
        env[n++] = ubsan_env;
    }
    bool ttl_given = false;
    for (size_t i = 0; extra_env && extra_env[i] && n < 45; i++) {
        ttl_given |= strncmp(extra_env[i], "SEGMENTD_AUTH_KEY_CACHE_TTL=", 28) == 0;
        if (strncmp(extra_env[i], "SEGMENTD_LOG_LEVEL=", 19) == 0) {
            env[4] = extra_env[i]; /* replaces the default level, never a duplicate */
            continue;
        }
        env[n++] = extra_env[i];
    }
    /* Tests wipe keys and workspaces behind the server's back (harness_reset): a remembered key
     * would outlive them. Suites that test the cache ask for it. */
    if (!ttl_given)
        env[n++] = "SEGMENTD_AUTH_KEY_CACHE_TTL=0s";
    env[n] = NULL;
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, STDIN_FILENO);
    /* HARNESS_SERVER_WRAPPER ("valgrind --leak-check=full …", words split on spaces) runs the
     * server under another program: `make valgrind` */
    const char *argv[32];
    int argc = 0;
    char *wrapper =
        getenv("HARNESS_SERVER_WRAPPER") ? strdup(getenv("HARNESS_SERVER_WRAPPER")) : NULL;
    for (char *save = NULL, *w = wrapper ? strtok_r(wrapper, " ", &save) : NULL; w && argc < 24;
         w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    argv[argc++] = SEGMENTD_BINARY;
    argv[argc++] = "--config";
    argv[argc++] = SEGMENTD_SOURCE_DIR "/config/segmentd.ini";
    argv[argc] = NULL;
    if (argc > 3)
        execve(argv[0], (char *const *)argv, (char *const *)env);
    else
        execle(SEGMENTD_BINARY, SEGMENTD_BINARY, "--config",
               SEGMENTD_SOURCE_DIR "/config/segmentd.ini", (char *)NULL, (char *const *)env);
    _exit(127);
}

void harness_start_server(const char *const *extra_env, bool wait_ready)
{
    H.port = harness_free_port();
    H.server_pid = fork();
    if (H.server_pid < 0)
        die("fork");
    if (H.server_pid == 0)
        exec_server(H.port, H.log_path, extra_env);
    const char *probe = wait_ready ? "/readyz" : "/healthz";
    for (int i = 0; i < 600; i++) {
        int status;
        if (waitpid(H.server_pid, &status, WNOHANG) == H.server_pid)
            die("segmentd exited during start-up");
        struct resp *r = http("GET", probe, NULL, NULL);
        long code = r->status;
        resp_free(r);
        if (code == 200)
            return;
        usleep(100 * 1000);
    }
    die("segmentd did not become ready in 60 s");
}

int harness_stop_server(int sig)
{
    if (H.server_pid <= 0)
        return -1;
    kill(H.server_pid, sig);
    int status = 0;
    while (waitpid(H.server_pid, &status, 0) < 0 && errno == EINTR)
        ;
    H.server_pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void harness_stop_all(void)
{
    if (H.server_pid > 0) {
        int status = harness_stop_server(SIGTERM);
        if (status != 0) {
            fprintf(stderr, "harness: segmentd exited with status %d\n", status);
            harness_dump_log();
        }
    }
    sd_embedded_stop(H.pg, true);
    H.pg = NULL;
    curl_global_cleanup();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", H.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "harness: could not remove %s\n", H.dir);
}

void harness_dump_log(void)
{
    FILE *f = fopen(H.log_path, "r");
    if (f == NULL)
        return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size > 6000 ? size - 6000 : 0, SEEK_SET);
    char buf[6001];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    fprintf(stderr, "---- segmentd log (tail) ----\n%s\n-----------------------------\n", buf);
}

static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

PGconn *harness_db(void)
{
    PGconn *c = PQconnectdb(H.database_url);
    if (PQstatus(c) != CONNECTION_OK)
        die(PQerrorMessage(c));
    PQsetNoticeProcessor(c, quiet_notice, NULL);
    return c;
}

long harness_sql_long(const char *sql)
{
    PGconn *c = harness_db();
    PGresult *r = PQexec(c, sql);
    long v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    else if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "harness_sql_long: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return v;
}

void harness_reset(void)
{
    PGconn *c = harness_db();
    PGresult *r = PQexec(c, "BEGIN; TRUNCATE delivery_attempts, deliveries, campaigns, "
                            "contact_policies, segment_snapshots, transitions, orders, "
                            "cell_counts, imports, matrices, api_keys, kpi_targets; "
                            "DELETE FROM customers; "
                            "DELETE FROM workspaces WHERE name <> 'default'; COMMIT");
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        die(PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

/* ---- HTTP client ---- */

struct growbuf {
    char *data;
    size_t len;
};

static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct growbuf *b = userdata;
    size_t n = size * nmemb;
    char *data = realloc(b->data, b->len + n + 1);
    if (data == NULL)
        return 0;
    memcpy(data + b->len, ptr, n);
    b->len += n;
    data[b->len] = '\0';
    b->data = data;
    return n;
}

void http_session_begin(void)
{
    session = curl_easy_init();
}

void http_session_end(void)
{
    curl_easy_cleanup(session);
    session = NULL;
}

struct resp *http_raw(const char *method, const char *path, const char *const *headers,
                      const char *body, size_t len)
{
    struct resp *r = calloc(1, sizeof *r);
    CURL *c = session ? session : curl_easy_init();
    struct curl_slist *hl = NULL;
    struct growbuf b = {0}, h = {0};
    char url[2048];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", H.port, path);
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    } else {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, -1L);
        curl_easy_setopt(c, CURLOPT_HTTPGET, strcmp(method, "GET") == 0 ? 1L : 0L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &r->connects);
    } else {
        r->status = 0;
    }
    r->body = b.data ? b.data : strdup("");
    r->len = b.len;
    r->headers = h.data ? h.data : strdup("");
    r->json = json_loadb(r->body, r->len, 0, NULL);
    curl_slist_free_all(hl);
    if (session == NULL)
        curl_easy_cleanup(c);
    return r;
}

struct resp *http(const char *method, const char *path, const char *const *headers,
                  const char *body)
{
    return http_raw(method, path, headers, body, body ? strlen(body) : 0);
}

const char *resp_header(const struct resp *r, const char *name)
{
    static char value[1024];
    size_t nlen = strlen(name);
    for (const char *line = r->headers; line && *line;) {
        const char *end = strstr(line, "\r\n");
        size_t llen = end ? (size_t)(end - line) : strlen(line);
        if (llen > nlen && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ')
                v++;
            size_t vlen = llen - (size_t)(v - line);
            if (vlen >= sizeof value)
                vlen = sizeof value - 1;
            memcpy(value, v, vlen);
            value[vlen] = '\0';
            return value;
        }
        line = end ? end + 2 : NULL;
    }
    return NULL;
}

void resp_free(struct resp *r)
{
    if (r == NULL)
        return;
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    free(r);
}

struct resp *with_key(const char *key, const char *method, const char *path, const char *json_body)
{
    char auth[300];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    const char *headers[] = {auth, "Content-Type: application/json", NULL};
    return http(method, path, headers, json_body);
}

struct resp *admin(const char *method, const char *path, const char *json_body)
{
    return with_key(ADMIN_KEY, method, path, json_body);
}

const char *make_key(const char *workspace, const char *scopes_json)
{
    static char key[256];
    char ws[128], body[256];
    snprintf(ws, sizeof ws, "Segmentd-Workspace: %s", workspace ? workspace : "default");
    snprintf(body, sizeof body, "{\"name\":\"test\",\"scopes\":%s}", scopes_json);
    const char *headers[] = {"Authorization: Bearer " ADMIN_KEY, "Content-Type: application/json",
                             ws, NULL};
    struct resp *r = http("POST", "/v1/keys", headers, body);
    json_t *k = r->json ? json_object_get(r->json, "key") : NULL;
    if (r->status != 201 || !json_is_string(k)) {
        fprintf(stderr, "make_key: %ld %s\n", r->status, r->body);
        resp_free(r);
        return NULL;
    }
    snprintf(key, sizeof key, "%s", json_string_value(k));
    resp_free(r);
    return key;
}

/* ---- small shared helpers ---- */

void iso(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void money(long long cents, char out[32])
{
    snprintf(out, 32, "%lld.%02lld", cents / 100, cents % 100);
}

void pct(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && n + 4 < outlen; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            out[n++] = (char)*p;
        else
            n += (size_t)snprintf(out + n, outlen - n, "%%%02X", *p);
    }
    out[n] = '\0';
}

void assert_problem(struct resp *r, long status)
{
    ck_assert_msg(r->status == status, "status %ld, want %ld: %s", r->status, status, r->body);
    const char *ct = resp_header(r, "Content-Type");
    ck_assert_ptr_nonnull(ct);
    ck_assert_str_eq(ct, "application/problem+json");
    ck_assert_ptr_nonnull(r->json);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "status")), status);
    ck_assert(json_is_string(json_object_get(r->json, "title")));
    ck_assert(json_is_string(json_object_get(r->json, "type")));
}

pid_t harness_spawn_server(int port, const char *const *extra_env)
{
    char log[300];
    snprintf(log, sizeof log, "%s/segmentd-%d.log", H.dir, port);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0)
        exec_server(port, log, extra_env);
    for (int i = 0; i < 600; i++) {
        int saved = H.port;
        H.port = port;
        struct resp *r = http("GET", "/readyz", NULL, NULL);
        H.port = saved;
        long code = r->status;
        resp_free(r);
        if (code == 200)
            return pid;
        usleep(100 * 1000);
    }
    die("a spawned segmentd did not become ready in 60 s");
    return -1;
}

double harness_metric(int port, const char *sample)
{
    int saved = H.port;
    H.port = port;
    struct resp *r = http("GET", "/metrics", NULL, NULL);
    H.port = saved;
    char needle[256];
    snprintf(needle, sizeof needle, "\n%s ", sample); /* a sample line, not its HELP */
    const char *line = r->body ? strstr(r->body, needle) : NULL;
    double v = line ? strtod(line + strlen(needle), NULL) : -1;
    resp_free(r);
    return v;
}

/* ---- the webhook receiver (tests/receiver/receiver.js) ---- */

void receiver_start(struct receiver *rc, int port)
{
    static int seq;
    snprintf(rc->log, sizeof rc->log, "%s/receiver-%d.jsonl", H.dir, seq++);
    int out[2];
    if (pipe(out) != 0)
        die("pipe");
    rc->pid = fork();
    if (rc->pid < 0)
        die("fork");
    if (rc->pid == 0) {
        char p[32], l[300];
        snprintf(p, sizeof p, "PORT=%d", port);
        snprintf(l, sizeof l, "LOG=%s", rc->log);
        const char *env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", p, l, NULL};
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        execle("/usr/bin/env", "env", "node", SEGMENTD_SOURCE_DIR "/tests/receiver/receiver.js",
               (char *)NULL, (char *const *)env);
        _exit(127);
    }
    close(out[1]);
    receiver_track(rc->pid, 0);
    char line[64] = "";
    size_t n = 0;
    while (n < sizeof line - 1 && read(out[0], &line[n], 1) == 1 && line[n] != '\n')
        n++;
    line[n] = '\0';
    close(out[0]);
    if (sscanf(line, "listening %d", &rc->port) != 1)
        die("the webhook receiver did not start (npm ci in tests/receiver?)");
}

void receiver_stop(struct receiver *rc)
{
    if (rc->pid <= 0)
        return;
    kill(rc->pid, SIGKILL);
    waitpid(rc->pid, NULL, 0);
    receiver_track(0, rc->pid);
    rc->pid = 0;
}

void receiver_secret(struct receiver *rc, const char *path, const char *secret, const char *other)
{
    char url[300];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/_secret", rc->port);
    json_t *list = json_pack("[s]", secret);
    if (other != NULL)
        json_array_append_new(list, json_string(other));
    json_t *doc = json_pack("{s:s, s:o}", "path", path, "secrets", list);
    char *body = json_dumps(doc, JSON_COMPACT);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    CURLcode rc_curl = curl_easy_perform(c);
    curl_easy_cleanup(c);
    free(body);
    json_decref(doc);
    if (rc_curl != CURLE_OK)
        die("receiver: setting a secret failed");
}

json_t *receiver_lines(const struct receiver *rc, const char *path_prefix)
{
    json_t *all = json_array();
    FILE *f = fopen(rc->log, "r");
    if (f == NULL)
        return all;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *doc = json_loads(line, 0, NULL);
        const char *path = json_string_value(json_object_get(doc, "path"));
        if (doc != NULL && path != NULL && strncmp(path, path_prefix, strlen(path_prefix)) == 0)
            json_array_append_new(all, doc);
        else
            json_decref(doc);
    }
    free(line);
    fclose(f);
    return all;
}

long harness_put_recency(const char *recency_bounds, const char *query)
{
    char body[512], path[128];
    snprintf(body, sizeof body,
             "{\"frequency\":{\"bounds\":[1,3],\"labels\":[\"new\",\"promising\",\"regular\"]},"
             "\"recency\":{\"bounds\":%s,\"labels\":[\"active\",\"sleeping\",\"asleep\"]},"
             "\"monetary\":{\"bounds\":[\"100\",\"1000\"],\"labels\":[\"low\",\"mid\",\"high\"]}}",
             recency_bounds);
    snprintf(path, sizeof path, "/v1/matrices/b2c%s", query ? query : "");
    struct resp *r = admin("PUT", path, body);
    long status = r->status;
    if (status != 200 && (query == NULL || query[0] == '\0'))
        fprintf(stderr, "harness: PUT matrix: %ld %s\n", status, r->body);
    resp_free(r);
    return status;
}

void harness_post_purchases(const char *prefix, int n, time_t at)
{
    char when[32];
    iso(at, when);
    for (int start = 0; start < n; start += 1000) {
        int count = n - start < 1000 ? n - start : 1000;
        size_t cap = (size_t)count * 160 + 16, len = 0;
        char *body = malloc(cap);
        len += (size_t)snprintf(body + len, cap - len, "[");
        for (int i = 0; i < count; i++)
            len += (size_t)snprintf(body + len, cap - len,
                                    "%s{\"order_id\":\"o\",\"customer_id\":\"%s-%05d\","
                                    "\"amount\":1,\"purchased_at\":\"%s\"}",
                                    i ? "," : "", prefix, start + i, when);
        snprintf(body + len, cap - len, "]");
        struct resp *r = admin("POST", "/v1/purchases", body);
        if (r->status != 200) {
            fprintf(stderr, "harness: POST purchases: %ld %s\n", r->status, r->body);
            ck_abort_msg("posting purchases failed");
        }
        resp_free(r);
        free(body);
    }
}
