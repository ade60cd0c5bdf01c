/* Files compiled into the binary by cmake/embed.cmake (sorted by name). */
#ifndef SEGMENTD_EMBEDDED_FILES_H
#define SEGMENTD_EMBEDDED_FILES_H

struct sd_embedded_file {
    const char *name; /* base name, e.g. "0001_foundation.sql" */
    const char *data; /* NUL-terminated */
    unsigned long len;
};

/* migrations/NNNN_*.sql in order; terminated by a zeroed entry. */
extern const struct sd_embedded_file sd_migration_files[];
extern const unsigned long sd_migration_files_count;
/* openapi.yaml */
extern const struct sd_embedded_file sd_static_files[];
extern const unsigned long sd_static_files_count;

#endif
