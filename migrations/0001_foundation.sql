-- 0001: workspaces and API keys.
--
-- workspaces is small and shared by all workspaces (SCALE.md S4: a Citus reference table later);
-- every other table carries workspace_id and keys on it (S1, S2).

CREATE TABLE workspaces (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9_-]{1,63}$'),
    display_name text NOT NULL DEFAULT '' CHECK (length(display_name) <= 200),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

INSERT INTO workspaces (name, display_name) VALUES ('default', 'Default workspace');

-- Keys are stored as SHA-256 of the whole key, never in clear. The key itself carries its
-- workspace id (sdk_<workspace>_<secret>), so a lookup is routed to one workspace (SCALE.md Q1).
CREATE TABLE api_keys (
    workspace_id bigint NOT NULL REFERENCES workspaces (id),
    id           bigint GENERATED ALWAYS AS IDENTITY,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    prefix       text NOT NULL,
    key_hash     bytea NOT NULL CHECK (length(key_hash) = 32),
    scopes       text[] NOT NULL
                 CHECK (cardinality(scopes) >= 1 AND scopes <@ ARRAY['read', 'ingest', 'admin']),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, key_hash)
);
