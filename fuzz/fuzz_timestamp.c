/* RFC 3339 times and YYYY-MM-DD dates (sd_time_parse_rfc3339, sd_date_parse); a parsed time
 * must format back without trouble. */
#include "fuzz_util.h"
#include "segmentd/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    int64_t us;
    char out[64];
    if (sd_time_parse_rfc3339(s, &us))
        sd_time_format_us(us, out, sizeof out);
    if (sd_date_parse(s, &us))
        sd_time_format_us(us, out, sizeof out);
    free(s);
    return 0;
}
