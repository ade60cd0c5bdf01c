/* Config-style values: sd_parse_duration_ms, sd_parse_size, sd_parse_i64, sd_parse_bool. */
#include <stdbool.h>

#include "fuzz_util.h"
#include "segmentd/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    int64_t v;
    bool b;
    if (sd_parse_duration_ms(s, &v) && v < 0)
        abort();
    if (sd_parse_size(s, &v) && v < 0)
        abort();
    if (sd_parse_i64(s, -1000, 1000, &v) && (v < -1000 || v > 1000))
        abort();
    (void)sd_parse_i64(s, INT64_MIN, INT64_MAX, &v);
    (void)sd_parse_bool(s, &b);
    free(s);
    return 0;
}
