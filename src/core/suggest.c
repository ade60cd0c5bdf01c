#include "segmentd/core_suggest.h"

static int64_t ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

/* Whole days, or whole hours below two days (fast-moving shops buy more than once a day). */
static int64_t round_duration(double seconds)
{
    int64_t s = (int64_t)seconds;
    if (s < 3600)
        s = 3600;
    if (s < 2 * 86400)
        return ceil_div(s, 3600) * 3600 * SD_US_PER_SECOND;
    return ceil_div(s, 86400) * SD_US_PER_DAY;
}

/* Two significant digits: 1234.56 → 1200.00 (in cents: 123456 → 120000). */
static int64_t round_money(double cents)
{
    if (cents < 100)
        return 100;
    int64_t v = (int64_t)cents, scale = 1;
    while (v >= 100) {
        v /= 10;
        scale *= 10;
    }
    return v * scale;
}

void sd_matrix_suggest(enum sd_kind kind, const struct sd_history_figures *f, struct sd_matrix *out,
                       struct sd_suggestion_basis *basis)
{
    sd_matrix_preset(kind, out);
    basis->recency = f->intervals >= SD_SUGGEST_MIN_SAMPLES;
    basis->frequency = f->customers >= SD_SUGGEST_MIN_SAMPLES;
    basis->monetary = f->customers >= SD_SUGGEST_MIN_SAMPLES;
    if (basis->recency) {
        int64_t b1 = round_duration(f->gap_p50_s), b2 = round_duration(f->gap_p90_s);
        if (b2 <= b1)
            b2 = b1 + (b1 >= SD_US_PER_DAY ? SD_US_PER_DAY : 3600 * SD_US_PER_SECOND);
        out->recency.bounds[0] = b1;
        out->recency.bounds[1] = b2;
    }
    if (basis->frequency) {
        int64_t p90 = (int64_t)f->purchases_p90;
        out->frequency.bounds[1] = p90 < 2 ? 2 : p90;
    }
    if (basis->monetary) {
        int64_t m1 = round_money(f->revenue_p50_cents), m2 = round_money(f->revenue_p90_cents);
        if (m2 <= m1)
            m2 = m1 + 100;
        out->monetary.bounds[0] = m1;
        out->monetary.bounds[1] = m2;
    }
}
