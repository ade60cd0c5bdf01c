/* The dispatcher's LISTEN connection (SCALE.md Q9): a dedicated, direct libpq connection — never
 * a pooled one — that hears NOTIFY on SD_OUTBOX_CHANNEL. Connecting and reading are
 * non-blocking and driven from the dispatcher's curl_multi_poll, so a slow or dead server never
 * holds up the transfers in flight. It is only a hint: when it is down the dispatcher polls. */
#include <stdio.h>
#include <string.h>

#include "dispatch_internal.h"
#include "segmentd/log.h"
#include "segmentd/store_enqueue.h"

#define RETRY_MS 5000    /* between connect attempts while the server is away */
#define CONNECT_MS 10000 /* a connect that takes longer is given up */

void wh_listener_init(struct wh_listener *l, const char *conninfo)
{
    *l = (struct wh_listener){.conninfo = conninfo, .state = WH_LISTEN_DOWN};
}

void wh_listener_close(struct wh_listener *l)
{
    if (l->conn != NULL)
        PQfinish(l->conn);
    l->conn = NULL;
    l->state = WH_LISTEN_DOWN;
    l->events = 0;
}

static void fail(struct wh_listener *l, int64_t now_ms, const char *what)
{
    if (!l->warned) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", l->conn ? PQerrorMessage(l->conn) : "out of memory");
        msg[strcspn(msg, "\n")] = '\0';
        log_warn("dispatcher: LISTEN connection %s (%s); polling only until it is back", what, msg);
        l->warned = true;
    }
    wh_listener_close(l);
    l->retry_at_ms = now_ms + RETRY_MS;
}

int wh_listener_waitfd(const struct wh_listener *l, struct curl_waitfd *fd)
{
    if (l->state == WH_LISTEN_DOWN || l->conn == NULL || PQsocket(l->conn) < 0)
        return 0;
    *fd = (struct curl_waitfd){.fd = PQsocket(l->conn), .events = l->events, .revents = 0};
    return 1;
}

int64_t wh_listener_next_ms(const struct wh_listener *l)
{
    switch (l->state) {
    case WH_LISTEN_DOWN:
        return l->retry_at_ms;
    case WH_LISTEN_CONNECTING:
        return l->deadline_ms;
    case WH_LISTEN_ON:
        break;
    }
    return 0;
}

/* Server messages on this connection (the FATAL of a terminated backend) go to the log, not
 * raw to stderr. */
static void on_notice(void *arg, const char *message)
{
    char msg[256];
    (void)arg;
    snprintf(msg, sizeof msg, "%s", message);
    msg[strcspn(msg, "\n")] = '\0';
    log_debug("dispatcher: LISTEN connection: %s", msg);
}

static void start_connect(struct wh_listener *l, int64_t now_ms)
{
    const char *keys[] = {"dbname", "application_name", NULL};
    const char *values[] = {l->conninfo, "segmentd-dispatcher", NULL};
    l->conn = PQconnectStartParams(keys, values, 1);
    if (l->conn == NULL || PQstatus(l->conn) == CONNECTION_BAD) {
        fail(l, now_ms, "cannot start");
        return;
    }
    PQsetNoticeProcessor(l->conn, on_notice, NULL);
    l->state = WH_LISTEN_CONNECTING;
    l->events = CURL_WAIT_POLLOUT; /* as if PQconnectPoll had said PGRES_POLLING_WRITING */
    l->deadline_ms = now_ms + CONNECT_MS;
}

/* One step of the connection handshake; on success sends LISTEN. */
static bool step_connect(struct wh_listener *l, int64_t now_ms)
{
    switch (PQconnectPoll(l->conn)) {
    case PGRES_POLLING_READING:
        l->events = CURL_WAIT_POLLIN;
        return false;
    case PGRES_POLLING_WRITING:
        l->events = CURL_WAIT_POLLOUT;
        return false;
    case PGRES_POLLING_OK:
        break;
    default:
        fail(l, now_ms, "failed");
        return false;
    }
    if (PQsetnonblocking(l->conn, 1) != 0 || !PQsendQuery(l->conn, "LISTEN " SD_OUTBOX_CHANNEL)) {
        fail(l, now_ms, "cannot LISTEN");
        return false;
    }
    l->state = WH_LISTEN_ON;
    l->events = CURL_WAIT_POLLIN | (PQflush(l->conn) == 1 ? CURL_WAIT_POLLOUT : 0);
    if (l->warned)
        log_info("dispatcher: LISTEN connection is back");
    l->warned = false;
    return true; /* hints sent while it was down are lost: look now */
}

/* Reads what arrived: the answer to LISTEN, and notifications. */
static bool step_read(struct wh_listener *l, int64_t now_ms)
{
    bool heard = false;
    if (PQflush(l->conn) < 0 || !PQconsumeInput(l->conn)) {
        fail(l, now_ms, "lost");
        return true; /* something may have been sent meanwhile */
    }
    PGresult *res;
    while (!PQisBusy(l->conn) && (res = PQgetResult(l->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            log_warn("dispatcher: LISTEN: %s", PQresultErrorMessage(res));
        PQclear(res);
    }
    PGnotify *n;
    while ((n = PQnotifies(l->conn)) != NULL) {
        heard = true;
        PQfreemem(n);
    }
    l->events = CURL_WAIT_POLLIN | (PQflush(l->conn) == 1 ? CURL_WAIT_POLLOUT : 0);
    if (PQstatus(l->conn) != CONNECTION_OK) {
        fail(l, now_ms, "lost");
        return true;
    }
    return heard;
}

bool wh_listener_step(struct wh_listener *l, short revents, int64_t now_ms)
{
    switch (l->state) {
    case WH_LISTEN_DOWN:
        if (now_ms >= l->retry_at_ms)
            start_connect(l, now_ms);
        return false;
    case WH_LISTEN_CONNECTING:
        if (revents != 0)
            return step_connect(l, now_ms);
        if (now_ms >= l->deadline_ms)
            fail(l, now_ms, "timed out");
        return false;
    case WH_LISTEN_ON:
        return revents != 0 ? step_read(l, now_ms) : false;
    }
    return false;
}
