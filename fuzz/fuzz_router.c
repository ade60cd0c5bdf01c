/* The router's path matching against the real route table: the first line of the input is the
 * method, the rest the raw path. Also the percent-decoder and the UTF-8 check it relies on. */
#include "fuzz_util.h"
#include "segmentd/api.h"
#include "segmentd/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    const char *method = "GET";
    char *path = s;
    char *nl = memchr(s, '\n', size);
    if (nl != NULL) {
        *nl = '\0';
        method = s;
        path = nl + 1;
    }
    struct sd_match *m = malloc(sizeof *m);
    if (m == NULL)
        abort();
    enum sd_route_match r = sd_router_match(sd_api_routes, sd_api_routes_count, method, path, m);
    if (r == SD_MATCH_OK) {
        if (m->route == NULL || m->route_index >= sd_api_routes_count ||
            m->nparams > SD_MAX_PATH_PARAMS)
            abort();
        for (size_t i = 0; i < m->nparams; i++)
            if (memchr(m->params[i], '\0', SD_MAX_SEGMENT) == NULL || !sd_utf8_valid(m->params[i]))
                abort();
    } else if (r == SD_MATCH_BAD_METHOD) {
        if (memchr(m->allow, '\0', sizeof m->allow) == NULL)
            abort();
    }
    size_t len = strlen(path);
    char small[16], *big = malloc(len + 1);
    if (big == NULL)
        abort();
    if (sd_url_decode(path, len, big, len + 1, true) && strlen(big) > len)
        abort();
    (void)sd_url_decode(path, len, small, sizeof small, false);
    (void)sd_utf8_valid(s);
    free(big);
    free(m);
    free(s);
    return 0;
}
