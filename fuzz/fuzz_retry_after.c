/* Retry-After header values (delay-seconds and the three HTTP-date forms): sd_retry_after_ms.
 * The result is -1 or within [0, SD_RETRY_AFTER_MAX_MS]. */
#include "fuzz_util.h"
#include "segmentd/core_retry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    /* a fixed "now" (2026-11-26T00:00:00Z), and the epoch */
    static const int64_t nows[] = {INT64_C(1795651200000), 0};
    for (size_t i = 0; i < sizeof nows / sizeof nows[0]; i++) {
        int64_t ms = sd_retry_after_ms(s, nows[i]);
        if (ms != -1 && (ms < 0 || ms > SD_RETRY_AFTER_MAX_MS))
            abort();
    }
    free(s);
    return 0;
}
