-- The names table (migration 00007): each record's name, raw row count and
-- oldest and newest times, kept by triggers in the transaction that changes
-- record_history. A schema opened read-only may predate it; the engine then
-- walks idx_record_time instead (records.sql, query.sql). Each query with a
-- name range comes twice, with an upper bound and without (the *Open form,
-- for a prefix with no successor): see QueryLatestWalk.

-- name: NamesTable :one
-- Whether the schema has the names table (asked once, by a read-only open).
SELECT (to_regclass('rechist_record') IS NOT NULL)::boolean AS present;

-- name: NamedRecords :many
-- Up to page records with raw rows, names in [lo, hi) above after, in order.
SELECT record_name, row_count,
       COALESCE(first_ms, 0)::bigint AS first_ms,
       COALESCE(last_ms, 0)::bigint AS last_ms
FROM rechist_record
WHERE record_name >= @lo::text
  AND record_name > @after::text
  AND record_name < @hi::text
  AND row_count > 0
ORDER BY record_name
LIMIT @page::bigint;

-- name: NamedRecordsOpen :many
SELECT record_name, row_count,
       COALESCE(first_ms, 0)::bigint AS first_ms,
       COALESCE(last_ms, 0)::bigint AS last_ms
FROM rechist_record
WHERE record_name >= @lo::text
  AND record_name > @after::text
  AND row_count > 0
ORDER BY record_name
LIMIT @page::bigint;

-- name: NamedTotals :one
SELECT COALESCE(SUM(row_count), 0)::bigint AS row_count,
       (COUNT(*) FILTER (WHERE row_count > 0))::bigint AS record_count,
       COALESCE(MIN(first_ms), 0)::bigint AS oldest_ms,
       COALESCE(MAX(last_ms), 0)::bigint AS newest_ms
FROM rechist_record;

-- name: NamedTop :many
SELECT record_name, row_count, COALESCE(last_ms, 0)::bigint AS newest_ms
FROM rechist_record
WHERE row_count > 0
ORDER BY row_count DESC, record_name
LIMIT @top::bigint;

-- name: QueryLatestNamed :many
-- QueryLatestWalk with the names read from the names table: a range of its
-- name index, whatever the rows (or, partitioned, the partitions) hold.
SELECT h.id, h.record_name, h.value_json, h.stored_at
FROM rechist_record AS n
CROSS JOIN LATERAL (
    SELECT x.id, x.record_name, x.value_json, x.stored_at
    FROM record_history AS x
    WHERE x.record_name = n.record_name
      AND x.stored_at >= @start_ms::bigint
      AND x.stored_at <= @end_ms::bigint
      AND x.stored_at >= /* prune_lo */ (-9223372036854775808)::bigint
      AND x.stored_at <= /* prune_hi */ (9223372036854775807)::bigint
    ORDER BY x.stored_at DESC, x.id DESC
    LIMIT sqlc.narg(limit_per_record)::bigint
) AS h
WHERE n.record_name >= @lo::text
  AND n.record_name < @hi::text
  AND n.row_count > 0
  AND n.record_name LIKE @like_pattern::text
ORDER BY h.record_name, h.stored_at DESC, h.id DESC;

-- name: QueryLatestNamedOpen :many
SELECT h.id, h.record_name, h.value_json, h.stored_at
FROM rechist_record AS n
CROSS JOIN LATERAL (
    SELECT x.id, x.record_name, x.value_json, x.stored_at
    FROM record_history AS x
    WHERE x.record_name = n.record_name
      AND x.stored_at >= @start_ms::bigint
      AND x.stored_at <= @end_ms::bigint
      AND x.stored_at >= /* prune_lo */ (-9223372036854775808)::bigint
      AND x.stored_at <= /* prune_hi */ (9223372036854775807)::bigint
    ORDER BY x.stored_at DESC, x.id DESC
    LIMIT sqlc.narg(limit_per_record)::bigint
) AS h
WHERE n.record_name >= @lo::text
  AND n.row_count > 0
  AND n.record_name LIKE @like_pattern::text
ORDER BY h.record_name, h.stored_at DESC, h.id DESC;
