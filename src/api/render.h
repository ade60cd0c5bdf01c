/* Private to src/api: JSON renderings shared by several resources. */
#ifndef SEGMENTD_API_RENDER_H
#define SEGMENTD_API_RENDER_H

#include <jansson.h>
#include <stdint.h>

/* RFC 3339 UTC string for Unix seconds (new reference). */
json_t *render_time(int64_t unix_seconds);

#endif
