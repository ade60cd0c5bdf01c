/* Private to src/webhook: one delivery's transfer, the LISTEN connection and the dispatcher's
 * state, shared by dispatcher.c (the loop), claim.c (claims and decisions), record.c (outcomes
 * and metrics), transfer.c (libcurl) and listener.c (libpq). */
#ifndef SEGMENTD_DISPATCH_INTERNAL_H
#define SEGMENTD_DISPATCH_INTERNAL_H

#include <curl/curl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "segmentd/app.h"
#include "segmentd/config.h"
#include "segmentd/dispatcher.h"
#include "segmentd/store_outbox.h"
#include "segmentd/util.h"

/* One claimed delivery on its way: waiting for a slot, in flight, or finished and waiting to be
 * recorded. It sits in exactly one of the dispatcher's lists. */
struct wh_transfer {
    struct wh_transfer *prev, *next;
    struct sd_outbox_item item;
    char endpoint[SD_ENDPOINT_KEY_MAX];
    int64_t lease_deadline_ms; /* monotonic: when the lease this process holds runs out */

    CURL *easy;
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
    char refused[96];     /* set by the address guard */
    char retry_after[64]; /* Retry-After of the last response, trimmed */

    int64_t started_us; /* wall clock, the attempt's `at` */
    CURLcode code;
    long status;
    int64_t latency_us;

    /* What to record, filled by wh_transfer_outcome(); its strings point into this struct. */
    struct sd_outbox_outcome outcome;
    char error[256];
    char pause_reason[160];
};

/* Prepares the request (headers signed for this attempt) and adds it to `multi`. On failure
 * (a secret that does not decode, no memory) nothing is added: `t->code` and `t->errbuf` say
 * why, and the transfer counts as a failed attempt. */
enum sd_rc wh_transfer_start(struct wh_transfer *t, CURLM *multi,
                             const struct sd_config *cfg) SD_MUST_CHECK;
/* Takes a finished transfer out of `multi` and keeps its status and latency. */
void wh_transfer_end(struct wh_transfer *t, CURLM *multi, CURLcode code);
/* Decides what to record for an ended attempt (classification, retry delay, pause). */
void wh_transfer_outcome(struct wh_transfer *t, const struct sd_config *cfg);
/* Frees the transfer (removing it from `multi` first if it is still in flight). */
void wh_transfer_free(struct wh_transfer *t, CURLM *multi);

/* The dedicated LISTEN connection: non-blocking, reconnected lazily. */
struct wh_listener {
    const char *conninfo; /* borrowed */
    PGconn *conn;
    enum { WH_LISTEN_DOWN, WH_LISTEN_CONNECTING, WH_LISTEN_ON } state;
    short events;        /* CURL_WAIT_POLLIN / POLLOUT wanted on its socket */
    int64_t retry_at_ms; /* monotonic: next connect attempt while down */
    int64_t deadline_ms; /* monotonic: a connect not done by then is given up */
    bool warned;         /* the connection's loss was logged */
};

void wh_listener_init(struct wh_listener *l, const char *conninfo);
/* The socket to watch, if any: fills `fd` and returns 1, else 0. */
int wh_listener_waitfd(const struct wh_listener *l, struct curl_waitfd *fd);
/* Drives the connection after a poll (`revents` of its socket, 0 if none); true when a
 * notification arrived, or when LISTEN was (re)established (hints may have been missed). */
bool wh_listener_step(struct wh_listener *l, short revents, int64_t now_ms);
/* When the listener next needs a call without socket activity (0: not before an event). */
int64_t wh_listener_next_ms(const struct wh_listener *l);
void wh_listener_close(struct wh_listener *l);

/* ---- the dispatcher itself, shared by dispatcher.c (the loop), claim.c and record.c ---- */

enum wh_result { WH_DELIVERED, WH_FAILED, WH_DEAD, WH_SUPPRESSED, WH_DEFERRED, WH_RESULTS };
extern const char *const wh_result_names[WH_RESULTS];

/* Upper bounds of the attempt-duration histogram, seconds. */
#define WH_NBUCKETS 11
extern const double wh_buckets[WH_NBUCKETS];

struct wh_list {
    struct wh_transfer *head, *tail;
    int n;
};

/* Transfers in flight per endpoint (only endpoints with at least one). */
struct wh_endpoint {
    char key[SD_ENDPOINT_KEY_MAX];
    int running;
};

struct sd_dispatcher {
    struct sd_app *app;
    const struct sd_config *cfg;
    pthread_t thread;
    CURLM *multi;
    atomic_bool stop;
    atomic_bool woken;
    char owner[160]; /* lease_owner: host:pid:random, unique per process start */

    struct wh_list waiting, running, done;
    struct wh_endpoint *eps; /* room for max_in_flight */
    size_t neps;
    struct wh_listener listener;

    int64_t next_poll_ms, wake_at_ms, recheck_at_ms, next_depth_ms, record_at_ms; /* monotonic */
    /* More may be due than the last claim took (it was full, or skipped busy endpoints): claim
     * again soon after slots free up, without waiting for the poll interval. */
    bool backlog;
    int freed;             /* slots freed since the last claim (ended, suppressed, dropped) */
    bool db_down;          /* the last claim could not reach the database: poll less often */
    int64_t last_claim_ms; /* monotonic */
    size_t rr;             /* round-robin start over the due workspaces */
    /* The workspaces the last discovery found due: claims made while working through a backlog
     * reuse them instead of scanning the outbox again (a poll or wake-up rediscovers). */
    long long *due_ws;
    size_t ndue_ws;

    atomic_llong results[WH_RESULTS];
    atomic_llong leases_lost, dropped, errors;
    atomic_llong depth_pending, depth_failed;
    atomic_int in_flight;
    atomic_ullong bucket[WH_NBUCKETS + 1];
    atomic_ullong sum_us, count;
};

/* dispatcher.c: a transfer sits in one list at a time. */
void wh_list_push(struct wh_list *l, struct wh_transfer *t);
void wh_list_remove(struct wh_list *l, struct wh_transfer *t);

/* claim.c: claims due deliveries up to the free slots (in the workspaces found due now, or,
 * without `rediscover`, by the last discovery), decides them (sends join `waiting`,
 * suppressions and deferrals are recorded at once). SD_ERR_DB_UNAVAILABLE / _BUSY: the database
 * could not be used. */
enum sd_rc wh_claim_round(struct sd_dispatcher *d, bool rediscover);
/* claim.c: gives back the leases of the deliveries still waiting (shutdown). */
void wh_release_waiting(struct sd_dispatcher *d);

/* record.c: writes the outcomes in `done`, one transaction per workspace; keeps them for a later
 * try while the database is away, unless `final`. */
void wh_record_done(struct sd_dispatcher *d, int64_t now_ms, bool final);
void wh_observe_latency(struct sd_dispatcher *d, int64_t us);
void wh_refresh_depth(struct sd_dispatcher *d);
/* The metrics collector (ctx = the dispatcher). */
enum sd_rc wh_render_metrics(struct sd_buf *out, void *ctx);

#endif
