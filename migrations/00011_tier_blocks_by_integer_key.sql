-- Additive for record_history: the rollup blocks of 00006 move to a table
-- keyed by one integer, so a block is one B-tree entry (found by one
-- integer seek) instead of a row plus an entry in a text-keyed index. A
-- late-row storm writes a block or two a row; each cost a seek of the
-- index, an insert into the table and one into the index.
--   rechist_tier_series  one row per record, tier width and era: an era
--                        is 2^31 blocks (8 buckets each) of that width,
--                        so a 1 s tier's era spans 544 years and every
--                        real series has one. series_id is stable: rows
--                        are removed only with all their blocks.
--   rechist_tier_block   block_key = series_id << 31 | the block's number
--                        within its era (block_ms / (8 * every_ms) mod
--                        2^31); data is 00006's, unchanged. A rowid table:
--                        a block (about 700 bytes for one numeric field)
--                        stays on its page (repo/tierkey.go).
-- Up moves every block; Down moves them back. Up may run again on a file
-- that has both tables and not 00006's (a version row deleted by hand):
-- it then moves nothing.

-- +goose Up
CREATE TABLE IF NOT EXISTS rechist_rollup_block (
    record_name TEXT    NOT NULL,
    every_ms    INTEGER NOT NULL,
    block_ms    INTEGER NOT NULL,
    data        BLOB    NOT NULL,
    PRIMARY KEY (record_name, every_ms, block_ms)
);

CREATE TABLE IF NOT EXISTS rechist_tier_series (
    series_id   INTEGER PRIMARY KEY,
    record_name TEXT    NOT NULL,
    every_ms    INTEGER NOT NULL,
    era         INTEGER NOT NULL,
    UNIQUE (record_name, every_ms, era)
);

CREATE TABLE IF NOT EXISTS rechist_tier_block (
    block_key INTEGER PRIMARY KEY,
    data      BLOB    NOT NULL
);

INSERT OR IGNORE INTO rechist_tier_series (record_name, every_ms, era)
SELECT DISTINCT record_name, every_ms, (block_ms / (8 * every_ms)) >> 31
FROM rechist_rollup_block
ORDER BY 1, 2, 3;

INSERT INTO rechist_tier_block (block_key, data)
SELECT (s.series_id << 31) | ((b.block_ms / (8 * b.every_ms)) & 2147483647), b.data
FROM rechist_rollup_block AS b
JOIN rechist_tier_series AS s
  ON s.record_name = b.record_name
 AND s.every_ms = b.every_ms
 AND s.era = (b.block_ms / (8 * b.every_ms)) >> 31;

DROP TABLE rechist_rollup_block;

-- +goose Down
CREATE TABLE IF NOT EXISTS rechist_rollup_block (
    record_name TEXT    NOT NULL,
    every_ms    INTEGER NOT NULL,
    block_ms    INTEGER NOT NULL,
    data        BLOB    NOT NULL,
    PRIMARY KEY (record_name, every_ms, block_ms)
);

INSERT INTO rechist_rollup_block (record_name, every_ms, block_ms, data)
SELECT s.record_name, s.every_ms,
       ((s.era << 31) | (b.block_key & 2147483647)) * 8 * s.every_ms, b.data
FROM rechist_tier_series AS s
JOIN rechist_tier_block AS b
  ON b.block_key BETWEEN s.series_id << 31 AND (s.series_id << 31) | 2147483647;

DROP TABLE rechist_tier_block;
DROP TABLE rechist_tier_series;
