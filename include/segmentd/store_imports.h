/* Imports: the imports table (status and progress), and an import session that streams
 * validated rows into PostgreSQL with COPY and merges them set-based into customers and orders,
 * all in one transaction (a failed import leaves nothing behind). */
#ifndef SEGMENTD_STORE_IMPORTS_H
#define SEGMENTD_STORE_IMPORTS_H

#include <stdint.h>

#include "segmentd/core_matrix.h"
#include "segmentd/db.h"
#include "segmentd/import_parse.h"

struct sd_import_counts {
    int64_t rows; /* records read (valid + rejected) */
    int64_t rejected;
    int64_t created;    /* orders written */
    int64_t duplicates; /* already stored (or repeated in the file) with the same values */
    int64_t conflicts;  /* already stored (or repeated) with other values: not written */
    int64_t customers;  /* customers touched */
    int64_t bytes_read; /* of the input, for progress */
};

/* imports rows */
enum sd_rc sd_store_import_create(struct sd_db *db, long long ws, const char *format,
                                  int64_t bytes_total, long long *id) SD_MUST_CHECK;
/* Progress: phase, counts, and the first rejects as a JSON array text ("[...]"). */
enum sd_rc sd_store_import_update(struct sd_db *db, long long ws, long long id, const char *status,
                                  const char *phase, const struct sd_import_counts *c,
                                  const char *errors_json, const char *message) SD_MUST_CHECK;
/* The row as JSON-ready columns: status, format, phase, rows, rejected, created, duplicates,
 * conflicts, customers, errors (json text), message, created_at_us, updated_at_us,
 * finished_at_us, bytes_read, bytes_total. */
enum sd_rc sd_store_import_get(struct sd_db *db, long long ws, long long id,
                               PGresult **res) SD_MUST_CHECK;

/* The session. */
struct sd_import_session;
/* BEGIN, the lock that keeps matrix versions still until the commit, a temporary staging
 * table. Load the matrices after this, then start the COPY. `timezone` (IANA) reads local
 * times. */
enum sd_rc sd_import_session_begin(struct sd_db *db, long long ws, const char *timezone,
                                   struct sd_import_session **out) SD_MUST_CHECK;
/* COPY … FROM STDIN: rows can be put from now on. */
enum sd_rc sd_import_session_start_copy(struct sd_import_session *s) SD_MUST_CHECK;
enum sd_rc sd_import_session_put(struct sd_import_session *s,
                                 const struct sd_import_row *row) SD_MUST_CHECK;
/* Ends the COPY, merges, places every touched customer (transitions "import", no webhooks),
 * rebuilds the counters and commits. Rows rejected here (purchased_at in the future once read in
 * the time zone) are reported through `on_reject`. */
enum sd_rc sd_import_session_commit(struct sd_import_session *s,
                                    const struct sd_matrix matrices[SD_KIND_COUNT],
                                    struct sd_import_counts *counts,
                                    void (*on_reject)(void *ctx, long line, const char *reason),
                                    void *ctx) SD_MUST_CHECK;
/* Rolls back (if not committed) and frees. NULL accepted. */
void sd_import_session_free(struct sd_import_session *s);

/* Is `tz` a time zone PostgreSQL knows? */
enum sd_rc sd_store_timezone_valid(struct sd_db *db, const char *tz, bool *valid) SD_MUST_CHECK;

#endif
