/* Result codes shared by every fallible function of segmentd. */
#ifndef SEGMENTD_RC_H
#define SEGMENTD_RC_H

#define SD_MUST_CHECK __attribute__((warn_unused_result))

enum sd_rc {
    SD_OK = 0,
    SD_ERR_NOMEM,          /* allocation failed */
    SD_ERR_INVALID,        /* input does not validate */
    SD_ERR_NOT_FOUND,      /* no such row / file / thing */
    SD_ERR_CONFLICT,       /* unique violation (SQLSTATE 23505) or state conflict */
    SD_ERR_CONSTRAINT,     /* other integrity violation (23xxx) */
    SD_ERR_TOO_LARGE,      /* a cap was reached */
    SD_ERR_DB_UNAVAILABLE, /* PostgreSQL unreachable (08xxx, 57P0x, connection lost) */
    SD_ERR_DB_BUSY,        /* no pooled connection within the wait timeout */
    SD_ERR_DB_RETRY,       /* serialization failure or deadlock (40001, 40P01): retry */
    SD_ERR_DB_TIMEOUT,     /* statement timeout / query cancelled (57014) */
    SD_ERR_DB,             /* any other database error */
    SD_ERR_IO,             /* system call or child process failed */
    SD_ERR_STALE,          /* what the caller cached changed meanwhile (matrix version): reload */
    SD_ERR_INTERNAL,       /* a bug: should not happen */
};

/* Static, human-readable name of a result code (never NULL). */
const char *sd_rc_str(enum sd_rc rc);

#endif
