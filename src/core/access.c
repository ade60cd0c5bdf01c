#include <string.h>

#include "segmentd/core_access.h"

static const struct {
    const char *name;
    unsigned bit;
} scope_names[] = {
    {"read", SD_SCOPE_READ},
    {"ingest", SD_SCOPE_INGEST},
    {"admin", SD_SCOPE_ADMIN},
};

unsigned sd_scope_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof scope_names / sizeof scope_names[0]; i++) {
        if (strcmp(name, scope_names[i].name) == 0)
            return scope_names[i].bit;
    }
    return 0;
}

const char *sd_scope_name(unsigned scope)
{
    for (size_t i = 0; i < sizeof scope_names / sizeof scope_names[0]; i++) {
        if (scope == scope_names[i].bit)
            return scope_names[i].name;
    }
    return NULL;
}

bool sd_access_allows(enum sd_access access, unsigned scopes, bool is_bootstrap)
{
    /* The bootstrap key is an admin of every workspace and the only manager of workspaces. */
    if (is_bootstrap)
        return true;
    switch (access) {
    case SD_ACCESS_PUBLIC:
        return true;
    case SD_ACCESS_READ:
        return (scopes & (SD_SCOPE_READ | SD_SCOPE_ADMIN)) != 0;
    case SD_ACCESS_INGEST:
        return (scopes & (SD_SCOPE_INGEST | SD_SCOPE_ADMIN)) != 0;
    case SD_ACCESS_ADMIN:
        return (scopes & SD_SCOPE_ADMIN) != 0;
    case SD_ACCESS_BOOTSTRAP:
        return false;
    }
    return false;
}

bool sd_workspace_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n < 1 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

bool sd_api_key_parse(const char *key, long long *workspace_id)
{
    if (strncmp(key, "sdk_", 4) != 0)
        return false;
    const char *p = key + 4;
    long long id = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
        if (++digits > 15)
            return false;
        id = id * 10 + (*p - '0');
        p++;
    }
    if (digits == 0 || id == 0 || *p != '_' || strlen(p + 1) < 32)
        return false;
    *workspace_id = id;
    return true;
}
