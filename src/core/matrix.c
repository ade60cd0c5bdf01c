/* The lifecycle matrix: the one place the segmentation rules live (SPEC §1). */
#include <string.h>

#include "segmentd/core_matrix.h"

/* Declared as the C standard does (7.1.4): formatting, not I/O — <stdio.h> stays out of core. */
int snprintf(char *restrict s, size_t n, const char *restrict fmt, ...);

static const char *const kind_names[SD_KIND_COUNT] = {"b2c", "b2b"};

const char *sd_kind_name(enum sd_kind kind)
{
    return kind_names[kind];
}

bool sd_kind_parse(const char *s, enum sd_kind *out)
{
    for (int k = 0; k < SD_KIND_COUNT; k++) {
        if (strcmp(s, kind_names[k]) == 0) {
            *out = (enum sd_kind)k;
            return true;
        }
    }
    return false;
}

static void set_axis(struct sd_axis *axis, int n, const int64_t *bounds, const char *const *labels)
{
    memset(axis, 0, sizeof *axis);
    axis->nbands = n;
    for (int i = 0; i < n - 1; i++)
        axis->bounds[i] = bounds[i];
    for (int i = 0; i < n; i++)
        snprintf(axis->labels[i], sizeof axis->labels[i], "%s", labels[i]);
}

void sd_matrix_preset(enum sd_kind kind, struct sd_matrix *out)
{
    static const char *const freq[] = {"new", "promising", "regular"};
    static const char *const rec[] = {"active", "sleeping", "asleep"};
    static const char *const mon[] = {"low", "mid", "high"};
    const bool b2b = kind == SD_KIND_B2B;
    const int64_t fb[] = {1, b2b ? 5 : 3};
    const int64_t rb[] = {(b2b ? 90 : 30) * SD_US_PER_DAY, (b2b ? 180 : 90) * SD_US_PER_DAY};
    const int64_t mb[] = {(b2b ? 1000 : 100) * 100, (b2b ? 10000 : 1000) * 100};
    memset(out, 0, sizeof *out);
    set_axis(&out->frequency, 3, fb, freq);
    set_axis(&out->recency, 3, rb, rec);
    set_axis(&out->monetary, 3, mb, mon);
    out->sleeping[1] = out->sleeping[2] = true;
}

bool sd_label_valid(const char *label)
{
    size_t n = strlen(label);
    if (n < 1 || n > SD_LABEL_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = label[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

int sd_axis_find(const struct sd_axis *axis, const char *label)
{
    for (int i = 0; i < axis->nbands; i++) {
        if (strcmp(axis->labels[i], label) == 0)
            return i;
    }
    return -1;
}

static void validate_axis(const struct sd_axis *axis, const char *name, int64_t min_bound,
                          struct sd_errors *errs)
{
    if (axis->nbands < SD_MIN_BANDS || axis->nbands > SD_MAX_BANDS) {
        sd_errors_add(errs, "an axis has 2 to 5 bands", "/%s/labels", name);
        return;
    }
    for (int i = 0; i < axis->nbands; i++) {
        if (!sd_label_valid(axis->labels[i]))
            sd_errors_add(errs, "labels are 1-32 characters of a-z, 0-9, _", "/%s/labels/%d", name,
                          i);
        for (int j = 0; j < i; j++) {
            if (strcmp(axis->labels[i], axis->labels[j]) == 0)
                sd_errors_add(errs, "duplicate label on this axis", "/%s/labels/%d", name, i);
        }
    }
    for (int i = 0; i < axis->nbands - 1; i++) {
        if (axis->bounds[i] < min_bound)
            sd_errors_add(errs, "bound too small", "/%s/bounds/%d", name, i);
        else if (i > 0 && axis->bounds[i] <= axis->bounds[i - 1])
            sd_errors_add(errs, "bounds must be strictly increasing", "/%s/bounds/%d", name, i);
    }
}

bool sd_matrix_validate(const struct sd_matrix *m, struct sd_errors *errs)
{
    size_t before = errs->count + errs->dropped;
    /* A frequency band holds at least one purchase; recency needs a positive duration; a
     * monetary bound of 0 would leave its first band empty forever. */
    validate_axis(&m->frequency, "frequency", 1, errs);
    validate_axis(&m->recency, "recency", SD_US_PER_SECOND, errs);
    validate_axis(&m->monetary, "monetary", 1, errs);
    /* The first recency band is where a purchase puts everyone: entering it is waking up. */
    if (m->recency.nbands >= SD_MIN_BANDS && m->recency.nbands <= SD_MAX_BANDS && m->sleeping[0])
        sd_errors_add(errs, "the first recency band cannot be a sleeping band",
                      "/recency/sleeping");
    return errs->count + errs->dropped == before;
}

static int band_at_most(const struct sd_axis *axis, int64_t value)
{
    int i = 0;
    while (i < axis->nbands - 1 && value > axis->bounds[i])
        i++;
    return i;
}

static int band_below(const struct sd_axis *axis, int64_t value)
{
    int i = 0;
    while (i < axis->nbands - 1 && value >= axis->bounds[i])
        i++;
    return i;
}

void sd_matrix_classify(const struct sd_matrix *m, const struct sd_facts *facts, int64_t now,
                        struct sd_placement *out)
{
    if (facts->purchases <= 0) {
        *out = (struct sd_placement){.freq = -1, .rec = -1, .mon = -1, .next_change_at = 0};
        return;
    }
    int64_t elapsed = now - facts->last_purchase_at;
    if (elapsed < 0)
        elapsed = 0;
    out->freq = band_at_most(&m->frequency, facts->purchases);
    /* "30 days elapsed is already sleeping": a bound belongs to the next band. */
    out->rec = band_below(&m->recency, elapsed);
    out->mon = band_below(&m->monetary, facts->revenue_cents);
    out->next_change_at = out->rec < m->recency.nbands - 1
                              ? facts->last_purchase_at + m->recency.bounds[out->rec]
                              : 0;
}

void sd_matrix_cell_key(const struct sd_matrix *m, int freq, int rec, char *out)
{
    if (freq < 0 || rec < 0) {
        out[0] = '\0';
        return;
    }
    snprintf(out, SD_CELL_KEY_MAX + 1, "%s/%s", m->frequency.labels[freq], m->recency.labels[rec]);
}

bool sd_matrix_cell_parse(const struct sd_matrix *m, const char *key, int *freq, int *rec)
{
    const char *slash = strchr(key, '/');
    if (slash == NULL || (size_t)(slash - key) > SD_LABEL_MAX)
        return false;
    char flabel[SD_LABEL_MAX + 1];
    memcpy(flabel, key, (size_t)(slash - key));
    flabel[slash - key] = '\0';
    *freq = sd_axis_find(&m->frequency, flabel);
    *rec = sd_axis_find(&m->recency, slash + 1);
    return *freq >= 0 && *rec >= 0;
}

/* "new" → "New", "_" → " ". */
static size_t humanise(const char *label, bool capital, char *out, size_t outlen)
{
    size_t n = 0;
    for (const char *p = label; *p != '\0' && n + 1 < outlen; p++) {
        char c = *p == '_' ? ' ' : *p;
        if (capital && p == label && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        out[n++] = c;
    }
    out[n] = '\0';
    return n;
}

void sd_matrix_cell_name(const struct sd_matrix *m, int freq, int rec, char *out, size_t outlen)
{
    if (m->names[freq][rec][0] != '\0') {
        snprintf(out, outlen, "%s", m->names[freq][rec]);
        return;
    }
    size_t n = humanise(m->frequency.labels[freq], true, out, outlen);
    if (n + 1 < outlen) {
        out[n++] = ' ';
        humanise(m->recency.labels[rec], false, out + n, outlen - n);
    }
}

bool sd_recency_parse(const char *s, int64_t *out_us)
{
    int64_t v = 0;
    const char *p = s;
    if (*p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        /* Only guards the multiplication: 100 years in seconds has 10 digits, and the range
         * check below is the real limit. */
        if (v > INT64_C(100000000000))
            return false;
        v = v * 10 + (*p - '0');
    }
    int64_t unit;
    if (strcmp(p, "d") == 0 || *p == '\0')
        unit = SD_US_PER_DAY;
    else if (strcmp(p, "h") == 0)
        unit = 3600 * SD_US_PER_SECOND;
    else if (strcmp(p, "s") == 0)
        unit = SD_US_PER_SECOND;
    else
        return false;
    if (v <= 0 || v > INT64_C(36500) * SD_US_PER_DAY / unit) /* at most 100 years */
        return false;
    *out_us = v * unit;
    return true;
}

void sd_recency_format(int64_t us, char *out, size_t outlen)
{
    long long s = (long long)(us / SD_US_PER_SECOND);
    if (s % 86400 == 0)
        snprintf(out, outlen, "%lldd", s / 86400);
    else if (s % 3600 == 0)
        snprintf(out, outlen, "%lldh", s / 3600);
    else
        snprintf(out, outlen, "%llds", s);
}

bool sd_amount_parse(const char *s, int64_t *out_cents)
{
    int64_t whole = 0;
    int digits = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (++digits > 12)
            return false;
        whole = whole * 10 + (*p - '0');
    }
    if (digits == 0)
        return false;
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        int fd = 0;
        for (; *p >= '0' && *p <= '9'; p++, fd++) {
            if (fd >= 2)
                return false;
            frac = frac * 10 + (*p - '0');
        }
        if (fd == 0)
            return false;
        if (fd == 1)
            frac *= 10;
    }
    if (*p != '\0')
        return false;
    *out_cents = whole * 100 + frac;
    return true;
}

void sd_amount_format(int64_t cents, char *out, size_t outlen)
{
    const char *sign = cents < 0 ? "-" : "";
    uint64_t a = cents < 0 ? (uint64_t)(-(cents + 1)) + 1 : (uint64_t)cents;
    snprintf(out, outlen, "%s%llu.%02llu", sign, (unsigned long long)(a / 100),
             (unsigned long long)(a % 100));
}
