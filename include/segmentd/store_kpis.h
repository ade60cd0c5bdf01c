/* KPIs of repeat sales over a period (SPEC §2 "KPIs"), and the workspace's written targets.
 * The figures are sums and counts from one statement over the period's orders; ratios and their
 * rounding are the caller's. */
#ifndef SEGMENTD_STORE_KPIS_H
#define SEGMENTD_STORE_KPIS_H

#include <stdint.h>

#include "segmentd/core_matrix.h"
#include "segmentd/db.h"

/* [from, to) and the previous period of the same length, [prev_from, from); µs since the epoch. */
struct sd_kpi_period {
    int64_t prev_from, from, to;
};

/* Non-cancelled orders of customers of one kind. */
struct sd_kpi_counts {
    int64_t orders;              /* purchased in [from, to) */
    int64_t revenue_cents;       /* their amounts */
    int64_t buyers;              /* distinct customers among them */
    int64_t first_revenue_cents; /* of those that were their customer's first order ever */
    int64_t prev_buyers;         /* distinct customers with an order in [prev_from, from) */
    int64_t retained;            /* of those, the ones who bought in [from, to) too */
};

/* The period's figures, and in the same round trip the workspace's targets as stored (see
 * sd_store_kpi_targets_get). */
enum sd_rc sd_store_kpis(struct sd_db *db, long long ws, enum sd_kind kind,
                         const struct sd_kpi_period *period, struct sd_kpi_counts *out,
                         char **targets_json) SD_MUST_CHECK;

/* The targets as stored: a JSON object's text, new (the caller frees it), or NULL when the
 * workspace never set any (the caller applies the defaults). */
enum sd_rc sd_store_kpi_targets_get(struct sd_db *db, long long ws,
                                    char **targets_json) SD_MUST_CHECK;
/* Replaces the targets with `targets_json`, a JSON object the caller validated (an upsert of the
 * workspace's single row), and hands back the text as stored (new; the caller frees it). */
enum sd_rc sd_store_kpi_targets_put(struct sd_db *db, long long ws, const char *targets_json,
                                    char **stored) SD_MUST_CHECK;

#endif
