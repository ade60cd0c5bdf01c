/* Prometheus metrics: request counts by route and status, a latency histogram per route, and the
 * database pool. Updated with relaxed atomics (no lock on the request path). */
#ifndef SEGMENTD_METRICS_H
#define SEGMENTD_METRICS_H

#include <stddef.h>

#include "segmentd/db.h"
#include "segmentd/util.h"

struct sd_route;
struct sd_metrics;

/* Extra text appended to /metrics by other modules (scheduler, dispatcher). */
typedef enum sd_rc (*sd_metrics_collector_fn)(struct sd_buf *out, void *ctx);

struct sd_metrics *sd_metrics_new(const struct sd_route *routes, size_t nroutes);
void sd_metrics_free(struct sd_metrics *m);
/* route_index < 0: the request matched no route. */
void sd_metrics_observe(struct sd_metrics *m, long route_index, unsigned status, double seconds);
void sd_metrics_in_flight(struct sd_metrics *m, int delta);
/* Registers a collector (at most 8), before the server starts. */
void sd_metrics_add_collector(struct sd_metrics *m, sd_metrics_collector_fn fn, void *ctx);
/* Renders the text exposition format into `out`. */
enum sd_rc sd_metrics_render(struct sd_metrics *m, struct sd_pool *pool,
                             struct sd_buf *out) SD_MUST_CHECK;

#endif
