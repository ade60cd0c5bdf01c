/* Runs imports: a background thread taking spooled uploads one at a time (POST /v1/imports),
 * and the same work synchronously for `segmentd import FILE`. */
#ifndef SEGMENTD_IMPORTER_H
#define SEGMENTD_IMPORTER_H

#include <stdint.h>

#include "segmentd/db.h"
#include "segmentd/import_parse.h"
#include "segmentd/store_imports.h"

struct sd_import_job {
    int fd;       /* the input, positioned at its start; closed by the importer */
    int64_t size; /* bytes, for progress (0 if unknown) */
    long long ws;
    long long id; /* row in imports */
    struct sd_import_options opts;
    char map_buf[2048]; /* storage of opts.map */
    char timezone[64];
};

/* Progress seen by the command line (NULL for none). */
typedef void (*sd_import_progress_fn)(void *ctx, const struct sd_import_counts *c, int64_t size,
                                      const char *phase);

/* Runs one import to its end on connections of `pool`; records status and progress in its
 * imports row. Closes job->fd. */
enum sd_rc sd_import_run(struct sd_pool *pool, struct sd_import_job *job,
                         sd_import_progress_fn progress, void *ctx) SD_MUST_CHECK;

struct sd_importer;
struct sd_importer *sd_importer_start(struct sd_pool *pool);
/* Hands a job over (the importer owns and frees it); false when stopping. */
bool sd_importer_submit(struct sd_importer *imp, struct sd_import_job *job);
/* Stops after the running import; queued ones are marked failed. NULL accepted. */
void sd_importer_stop(struct sd_importer *imp);

#endif
