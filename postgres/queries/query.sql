-- name: QueryLatestWalk :many
-- The same plan as the SQLite engine's walk: hop from one distinct
-- record_name to the next through idx_record_time (a loose index scan), and
-- for each name that matches the LIKE pattern take its newest rows in the
-- time range as one index range (LATERAL ... LIMIT; NULL means no limit).
-- hi bounds the names above; QueryLatestWalkOpen is the same query without
-- it, for a prefix of only U+10FFFF (or none), which has no valid UTF-8
-- successor (any sentinel would hide longer names). Two queries, not one
-- with "hi IS NULL OR ...": after five executions PostgreSQL plans such a
-- query generically, and the OR then no longer bounds the index scan
-- (150 ms instead of 5 ms for one record of 1M rows).
WITH RECURSIVE names(name) AS (
    (SELECT r.record_name FROM record_history AS r
     WHERE r.record_name >= @lo::text
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
SELECT h.id, h.record_name, h.value_json, h.stored_at
FROM names AS n
CROSS JOIN LATERAL (
    SELECT x.id, x.record_name, x.value_json, x.stored_at
    FROM record_history AS x
    WHERE x.record_name = n.name
      AND x.stored_at >= @start_ms::bigint
      AND x.stored_at <= @end_ms::bigint
    ORDER BY x.stored_at DESC, x.id DESC
    LIMIT sqlc.narg(limit_per_record)::bigint
) AS h
WHERE n.name IS NOT NULL AND n.name LIKE @like_pattern::text
ORDER BY h.record_name, h.stored_at DESC, h.id DESC;

-- name: QueryLatestWalkOpen :many
-- QueryLatestWalk without an upper bound on the names (see there).
WITH RECURSIVE names(name) AS (
    (SELECT r.record_name FROM record_history AS r
     WHERE r.record_name >= @lo::text
     ORDER BY r.record_name LIMIT 1)
    UNION ALL
    SELECT (SELECT r.record_name FROM record_history AS r
            WHERE r.record_name > n.name
                   ORDER BY r.record_name LIMIT 1)
    FROM names AS n
    WHERE n.name IS NOT NULL
)
SELECT h.id, h.record_name, h.value_json, h.stored_at
FROM names AS n
CROSS JOIN LATERAL (
    SELECT x.id, x.record_name, x.value_json, x.stored_at
    FROM record_history AS x
    WHERE x.record_name = n.name
      AND x.stored_at >= @start_ms::bigint
      AND x.stored_at <= @end_ms::bigint
    ORDER BY x.stored_at DESC, x.id DESC
    LIMIT sqlc.narg(limit_per_record)::bigint
) AS h
WHERE n.name IS NOT NULL AND n.name LIKE @like_pattern::text
ORDER BY h.record_name, h.stored_at DESC, h.id DESC;

-- name: QueryTimeRange :many
-- Every record's rows in a time range through idx_record_stored_at: a
-- pattern of only '*' without a per-record limit.
SELECT id, record_name, value_json, stored_at
FROM record_history
WHERE stored_at >= @start_ms::bigint AND stored_at <= @end_ms::bigint
ORDER BY record_name, stored_at DESC, id DESC;

-- name: CountRows :one
SELECT COUNT(*)::bigint AS row_count,
       COALESCE(MIN(stored_at), 0)::bigint AS oldest_ms,
       COALESCE(MAX(stored_at), 0)::bigint AS newest_ms
FROM record_history;

-- name: CountRecords :one
WITH RECURSIVE names(name) AS (
    (SELECT r.record_name FROM record_history AS r ORDER BY r.record_name LIMIT 1)
    UNION ALL
    SELECT (SELECT r.record_name FROM record_history AS r
            WHERE r.record_name > n.name ORDER BY r.record_name LIMIT 1)
    FROM names AS n
    WHERE n.name IS NOT NULL
)
SELECT COUNT(name)::bigint AS record_count FROM names;

-- name: TopRecords :many
SELECT record_name, COUNT(*)::bigint AS row_count, MAX(stored_at)::bigint AS newest_ms
FROM record_history
GROUP BY record_name
ORDER BY row_count DESC, record_name
LIMIT @top::bigint;

-- name: TableBytes :one
-- The table's size with its indexes, and its partitions' when it has them
-- (a partitioned table has no storage of its own; pg_partition_tree lists
-- nothing for a table that is not partitioned).
SELECT (pg_total_relation_size('record_history') + COALESCE((
    SELECT SUM(pg_total_relation_size(relid)) FROM pg_partition_tree('record_history')
    WHERE relid <> 'record_history'::regclass), 0))::bigint AS bytes;
