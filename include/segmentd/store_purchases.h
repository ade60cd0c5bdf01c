/* Purchases and cancellations: orders in, aggregates and placement updated, transitions and
 * counters written — one transaction per request, two network round trips (pipelines). */
#ifndef SEGMENTD_STORE_PURCHASES_H
#define SEGMENTD_STORE_PURCHASES_H

#include <stddef.h>
#include <stdint.h>

#include "segmentd/core_matrix.h"
#include "segmentd/db.h"
#include "segmentd/store_customers.h"

/* A validated purchase. Profile fields NULL = not given (the stored value stays). */
struct sd_purchase_in {
    const char *customer_id;
    const char *order_id;
    int64_t amount_cents;
    int64_t purchased_at; /* µs */
    const char *kind;     /* "b2c" / "b2b" */
    const char *name, *phone, *email, *birthday;
};

enum sd_purchase_status { SD_PURCHASE_CREATED, SD_PURCHASE_DUPLICATE, SD_PURCHASE_CONFLICT };

struct sd_purchase_out {
    enum sd_purchase_status status;
    char cell[SD_CELL_KEY_MAX + 1]; /* the customer's cell after the request ("" = none) */
    int64_t stored_amount_cents;    /* conflicts: what is stored */
    int64_t stored_purchased_at;
};

/* The matrices the caller holds, with the versions it loaded them at. */
struct sd_matrix_set {
    struct sd_matrix m[SD_KIND_COUNT];
    int version[SD_KIND_COUNT];
};

/* Ingests `n` purchases (n ≥ 1) into workspace `ws`. SD_ERR_STALE: a matrix changed since the
 * caller loaded `ms` (nothing written): reload and call again. */
enum sd_rc sd_store_purchases_ingest(struct sd_db *db, long long ws, const struct sd_matrix_set *ms,
                                     const struct sd_purchase_in *items, size_t n,
                                     struct sd_purchase_out *out) SD_MUST_CHECK;

struct sd_cancel_in {
    const char *customer_id;
    const char *order_id;
};
enum sd_cancel_status { SD_CANCEL_CANCELLED, SD_CANCEL_ALREADY, SD_CANCEL_NOT_FOUND };
struct sd_cancel_out {
    enum sd_cancel_status status;
    char cell[SD_CELL_KEY_MAX + 1];
};

enum sd_rc sd_store_cancellations(struct sd_db *db, long long ws, const struct sd_matrix_set *ms,
                                  const struct sd_cancel_in *items, size_t n,
                                  struct sd_cancel_out *out) SD_MUST_CHECK;

#endif
