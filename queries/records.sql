-- Record-by-record reads: what streaming (All), Latest, Records and
-- Aggregate are built on. The engine runs them inside one read
-- transaction, so a pattern's records are read from one snapshot.

-- name: NamesAfter :many
-- Up to page distinct record names in [lo, hi), greater than after, in
-- order: one index seek a name in idx_record_time (the walk of
-- QueryLatestWalk), however many rows each holds.
WITH RECURSIVE names(name) AS (
    SELECT (SELECT MIN(r.record_name) FROM record_history AS r
            WHERE r.record_name >= CAST(@lo AS TEXT)
              AND r.record_name > CAST(@after AS TEXT)
              AND r.record_name < CAST(@hi AS TEXT))
    UNION ALL
    SELECT (SELECT MIN(r.record_name) FROM record_history AS r
            WHERE r.record_name > names.name
              AND r.record_name < CAST(@hi AS TEXT))
    FROM names
    WHERE names.name IS NOT NULL
    LIMIT CAST(@page AS INTEGER) + 1
)
SELECT CAST(name AS TEXT) AS name FROM names WHERE name IS NOT NULL
LIMIT CAST(@page AS INTEGER);

-- name: RecordRows :many
-- One record's rows in a time range, newest first, the later insert first
-- among equal times, at most lim (-1: all): an index range of
-- idx_record_time, sorted only within runs of equal times. The name is
-- the caller's: a column fewer to copy a row.
SELECT id, value_json,
       CAST(stored_at AS INTEGER) AS stored_at -- a REAL from another program
FROM record_history
WHERE record_name = CAST(@name AS TEXT)
  AND stored_at >= CAST(@start_ms AS INTEGER)
  AND stored_at <= CAST(@end_ms AS INTEGER)
ORDER BY record_history.stored_at DESC, record_history.id DESC
LIMIT CAST(@lim AS INTEGER);

-- name: RecordRowsOldest :many
-- RecordRows oldest first, the later insert still first among equal
-- times: idx_record_time (name, stored_at DESC, then rowid) read
-- backwards, with no sort at all.
SELECT id, value_json,
       CAST(stored_at AS INTEGER) AS stored_at
FROM record_history
WHERE record_name = CAST(@name AS TEXT)
  AND stored_at >= CAST(@start_ms AS INTEGER)
  AND stored_at <= CAST(@end_ms AS INTEGER)
ORDER BY record_history.stored_at ASC, record_history.id DESC
LIMIT CAST(@lim AS INTEGER);

-- name: RecordInfo :one
-- One record's row count (a scan of its index range) and first and last
-- times.
SELECT COUNT(*) AS row_count,
       CAST(COALESCE(MIN(stored_at), 0) AS INTEGER) AS first_ms,
       CAST(COALESCE(MAX(stored_at), 0) AS INTEGER) AS last_ms
FROM record_history
WHERE record_name = CAST(@name AS TEXT);
