/* The route table: every endpoint, the access it demands, and how it runs. */
#include "handlers.h"
#include "segmentd/api.h"

#define PUBLIC SD_ACCESS_PUBLIC
#define READ SD_ACCESS_READ
#define INGEST SD_ACCESS_INGEST
#define ADMIN SD_ACCESS_ADMIN
#define BOOTSTRAP SD_ACCESS_BOOTSTRAP
#define INLINE SD_ROUTE_INLINE
#define JSON SD_ROUTE_JSON
#define ANYTIME SD_ROUTE_ANYTIME

const struct sd_route sd_api_routes[] = {
    /* operations: no key */
    {"GET", "/healthz", PUBLIC, INLINE | ANYTIME, api_healthz},
    {"GET", "/readyz", PUBLIC, ANYTIME, api_readyz},
    {"GET", "/metrics", PUBLIC, INLINE | ANYTIME, api_metrics},
    {"GET", "/openapi.yaml", PUBLIC, INLINE | ANYTIME, api_openapi},

    /* ingest */
    {"POST", "/v1/purchases", INGEST, JSON, api_purchases_create},
    {"POST", "/v1/cancellations", INGEST, JSON, api_cancellations_create},

    /* the matrix */
    {"GET", "/v1/matrices/{kind}", READ, 0, api_matrices_get},
    {"PUT", "/v1/matrices/{kind}", ADMIN, JSON, api_matrices_put},
    {"GET", "/v1/matrices/{kind}/versions", READ, 0, api_matrices_versions},
    {"GET", "/v1/matrices/{kind}/suggestion", READ, 0, api_matrices_suggestion},

    /* the CRM's read side */
    {"GET", "/v1/segments", READ, 0, api_segments_report},
    {"GET", "/v1/segments/{frequency}/{recency}/customers", READ, 0, api_segments_customers},
    {"GET", "/v1/customers/{customer_id}", READ, 0, api_customers_get},
    {"PATCH", "/v1/customers/{customer_id}", INGEST, JSON, api_customers_patch},
    {"DELETE", "/v1/customers/{customer_id}", ADMIN, 0, api_customers_delete},

    /* keys of the caller's workspace */
    {"POST", "/v1/keys", ADMIN, JSON, api_keys_create},
    {"GET", "/v1/keys", ADMIN, 0, api_keys_list},
    {"DELETE", "/v1/keys/{id}", ADMIN, 0, api_keys_delete},

    /* workspaces: the bootstrap key only */
    {"POST", "/v1/workspaces", BOOTSTRAP, JSON, api_workspaces_create},
    {"GET", "/v1/workspaces", BOOTSTRAP, 0, api_workspaces_list},
    {"GET", "/v1/workspaces/{name}", BOOTSTRAP, 0, api_workspaces_get},
    {"PATCH", "/v1/workspaces/{name}", BOOTSTRAP, JSON, api_workspaces_update},
    {"DELETE", "/v1/workspaces/{name}", BOOTSTRAP, 0, api_workspaces_delete},
};

const size_t sd_api_routes_count = sizeof sd_api_routes / sizeof sd_api_routes[0];
