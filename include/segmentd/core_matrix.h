/* The customer-lifecycle matrix (SPEC §1): bands on three axes, validation, classification and
 * the moment time alone moves a customer. Pure: no I/O, no allocation, no clock (callers pass
 * "now"). Times are microseconds since the Unix epoch; money is whole cents. */
#ifndef SEGMENTD_CORE_MATRIX_H
#define SEGMENTD_CORE_MATRIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segmentd/core_errors.h"

#define SD_MAX_BANDS 5
#define SD_MIN_BANDS 2
#define SD_LABEL_MAX 32
#define SD_CELL_KEY_MAX (2 * SD_LABEL_MAX + 2)
#define SD_CELL_NAME_MAX 64 /* characters of a display name */
#define SD_US_PER_SECOND INT64_C(1000000)
#define SD_US_PER_DAY (86400 * SD_US_PER_SECOND)

enum sd_kind { SD_KIND_B2C = 0, SD_KIND_B2B = 1 };
#define SD_KIND_COUNT 2

/* One axis: `nbands` labels and `nbands - 1` bounds.
 * frequency: bound = the largest count of its band ([1, 3]: 1 | 2–3 | 4+);
 * recency (µs) and monetary (cents): bound = the smallest value of the next band. */
struct sd_axis {
    int nbands;
    int64_t bounds[SD_MAX_BANDS - 1];
    char labels[SD_MAX_BANDS][SD_LABEL_MAX + 1];
};

struct sd_matrix {
    struct sd_axis frequency;
    struct sd_axis recency;
    struct sd_axis monetary;
    bool sleeping[SD_MAX_BANDS]; /* recency bands whose entry is "falling asleep" */
    /* Display names by [frequency band][recency band] (UTF-8, up to SD_CELL_NAME_MAX
     * characters, so up to 4 bytes each); "" = the default "Regular sleeping". */
    char names[SD_MAX_BANDS][SD_MAX_BANDS][SD_CELL_NAME_MAX * 4 + 1];
};

/* Where a customer stands. freq < 0: no cell (no non-cancelled purchase). */
struct sd_placement {
    int freq;
    int rec;
    int mon;
    int64_t next_change_at; /* µs; 0 when no time-based move is ahead (last recency band) */
};

/* The aggregates classification reads (non-cancelled orders only). */
struct sd_facts {
    int64_t purchases;
    int64_t revenue_cents;
    int64_t last_purchase_at; /* µs */
};

const char *sd_kind_name(enum sd_kind kind);
/* "b2c" / "b2b" → kind; false otherwise. */
bool sd_kind_parse(const char *s, enum sd_kind *out);

/* The SPEC §1 defaults for a kind. */
void sd_matrix_preset(enum sd_kind kind, struct sd_matrix *out);

/* Checks every rule of SPEC §1 and appends each violation, with a JSON pointer into the PUT body
 * ("/recency/bounds/1"), to `errs`. True when valid. */
bool sd_matrix_validate(const struct sd_matrix *m, struct sd_errors *errs);

/* Places a customer. `now` ≥ last purchase is not required (a future clock skew counts as 0). */
void sd_matrix_classify(const struct sd_matrix *m, const struct sd_facts *facts, int64_t now,
                        struct sd_placement *out);

/* "regular/sleeping" for (freq, rec) into out (SD_CELL_KEY_MAX + 1 bytes); "" when freq < 0. */
void sd_matrix_cell_key(const struct sd_matrix *m, int freq, int rec, char *out);
/* Parses a cell key into band indices; false when it names no cell of m. */
bool sd_matrix_cell_parse(const struct sd_matrix *m, const char *key, int *freq, int *rec);
/* Display name: the override, or "Regular sleeping" built from the labels. */
void sd_matrix_cell_name(const struct sd_matrix *m, int freq, int rec, char *out, size_t outlen);
/* Index of a label on an axis, or -1. */
int sd_axis_find(const struct sd_axis *axis, const char *label);
/* True when `label` is 1–32 characters of a-z, 0-9, _ */
bool sd_label_valid(const char *label);

/* Recency bound "30d", "12h", "90s" (or whole days as digits) → µs. False on anything else. */
bool sd_recency_parse(const char *s, int64_t *out_us);
/* The canonical text of a recency bound: "30d" when whole days, else "12h", else "90s". */
void sd_recency_format(int64_t us, char *out, size_t outlen);

/* Amounts: "129.90", "129.9", "129" (≥ 0, at most 2 decimals, up to 12 integer digits) → cents. */
bool sd_amount_parse(const char *s, int64_t *out_cents);
/* cents → "129.90" (out ≥ 24 bytes). */
void sd_amount_format(int64_t cents, char *out, size_t outlen);

#endif
