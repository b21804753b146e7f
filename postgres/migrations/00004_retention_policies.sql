-- Additive: retention policies, per pattern (DB.SetPolicy, rechist
-- retention), and the rollup tiers they keep: the same tables as the
-- SQLite engine's migration 00005 (see there for each), in PostgreSQL's
-- types. Every handle on the schema reads the policies on each retention
-- pass, so an application, `rechist serve` and `rechist cleanup` apply the
-- same ones.
--   COLLATE "C": bytewise order and equality, as SQLite's (Policies lists
--                them by pattern, then language, and tier names come in
--                the same order on both engines).

-- +goose Up
CREATE TABLE IF NOT EXISTS rechist_policy (
    pattern     TEXT COLLATE "C" NOT NULL,
    language    TEXT COLLATE "C" NOT NULL,
    raw_keep_ms BIGINT NOT NULL CHECK (raw_keep_ms >= 0),
    set_at_ms   BIGINT NOT NULL, -- Unix milliseconds
    tiers       TEXT COLLATE "C" NOT NULL DEFAULT '', -- "EVERY:KEEP,..." in ms, finest first
    PRIMARY KEY (pattern, language)
);

CREATE TABLE IF NOT EXISTS rechist_rollup_tier (
    record_name TEXT COLLATE "C" NOT NULL,
    every_ms    BIGINT NOT NULL,
    from_ms     BIGINT NOT NULL,
    PRIMARY KEY (record_name, every_ms)
);

CREATE TABLE IF NOT EXISTS rechist_rollup (
    record_name TEXT COLLATE "C" NOT NULL,
    every_ms    BIGINT NOT NULL,
    bucket_ms   BIGINT NOT NULL,
    state       TEXT NOT NULL,
    PRIMARY KEY (record_name, every_ms, bucket_ms)
);

CREATE TABLE IF NOT EXISTS rechist_rollup_cursor (
    slot INTEGER PRIMARY KEY CHECK (slot = 1), -- one row at most
    id   BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS rechist_rollup_horizon (
    record_name TEXT COLLATE "C" PRIMARY KEY,
    before_ms   BIGINT NOT NULL
);

-- +goose Down
-- Nothing: dropping the tables would lose the operator's policies and the
-- rollups of raw rows retention has deleted since. Older rechist versions
-- ignore them.
