-- Additive: tiers waiting to be filled from raw rows: the SQLite engine's
-- migration 00007 (see there), in PostgreSQL's types.

-- +goose Up
CREATE TABLE IF NOT EXISTS rechist_rollup_fill (
    record_name TEXT COLLATE "C" NOT NULL,
    every_ms    BIGINT NOT NULL,
    PRIMARY KEY (record_name, every_ms)
);

-- +goose Down
-- Nothing: the marks are tiers still to fill; without them a later
-- rollup would take such a tier for complete. Up again finds the table.
