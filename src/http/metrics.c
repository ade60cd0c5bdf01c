#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "segmentd/metrics.h"
#include "segmentd/router.h"

/* The statuses segmentd answers with; anything else lands in the last slot ("other"). */
static const unsigned known_statuses[] = {200, 201, 202, 204, 304, 400, 401, 403, 404, 405,
                                          409, 410, 413, 414, 415, 422, 429, 431, 500, 503};
#define NSTATUS (sizeof known_statuses / sizeof known_statuses[0] + 1)

/* Histogram bucket upper bounds, seconds. */
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

struct route_stats {
    atomic_uint_fast64_t by_status[NSTATUS];
    atomic_uint_fast64_t bucket[NBUCKETS + 1]; /* last: +Inf */
    atomic_uint_fast64_t sum_us;
};

struct collector {
    sd_metrics_collector_fn fn;
    void *ctx;
};

struct sd_metrics {
    const struct sd_route *routes;
    size_t nroutes;
    struct route_stats *stats; /* nroutes + 1: the last one is "unmatched" */
    atomic_int in_flight;
    struct collector collectors[8];
    size_t ncollectors;
};

struct sd_metrics *sd_metrics_new(const struct sd_route *routes, size_t nroutes)
{
    struct sd_metrics *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->stats = calloc(nroutes + 1, sizeof *m->stats);
    if (m->stats == NULL) {
        free(m);
        return NULL;
    }
    m->routes = routes;
    m->nroutes = nroutes;
    return m;
}

void sd_metrics_free(struct sd_metrics *m)
{
    if (m == NULL)
        return;
    free(m->stats);
    free(m);
}

static size_t status_slot(unsigned status)
{
    for (size_t i = 0; i < NSTATUS - 1; i++) {
        if (known_statuses[i] == status)
            return i;
    }
    return NSTATUS - 1;
}

void sd_metrics_observe(struct sd_metrics *m, long route_index, unsigned status, double seconds)
{
    size_t r =
        route_index < 0 || (size_t)route_index >= m->nroutes ? m->nroutes : (size_t)route_index;
    struct route_stats *st = &m->stats[r];
    atomic_fetch_add_explicit(&st->by_status[status_slot(status)], 1, memory_order_relaxed);
    size_t b = 0;
    while (b < NBUCKETS && seconds > buckets[b])
        b++;
    atomic_fetch_add_explicit(&st->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->sum_us, (uint_fast64_t)(seconds * 1e6), memory_order_relaxed);
}

void sd_metrics_in_flight(struct sd_metrics *m, int delta)
{
    atomic_fetch_add_explicit(&m->in_flight, delta, memory_order_relaxed);
}

void sd_metrics_add_collector(struct sd_metrics *m, sd_metrics_collector_fn fn, void *ctx)
{
    if (m->ncollectors < sizeof m->collectors / sizeof m->collectors[0])
        m->collectors[m->ncollectors++] = (struct collector){fn, ctx};
}

static void route_labels(const struct sd_metrics *m, size_t r, const char **method,
                         const char **pattern)
{
    *method = r < m->nroutes ? m->routes[r].method : "";
    *pattern = r < m->nroutes ? m->routes[r].pattern : "unmatched";
}

static enum sd_rc render_requests(struct sd_metrics *m, struct sd_buf *out)
{
    enum sd_rc rc = sd_buf_printf(out, "# HELP segmentd_http_requests_total HTTP requests "
                                       "answered, by route and status.\n"
                                       "# TYPE segmentd_http_requests_total counter\n");
    for (size_t r = 0; rc == SD_OK && r <= m->nroutes; r++) {
        const char *method, *pattern;
        route_labels(m, r, &method, &pattern);
        for (size_t s = 0; rc == SD_OK && s < NSTATUS; s++) {
            uint64_t n = atomic_load_explicit(&m->stats[r].by_status[s], memory_order_relaxed);
            if (n == 0)
                continue;
            char status[8];
            if (s < NSTATUS - 1)
                snprintf(status, sizeof status, "%u", known_statuses[s]);
            else
                snprintf(status, sizeof status, "other");
            rc = sd_buf_printf(out,
                               "segmentd_http_requests_total{method=\"%s\",route=\"%s\","
                               "status=\"%s\"} %llu\n",
                               method, pattern, status, (unsigned long long)n);
        }
    }
    return rc;
}

static enum sd_rc render_histogram(struct sd_metrics *m, struct sd_buf *out)
{
    enum sd_rc rc = sd_buf_printf(out, "# HELP segmentd_http_request_duration_seconds Time from "
                                       "the first byte of a request to the end of its answer.\n"
                                       "# TYPE segmentd_http_request_duration_seconds histogram\n");
    for (size_t r = 0; rc == SD_OK && r <= m->nroutes; r++) {
        const char *method, *pattern;
        route_labels(m, r, &method, &pattern);
        uint64_t cum = 0;
        for (size_t b = 0; rc == SD_OK && b <= NBUCKETS; b++) {
            cum += atomic_load_explicit(&m->stats[r].bucket[b], memory_order_relaxed);
            char le[24];
            if (b < NBUCKETS)
                snprintf(le, sizeof le, "%g", buckets[b]);
            else
                snprintf(le, sizeof le, "+Inf");
            rc = sd_buf_printf(out,
                               "segmentd_http_request_duration_seconds_bucket{method=\"%s\","
                               "route=\"%s\",le=\"%s\"} %llu\n",
                               method, pattern, le, (unsigned long long)cum);
        }
        uint64_t sum = atomic_load_explicit(&m->stats[r].sum_us, memory_order_relaxed);
        if (rc == SD_OK)
            rc = sd_buf_printf(out,
                               "segmentd_http_request_duration_seconds_sum{method=\"%s\","
                               "route=\"%s\"} %.6f\n"
                               "segmentd_http_request_duration_seconds_count{method=\"%s\","
                               "route=\"%s\"} %llu\n",
                               method, pattern, (double)sum / 1e6, method, pattern,
                               (unsigned long long)cum);
    }
    return rc;
}

static enum sd_rc render_pool(struct sd_metrics *m, struct sd_pool *pool, struct sd_buf *out)
{
    struct sd_pool_stats st = {0};
    if (pool != NULL)
        sd_pool_get_stats(pool, &st);
    return sd_buf_printf(
        out,
        "# HELP segmentd_http_requests_in_flight Requests being handled.\n"
        "# TYPE segmentd_http_requests_in_flight gauge\n"
        "segmentd_http_requests_in_flight %d\n"
        "# HELP segmentd_db_pool_connections Database pool connections by state.\n"
        "# TYPE segmentd_db_pool_connections gauge\n"
        "segmentd_db_pool_connections{state=\"in_use\"} %d\n"
        "segmentd_db_pool_connections{state=\"idle\"} %d\n"
        "# HELP segmentd_db_pool_waiting Threads waiting for a pooled connection.\n"
        "# TYPE segmentd_db_pool_waiting gauge\n"
        "segmentd_db_pool_waiting %d\n"
        "# HELP segmentd_db_errors_total Database errors (failed statements and connects).\n"
        "# TYPE segmentd_db_errors_total counter\n"
        "segmentd_db_errors_total %llu\n"
        "# HELP segmentd_db_up Whether the last contact with the database succeeded.\n"
        "# TYPE segmentd_db_up gauge\n"
        "segmentd_db_up %d\n",
        atomic_load(&m->in_flight), st.in_use, st.size - st.in_use, st.waiting,
        (unsigned long long)st.errors, st.reachable ? 1 : 0);
}

enum sd_rc sd_metrics_render(struct sd_metrics *m, struct sd_pool *pool, struct sd_buf *out)
{
    enum sd_rc rc = render_requests(m, out);
    if (rc == SD_OK)
        rc = render_histogram(m, out);
    if (rc == SD_OK)
        rc = render_pool(m, pool, out);
    for (size_t i = 0; rc == SD_OK && i < m->ncollectors; i++)
        rc = m->collectors[i].fn(out, m->collectors[i].ctx);
    return rc;
}
