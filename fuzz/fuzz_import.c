/* The bulk import reader (CSV and NDJSON): the first input byte picks the format and the chunk
 * size, the rest is the file, fed in chunks (a record or character may straddle two). */
#include "fuzz_util.h"
#include "segmentd/import_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct sd_import_options o = {.format = (data[0] & 1) ? SD_IMPORT_NDJSON : SD_IMPORT_CSV};
    size_t chunk = (size_t)(data[0] >> 1) + 1; /* 1..128 bytes */
    if (data[0] >> 1 == 127)
        chunk = size; /* whole */
    data++;
    size--;
    struct sd_import_parser *p = sd_import_parser_new(&o);
    if (p == NULL)
        abort();
    size_t off = 0;
    for (;;) {
        struct sd_import_row row;
        long line = -1;
        enum sd_import_next r = sd_import_parser_next(p, &row, &line);
        if (r == SD_IMPORT_NEED_MORE) {
            size_t n = size - off < chunk ? size - off : chunk;
            if (n == 0) {
                sd_import_parser_finish(p);
            } else {
                /* a private copy, freed at once: ASan catches a pointer kept into it */
                char *copy = malloc(n);
                if (copy == NULL)
                    abort();
                memcpy(copy, data + off, n);
                if (sd_import_parser_feed(p, copy, n) != SD_OK) {
                    free(copy);
                    break;
                }
                free(copy);
            }
            off += n;
            continue;
        }
        if (r == SD_IMPORT_ROW) {
            /* touch every string the row hands out */
            volatile size_t sum = strlen(row.order_id) + strlen(row.customer_id);
            const char *opt[] = {row.kind, row.name, row.phone, row.email, row.birthday};
            for (size_t i = 0; i < sizeof opt / sizeof opt[0]; i++)
                sum += opt[i] != NULL ? strlen(opt[i]) : 0;
            if (!row.has_offset)
                sum += strlen(row.local_time);
            (void)sum;
        } else if (r == SD_IMPORT_REJECT || r == SD_IMPORT_FATAL) {
            volatile size_t len = strlen(sd_import_parser_reason(p));
            (void)len;
        }
        if (r == SD_IMPORT_END || r == SD_IMPORT_FATAL)
            break;
    }
    sd_import_parser_free(p);
    return 0;
}
