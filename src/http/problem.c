/* RFC 9457 problem documents. */
#include <string.h>

#include "segmentd/http.h"

static const struct {
    unsigned status;
    const char *phrase;
    const char *slug; /* the problem type, under /problems/ */
} statuses[] = {
    {400, "Bad Request", "bad-request"},
    {401, "Unauthorized", "unauthorized"},
    {403, "Forbidden", "forbidden"},
    {404, "Not Found", "not-found"},
    {405, "Method Not Allowed", "method-not-allowed"},
    {409, "Conflict", "conflict"},
    {410, "Gone", "gone"},
    {413, "Content Too Large", "content-too-large"},
    {414, "URI Too Long", "uri-too-long"},
    {415, "Unsupported Media Type", "unsupported-media-type"},
    {422, "Unprocessable Content", "validation-error"},
    {429, "Too Many Requests", "too-many-requests"},
    {431, "Request Header Fields Too Large", "headers-too-large"},
    {500, "Internal Server Error", "internal-error"},
    {503, "Service Unavailable", "service-unavailable"},
};

static int status_index(unsigned status)
{
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        if (statuses[i].status == status)
            return (int)i;
    }
    return -1;
}

const char *http_status_phrase(unsigned status)
{
    int i = status_index(status);
    return i >= 0 ? statuses[i].phrase : "Error";
}

json_t *http_problem_new(unsigned status, const char *detail, const char *request_id)
{
    int i = status_index(status);
    char type[96];
    if (i >= 0) {
        strcpy(type, "/problems/");
        strcat(type, statuses[i].slug);
    } else {
        strcpy(type, "about:blank");
    }
    json_t *doc = json_pack("{s:s, s:s, s:I}", "type", type, "title", http_status_phrase(status),
                            "status", (json_int_t)status);
    if (doc == NULL)
        return NULL;
    if (detail != NULL) {
        json_t *text = json_string(detail);
        if (text == NULL) { /* not UTF-8 (it may quote client input): keep the ASCII of it */
            char ascii[512];
            size_t n = 0;
            for (const char *p = detail; *p != '\0' && n + 1 < sizeof ascii; p++)
                ascii[n++] = (*p & 0x80) ? '?' : *p;
            ascii[n] = '\0';
            text = json_string(ascii);
        }
        json_object_set_new(doc, "detail", text);
    }
    if (request_id != NULL && request_id[0] != '\0')
        json_object_set_new(doc, "request_id", json_string(request_id));
    return doc;
}
