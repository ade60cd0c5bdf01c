/* The request workers. libmicrohttpd's I/O threads only parse and answer; anything that may block
 * on PostgreSQL is suspended and run here, so a slow statement holds one worker, never an I/O
 * thread and the other connections multiplexed on it (/healthz stays instant). */
#include <pthread.h>
#include <stdlib.h>

#include "http_internal.h"
#include "segmentd/log.h"

struct sd_workers {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct sd_request *head, *tail;
    bool stopping;
    int nthreads;
    pthread_t *threads;
    void (*run)(struct sd_request *);
};

static void *worker_main(void *arg)
{
    struct sd_workers *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (w->head == NULL && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        struct sd_request *req = w->head;
        if (req == NULL) { /* stopping and drained */
            pthread_mutex_unlock(&w->mu);
            return NULL;
        }
        w->head = req->next_job;
        if (w->head == NULL)
            w->tail = NULL;
        pthread_mutex_unlock(&w->mu);
        req->next_job = NULL;
        w->run(req);
    }
}

struct sd_workers *http_workers_start(int nthreads, void (*run)(struct sd_request *))
{
    struct sd_workers *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->threads = calloc((size_t)nthreads, sizeof *w->threads);
    if (w->threads == NULL) {
        free(w);
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->run = run;
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&w->threads[i], NULL, worker_main, w) != 0) {
            log_error("cannot start request worker %d", i);
            break;
        }
        w->nthreads++;
    }
    if (w->nthreads == 0) {
        http_workers_stop(w);
        return NULL;
    }
    return w;
}

bool http_workers_push(struct sd_workers *w, struct sd_request *req)
{
    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        return false;
    }
    req->next_job = NULL;
    if (w->tail != NULL)
        w->tail->next_job = req;
    else
        w->head = req;
    w->tail = req;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return true;
}

void http_workers_drain(struct sd_workers *w)
{
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    w->nthreads = 0;
}

void http_workers_stop(struct sd_workers *w)
{
    if (w == NULL)
        return;
    http_workers_drain(w);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->threads);
    free(w);
}
