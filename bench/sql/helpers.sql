-- Helpers for the batch ceiling scripts (bench/sql/ceiling.pl): IMMUTABLE, so that with constant
-- arguments the planner evaluates them once and sees a constant array, as it sees segmentd's
-- array parameters (unnamed statements are planned with their parameter values).
CREATE SCHEMA IF NOT EXISTS bench;
CREATE OR REPLACE FUNCTION bench.seq_text(start bigint, n int) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT array_agg((start + g)::text ORDER BY g) FROM generate_series(0, n - 1) g $$;
CREATE OR REPLACE FUNCTION bench.seq_int8(start bigint, n int) RETURNS bigint[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT array_agg(start + g ORDER BY g) FROM generate_series(0, n - 1) g $$;
