-- name: CountRows :one
-- Rows and the time span; MIN and MAX are two seeks in idx_record_stored_at.
SELECT COUNT(*) AS row_count,
       CAST(COALESCE(MIN(stored_at), 0) AS INTEGER) AS oldest_ms,
       CAST(COALESCE(MAX(stored_at), 0) AS INTEGER) AS newest_ms
FROM record_history;

-- name: CountRecords :one
-- Distinct record names, counted by hopping through idx_record_time (one
-- seek a name) instead of reading every row.
WITH RECURSIVE names(name) AS (
    SELECT (SELECT MIN(r.record_name) FROM record_history AS r)
    UNION ALL
    SELECT (SELECT MIN(r.record_name) FROM record_history AS r
            WHERE r.record_name > names.name)
    FROM names
    WHERE names.name IS NOT NULL
)
SELECT COUNT(name) AS record_count FROM names;

-- name: TopRecords :many
-- The records with the most rows, and the time of each one's newest row.
SELECT record_name,
       COUNT(*) AS row_count,
       CAST(MAX(stored_at) AS INTEGER) AS newest_ms
FROM record_history
GROUP BY record_name
ORDER BY row_count DESC, record_name
LIMIT CAST(@top AS INTEGER);
