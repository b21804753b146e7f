-- Rollup tiers (migrations 00005, 00006, 00007 and 00011): what core.TierStore and core.TierReader
-- run. Unprepared, as every query of a table newer than the files a
-- read-only open may meet. The writer runs the writes in the transaction
-- of a KindTiers request; RowsAfter (db.ChangesAfter), MaxID (db.LastID)
-- and Names (db.NamesAfter) reuse package db's queries.

-- name: RollupCursor :one
SELECT id FROM rechist_rollup_cursor WHERE only = 1;

-- name: SetRollupCursor :exec
INSERT INTO rechist_rollup_cursor (only, id) VALUES (1, CAST(@id AS INTEGER))
ON CONFLICT (only) DO UPDATE SET id = excluded.id;

-- name: RollupHorizon :one
SELECT before_ms FROM rechist_rollup_horizon
WHERE record_name = CAST(@name AS TEXT);

-- name: SetRollupHorizon :exec
INSERT INTO rechist_rollup_horizon (record_name, before_ms)
VALUES (CAST(@name AS TEXT), CAST(@before_ms AS INTEGER))
ON CONFLICT (record_name) DO UPDATE SET before_ms = excluded.before_ms;

-- name: RollupWidths :many
-- The widths of one record's tiers, ascending: a range of the primary key.
SELECT every_ms FROM rechist_rollup_tier
WHERE record_name = CAST(@name AS TEXT)
ORDER BY every_ms;

-- name: RollupTierFrom :one
SELECT from_ms FROM rechist_rollup_tier
WHERE record_name = CAST(@name AS TEXT) AND every_ms = CAST(@every_ms AS INTEGER);

-- name: SetRollupTier :exec
INSERT INTO rechist_rollup_tier (record_name, every_ms, from_ms)
VALUES (CAST(@name AS TEXT), CAST(@every_ms AS INTEGER), CAST(@from_ms AS INTEGER))
ON CONFLICT (record_name, every_ms) DO UPDATE SET from_ms = excluded.from_ms;

-- name: DeleteRollupTier :exec
-- With its blocks (DeleteRollupTierBlocks), in the same transaction.
DELETE FROM rechist_rollup_tier
WHERE record_name = CAST(@name AS TEXT) AND every_ms = CAST(@every_ms AS INTEGER);

-- name: RecordRowsByID :many
-- One record's rows within [start_ms, end_ms] whose id is in
-- (above_id, upto_id], in no order: an index range of idx_record_time,
-- the id tested on the index entry (its rowid). RecordRows of a rollup
-- (ids up to its cursor), and RowsAbove of Aggregate (ids above it) when
-- those are many (else RecentRecordRows).
SELECT id, record_name, value_json,
       CAST(stored_at AS INTEGER) AS stored_at -- a REAL from another program
FROM record_history
WHERE record_name = CAST(@name AS TEXT)
  AND stored_at >= CAST(@start_ms AS INTEGER)
  AND stored_at <= CAST(@end_ms AS INTEGER)
  AND id > CAST(@above_id AS INTEGER)
  AND id <= CAST(@upto_id AS INTEGER);

-- name: DeleteRolledUpChunk :execrows
-- At most chunk_size rows of one record stored before cutoff_ms whose id
-- is at most max_id (rolled up): an index range of idx_record_time.
DELETE FROM record_history
WHERE id IN (
    SELECT id FROM record_history
    WHERE record_name = CAST(@name AS TEXT)
      AND stored_at < CAST(@cutoff_ms AS INTEGER)
      AND id <= CAST(@max_id AS INTEGER)
    LIMIT CAST(@chunk_size AS INTEGER)
);

-- name: RecentRecordRows :many
-- RecordRowsByID's rows above above_id, read through the table's own
-- B-tree from above_id on (NOT INDEXED keeps SQLite off idx_record_time;
-- the rowid still seeks): the rows a rollup has not reached yet are the
-- newest ids, few when it keeps up, however many the record has in the
-- range. RowsAbove runs it when the ids above above_id are few.
SELECT id, record_name, value_json,
       CAST(stored_at AS INTEGER) AS stored_at -- a REAL from another program
FROM record_history NOT INDEXED
WHERE id > CAST(@above_id AS INTEGER)
  AND record_name = CAST(@name AS TEXT)
  AND stored_at >= CAST(@start_ms AS INTEGER)
  AND stored_at <= CAST(@end_ms AS INTEGER);

-- name: RollupNames :many
-- Up to page distinct names in [lo, hi), greater than after, of the
-- records that have tiers, whose raw rows may all be gone: a range of
-- rechist_rollup_tier's primary key (a few rows a record).
SELECT DISTINCT record_name FROM rechist_rollup_tier
WHERE record_name >= CAST(@lo AS TEXT)
  AND record_name > CAST(@after AS TEXT)
  AND record_name < CAST(@hi AS TEXT)
ORDER BY record_name
LIMIT CAST(@page AS INTEGER);

-- name: AddRollupFill :exec
-- A tier to fill from the record's raw rows (migration 00007).
INSERT INTO rechist_rollup_fill (record_name, every_ms)
VALUES (CAST(@name AS TEXT), CAST(@every_ms AS INTEGER))
ON CONFLICT (record_name, every_ms) DO NOTHING;

-- name: DeleteRollupFill :exec
DELETE FROM rechist_rollup_fill
WHERE record_name = CAST(@name AS TEXT) AND every_ms = CAST(@every_ms AS INTEGER);

-- name: RollupFillWidths :many
-- The widths of one record's tiers waiting to be filled: a range of the
-- primary key.
SELECT every_ms FROM rechist_rollup_fill
WHERE record_name = CAST(@name AS TEXT)
ORDER BY every_ms;

-- name: FirstRollupFill :one
-- The first tier waiting to be filled, by name and width.
SELECT record_name, every_ms FROM rechist_rollup_fill
ORDER BY record_name, every_ms
LIMIT 1;

-- The blocks (migration 00011): each stored under one integer,
-- block_key = series_id << 31 | its number within the series' era
-- (repo/tierkey.go computes keys and bounds).

-- name: TierSeries :many
-- The series of one record's tier whose era is within [from_era, to_era],
-- by era: a range of the unique index (one row for every real tier).
SELECT series_id, era FROM rechist_tier_series
WHERE record_name = CAST(@name AS TEXT)
  AND every_ms = CAST(@every_ms AS INTEGER)
  AND era >= CAST(@from_era AS INTEGER)
  AND era <= CAST(@to_era AS INTEGER)
ORDER BY era;

-- name: AddTierSeries :one
INSERT INTO rechist_tier_series (record_name, every_ms, era)
VALUES (CAST(@name AS TEXT), CAST(@every_ms AS INTEGER), CAST(@era AS INTEGER))
RETURNING series_id;

-- name: DeleteTierSeries :exec
-- With their blocks (DeleteTierBlocks), in the same transaction.
DELETE FROM rechist_tier_series
WHERE record_name = CAST(@name AS TEXT) AND every_ms = CAST(@every_ms AS INTEGER);

-- name: TierBlocks :many
-- Hot: a range of block keys (one series' blocks in time order).
SELECT block_key, data FROM rechist_tier_block
WHERE block_key >= CAST(@from_key AS INTEGER) AND block_key <= CAST(@to_key AS INTEGER)
ORDER BY block_key;

-- name: TierBlocksAt :many
-- Hot: the blocks of the keys, a JSON array of integers: one statement for
-- the blocks of a whole rollup step (a late-row storm touches a block or
-- two a row), each an integer seek.
SELECT block_key, data FROM rechist_tier_block
WHERE block_key IN (SELECT value FROM json_each(CAST(@keys AS TEXT)));

-- name: FirstTierBlock :one
SELECT block_key, data FROM rechist_tier_block
WHERE block_key >= CAST(@from_key AS INTEGER) AND block_key <= CAST(@to_key AS INTEGER)
ORDER BY block_key LIMIT 1;

-- name: LastTierBlock :one
SELECT block_key, data FROM rechist_tier_block
WHERE block_key >= CAST(@from_key AS INTEGER) AND block_key <= CAST(@to_key AS INTEGER)
ORDER BY block_key DESC LIMIT 1;

-- name: PutTierBlock :exec
-- Hot: one upsert of the table's own B-tree per block a rollup touches.
INSERT INTO rechist_tier_block (block_key, data)
VALUES (CAST(@block_key AS INTEGER), CAST(@data AS BLOB))
ON CONFLICT (block_key) DO UPDATE SET data = excluded.data;

-- name: PutTierBlocks8 :exec
-- Eight blocks in one statement: PutBlocks writes a step's blocks eight at
-- a time (one statement's overhead for eight), the rest one by one.
INSERT INTO rechist_tier_block (block_key, data) VALUES
    (CAST(@k1 AS INTEGER), CAST(@d1 AS BLOB)),
    (CAST(@k2 AS INTEGER), CAST(@d2 AS BLOB)),
    (CAST(@k3 AS INTEGER), CAST(@d3 AS BLOB)),
    (CAST(@k4 AS INTEGER), CAST(@d4 AS BLOB)),
    (CAST(@k5 AS INTEGER), CAST(@d5 AS BLOB)),
    (CAST(@k6 AS INTEGER), CAST(@d6 AS BLOB)),
    (CAST(@k7 AS INTEGER), CAST(@d7 AS BLOB)),
    (CAST(@k8 AS INTEGER), CAST(@d8 AS BLOB))
ON CONFLICT (block_key) DO UPDATE SET data = excluded.data;

-- name: DeleteTierBlocks :execrows
DELETE FROM rechist_tier_block
WHERE block_key >= CAST(@from_key AS INTEGER) AND block_key <= CAST(@to_key AS INTEGER);

-- name: TierUsage :many
-- Per record and tier, its blocks and their data's bytes: every series and
-- its range of keys, read by rechist retention's listing (length of a blob
-- needs no overflow page).
SELECT s.record_name, s.every_ms, COUNT(*) AS blocks, CAST(SUM(length(b.data)) AS INTEGER) AS bytes
FROM rechist_tier_series AS s
JOIN rechist_tier_block AS b
  ON b.block_key >= s.series_id << 31 AND b.block_key <= (s.series_id << 31) | 2147483647
GROUP BY s.record_name, s.every_ms
ORDER BY s.record_name, s.every_ms;
