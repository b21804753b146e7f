-- References the tests compare the SQLite engine with: the SQL-only forms
-- of what the engine answers another way. Not used by the library, so not
-- prepared on its connections (package db's queries are).

-- name: QueryWindow :many
-- The Rust crate's formulation: ROW_NUMBER() over every matching row. Its
-- cost grows with the history of each record, so the library answers with
-- QueryLatestWalk; this one is kept as the reference the tests compare
-- QueryLatestWalk against, row for row.
WITH ranked AS (
    SELECT id, record_name, value_json, stored_at,
           ROW_NUMBER() OVER (
               PARTITION BY record_name ORDER BY stored_at DESC, id DESC
           ) AS rn
    FROM record_history
    WHERE (record_name GLOB CAST(@pattern AS TEXT))
      AND stored_at >= CAST(@start_ms AS INTEGER)
      AND stored_at <= CAST(@end_ms AS INTEGER)
)
SELECT id, record_name, value_json, stored_at
FROM ranked
WHERE CAST(@limit_per_record AS INTEGER) < 0
   OR rn <= CAST(@limit_per_record AS INTEGER)
ORDER BY record_name, stored_at DESC, id DESC;

-- name: AggregateRecord :many
-- A numeric field of one record's values (path is a SQLite JSON path) in
-- buckets aligned to the Unix epoch, in SQL alone: rows whose value is not
-- JSON, or whose field is missing or not a number, are left out; first and
-- last are the values of each bucket's oldest and newest rows. The engine
-- answers with its rechist_aggregate function instead (one JSON parse a
-- row, no sorts: 8-16x faster than this); this query is kept as the reference
-- the tests compare it with, as QueryWindow is for the walk.
WITH v AS (
    SELECT (CAST(stored_at AS INTEGER) / CAST(@every_ms AS INTEGER)) * CAST(@every_ms AS INTEGER) AS bucket,
           json_extract(IIF(json_valid(value_json), value_json, 'null'), CAST(@path AS TEXT)) AS x,
           json_type(IIF(json_valid(value_json), value_json, 'null'), CAST(@path AS TEXT)) AS t,
           stored_at, id
    FROM record_history
    WHERE record_name = CAST(@name AS TEXT)
      AND stored_at >= CAST(@start_ms AS INTEGER)
      AND stored_at <= CAST(@end_ms AS INTEGER)
), w AS (
    SELECT bucket, x,
           FIRST_VALUE(x) OVER (PARTITION BY bucket ORDER BY stored_at, id) AS first_x,
           FIRST_VALUE(x) OVER (PARTITION BY bucket ORDER BY stored_at DESC, id DESC) AS last_x
    FROM v
    WHERE t IN ('integer', 'real')
)
SELECT CAST(bucket AS INTEGER) AS bucket,
       COUNT(*) AS n,
       CAST(MIN(x) AS REAL) AS min_x,
       CAST(MAX(x) AS REAL) AS max_x,
       CAST(SUM(x) AS REAL) AS sum_x,
       CAST(MAX(first_x) AS REAL) AS first_x,
       CAST(MAX(last_x) AS REAL) AS last_x
FROM w
GROUP BY bucket
ORDER BY bucket;
