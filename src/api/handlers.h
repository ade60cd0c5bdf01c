/* Private to src/api: every handler, one group per resource file. */
#ifndef SEGMENTD_API_HANDLERS_H
#define SEGMENTD_API_HANDLERS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "segmentd/http.h"

/* ops.c */
void api_healthz(struct sd_request *req);
void api_readyz(struct sd_request *req);
void api_metrics(struct sd_request *req);
void api_openapi(struct sd_request *req);

/* web.c: the dashboard's files */
void api_web_index(struct sd_request *req);
void api_web_js(struct sd_request *req);
void api_web_css(struct sd_request *req);

/* keys.c */
void api_keys_create(struct sd_request *req);
void api_keys_list(struct sd_request *req);
void api_keys_delete(struct sd_request *req);

/* workspaces.c */
void api_workspaces_create(struct sd_request *req);
void api_workspaces_list(struct sd_request *req);
void api_workspaces_get(struct sd_request *req);
void api_workspaces_update(struct sd_request *req);
void api_workspaces_delete(struct sd_request *req);

/* purchases.c */
void api_purchases_create(struct sd_request *req);
void api_cancellations_create(struct sd_request *req);

/* matrices.c */
void api_matrices_get(struct sd_request *req);
void api_matrices_put(struct sd_request *req);
void api_matrices_versions(struct sd_request *req);
void api_matrices_suggestion(struct sd_request *req);

/* segments.c */
void api_segments_report(struct sd_request *req);
void api_segments_customers(struct sd_request *req);

/* segments_history.c */
void api_segments_history(struct sd_request *req);
void api_segments_flows(struct sd_request *req);

/* kpis.c */
void api_kpis_get(struct sd_request *req);
void api_kpi_targets_get(struct sd_request *req);
void api_kpi_targets_put(struct sd_request *req);

/* customers.c */
void api_customers_get(struct sd_request *req);
void api_customers_patch(struct sd_request *req);
void api_customers_delete(struct sd_request *req);

/* campaigns.c */
void api_campaigns_create(struct sd_request *req);
void api_campaigns_list(struct sd_request *req);
void api_campaigns_get(struct sd_request *req);
void api_campaigns_update(struct sd_request *req);
void api_campaigns_delete(struct sd_request *req);
void api_campaigns_rotate_secret(struct sd_request *req);
void api_campaign_templates_list(struct sd_request *req);
/* Shared with contact_policy.c: "max_messages" ({"count": 1..1000, "per_days": 1..3650} or
 * null → count 0) read into *count and *per_ms, errors under `pointer`; false on an error. */
bool api_parse_max_messages(json_t *v, const char *pointer, int *count, int64_t *per_ms,
                            struct sd_errors *errs);
/* The same rendered (new reference): the object, or null when count is 0. */
json_t *api_render_max_messages(int count, int64_t per_ms);

/* contact_policy.c */
void api_contact_policy_get(struct sd_request *req);
void api_contact_policy_put(struct sd_request *req);

/* deliveries.c */
void api_deliveries_list(struct sd_request *req);
void api_deliveries_retry(struct sd_request *req);
/* Shared with customers.c: one delivery row of the store's delivery-log layout
 * (store_campaigns.h), without attempts, as JSON (new reference). */
json_t *api_render_delivery(const PGresult *res, int row, bool with_campaign_name);

/* imports.c */
void api_imports_preflight(struct sd_request *req);
void api_imports_create(struct sd_request *req);
void api_imports_get(struct sd_request *req);

#endif
