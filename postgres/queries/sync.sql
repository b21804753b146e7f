-- Sync: a source's identity, and a destination's cursor per source.

-- name: SourceID :one
SELECT value FROM rechist_meta WHERE key = 'source_id';

-- name: SyncCursor :one
SELECT last_id, last_hash, rows_sent, rows_missed, updated_at
FROM rechist_sync_cursor
WHERE source_id = @source_id::text;

-- name: SetSyncCursor :exec
-- Written in the transaction of the rows it covers, after the check
-- (SyncCursor, same transaction, under the commit-order lock) that the
-- cursor is where the sync expects it.
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
