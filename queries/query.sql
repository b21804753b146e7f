-- Parameters shared by the queries below (CAST gives sqlc their Go types):
--   lo, hi            the literal prefix of the pattern as a half-open range
--                     [lo, hi) in bytewise (BINARY) order; served by
--                     idx_record_time.
--   pattern           the GLOB form of the pattern, the exact filter.
--   start_ms, end_ms  inclusive bounds on stored_at.
--   limit_per_record  rows per record; 0 or less means no limit.

-- name: QueryLatestWalk :many
-- Latest rows per record, skip-scan style: the recursive CTE hops from one
-- distinct record_name to the next through idx_record_time (one index seek a
-- name); for each name a second seek finds the stored_at of its
-- limit_per_record-th newest row (the cutoff), and the name's rows from the
-- cutoff on are one index range. The cost grows with the number of names and
-- the rows returned, not with how much history each record holds.
--
-- Rows tied with the cutoff are all returned, and no order is imposed: the
-- engine sorts by (record_name, stored_at DESC, id DESC) and trims each
-- record to limit_per_record, so ties go to the later insert. Doing that in
-- SQL would need a sorter per name (idx_record_time orders ties by id
-- ascending), which costs more than the whole walk.
WITH RECURSIVE names(name) AS (
    SELECT (SELECT MIN(r.record_name) FROM record_history AS r
            WHERE r.record_name >= CAST(@lo AS TEXT)
              AND r.record_name < CAST(@hi AS TEXT))
    UNION ALL
    SELECT (SELECT MIN(r.record_name) FROM record_history AS r
            WHERE r.record_name > names.name
              AND r.record_name < CAST(@hi AS TEXT))
    FROM names
    WHERE names.name IS NOT NULL
)
SELECT h.id, h.record_name, h.value_json,
       CAST(h.stored_at AS INTEGER) AS stored_at -- a REAL from another program
FROM names
JOIN record_history AS h
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

-- name: QueryTimeRange :many
-- Every record's rows within a time range, through idx_record_stored_at: how
-- a pattern of only '*' without a per-record limit is answered, since then
-- the walk would visit every name only to read the same rows in a worse
-- order. Rows come in index order (stored_at, then id); the engine groups
-- them by record, newest first.
SELECT id, record_name, value_json,
       CAST(stored_at AS INTEGER) AS stored_at -- a REAL from another program
FROM record_history
WHERE stored_at >= CAST(@start_ms AS INTEGER)
  AND stored_at <= CAST(@end_ms AS INTEGER)
ORDER BY record_history.stored_at, record_history.id; -- the column, not the CAST
