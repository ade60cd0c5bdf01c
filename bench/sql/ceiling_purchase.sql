-- pgbench ceiling for POST /v1/purchases with B purchases per request (B = :batch, 1 for a single
-- purchase): exactly the statements segmentd sends for a request (src/store/purchases.c,
-- src/store/changes.c, src/store/common.c), with the same SQL text, the same round trips and the
-- same values in every indexed or counted column:
--   [key lookup, autocommit, own round trip: only with -D keylookup=1; segmentd remembers a key for
--    [auth] key_cache_ttl (5 s), so it almost never runs it];
--   pipeline 1: BEGIN; shared matrix lock; matrix versions; create customers; lock them; insert
--               orders; read the stored orders;
--   pipeline 2: customers UPDATE; transitions INSERT (when the cell changes); counter upsert on a
--               random stripe of 16; COMMIT.
-- pgbench cannot read results inside a pipeline (\gset is refused there), so customers are taken
-- round robin from a pre-created population instead of at random: client c owns customers
-- c*:K+1 .. (c+1)*:K, and its k-th request buys for the next :batch of them. Every customer of a
-- request then has the same, known number of purchases :p, and the script sends precisely the
-- statements and rows segmentd computes for that state (bench/lua/purchase.lua uses the same
-- scheme). Timestamps that no index or counter reads (first_purchase_at, cell_since) are now().
-- Variables (-D): ws, off and base (customer n has external_id off + n and id base + n), K,
-- batch, amount (cents), run (order-id prefix), keylookup, khash (the key's SHA-256, \x hex), k=0.
-- This file is a template: ceiling.pl turns it into the script for one batch size.
\set slots :K / :batch
\set p (:k / :slots) + 1
\set n0 :client_id * :K + (:k % :slots) * :batch + 1
\set oid0 :run * 10000000000000 + :client_id * 10000000000 + :k * :batch
\set k :k + 1
\set stripe random(0, 15)
\set cf case when :p = 1 then 1 when :p <= 3 then 2 else 3 end
\set pcf case when :p = 1 then 0 when :p = 2 then 1 when :p <= 4 then 2 else 3 end
\set mf case when :p * :amount < 10000 then 1 when :p * :amount < 100000 then 2 else 3 end
\set pmf case when (:p - 1) * :amount < 10000 then 1 when (:p - 1) * :amount < 100000 then 2 else 3 end
\set last :batch - 1
\set id0 :base + :n0
\set e0 :off + :n0
\set rev :p * :amount
\set brev :batch * :amount
\set cold -1 * :batch
\set oold -1 * :batch * (:p - 1)
\set rold -1 * :batch * (:p - 1) * :amount
\set onew :batch * :p
\set rnew :batch * :p * :amount
\if :keylookup
SELECT k.id, k.workspace_id, w.name, k.name, k.prefix, k.scopes, extract(epoch FROM k.created_at)::bigint FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id WHERE k.workspace_id = :ws::bigint AND k.key_hash = :khash::bytea;
\endif
\startpipeline
BEGIN;
SELECT pg_advisory_xact_lock_shared(1397049167, (:ws::bigint % 2147483647)::int);
SELECT kind, max(version) FROM matrices WHERE workspace_id = :ws::bigint GROUP BY kind;
INSERT INTO customers (workspace_id, external_id, kind) SELECT :ws::bigint, u.ext, u.kind FROM unnest(ARRAY(SELECT (:e0::bigint + g)::text FROM generate_series(0, :last) g)::text[], ARRAY(SELECT 'b2c' FROM generate_series(0, :last) g)::text[]) AS u(ext, kind) ORDER BY u.ext ON CONFLICT (workspace_id, external_id) DO NOTHING;
SELECT id, external_id, kind, purchases, revenue_cents, (extract(epoch FROM first_purchase_at) * 1000000)::bigint, (extract(epoch FROM last_purchase_at) * 1000000)::bigint, coalesce(cell, ''), coalesce(monetary, ''), (extract(epoch FROM cell_since) * 1000000)::bigint FROM customers WHERE workspace_id = :ws::bigint AND external_id = ANY(ARRAY(SELECT (:e0::bigint + g)::text FROM generate_series(0, :last) g)::text[]) ORDER BY external_id FOR UPDATE;
INSERT INTO orders (workspace_id, customer_id, order_id, amount, purchased_at) SELECT :ws::bigint, c.id, u.oid, u.cents / 100.0, u.at FROM unnest(ARRAY(SELECT (:e0::bigint + g)::text FROM generate_series(0, :last) g)::text[], ARRAY(SELECT (:oid0::bigint + g)::text FROM generate_series(0, :last) g)::text[], ARRAY(SELECT :amount::bigint FROM generate_series(0, :last) g)::bigint[], ARRAY(SELECT now() FROM generate_series(0, :last) g)::timestamptz[]) AS u(ext, oid, cents, at) JOIN customers c ON c.workspace_id = :ws::bigint AND c.external_id = u.ext ON CONFLICT (workspace_id, customer_id, order_id) DO NOTHING RETURNING customer_id, order_id;
SELECT c.external_id, o.order_id, (o.amount * 100)::bigint, (extract(epoch FROM o.purchased_at) * 1000000)::bigint FROM unnest(ARRAY(SELECT (:e0::bigint + g)::text FROM generate_series(0, :last) g)::text[], ARRAY(SELECT (:oid0::bigint + g)::text FROM generate_series(0, :last) g)::text[]) AS u(ext, oid) JOIN customers c ON c.workspace_id = :ws::bigint AND c.external_id = u.ext JOIN orders o ON o.workspace_id = :ws::bigint AND o.customer_id = c.id AND o.order_id = u.oid;
\endpipeline
\startpipeline
UPDATE customers c SET kind = u.kind, purchases = u.purchases, revenue_cents = u.revenue, first_purchase_at = u.first_at, last_purchase_at = u.last_at, cell = u.cell, monetary = u.monetary, cell_since = u.cell_since, updated_at = now() FROM unnest(ARRAY(SELECT :id0::bigint + g FROM generate_series(0, :last) g)::bigint[], ARRAY(SELECT 'b2c' FROM generate_series(0, :last) g)::text[], ARRAY(SELECT :p::int FROM generate_series(0, :last) g)::int[], ARRAY(SELECT :rev::bigint FROM generate_series(0, :last) g)::bigint[], ARRAY(SELECT now() FROM generate_series(0, :last) g)::timestamptz[], ARRAY(SELECT now() FROM generate_series(0, :last) g)::timestamptz[], ARRAY(SELECT (ARRAY['new/active', 'promising/active', 'regular/active'])[:cf] FROM generate_series(0, :last) g)::text[], ARRAY(SELECT (ARRAY['low', 'mid', 'high'])[:mf] FROM generate_series(0, :last) g)::text[], ARRAY(SELECT now() FROM generate_series(0, :last) g)::timestamptz[]) AS u(id, kind, purchases, revenue, first_at, last_at, cell, monetary, cell_since) WHERE c.workspace_id = :ws::bigint AND c.id = u.id;
\if :p = 1 or :p = 2 or :p = 4
INSERT INTO transitions (workspace_id, customer_id, kind, from_cell, to_cell, at, reason) SELECT :ws::bigint, u.id, u.kind, u.from_cell, u.to_cell, u.at, 'purchase' FROM unnest(ARRAY(SELECT :id0::bigint + g FROM generate_series(0, :last) g)::bigint[], ARRAY(SELECT 'b2c' FROM generate_series(0, :last) g)::text[], ARRAY(SELECT (ARRAY['new/active', 'promising/active', 'regular/active'])[:pcf] FROM generate_series(0, :last) g)::text[], ARRAY(SELECT (ARRAY['new/active', 'promising/active', 'regular/active'])[:cf] FROM generate_series(0, :last) g)::text[], ARRAY(SELECT now() FROM generate_series(0, :last) g)::timestamptz[]) AS u(id, kind, from_cell, to_cell, at);
\endif
\if :p = 1
INSERT INTO cell_counts AS cc (workspace_id, kind, cell, monetary, stripe, customers, orders, revenue_cents) SELECT :ws::bigint, u.kind, u.cell, u.monetary, :stripe::smallint, u.customers, u.orders, u.revenue FROM unnest(ARRAY['b2c']::text[], ARRAY['new/active']::text[], ARRAY[(ARRAY['low', 'mid', 'high'])[:mf]]::text[], ARRAY[:batch]::bigint[], ARRAY[:batch]::bigint[], ARRAY[:brev]::bigint[]) AS u(kind, cell, monetary, customers, orders, revenue) ORDER BY u.kind, u.cell, u.monetary ON CONFLICT (workspace_id, kind, cell, monetary, stripe) DO UPDATE SET customers = cc.customers + EXCLUDED.customers, orders = cc.orders + EXCLUDED.orders, revenue_cents = cc.revenue_cents + EXCLUDED.revenue_cents;
\elif :cf != :pcf or :mf != :pmf
INSERT INTO cell_counts AS cc (workspace_id, kind, cell, monetary, stripe, customers, orders, revenue_cents) SELECT :ws::bigint, u.kind, u.cell, u.monetary, :stripe::smallint, u.customers, u.orders, u.revenue FROM unnest(ARRAY['b2c', 'b2c']::text[], ARRAY[(ARRAY['new/active', 'promising/active', 'regular/active'])[:pcf], (ARRAY['new/active', 'promising/active', 'regular/active'])[:cf]]::text[], ARRAY[(ARRAY['low', 'mid', 'high'])[:pmf], (ARRAY['low', 'mid', 'high'])[:mf]]::text[], ARRAY[:cold, :batch]::bigint[], ARRAY[:oold, :onew]::bigint[], ARRAY[:rold, :rnew]::bigint[]) AS u(kind, cell, monetary, customers, orders, revenue) ORDER BY u.kind, u.cell, u.monetary ON CONFLICT (workspace_id, kind, cell, monetary, stripe) DO UPDATE SET customers = cc.customers + EXCLUDED.customers, orders = cc.orders + EXCLUDED.orders, revenue_cents = cc.revenue_cents + EXCLUDED.revenue_cents;
\else
INSERT INTO cell_counts AS cc (workspace_id, kind, cell, monetary, stripe, customers, orders, revenue_cents) SELECT :ws::bigint, u.kind, u.cell, u.monetary, :stripe::smallint, u.customers, u.orders, u.revenue FROM unnest(ARRAY['b2c']::text[], ARRAY[(ARRAY['new/active', 'promising/active', 'regular/active'])[:cf]]::text[], ARRAY[(ARRAY['low', 'mid', 'high'])[:mf]]::text[], ARRAY[0]::bigint[], ARRAY[:batch]::bigint[], ARRAY[:brev]::bigint[]) AS u(kind, cell, monetary, customers, orders, revenue) ORDER BY u.kind, u.cell, u.monetary ON CONFLICT (workspace_id, kind, cell, monetary, stripe) DO UPDATE SET customers = cc.customers + EXCLUDED.customers, orders = cc.orders + EXCLUDED.orders, revenue_cents = cc.revenue_cents + EXCLUDED.revenue_cents;
\endif
COMMIT;
\endpipeline
