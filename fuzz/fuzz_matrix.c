/* PUT /v1/matrices body validation: sd_matrix_from_json, and the round trip of a valid matrix
 * through sd_matrix_to_json. */
#include <jansson.h>

#include "fuzz_util.h"
#include "segmentd/matrix_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (doc == NULL)
        return 0;
    struct sd_errors *errs = malloc(sizeof *errs);
    struct sd_matrix *m = malloc(sizeof *m);
    if (errs == NULL || m == NULL)
        abort();
    sd_errors_init(errs);
    if (sd_matrix_from_json(doc, m, errs)) {
        json_t *out = sd_matrix_to_json(m);
        struct sd_matrix *again = malloc(sizeof *again);
        if (out == NULL || again == NULL)
            abort();
        sd_errors_init(errs);
        if (!sd_matrix_from_json(out, again, errs)) /* the canonical form must read back */
            abort();
        free(again);
        json_decref(out);
    }
    free(m);
    free(errs);
    json_decref(doc);
    return 0;
}
