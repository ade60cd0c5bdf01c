-- 0004: the workspace's written KPI goals (GET/PUT /v1/kpi-targets).
--
-- One row per workspace holding the whole set as a JSON object ({"active_share": 0.3, …}), the
-- way contact_policies holds the policy: a PUT replaces the set in one upsert, and "never set"
-- (no row: the default goals apply) stays distinct from "set to nothing" ({}). Keys and value
-- ranges are validated by the API. Same rules as 0002 (SCALE.md): workspace_id is the key, no
-- triggers (updated_at is written by the upsert).
--
-- The KPIs need no new index: they read the orders of the period and the one before through
-- orders_by_time (workspace_id, purchased_at) WHERE cancelled_at IS NULL, joined to customers for
-- the kind and first_purchase_at ("first order ever" without reading older history). A covering
-- index on customers (workspace_id, kind, id) INCLUDE (first_purchase_at) saved about a third of
-- a 30-day query on a freshly vacuumed table, less once ingest has dirtied the visibility map, and
-- would tax every purchase: not worth it.

CREATE TABLE kpi_targets (
    workspace_id bigint NOT NULL REFERENCES workspaces (id),
    targets      jsonb NOT NULL CHECK (jsonb_typeof(targets) = 'object'),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id)
);
