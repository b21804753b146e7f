-- Time partitioning (migration 00010, postgres/partitions.go).

-- name: PartitionWidth :one
-- The partitions' width in ms; 0 when record_history is not partitioned
-- (or the schema predates partitioning).
SELECT COALESCE((SELECT value::bigint FROM rechist_meta WHERE key = 'partition_width_ms'), 0)::bigint AS width_ms;

-- name: PartitionHistory :one
-- Converts record_history to partitions of width_ms (once; see the
-- function).
SELECT rechist_partition_history(@width_ms::bigint)::boolean AS converted;

-- name: PartitionStarts :many
-- The start of every partition rechist made.
SELECT start_ms FROM rechist_partition ORDER BY start_ms;

-- name: PartitionsFor :one
-- Makes the partitions the times fall in that do not exist yet; how many.
SELECT rechist_partitions_for(@times::bigint[])::integer AS made;

-- name: PartitionsBefore :many
-- The partitions that end at or before cutoff_ms, oldest first.
SELECT start_ms, table_name FROM rechist_partition
WHERE end_ms <= @cutoff_ms::bigint
ORDER BY start_ms;

-- name: PartitionsLeaving :many
-- Partitions a process ended in the middle of dropping: detached (not yet
-- dropped), or half detached (a DETACH ... CONCURRENTLY cut short, which
-- FINALIZE completes); state says which.
SELECT start_ms, table_name, rechist_partition_state(table_name)::text AS state FROM rechist_partition
WHERE rechist_partition_state(table_name) IN ('detaching', 'detached')
ORDER BY start_ms;

-- name: PartitionState :one
-- The table's state as rechist_partition_state says it.
SELECT rechist_partition_state(@table_name::text)::text AS state;

-- name: PartitionAttached :one
-- Whether the table is still a partition of record_history.
SELECT rechist_partition_state(@table_name::text) = 'attached' AS attached;

-- name: SetLockTimeout :exec
-- How long the statements after it in the transaction wait for a lock.
SELECT set_config('lock_timeout', @timeout::text, true);

-- name: PartitionTruncate :one
SELECT rechist_partition_truncate(@start_ms::bigint)::bigint AS removed;

-- name: PartitionDrop :one
SELECT rechist_partition_drop(@start_ms::bigint)::bigint AS removed;

-- name: RecordEdges :many
-- The names table's times of the record (none when it has no rows), for
-- reads that step back through the partitions from its newest row.
SELECT record_name, first_ms::bigint AS first_ms, last_ms::bigint AS last_ms FROM rechist_record
WHERE record_name = @name::text AND row_count > 0;

-- name: NamedEdges :many
-- The records in [lo, hi) matching like_pattern, with their times.
SELECT record_name, first_ms::bigint AS first_ms, last_ms::bigint AS last_ms FROM rechist_record
WHERE record_name >= @lo::text AND record_name < @hi::text
  AND row_count > 0 AND record_name LIKE @like_pattern::text
ORDER BY record_name;

-- name: NamedEdgesOpen :many
SELECT record_name, first_ms::bigint AS first_ms, last_ms::bigint AS last_ms FROM rechist_record
WHERE record_name >= @lo::text
  AND row_count > 0 AND record_name LIKE @like_pattern::text
ORDER BY record_name;

-- name: LatestInWindow :many
-- The newest rows of each named record within [start_ms, end_ms], at most
-- its lim (names and lims in step): the bounds are the same for every
-- record, so PostgreSQL plans only the partitions of that window.
SELECT h.id, h.record_name, h.value_json, h.stored_at
FROM (SELECT unnest(@names::text[]) AS name, unnest(@lims::bigint[]) AS lim) AS n
CROSS JOIN LATERAL (
    SELECT x.id, x.record_name, x.value_json, x.stored_at
    FROM record_history AS x
    WHERE x.record_name = n.name COLLATE "C"
      AND x.stored_at >= @start_ms::bigint
      AND x.stored_at <= @end_ms::bigint
    ORDER BY x.stored_at DESC, x.id DESC
    LIMIT n.lim
) AS h
ORDER BY h.record_name, h.stored_at DESC, h.id DESC;
