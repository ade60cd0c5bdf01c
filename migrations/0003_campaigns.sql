-- 0003: campaigns, the contact policy, the webhook outbox and its attempt log, daily segment sizes.
--
-- Same rules as 0002 (SCALE.md): workspace_id first in every key, composite foreign keys, no
-- triggers. The outbox (deliveries) is written by the statement that records the transition, in
-- the same transaction; the dispatcher claims it with a lease.

CREATE TABLE campaigns (
    workspace_id     bigint NOT NULL REFERENCES workspaces (id),
    id               bigint GENERATED ALWAYS AS IDENTITY,
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind             text NOT NULL CHECK (kind IN ('b2c', 'b2b')),
    cells            text[] NOT NULL,
    -- trigger: 'enter'; 'schedule' with every_ms; 'date' with date_field ('birthday') or
    -- month_day ('MM-DD'), and days_before.
    trigger_type     text NOT NULL CHECK (trigger_type IN ('enter', 'schedule', 'date')),
    every_ms         bigint CHECK (every_ms > 0),
    date_field       text CHECK (date_field IN ('birthday')),
    month_day        text CHECK (month_day ~ '^[0-9]{2}-[0-9]{2}$'),
    days_before      integer NOT NULL DEFAULT 0 CHECK (days_before BETWEEN 0 AND 366),
    channel          text NOT NULL CHECK (channel IN ('email', 'sms', 'messenger', 'call',
                                                      'chatbot', 'remarketing')),
    strategy         text,
    action           text,
    template         text,
    webhook_url      text NOT NULL,
    max_count        integer CHECK (max_count > 0),
    max_per_ms       bigint CHECK (max_per_ms > 0),
    reentry          text NOT NULL DEFAULT 'after_exit'
                     CHECK (reentry IN ('after_exit', 'once', 'always')),
    active           boolean NOT NULL DEFAULT true,
    paused_reason    text,
    -- The signing secret, and the previous one while it still signs (24 h after a rotation).
    secret           text NOT NULL,
    previous_secret  text,
    previous_until   timestamptz,
    -- Endpoint health: the first failure since the last success (NULL: healthy).
    failing_since    timestamptz,
    last_success_at  timestamptz,
    -- schedule and date triggers: when the next run is due.
    next_run_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id)
);
-- Enqueueing finds the active campaigns of a kind and trigger.
CREATE INDEX campaigns_active ON campaigns (workspace_id, kind, trigger_type) WHERE active;

-- One row per workspace; no row = no limits and no quiet hours.
CREATE TABLE contact_policies (
    workspace_id   bigint NOT NULL REFERENCES workspaces (id),
    max_count      integer CHECK (max_count > 0),
    max_per_ms     bigint CHECK (max_per_ms > 0),
    quiet_from_min integer CHECK (quiet_from_min BETWEEN 0 AND 1439),
    quiet_to_min   integer CHECK (quiet_to_min BETWEEN 0 AND 1439),
    timezone       text,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id)
);

-- The outbox. `body` is text, not jsonb: it is the exact byte string that is signed and sent, the
-- same on every attempt. status: pending (waiting for its first attempt, or for quiet hours to
-- end), failed (an attempt failed; the next is due at due_at), delivered, suppressed (held back
-- by a rule; `reason` says which), dead (the retry schedule is exhausted).
CREATE TABLE deliveries (
    workspace_id  bigint NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    campaign_id   bigint NOT NULL,
    customer_id   bigint NOT NULL,
    msg_id        text NOT NULL,
    event_type    text NOT NULL,
    from_cell     text,
    to_cell       text,
    -- schedule and date triggers: the period or occasion this delivery is for (NULL for enter).
    occasion      text,
    body          text NOT NULL,
    status        text NOT NULL CHECK (status IN ('pending', 'failed', 'delivered', 'suppressed',
                                                  'dead')),
    reason        text,
    attempts      integer NOT NULL DEFAULT 0,
    due_at        timestamptz NOT NULL,
    lease_owner   text,
    lease_until   timestamptz,
    last_status   integer,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    delivered_at  timestamptz,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, campaign_id) REFERENCES campaigns (workspace_id, id),
    FOREIGN KEY (workspace_id, customer_id) REFERENCES customers (workspace_id, id)
);
-- The dispatcher's claims: only rows that still have to go out are in the index.
CREATE INDEX deliveries_due ON deliveries (workspace_id, due_at)
    WHERE status IN ('pending', 'failed');
-- The delivery log of a campaign, newest first, and the contact history of a customer (limits).
CREATE INDEX deliveries_by_campaign ON deliveries (workspace_id, campaign_id, created_at DESC, id DESC);
CREATE INDEX deliveries_by_customer ON deliveries (workspace_id, customer_id, created_at DESC);
-- A schedule period or dated occasion is enqueued once per customer, whichever process runs it.
CREATE UNIQUE INDEX deliveries_occasion ON deliveries (workspace_id, campaign_id, customer_id, occasion)
    WHERE occasion IS NOT NULL;

CREATE TABLE delivery_attempts (
    workspace_id bigint NOT NULL,
    id           bigint GENERATED ALWAYS AS IDENTITY,
    delivery_id  bigint NOT NULL,
    at           timestamptz NOT NULL,
    status_code  integer,
    latency_ms   integer NOT NULL,
    error        text,
    process      text,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, delivery_id) REFERENCES deliveries (workspace_id, id)
);
CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (workspace_id, delivery_id, at);

-- Daily size of every cell (the dynamics chart): one row per workspace, kind, cell and UTC day,
-- written once (ON CONFLICT DO NOTHING), whichever process gets there first.
CREATE TABLE segment_snapshots (
    workspace_id bigint NOT NULL REFERENCES workspaces (id),
    day          date NOT NULL,
    kind         text NOT NULL,
    cell         text NOT NULL,
    customers    bigint NOT NULL,
    taken_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, day, kind, cell)
);
