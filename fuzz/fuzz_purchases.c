/* POST /v1/purchases body validation (one object or a batch array): sd_purchases_validate. */
#include <jansson.h>

#include "fuzz_util.h"
#include "purchases.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (doc == NULL)
        return 0;
    struct sd_errors *errs = malloc(sizeof *errs);
    if (errs == NULL)
        abort();
    sd_errors_init(errs);
    struct sd_purchase_item *items = NULL;
    size_t n = 0;
    bool is_array = false;
    /* A fixed "now" (2026-11-26T00:00:00Z) keeps runs reproducible. */
    if (sd_purchases_validate(doc, 1000, INT64_C(1795651200000000), &items, &n, &is_array, errs) ==
            SD_OK &&
        !sd_errors_any(errs)) {
        for (size_t i = 0; i < n; i++) { /* valid items carry the required strings */
            if (items[i].in.order_id == NULL || items[i].in.customer_id == NULL ||
                items[i].in.amount_cents < 0)
                abort();
        }
    }
    free(items);
    free(errs);
    json_decref(doc);
    return 0;
}
