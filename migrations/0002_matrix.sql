-- 0002: customers, orders, transitions, matrices, cell counters, imports.
--
-- Every table carries workspace_id and keys on it (SCALE.md S1–S3); foreign keys between them are
-- composite; no triggers (S5): aggregates, transitions and counters are written by the statements
-- that change them, in the same transaction.

-- The matrix of each (workspace, kind), versioned: the current one is the highest version. With no
-- row the built-in preset of SPEC §1 applies (version 0).
CREATE TABLE matrices (
    workspace_id bigint NOT NULL REFERENCES workspaces (id),
    kind         text NOT NULL CHECK (kind IN ('b2c', 'b2b')),
    version      integer NOT NULL CHECK (version > 0),
    definition   jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, kind, version)
);

-- fillfactor leaves room on each page so that updates which touch no indexed column (profile
-- fields, revenue, purchases) stay HOT (TRAPS.md).
CREATE TABLE customers (
    workspace_id      bigint NOT NULL REFERENCES workspaces (id),
    id                bigint GENERATED ALWAYS AS IDENTITY,
    -- COLLATE "C": lists are ordered byte-wise, the same in every database and in C (cursors).
    external_id       text COLLATE "C" NOT NULL CHECK (length(external_id) BETWEEN 1 AND 128),
    kind              text NOT NULL DEFAULT 'b2c' CHECK (kind IN ('b2c', 'b2b')),
    name              text,
    phone             text,
    email             text,
    birthday          date,
    contact_opt_out   boolean NOT NULL DEFAULT false,
    purchases         integer NOT NULL DEFAULT 0 CHECK (purchases >= 0),
    revenue_cents     bigint NOT NULL DEFAULT 0 CHECK (revenue_cents >= 0),
    first_purchase_at timestamptz,
    last_purchase_at  timestamptz,
    cell              text,
    monetary          text,
    cell_since        timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, external_id)
) WITH (fillfactor = 80);

-- Segment lists: a cell's customers in customer_id order (keyset pagination).
CREATE INDEX customers_by_cell ON customers (workspace_id, kind, cell, external_id)
    WHERE cell IS NOT NULL;
-- Time moves customers: next_change_at = last_purchase_at + the bound of the cell's recency band,
-- so the due customers of a cell are a range of this index (one probe per cell), and a change of
-- recency bounds rewrites only the customers whose cell changes — never a stored timestamp for
-- everyone.
CREATE INDEX customers_due ON customers (workspace_id, kind, cell, last_purchase_at)
    WHERE cell IS NOT NULL;

CREATE TABLE orders (
    workspace_id bigint NOT NULL,
    customer_id  bigint NOT NULL,
    order_id     text NOT NULL CHECK (length(order_id) BETWEEN 1 AND 128),
    amount       numeric(14, 2) NOT NULL CHECK (amount >= 0),
    purchased_at timestamptz NOT NULL,
    cancelled_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, customer_id, order_id),
    FOREIGN KEY (workspace_id, customer_id) REFERENCES customers (workspace_id, id)
);
-- KPIs count orders by purchase time.
CREATE INDEX orders_by_time ON orders (workspace_id, purchased_at) WHERE cancelled_at IS NULL;

CREATE TABLE transitions (
    workspace_id bigint NOT NULL,
    id           bigint GENERATED ALWAYS AS IDENTITY,
    customer_id  bigint NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('b2c', 'b2b')),
    from_cell    text,
    to_cell      text,
    at           timestamptz NOT NULL,
    reason       text NOT NULL CHECK (reason IN ('purchase', 'cancellation', 'time',
                                                 'matrix_change', 'import', 'profile')),
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, customer_id) REFERENCES customers (workspace_id, id)
);
CREATE INDEX transitions_by_customer ON transitions (workspace_id, customer_id, at DESC);
CREATE INDEX transitions_by_time ON transitions (workspace_id, kind, at);

-- The matrix report's figures, kept current by every change instead of a GROUP BY per request.
-- Each writer adds its delta to one of 16 stripes chosen at random, so first purchases do not all
-- queue on one new/active row (TRAPS.md: hot counter rows); the report sums the stripes.
CREATE TABLE cell_counts (
    workspace_id  bigint NOT NULL,
    kind          text NOT NULL,
    cell          text NOT NULL,
    monetary      text NOT NULL,
    stripe        smallint NOT NULL CHECK (stripe BETWEEN 0 AND 15),
    customers     bigint NOT NULL DEFAULT 0,
    orders        bigint NOT NULL DEFAULT 0,
    revenue_cents bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, kind, cell, monetary, stripe),
    FOREIGN KEY (workspace_id) REFERENCES workspaces (id)
);

CREATE TABLE imports (
    workspace_id bigint NOT NULL REFERENCES workspaces (id),
    id           bigint GENERATED ALWAYS AS IDENTITY,
    status       text NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    format       text NOT NULL CHECK (format IN ('csv', 'ndjson')),
    phase        text NOT NULL DEFAULT 'queued',
    bytes_total  bigint NOT NULL DEFAULT 0,
    bytes_read   bigint NOT NULL DEFAULT 0,
    rows         bigint NOT NULL DEFAULT 0,
    rejected     bigint NOT NULL DEFAULT 0,
    created      bigint NOT NULL DEFAULT 0,
    duplicates   bigint NOT NULL DEFAULT 0,
    conflicts    bigint NOT NULL DEFAULT 0,
    customers    bigint NOT NULL DEFAULT 0,
    errors       jsonb NOT NULL DEFAULT '[]',
    message      text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    PRIMARY KEY (workspace_id, id)
);
