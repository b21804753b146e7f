-- Baselines for `rechist bench --engine postgres` (package pgbenchdb); not
-- used by the engine, whose queries are internal to package postgres.

-- name: CopyRecords :copyfrom
-- Loads the data the query scenarios read.
INSERT INTO record_history (record_name, value_json, stored_at) VALUES ($1, $2, $3);

-- name: InsertRecord :exec
-- One row per statement: the limit and seed-design baselines.
INSERT INTO record_history (record_name, value_json, stored_at)
VALUES (@record_name::text, @value_json::text, @stored_at::bigint);

-- name: SeedQueryLike :many
-- The Rust crate's formulation on PostgreSQL: LIKE, ROW_NUMBER() over every
-- matching row, then the per-record limit.
WITH ranked AS (
    SELECT id, record_name, value_json, stored_at,
           ROW_NUMBER() OVER (PARTITION BY record_name ORDER BY stored_at DESC) AS rn
    FROM record_history
    WHERE record_name LIKE @like_pattern::text
      AND stored_at >= @start_ms::bigint
      AND stored_at <= @end_ms::bigint
)
SELECT id, record_name, value_json, stored_at
FROM ranked
WHERE rn <= @limit_per_record::bigint
ORDER BY record_name, stored_at DESC;

-- name: ScanRange :many
-- A plain indexed scan of the rows stored in [start_ms, end_ms].
SELECT id, record_name, value_json, stored_at
FROM record_history
WHERE stored_at >= @start_ms::bigint AND stored_at <= @end_ms::bigint;

-- name: GroupByRecords :many
-- Records as a program without the names table would list them: one pass
-- over idx_record_time.
SELECT record_name, COUNT(*)::bigint AS row_count, MIN(stored_at)::bigint AS first_ms, MAX(stored_at)::bigint AS last_ms
FROM record_history
GROUP BY record_name
ORDER BY record_name;
