/* Private to src/api: every handler, one group per resource file. */
#ifndef SEGMENTD_API_HANDLERS_H
#define SEGMENTD_API_HANDLERS_H

#include "segmentd/http.h"

/* ops.c */
void api_healthz(struct sd_request *req);
void api_readyz(struct sd_request *req);
void api_metrics(struct sd_request *req);
void api_openapi(struct sd_request *req);

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

/* customers.c */
void api_customers_get(struct sd_request *req);
void api_customers_patch(struct sd_request *req);
void api_customers_delete(struct sd_request *req);

/* imports.c */
void api_imports_preflight(struct sd_request *req);
void api_imports_create(struct sd_request *req);
void api_imports_get(struct sd_request *req);

#endif
