-- The names table (migration 00008): each record's name, raw row count and
-- oldest and newest times, kept by triggers in the transaction that changes
-- record_history. Unprepared (package syncdb), since a file opened
-- read-only may predate it; the engine then walks idx_record_time instead
-- (queries/records.sql).

-- name: NamedRecords :many
-- Up to page records with raw rows whose names are in [lo, hi) and greater
-- than after, in order, with their counts and times: a range of the
-- table's name index, a row a record, however many rows each holds.
SELECT record_name, row_count,
       CAST(COALESCE(first_ms, 0) AS INTEGER) AS first_ms,
       CAST(COALESCE(last_ms, 0) AS INTEGER) AS last_ms
FROM rechist_record
WHERE record_name >= CAST(@lo AS TEXT)
  AND record_name > CAST(@after AS TEXT)
  AND record_name < CAST(@hi AS TEXT)
  AND row_count > 0
ORDER BY record_name
LIMIT CAST(@page AS INTEGER);

-- name: NamedTotals :one
-- The rows, records and time span of the whole history, from the names
-- alone.
SELECT CAST(COALESCE(SUM(row_count), 0) AS INTEGER) AS row_count,
       COUNT(*) FILTER (WHERE row_count > 0) AS record_count,
       CAST(COALESCE(MIN(first_ms), 0) AS INTEGER) AS oldest_ms,
       CAST(COALESCE(MAX(last_ms), 0) AS INTEGER) AS newest_ms
FROM rechist_record;

-- name: NamedTop :many
-- The records with the most rows, and the time of each one's newest row.
SELECT record_name, row_count, CAST(COALESCE(last_ms, 0) AS INTEGER) AS newest_ms
FROM rechist_record
WHERE row_count > 0
ORDER BY row_count DESC, record_name
LIMIT CAST(@top AS INTEGER);

-- name: QueryLatestNamed :many
-- QueryLatestWalk (queries/query.sql) with the names read from the names
-- table, a range of its name index, rather than hopped to through
-- idx_record_time one seek a name. CROSS JOIN keeps that order: the
-- planner would otherwise read the prefix's range of idx_record_time,
-- every row, and look each name up.
WITH names(name) AS (
    SELECT record_name FROM rechist_record
    WHERE record_name >= CAST(@lo AS TEXT)
      AND record_name < CAST(@hi AS TEXT)
      AND row_count > 0
)
SELECT h.id, h.record_name, h.value_json,
       CAST(h.stored_at AS INTEGER) AS stored_at -- a REAL from another program
FROM names
CROSS JOIN record_history AS h
  ON h.record_name = names.name
 AND h.stored_at <= CAST(@end_ms AS INTEGER)
 AND h.stored_at >= CASE
        WHEN CAST(@limit_per_record AS INTEGER) <= 0 THEN CAST(@start_ms AS INTEGER)
        ELSE COALESCE(
            (SELECT x.stored_at FROM record_history AS x
             WHERE x.record_name = names.name
               AND x.stored_at >= CAST(@start_ms AS INTEGER)
               AND x.stored_at <= CAST(@end_ms AS INTEGER)
             ORDER BY x.stored_at DESC
             LIMIT 1 OFFSET CAST(@limit_per_record AS INTEGER) - 1),
            CAST(@start_ms AS INTEGER))
     END
WHERE names.name GLOB CAST(@pattern AS TEXT);

-- name: SetWriterCounts :execrows
-- Inside the writer's transaction: 1 while it inserts rows whose counts it
-- adds itself (AddNamedRows), so the insert trigger leaves them alone; 0
-- again before the transaction goes on with anything else. No row changed
-- (a mark row someone deleted) means the trigger counts them.
UPDATE rechist_record_mark SET writer_counts = CAST(@on AS INTEGER) WHERE slot = 1;

-- name: AddNamedRows :exec
-- The writer's count of the rows it inserted while writer_counts was 1: a
-- JSON array of [name, rows, first_ms, last_ms], one upsert for them all.
INSERT INTO rechist_record (record_name, row_count, first_ms, last_ms)
SELECT json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'),
       json_extract(j.value, '$[2]'), json_extract(j.value, '$[3]')
FROM json_each(CAST(@counts AS TEXT)) AS j
WHERE true -- an INSERT ... SELECT followed by ON CONFLICT needs a WHERE
ON CONFLICT (record_name) DO UPDATE SET
    row_count = row_count + excluded.row_count,
    first_ms = min(COALESCE(first_ms, excluded.first_ms), excluded.first_ms),
    last_ms = max(COALESCE(last_ms, excluded.last_ms), excluded.last_ms);
