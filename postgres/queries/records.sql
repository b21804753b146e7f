-- Record-by-record reads: what streaming (All), Latest, Records and
-- Aggregate are built on, inside one REPEATABLE READ read-only
-- transaction. The *Open forms leave the name range open above.

-- name: NamesAfter :many
WITH RECURSIVE names(name) AS (
    (SELECT r.record_name FROM record_history AS r
     WHERE r.record_name >= @lo::text
       AND r.record_name > @after::text
       AND r.record_name < @hi::text
     ORDER BY r.record_name LIMIT 1)
    UNION ALL
    SELECT (SELECT r.record_name FROM record_history AS r
            WHERE r.record_name > n.name
              AND r.record_name < @hi::text
            ORDER BY r.record_name LIMIT 1)
    FROM names AS n
    WHERE n.name IS NOT NULL
)
SELECT name::text AS name FROM names WHERE name IS NOT NULL
LIMIT @page::bigint;

-- name: NamesAfterOpen :many
-- NamesAfter without an upper bound (see QueryLatestWalk).
WITH RECURSIVE names(name) AS (
    (SELECT r.record_name FROM record_history AS r
     WHERE r.record_name >= @lo::text
       AND r.record_name > @after::text
     ORDER BY r.record_name LIMIT 1)
    UNION ALL
    SELECT (SELECT r.record_name FROM record_history AS r
            WHERE r.record_name > n.name
                   ORDER BY r.record_name LIMIT 1)
    FROM names AS n
    WHERE n.name IS NOT NULL
)
SELECT name::text AS name FROM names WHERE name IS NOT NULL
LIMIT @page::bigint;

-- name: RecordRows :many
-- One record's rows in a time range in idx_record_time's order; lim NULL
-- means all.
SELECT id, record_name, value_json, stored_at
FROM record_history
WHERE record_name = @name::text
  AND stored_at >= @start_ms::bigint
  AND stored_at <= @end_ms::bigint
ORDER BY stored_at DESC, id DESC
LIMIT sqlc.narg(lim)::bigint;

-- name: RecordInfo :one
SELECT COUNT(*)::bigint AS row_count,
       COALESCE(MIN(stored_at), 0)::bigint AS first_ms,
       COALESCE(MAX(stored_at), 0)::bigint AS last_ms
FROM record_history
WHERE record_name = @name::text;

-- name: AggregateRecord :many
-- A numeric field of one record's values (path: the keys, as text[]) in
-- buckets aligned to the Unix epoch, computed in PostgreSQL on the text
-- column cast to jsonb.
WITH v AS (
    SELECT (stored_at / @every_ms::bigint) * @every_ms::bigint AS bucket,
           (value_json::jsonb #>> @path::text[])::float8 AS x,
           stored_at, id
    FROM record_history
    WHERE record_name = @name::text
      AND stored_at >= @start_ms::bigint
      AND stored_at <= @end_ms::bigint
      AND jsonb_typeof(value_json::jsonb #> @path::text[]) = 'number'
), w AS (
    SELECT bucket, x,
           FIRST_VALUE(x) OVER (PARTITION BY bucket ORDER BY stored_at, id) AS first_x,
           FIRST_VALUE(x) OVER (PARTITION BY bucket ORDER BY stored_at DESC, id DESC) AS last_x
    FROM v
)
SELECT bucket::bigint AS bucket,
       COUNT(*)::bigint AS n,
       MIN(x)::float8 AS min_x,
       MAX(x)::float8 AS max_x,
       SUM(x)::float8 AS sum_x,
       MAX(first_x)::float8 AS first_x,
       MAX(last_x)::float8 AS last_x
FROM w
GROUP BY bucket
ORDER BY bucket;
