/* Matrix bounds proposed from a shop's own history (SPEC §2 "suggestion"). Pure. */
#ifndef SEGMENTD_CORE_SUGGEST_H
#define SEGMENTD_CORE_SUGGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "segmentd/core_matrix.h"

/* Distributions measured over non-cancelled orders of one kind. */
struct sd_history_figures {
    int64_t customers; /* with at least one purchase */
    int64_t orders;
    int64_t intervals; /* gaps between a customer's consecutive purchases */
    double gap_p50_s, gap_p90_s;
    double purchases_p50, purchases_p90;
    double revenue_p50_cents, revenue_p90_cents;
};

/* Which axes had enough data to be measured (the others keep the preset's bounds). */
struct sd_suggestion_basis {
    bool recency, frequency, monetary;
};

/* Enough data: at least this many intervals / customers. */
#define SD_SUGGEST_MIN_SAMPLES 20

/* Recency: [median gap, 90th percentile gap] rounded up to whole days (hours below 2 days);
 * frequency: [1, 90th percentile of purchase counts (≥ 2)]; monetary: [median, 90th percentile]
 * of customer totals rounded to two significant digits. Labels are the preset's. */
void sd_matrix_suggest(enum sd_kind kind, const struct sd_history_figures *f, struct sd_matrix *out,
                       struct sd_suggestion_basis *basis);

#endif
