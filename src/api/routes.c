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
    {"GET", "/healthz", PUBLIC, INLINE | ANYTIME, api_healthz, NULL},
    {"GET", "/readyz", PUBLIC, ANYTIME, api_readyz, NULL},
    {"GET", "/metrics", PUBLIC, INLINE | ANYTIME, api_metrics, NULL},
    {"GET", "/openapi.yaml", PUBLIC, INLINE | ANYTIME, api_openapi, NULL},

    /* the dashboard's files: no key (the page asks for one), no database */
    {"GET", "/", PUBLIC, INLINE | ANYTIME, api_web_index, NULL},
    {"GET", "/app.js", PUBLIC, INLINE | ANYTIME, api_web_js, NULL},
    {"GET", "/app.css", PUBLIC, INLINE | ANYTIME, api_web_css, NULL},

    /* ingest */
    {"POST", "/v1/purchases", INGEST, JSON, api_purchases_create, NULL},
    {"POST", "/v1/cancellations", INGEST, JSON, api_cancellations_create, NULL},
    {"POST", "/v1/imports", INGEST, SD_ROUTE_STREAM, api_imports_create, api_imports_preflight},
    {"GET", "/v1/imports/{id}", INGEST, 0, api_imports_get, NULL},

    /* the matrix */
    {"GET", "/v1/matrices/{kind}", READ, 0, api_matrices_get, NULL},
    {"PUT", "/v1/matrices/{kind}", ADMIN, JSON, api_matrices_put, NULL},
    {"GET", "/v1/matrices/{kind}/versions", READ, 0, api_matrices_versions, NULL},
    {"GET", "/v1/matrices/{kind}/suggestion", READ, 0, api_matrices_suggestion, NULL},

    /* the CRM's read side */
    {"GET", "/v1/segments", READ, 0, api_segments_report, NULL},
    {"GET", "/v1/segments/history", READ, 0, api_segments_history, NULL},
    {"GET", "/v1/segments/flows", READ, 0, api_segments_flows, NULL},
    {"GET", "/v1/segments/{frequency}/{recency}/customers", READ, 0, api_segments_customers, NULL},
    {"GET", "/v1/customers/{customer_id}", READ, 0, api_customers_get, NULL},
    {"PATCH", "/v1/customers/{customer_id}", INGEST, JSON, api_customers_patch, NULL},
    {"DELETE", "/v1/customers/{customer_id}", ADMIN, 0, api_customers_delete, NULL},

    /* KPIs and the shop's goals for them */
    {"GET", "/v1/kpis", READ, 0, api_kpis_get, NULL},
    {"GET", "/v1/kpi-targets", READ, 0, api_kpi_targets_get, NULL},
    {"PUT", "/v1/kpi-targets", ADMIN, JSON, api_kpi_targets_put, NULL},

    /* campaigns, their delivery log and the contact policy */
    {"GET", "/v1/campaign-templates", READ, 0, api_campaign_templates_list, NULL},
    {"POST", "/v1/campaigns", ADMIN, JSON, api_campaigns_create, NULL},
    {"GET", "/v1/campaigns", READ, 0, api_campaigns_list, NULL},
    {"GET", "/v1/campaigns/{id}", READ, 0, api_campaigns_get, NULL},
    {"PATCH", "/v1/campaigns/{id}", ADMIN, JSON, api_campaigns_update, NULL},
    {"DELETE", "/v1/campaigns/{id}", ADMIN, 0, api_campaigns_delete, NULL},
    {"POST", "/v1/campaigns/{id}/rotate-secret", ADMIN, 0, api_campaigns_rotate_secret, NULL},
    {"GET", "/v1/campaigns/{id}/deliveries", READ, 0, api_deliveries_list, NULL},
    {"POST", "/v1/deliveries/{id}/retry", ADMIN, 0, api_deliveries_retry, NULL},
    {"GET", "/v1/contact-policy", READ, 0, api_contact_policy_get, NULL},
    {"PUT", "/v1/contact-policy", ADMIN, JSON, api_contact_policy_put, NULL},

    /* keys of the caller's workspace */
    {"POST", "/v1/keys", ADMIN, JSON, api_keys_create, NULL},
    {"GET", "/v1/keys", ADMIN, 0, api_keys_list, NULL},
    {"DELETE", "/v1/keys/{id}", ADMIN, 0, api_keys_delete, NULL},

    /* workspaces: the bootstrap key only */
    {"POST", "/v1/workspaces", BOOTSTRAP, JSON, api_workspaces_create, NULL},
    {"GET", "/v1/workspaces", BOOTSTRAP, 0, api_workspaces_list, NULL},
    {"GET", "/v1/workspaces/{name}", BOOTSTRAP, 0, api_workspaces_get, NULL},
    {"PATCH", "/v1/workspaces/{name}", BOOTSTRAP, JSON, api_workspaces_update, NULL},
    {"DELETE", "/v1/workspaces/{name}", BOOTSTRAP, 0, api_workspaces_delete, NULL},
};

const size_t sd_api_routes_count = sizeof sd_api_routes / sizeof sd_api_routes[0];
