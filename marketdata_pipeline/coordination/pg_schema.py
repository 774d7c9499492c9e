"""The Postgres backend's tables, and the budget's one-statement take (`md_budget_take`).

The take locks the budget's row, then reads, prunes and inserts grants, all inside one
function called by one statement: under READ COMMITTED each statement of the function sees
what the previous holder of the row lock committed, so no two takers see the same window.
Times are the database's clock (`clock_timestamp()`), so machines' clocks never matter.
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS md_budgets (
    key text PRIMARY KEY,
    paused_until double precision NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS md_grants (
    key text NOT NULL,
    ts double precision NOT NULL,
    weight double precision NOT NULL  -- ccxt charges fractional costs
);
CREATE INDEX IF NOT EXISTS md_grants_key_ts ON md_grants (key, ts);
CREATE TABLE IF NOT EXISTS md_names (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS md_counters (
    name text NOT NULL,
    labels jsonb NOT NULL,
    value double precision NOT NULL,
    PRIMARY KEY (name, labels)
);
CREATE TABLE IF NOT EXISTS md_beats (
    name text PRIMARY KEY,
    at double precision NOT NULL,
    payload jsonb NOT NULL
);
CREATE OR REPLACE FUNCTION md_now() RETURNS double precision
LANGUAGE sql VOLATILE AS $$ SELECT extract(epoch FROM clock_timestamp())::double precision $$;
CREATE OR REPLACE FUNCTION md_budget_take(
    k text, w double precision, budget double precision, win double precision
) RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    now_s double precision;
    paused double precision;
    excess double precision;
    ends double precision;
BEGIN
    INSERT INTO md_budgets (key) VALUES (k) ON CONFLICT (key) DO NOTHING;
    SELECT paused_until INTO paused FROM md_budgets WHERE key = k FOR UPDATE;
    now_s := md_now();  -- after the row lock: the grant is stamped when it is decided
    IF paused > now_s THEN
        RETURN paused - now_s;
    END IF;
    DELETE FROM md_grants WHERE key = k AND ts <= now_s - win;
    -- A request heavier than the whole window goes alone into an empty window.
    SELECT coalesce(sum(weight), 0) + least(w, budget) - budget INTO excess
        FROM md_grants WHERE key = k;
    IF excess <= 0 THEN
        INSERT INTO md_grants VALUES (k, now_s, w);
        RETURN 0;
    END IF;
    -- The grant whose end frees enough weight.
    SELECT g.ts INTO ends FROM (
        SELECT ts, sum(weight) OVER (ORDER BY ts ROWS UNBOUNDED PRECEDING) AS freed
        FROM md_grants WHERE key = k
    ) g WHERE g.freed >= excess ORDER BY g.ts LIMIT 1;
    RETURN greatest(ends + win - now_s, 0.001);
END $$;
"""

# Advisory locks take two int4 keys: a namespace, and the id of the name in md_names.
SERIES_LOCKS = 0x6D64  # "md"
LEASES = 0x6D65
