#include "render.h"
#include "segmentd/util.h"

json_t *render_time(int64_t unix_seconds)
{
    char buf[40];
    sd_time_format_rfc3339(unix_seconds, 0, buf, sizeof buf);
    return json_string(buf);
}
