/* Private to src/api: the pure validation of a POST /v1/purchases body (no request, no database),
 * so the fuzz targets (fuzz/) can reach it alone. */
#ifndef SEGMENTD_API_PURCHASES_H
#define SEGMENTD_API_PURCHASES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "input.h"
#include "segmentd/core_errors.h"
#include "segmentd/rc.h"
#include "segmentd/store_purchases.h"

struct sd_purchase_item {
    struct sd_purchase_in in; /* strings point into the body and into the buffers below */
    struct input_text phone, email, birthday;
};

/* Validates a body that is one purchase object or an array of 1..max_batch of them (`now_us`:
 * the current time, for the 5-minute future tolerance and birthdays). Every problem goes to
 * `errs`. Unless the body's shape is wrong, *items receives *n parsed items (calloc'd; the caller
 * frees it), even when some have errors. SD_ERR_NOMEM when the items cannot be allocated. */
enum sd_rc sd_purchases_validate(json_t *body, int max_batch, int64_t now_us,
                                 struct sd_purchase_item **items, size_t *n, bool *is_array,
                                 struct sd_errors *errs);

#endif
