/* The import's field readers: amounts ("1 234,56"), DD.MM.YYYY dates and the ?map= option. */
#include "fuzz_util.h"
#include "segmentd/import_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    int64_t cents;
    if (sd_import_amount(s, &cents) && cents < 0)
        abort();
    char local[20];
    if (sd_import_local_date(s, local) && strlen(local) != 19)
        abort();
    struct sd_import_options o = {.format = SD_IMPORT_CSV};
    char *buf = malloc(size + 1);
    char err[256];
    if (buf == NULL)
        abort();
    (void)sd_import_parse_map(s, buf, size + 1, &o, err, sizeof err);
    free(buf);
    free(s);
    return 0;
}
