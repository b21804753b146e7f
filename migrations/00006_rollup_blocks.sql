-- Additive: rollup buckets stored eight to a row, in binary
-- (internal/core/rollup_block.go), replacing migration 00005's
-- rechist_rollup (one JSON bucket a row): a year of hourly buckets is
-- 1,095 rows rather than 8,760, and about a third of the bytes.
--   rechist_rollup_block  per record and tier width, the buckets from
--                         block_ms (aligned to eight widths from the
--                         epoch) on, in data. A rowid table: a block
--                         (about 700 bytes for one numeric field) fits a
--                         1 KiB page's row, where WITHOUT ROWID would
--                         spill all but ~230 bytes to an overflow page,
--                         which SQLite reads with a system call each time.
-- 00005's buckets were never in a release: they are not converted. The
-- tiers are started again (no cursor, no tier rows), so the next rollup
-- fills them from the raw rows still there, complete from each record's
-- horizon on, as for a policy set now.

-- +goose Up
DROP TABLE IF EXISTS rechist_rollup;
DELETE FROM rechist_rollup_tier;
DELETE FROM rechist_rollup_cursor;

CREATE TABLE IF NOT EXISTS rechist_rollup_block (
    record_name TEXT    NOT NULL,
    every_ms    INTEGER NOT NULL,
    block_ms    INTEGER NOT NULL,
    data        BLOB    NOT NULL,
    PRIMARY KEY (record_name, every_ms, block_ms)
);

-- +goose Down
-- Nothing: dropping the table would lose the rollups of raw rows
-- retention has deleted since.
