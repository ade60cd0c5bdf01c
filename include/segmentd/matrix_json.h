/* The matrix as JSON (SPEC §2 "Matrix"): the PUT body in, the stored/served document out. */
#ifndef SEGMENTD_MATRIX_JSON_H
#define SEGMENTD_MATRIX_JSON_H

#include <jansson.h>

#include "segmentd/core_errors.h"
#include "segmentd/core_matrix.h"

/* Reads a PUT body into `out`: types and shapes here (wrong type, missing member, unknown member,
 * bad duration or amount), then every rule of sd_matrix_validate. Every problem is appended to
 * `errs` with a JSON pointer. True when `out` is a valid matrix.
 *   frequency.bounds: integers ≥ 1; recency.bounds: "30d" / "12h" / "90s" strings or whole
 *   numbers of days; monetary.bounds: amount strings ("100", "99.50") or numbers with at most
 *   2 decimals; recency.sleeping: labels of recency bands (optional: default = every band but
 *   the first); names: {"freq/rec": "display name"} for cells of this matrix (optional). */
bool sd_matrix_from_json(json_t *doc, struct sd_matrix *out, struct sd_errors *errs);

/* The canonical document (new reference): bounds as the PUT takes them ("30d", "100.00"), and
 * names only for overridden cells. sd_matrix_from_json(sd_matrix_to_json(m)) == m. */
json_t *sd_matrix_to_json(const struct sd_matrix *m);

/* An amount given as a JSON number or string → cents, with the SPEC rules (≥ 0, at most 2
 * decimals). A number is read through its shortest round-trip decimal form, so 129.9 is 12990
 * and 0.1 + 0.2 style values with 3+ decimals are refused (jansson keeps numbers as doubles). */
bool sd_json_amount(json_t *v, int64_t *cents);

#endif
