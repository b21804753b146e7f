-- Additive: rollup buckets stored eight to a row, in binary, replacing
-- migration 00004's rechist_rollup: the SQLite engine's migration 00006
-- (see there), in PostgreSQL's types.

-- +goose Up
DROP TABLE IF EXISTS rechist_rollup;
DELETE FROM rechist_rollup_tier;
DELETE FROM rechist_rollup_cursor;

CREATE TABLE IF NOT EXISTS rechist_rollup_block (
    record_name TEXT COLLATE "C" NOT NULL,
    every_ms    BIGINT NOT NULL,
    block_ms    BIGINT NOT NULL,
    data        BYTEA NOT NULL,
    PRIMARY KEY (record_name, every_ms, block_ms)
);

-- +goose Down
-- Nothing: dropping the table would lose the rollups of raw rows
-- retention has deleted since.
