-- Baselines for `rechist bench` (package benchdb, with reference.sql): not
-- used by the library itself.

-- name: SeedQueryLike :many
-- The Rust crate's query as its README describes it: LIKE with '\' as the
-- escape (the LIKE term parenthesised: sqlc v1.31.1 mis-parses an
-- unparenthesised "LIKE ? ESCAPE '\' AND ..."), ROW_NUMBER() over every
-- matching row, then the per-record limit.
WITH ranked AS (
    SELECT id, record_name, value_json, stored_at,
           ROW_NUMBER() OVER (PARTITION BY record_name ORDER BY stored_at DESC) AS rn
    FROM record_history
    WHERE (record_name LIKE CAST(@like_pattern AS TEXT) ESCAPE '\')
      AND stored_at >= CAST(@start_ms AS INTEGER)
      AND stored_at <= CAST(@end_ms AS INTEGER)
)
SELECT id, record_name, value_json, stored_at
FROM ranked
WHERE rn <= CAST(@limit_per_record AS INTEGER)
ORDER BY record_name, stored_at DESC;

-- name: ScanSince :many
-- A plain indexed scan of the rows stored at or after start_ms, in index
-- order: the floor for a time-range query.
SELECT id, record_name, value_json, stored_at
FROM record_history
WHERE stored_at >= CAST(@start_ms AS INTEGER);
