/* The header deadline: a connection must deliver a request's headers within [http]
 * header_timeout of opening (or of its previous request's end, on keep-alive).
 *
 * libmicrohttpd 0.9.75 only knows an idle timeout, which every received byte resets: a client
 * sending one byte a second ("slowloris") keeps a connection forever, and enough of them fill
 * connection_limit. It offers no call to close a connection from outside either, so a thread
 * looks over the open connections and shuts down the socket of those past their deadline; the
 * I/O thread then reads EOF and closes the connection as usual.
 *
 * Safety: libmicrohttpd calls the CLOSED notification before it closes the socket, and that
 * notification unlinks the entry under the same mutex the reaper holds while it shuts sockets
 * down; so the reaper never touches a descriptor that was closed and reused. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "http_internal.h"
#include "segmentd/log.h"

struct watch {
    struct watch *prev, *next;
    MHD_socket fd;
    _Atomic int64_t waiting_since_us; /* 0 while a request is being handled */
    bool reaped;
};

struct http_reaper {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    struct watch *head;
    int64_t timeout_us;
    bool stopping;
    bool started;
};

static void reap_due(struct http_reaper *r)
{
    int64_t now = http_now_us();
    int closed = 0;
    pthread_mutex_lock(&r->lock);
    for (struct watch *w = r->head; w != NULL; w = w->next) {
        int64_t since = atomic_load(&w->waiting_since_us);
        if (since != 0 && !w->reaped && now - since > r->timeout_us) {
            shutdown(w->fd, SHUT_RDWR);
            w->reaped = true;
            closed++;
        }
    }
    pthread_mutex_unlock(&r->lock);
    if (closed > 0)
        log_info("closed %d connection(s) that did not send request headers within "
                 "[http] header_timeout",
                 closed);
}

static void *reaper_main(void *arg)
{
    struct http_reaper *r = arg;
    /* A quarter of the timeout, at most a second: a connection lives at most 25% past it. */
    int64_t period_us = r->timeout_us / 4 < 1000000 ? r->timeout_us / 4 : 1000000;
    pthread_mutex_lock(&r->lock);
    while (!r->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        int64_t ns = until.tv_nsec + period_us * 1000;
        until.tv_sec += (time_t)(ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&r->wake, &r->lock, &until);
        if (r->stopping)
            break;
        pthread_mutex_unlock(&r->lock);
        reap_due(r);
        pthread_mutex_lock(&r->lock);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

struct http_reaper *http_reaper_start(int64_t header_timeout_ms)
{
    struct http_reaper *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->wake, NULL);
    r->timeout_us = header_timeout_ms * 1000;
    if (pthread_create(&r->thread, NULL, reaper_main, r) != 0) {
        http_reaper_stop(r);
        return NULL;
    }
    r->started = true;
    return r;
}

void http_reaper_stop(struct http_reaper *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->lock);
    r->stopping = true;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    if (r->started)
        pthread_join(r->thread, NULL);
    /* Entries left (none once libmicrohttpd has stopped) are freed here. */
    while (r->head != NULL) {
        struct watch *w = r->head;
        r->head = w->next;
        free(w);
    }
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

void http_reaper_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe)
{
    struct http_reaper *r = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct watch *w = info ? calloc(1, sizeof *w) : NULL;
        *socket_context = w;
        if (w == NULL)
            return; /* not watched: only the idle timeout applies to it */
        w->fd = info->connect_fd;
        atomic_init(&w->waiting_since_us, http_now_us());
        pthread_mutex_lock(&r->lock);
        w->next = r->head;
        if (r->head != NULL)
            r->head->prev = w;
        r->head = w;
        pthread_mutex_unlock(&r->lock);
        return;
    }
    struct watch *w = *socket_context;
    if (w == NULL)
        return;
    pthread_mutex_lock(&r->lock);
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        r->head = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    pthread_mutex_unlock(&r->lock);
    free(w);
    *socket_context = NULL;
}

static struct watch *watch_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

void http_reaper_headers_done(struct MHD_Connection *conn)
{
    struct watch *w = watch_of(conn);
    if (w != NULL)
        atomic_store(&w->waiting_since_us, 0);
}

void http_reaper_request_done(struct MHD_Connection *conn)
{
    struct watch *w = watch_of(conn);
    if (w != NULL)
        atomic_store(&w->waiting_since_us, http_now_us());
}
