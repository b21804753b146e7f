-- Sync: a source's identity, and a destination's cursor per source.

-- name: SourceID :one
SELECT value FROM rechist_meta WHERE key = 'source_id';

-- name: SyncCursor :one
SELECT last_id, last_hash, rows_sent, rows_missed, updated_at
FROM rechist_sync_cursor
WHERE source_id = @source_id::text;

-- name: SyncCursorWithEpoch :one
-- SyncCursor and SyncCursorEpoch in one statement (one snapshot, one round
-- trip): what a sync reads of its destination before it pushes.
SELECT c.last_id, c.last_hash, c.rows_sent, c.rows_missed, c.updated_at,
       COALESCE(e.last_epoch, '')::text AS last_epoch
FROM rechist_sync_cursor AS c
LEFT JOIN rechist_sync_cursor_epoch AS e ON e.source_id = c.source_id
WHERE c.source_id = @source_id::text;

-- name: LockSyncCursor :exec
-- The first step of a sync push's transaction: the source's cursor row,
-- created (as an empty cursor) if the source is new, locked until COMMIT,
-- so two pushes of one source take turns while other writers go on. An
-- upsert, not a SELECT ... FOR UPDATE: it also waits for and then locks a
-- row that another push inserted and committed after this statement's
-- snapshot. Both cursor tables (rechist_sync_cursor_epoch too) are only
-- written by a transaction that holds this lock.
INSERT INTO rechist_sync_cursor AS c (source_id, last_id, last_hash, rows_sent, rows_missed, updated_at)
VALUES (@source_id::text, 0, '', 0, 0, 0)
ON CONFLICT (source_id) DO UPDATE SET last_id = c.last_id;

-- name: SetSyncCursor :exec
-- Written in the transaction of the rows it covers, after the check
-- (SyncCursor, same transaction, after LockSyncCursor) that the cursor is
-- where the sync expects it.
INSERT INTO rechist_sync_cursor (source_id, last_id, last_hash, rows_sent, rows_missed, updated_at)
VALUES (@source_id::text, @last_id::bigint, @last_hash::text, @rows_sent::bigint, @rows_missed::bigint, @updated_at::bigint)
ON CONFLICT (source_id) DO UPDATE SET
    last_id = excluded.last_id,
    last_hash = excluded.last_hash,
    rows_sent = excluded.rows_sent,
    rows_missed = excluded.rows_missed,
    updated_at = excluded.updated_at;

-- name: IDHighWater :one
-- The highest id ever handed out by record_history's identity, which
-- deleting rows does not lower.
SELECT COALESCE(pg_sequence_last_value(pg_get_serial_sequence('record_history', 'id')::regclass), 0)::bigint AS high_water;

-- name: SetSourceID :exec
-- A new identity as a sync source (DB.NewSourceID), through the writer.
INSERT INTO rechist_meta (key, value) VALUES ('source_id', @id::text)
ON CONFLICT (key) DO UPDATE SET value = excluded.value;

-- name: LockHistoryForWriting :exec
-- The lock an INSERT takes: a transaction that starts a sync epoch takes
-- it before it reads where the epoch starts (StartSyncEpoch), so that
-- followers wait for it (FinalID) as for a transaction holding a row id.
LOCK TABLE record_history IN ROW EXCLUSIVE MODE;

-- name: StartSyncEpoch :exec
-- A new epoch of the schema's row ids, from the next id on: written in the
-- transaction of a DB handle's first rows, before them, after
-- LockHistoryForWriting. A row with an id at or above the epoch's start
-- that another writer commits first is not read by a follower until this
-- transaction ends (FinalID lists it as a writer), so every row is seen in
-- one epoch only, before and after this commits. An epoch at that id has
-- no rows yet, so replacing it loses nothing.
INSERT INTO rechist_sync_epoch (start_id, token)
SELECT COALESCE(pg_sequence_last_value(pg_get_serial_sequence('record_history', 'id')::regclass), 0)::bigint + 1,
       replace(gen_random_uuid()::text, '-', '')
ON CONFLICT (start_id) DO UPDATE SET token = excluded.token;

-- name: SyncEpochTable :one
-- Whether the schema has rechist_sync_epoch (migration 00003): asked first,
-- because a query of a missing table would abort the reader's transaction.
SELECT (to_regclass('rechist_sync_epoch') IS NOT NULL)::boolean AS present;

-- name: SyncEpoch :one
-- The token of the epoch that holds row id (the one that starts last at or
-- before it), by the primary key; no row: id predates every epoch.
SELECT token FROM rechist_sync_epoch
WHERE start_id <= @id::bigint
ORDER BY start_id DESC
LIMIT 1;

-- name: SetSyncCursorEpoch :exec
-- Written with the cursor (SetSyncCursor), in the same transaction.
INSERT INTO rechist_sync_cursor_epoch (source_id, last_epoch)
VALUES (@source_id::text, @last_epoch::text)
ON CONFLICT (source_id) DO UPDATE SET last_epoch = excluded.last_epoch;

-- Migration 00011: what a destination remembers of a source besides its
-- cursor, and a source's earlier identities.

-- name: SyncSourceTable :one
-- Whether the schema has rechist_sync_source (migration 00011): asked
-- first, because a query of a missing table would abort the reader's
-- transaction.
SELECT (to_regclass('rechist_sync_source') IS NOT NULL)::boolean AS present;

-- name: SyncSource :one
SELECT pattern, prefix, horizon, rows_gone, continued_by, continued_at
FROM rechist_sync_source
WHERE source_id = @source_id::text;

-- name: SetSyncSource :exec
-- Written with the cursor (SetSyncCursor), in the same transaction.
INSERT INTO rechist_sync_source (source_id, pattern, prefix, horizon, rows_gone, continued_by, continued_at)
VALUES (@source_id::text, @pattern::text, @prefix::text, @horizon::bigint, @rows_gone::bigint,
        @continued_by::text, @continued_at::bigint)
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
WHERE source_id = @source_id::text
ORDER BY start_id;

-- name: SyncSourceEpochAt :one
-- The epoch of the source's ids this destination received that holds id
-- (the last that starts at or before it): what a push's epochs must go on
-- from (core.SyncStep.EpochsFit). One seek of the primary key.
SELECT start_id, token FROM rechist_sync_source_epoch
WHERE source_id = @source_id::text AND start_id <= @id::bigint
ORDER BY start_id DESC
LIMIT 1;

-- name: ForgetSyncSourceEpochs :exec
-- Before AddSyncSourceEpochs, when a push's epochs do not go on the list
-- (core.SyncStep.EpochsFit): the list is replaced.
DELETE FROM rechist_sync_source_epoch WHERE source_id = @source_id::text;

-- name: AddSyncSourceEpochs :exec
-- Written with the cursor: the epochs a push's ids cross, one statement.
INSERT INTO rechist_sync_source_epoch (source_id, start_id, token)
SELECT @source_id::text, e.start_id, e.token
FROM (SELECT unnest(@start_ids::bigint[]) AS start_id, unnest(@tokens::text[]) AS token) AS e
ON CONFLICT (source_id, start_id) DO UPDATE SET token = excluded.token;

-- name: SyncCursors :many
-- Every source this destination received rows from, by id, with what it
-- remembers of each (rechist sync sources).
SELECT c.source_id, c.last_id, c.last_hash, c.rows_sent, c.rows_missed, c.updated_at,
       COALESCE(e.last_epoch, '')::text AS last_epoch,
       (s.source_id IS NOT NULL)::boolean AS known,
       COALESCE(s.pattern, '')::text AS pattern,
       COALESCE(s.prefix, '')::text AS prefix,
       COALESCE(s.horizon, 0)::bigint AS horizon,
       COALESCE(s.rows_gone, 0)::bigint AS rows_gone,
       COALESCE(s.continued_by, '')::text AS continued_by,
       COALESCE(s.continued_at, 0)::bigint AS continued_at
FROM rechist_sync_cursor AS c
LEFT JOIN rechist_sync_cursor_epoch AS e ON e.source_id = c.source_id
LEFT JOIN rechist_sync_source AS s ON s.source_id = c.source_id
WHERE c.last_id > 0
ORDER BY c.source_id;

-- name: SyncCursorsOfAnOlderSchema :many
-- SyncCursors of a schema opened read-only that predates migration 00011:
-- the cursors alone, with what nobody remembered yet left unknown.
SELECT c.source_id, c.last_id, c.last_hash, c.rows_sent, c.rows_missed, c.updated_at,
       COALESCE(e.last_epoch, '')::text AS last_epoch
FROM rechist_sync_cursor AS c
LEFT JOIN rechist_sync_cursor_epoch AS e ON e.source_id = c.source_id
WHERE c.last_id > 0
ORDER BY c.source_id;

-- name: ForgetSyncSource :exec
-- Everything this destination remembers of a source, after LockSyncCursor;
-- the rows it received stay.
WITH e AS (DELETE FROM rechist_sync_cursor_epoch WHERE source_id = @source_id::text),
     s AS (DELETE FROM rechist_sync_source WHERE source_id = @source_id::text),
     se AS (DELETE FROM rechist_sync_source_epoch WHERE source_id = @source_id::text)
DELETE FROM rechist_sync_cursor WHERE source_id = @source_id::text;

-- name: SourceEpochs :many
-- As a source: the epochs that hold ids in (after, upto], in id order (the
-- one that holds after + 1, and those that start later).
SELECT start_id, token FROM rechist_sync_epoch
WHERE start_id <= sqlc.arg(upto)::bigint
  AND start_id >= COALESCE((SELECT MAX(x.start_id) FROM rechist_sync_epoch AS x
                            WHERE x.start_id <= sqlc.arg(after)::bigint + 1), 0)
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
       left(btrim(m.value || ' ' || COALESCE((SELECT p.value FROM rechist_meta AS p WHERE p.key = 'source_parents'), '')), 329)
FROM rechist_meta AS m
WHERE m.key = 'source_id'
ON CONFLICT (key) DO UPDATE SET value = excluded.value;

-- name: SyncTakeovers :many
-- The takeovers of parent's history this destination took, inside the
-- takeover's transaction under the parent's cursor lock
-- (core.SyncStep.Continue): a range of the primary key.
SELECT source_id, at_id, epoch FROM rechist_sync_takeover
WHERE parent_id = @parent_id::text
ORDER BY source_id;

-- name: AddSyncTakeover :exec
-- Written with the takeover's cursor, in its transaction.
INSERT INTO rechist_sync_takeover (parent_id, source_id, at_id, epoch)
VALUES (@parent_id::text, @source_id::text, @at_id::bigint, @epoch::text)
ON CONFLICT (parent_id, source_id) DO UPDATE SET at_id = excluded.at_id, epoch = excluded.epoch;
