-- Sync: a source's identity, and a destination's cursor per source.

-- name: SourceID :one
SELECT value FROM rechist_meta WHERE key = 'source_id';

-- name: SyncCursor :one
SELECT last_id, last_hash, rows_sent, rows_missed, updated_at
FROM rechist_sync_cursor
WHERE source_id = CAST(@source_id AS TEXT);

-- name: SyncCursorWithEpoch :one
-- SyncCursor and SyncCursorEpoch in one statement (one snapshot): what a
-- sync reads of its destination before it pushes.
SELECT c.last_id, c.last_hash, c.rows_sent, c.rows_missed, c.updated_at,
       CAST(COALESCE(e.last_epoch, '') AS TEXT) AS last_epoch
FROM rechist_sync_cursor AS c
LEFT JOIN rechist_sync_cursor_epoch AS e ON e.source_id = c.source_id
WHERE c.source_id = CAST(@source_id AS TEXT);

-- name: SetSyncCursor :exec
-- Written by the writer in the transaction of the rows it covers, after it
-- has checked (SyncCursor, same transaction) that the cursor is where the
-- sync expects it.
INSERT INTO rechist_sync_cursor (source_id, last_id, last_hash, rows_sent, rows_missed, updated_at)
VALUES (CAST(@source_id AS TEXT), CAST(@last_id AS INTEGER), CAST(@last_hash AS TEXT),
        CAST(@rows_sent AS INTEGER), CAST(@rows_missed AS INTEGER), CAST(@updated_at AS INTEGER))
ON CONFLICT (source_id) DO UPDATE SET
    last_id = excluded.last_id,
    last_hash = excluded.last_hash,
    rows_sent = excluded.rows_sent,
    rows_missed = excluded.rows_missed,
    updated_at = excluded.updated_at;

-- name: IDHighWater :one
-- The highest id ever handed out (AUTOINCREMENT's sqlite_sequence), which
-- deleting rows does not lower: a sync destination holding a higher id of
-- this source proves the file is an older copy.
SELECT CAST(COALESCE((SELECT MAX(seq) FROM sqlite_sequence
                      WHERE name = 'record_history'), 0) AS INTEGER) AS high_water;

-- name: SetSourceID :exec
-- A new identity as a sync source (DB.NewSourceID), through the writer.
INSERT INTO rechist_meta (key, value) VALUES ('source_id', CAST(@id AS TEXT))
ON CONFLICT (key) DO UPDATE SET value = excluded.value;

-- name: StartSyncEpoch :exec
-- A new epoch of the file's row ids, from the next id on: written by the
-- writer in the transaction of a DB handle's first rows, before them, under
-- SQLite's write lock. An epoch at that id has no rows yet (AUTOINCREMENT
-- never hands an id out twice), so replacing it loses nothing.
INSERT INTO rechist_sync_epoch (start_id, token)
SELECT COALESCE((SELECT MAX(seq) FROM sqlite_sequence WHERE name = 'record_history'), 0) + 1,
       lower(hex(randomblob(16)))
WHERE true
ON CONFLICT (start_id) DO UPDATE SET token = excluded.token;

-- name: SyncEpoch :one
-- The token of the epoch that holds row id (the one that starts last at or
-- before it), by the primary key; no row: id predates every epoch.
SELECT token FROM rechist_sync_epoch
WHERE start_id <= CAST(@id AS INTEGER)
ORDER BY start_id DESC
LIMIT 1;

-- name: SetSyncCursorEpoch :exec
-- Written with the cursor (SetSyncCursor), in the same transaction.
INSERT INTO rechist_sync_cursor_epoch (source_id, last_epoch)
VALUES (CAST(@source_id AS TEXT), CAST(@last_epoch AS TEXT))
ON CONFLICT (source_id) DO UPDATE SET last_epoch = excluded.last_epoch;

-- Migration 00009: what a destination remembers of a source besides its
-- cursor, and a source's earlier identities.

-- name: SyncSource :one
SELECT pattern, prefix, horizon, rows_gone, continued_by, continued_at
FROM rechist_sync_source
WHERE source_id = CAST(@source_id AS TEXT);

-- name: SetSyncSource :exec
-- Written with the cursor (SetSyncCursor), in the same transaction.
INSERT INTO rechist_sync_source (source_id, pattern, prefix, horizon, rows_gone, continued_by, continued_at)
VALUES (CAST(@source_id AS TEXT), CAST(@pattern AS TEXT), CAST(@prefix AS TEXT),
        CAST(@horizon AS INTEGER), CAST(@rows_gone AS INTEGER),
        CAST(@continued_by AS TEXT), CAST(@continued_at AS INTEGER))
ON CONFLICT (source_id) DO UPDATE SET
    pattern = excluded.pattern,
    prefix = excluded.prefix,
    horizon = excluded.horizon,
    rows_gone = excluded.rows_gone,
    continued_by = excluded.continued_by,
    continued_at = excluded.continued_at;

-- name: SyncSourceEpochs :many
-- The epochs of the source's ids this destination received, in id order:
-- a range of the primary key.
SELECT start_id, token FROM rechist_sync_source_epoch
WHERE source_id = CAST(@source_id AS TEXT)
ORDER BY start_id;

-- name: SyncSourceEpochAt :one
-- The epoch of the source's ids this destination received that holds id
-- (the last that starts at or before it): what a push's epochs must go on
-- from (core.SyncStep.EpochsFit). One seek of the primary key.
SELECT start_id, token FROM rechist_sync_source_epoch
WHERE source_id = CAST(@source_id AS TEXT) AND start_id <= CAST(@id AS INTEGER)
ORDER BY start_id DESC
LIMIT 1;

-- name: AddSyncSourceEpoch :exec
-- Written with the cursor, one row per epoch a push's ids cross.
INSERT INTO rechist_sync_source_epoch (source_id, start_id, token)
VALUES (CAST(@source_id AS TEXT), CAST(@start_id AS INTEGER), CAST(@token AS TEXT))
ON CONFLICT (source_id, start_id) DO UPDATE SET token = excluded.token;

-- name: SyncCursors :many
-- Every source this destination received rows from, by id, with what it
-- remembers of each (rechist sync sources).
SELECT c.source_id, c.last_id, c.last_hash, c.rows_sent, c.rows_missed, c.updated_at,
       CAST(COALESCE(e.last_epoch, '') AS TEXT) AS last_epoch,
       CAST(s.source_id IS NOT NULL AS INTEGER) AS known,
       CAST(COALESCE(s.pattern, '') AS TEXT) AS pattern,
       CAST(COALESCE(s.prefix, '') AS TEXT) AS prefix,
       CAST(COALESCE(s.horizon, 0) AS INTEGER) AS horizon,
       CAST(COALESCE(s.rows_gone, 0) AS INTEGER) AS rows_gone,
       CAST(COALESCE(s.continued_by, '') AS TEXT) AS continued_by,
       CAST(COALESCE(s.continued_at, 0) AS INTEGER) AS continued_at
FROM rechist_sync_cursor AS c
LEFT JOIN rechist_sync_cursor_epoch AS e ON e.source_id = c.source_id
LEFT JOIN rechist_sync_source AS s ON s.source_id = c.source_id
WHERE c.last_id > 0
ORDER BY c.source_id;

-- name: ForgetSyncCursor :execrows
DELETE FROM rechist_sync_cursor WHERE source_id = CAST(@source_id AS TEXT);

-- name: ForgetSyncCursorEpoch :exec
DELETE FROM rechist_sync_cursor_epoch WHERE source_id = CAST(@source_id AS TEXT);

-- name: ForgetSyncSource :exec
DELETE FROM rechist_sync_source WHERE source_id = CAST(@source_id AS TEXT);

-- name: ForgetSyncSourceEpochs :exec
DELETE FROM rechist_sync_source_epoch WHERE source_id = CAST(@source_id AS TEXT);

-- name: SourceEpochs :many
-- As a source: the epochs that hold ids in (after, upto], in id order (the
-- one that holds after + 1, and those that start later).
SELECT start_id, token FROM rechist_sync_epoch
WHERE start_id <= CAST(@upto AS INTEGER)
  AND start_id >= COALESCE((SELECT MAX(start_id) FROM rechist_sync_epoch
                            WHERE start_id <= CAST(@after AS INTEGER) + 1), 0)
ORDER BY start_id;

-- name: SourceParents :one
-- As a source: its identities before the current one, newest first,
-- separated by spaces (SetSourceParents).
SELECT value FROM rechist_meta WHERE key = 'source_parents';

-- name: SetSourceParents :exec
-- Before SetSourceID, in its transaction: the identity about to be
-- replaced goes in front of the earlier ones (at most ten are kept).
INSERT INTO rechist_meta (key, value)
SELECT 'source_parents',
       substr(trim(m.value || ' ' || COALESCE((SELECT p.value FROM rechist_meta AS p WHERE p.key = 'source_parents'), '')), 1, 329)
FROM rechist_meta AS m
WHERE m.key = 'source_id'
ON CONFLICT (key) DO UPDATE SET value = excluded.value;

-- name: SyncTakeovers :many
-- The takeovers of parent's history this destination took, inside the
-- takeover's transaction (core.SyncStep.Continue): a range of the
-- primary key.
SELECT source_id, at_id, epoch FROM rechist_sync_takeover
WHERE parent_id = CAST(@parent_id AS TEXT)
ORDER BY source_id;

-- name: AddSyncTakeover :exec
-- Written with the takeover's cursor, in its transaction.
INSERT INTO rechist_sync_takeover (parent_id, source_id, at_id, epoch)
VALUES (CAST(@parent_id AS TEXT), CAST(@source_id AS TEXT), CAST(@at_id AS INTEGER), CAST(@epoch AS TEXT))
ON CONFLICT (parent_id, source_id) DO UPDATE SET at_id = excluded.at_id, epoch = excluded.epoch;
