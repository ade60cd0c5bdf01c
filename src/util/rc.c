#include "segmentd/rc.h"

const char *sd_rc_str(enum sd_rc rc)
{
    switch (rc) {
    case SD_OK:
        return "ok";
    case SD_ERR_NOMEM:
        return "out of memory";
    case SD_ERR_INVALID:
        return "invalid input";
    case SD_ERR_NOT_FOUND:
        return "not found";
    case SD_ERR_CONFLICT:
        return "conflict";
    case SD_ERR_CONSTRAINT:
        return "constraint violation";
    case SD_ERR_TOO_LARGE:
        return "too large";
    case SD_ERR_DB_UNAVAILABLE:
        return "database unavailable";
    case SD_ERR_DB_BUSY:
        return "database pool exhausted";
    case SD_ERR_DB_RETRY:
        return "transaction must be retried";
    case SD_ERR_DB_TIMEOUT:
        return "statement timeout";
    case SD_ERR_DB:
        return "database error";
    case SD_ERR_IO:
        return "i/o error";
    case SD_ERR_STALE:
        return "stale cache";
    case SD_ERR_INTERNAL:
        return "internal error";
    }
    return "unknown";
}
