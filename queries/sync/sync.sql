-- Sync: a source's identity, and a destination's cursor per source.

-- name: SourceID :one
SELECT value FROM rechist_meta WHERE key = 'source_id';

-- name: SyncCursor :one
SELECT last_id, last_hash, rows_sent, rows_missed, updated_at
FROM rechist_sync_cursor
WHERE source_id = CAST(@source_id AS TEXT);

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
