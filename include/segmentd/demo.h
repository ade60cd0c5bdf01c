/* A synthetic shop for the `demo` workspace: two years of orders with repeat-purchase behaviour
 * (some customers stay loyal, most drift away), both kinds, plainly fake names, phones in the
 * fictional +1 555 01xx range and e-mails at example.com / example.org. Deterministic for a
 * seed. Writes CSV (the import format) through a callback. */
#ifndef SEGMENTD_DEMO_H
#define SEGMENTD_DEMO_H

#include <stdint.h>

#include "segmentd/rc.h"

/* Receives each chunk of CSV text (header first). */
typedef enum sd_rc (*sd_demo_write_fn)(void *ctx, const char *text, size_t len);

struct sd_demo_stats {
    int64_t customers, orders;
};

enum sd_rc sd_demo_generate(int64_t customers, uint64_t seed, int64_t now_us,
                            sd_demo_write_fn write, void *ctx,
                            struct sd_demo_stats *stats) SD_MUST_CHECK;

#endif
