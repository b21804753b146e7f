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
  AND stored_at >= /* prune_lo */ (-9223372036854775808)::bigint
  AND stored_at <= /* prune_hi */ (9223372036854775807)::bigint
ORDER BY stored_at DESC, id DESC
LIMIT sqlc.narg(lim)::bigint;

-- name: RecordRowsOldest :many
-- RecordRows oldest first, the later insert still first among equal
-- times (as on SQLite): idx_record_time read backwards gives equal times
-- the earlier insert first, so PostgreSQL sorts each run of equal times
-- (an incremental sort).
SELECT id, record_name, value_json, stored_at
FROM record_history
WHERE record_name = @name::text
  AND stored_at >= @start_ms::bigint
  AND stored_at <= @end_ms::bigint
  AND stored_at >= /* prune_lo */ (-9223372036854775808)::bigint
  AND stored_at <= /* prune_hi */ (9223372036854775807)::bigint
ORDER BY stored_at ASC, id DESC
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
-- column cast to json (not jsonb, which converts every number of the value
-- to numeric and fails on one beyond numeric's range, such as 1e-20000,
-- which rechist stores: float64 reads it as 0). The same buckets as the
-- SQLite engine's rechist_aggregate, and nothing fails on a number at
-- float64's edges:
--   - n is the JSON number, exact; one beyond float64 (|n| >= 2^1024 -
--     2^970, what rounds to ±Inf, e.g. 1e400, which only another program
--     can write) is left out, as strconv leaves it out;
--   - x is n rounded to float64 (float8 fails on an n that rounds to
--     zero, so those are 0: |n| <= 2^-1075);
--   - the sum is of x, in two parts that cannot overflow (float8
--     addition fails on overflow), below.
WITH nums AS (
    -- Each OFFSET 0 keeps its subquery apart, so that its columns are
    -- computed once a row, not again wherever an outer level uses them,
    -- and before any outer condition: n's CASE keeps the cast to numeric
    -- after the type test.
    SELECT bucket, stored_at, id,
           CASE WHEN abs(n) >= 1e-300 THEN n::float8
                WHEN abs(n) * 2::numeric ^ 1075 <= 1 THEN 0::float8
                ELSE n::float8 END AS x
    FROM (SELECT bucket, stored_at, id,
                 CASE WHEN json_typeof(j) IS DISTINCT FROM 'number' THEN NULL -- or missing
                      -- The common number, within numeric: at most 1,000
                      -- characters, and an exponent (after e or E) of at
                      -- most 4 characters or none.
                      WHEN length(j::text) <= 1000
                           AND (strpos(j::text, 'e') + strpos(j::text, 'E') = 0
                                OR length(j::text) - strpos(j::text, 'e') - strpos(j::text, 'E') <= 4)
                           THEN j::text::numeric
                      -- Any other, rewritten as 0.DIGITSeE: its significant
                      -- digits (the first 15,000) and the exponent of the
                      -- first one (lead), which numeric always reads (t
                      -- itself can be beyond numeric: 1e-20000). Beyond
                      -- 1e400 it is beyond float64 (NULL: left out), below
                      -- 1e-400 it rounds to 0.
                      ELSE (SELECT CASE WHEN sig = '' OR lead < -400 THEN 0
                                        WHEN lead <= 400 THEN (neg || '0.' || left(sig, 15000) || 'e' || (lead + 1))::numeric
                                   END
                            FROM (SELECT neg, sig, intlen - (length(digits) - length(sig)) - 1 + ex AS lead
                                  FROM (SELECT CASE WHEN m LIKE '-%' THEN '-' ELSE '' END AS neg,
                                               length(split_part(ltrim(m, '-'), '.', 1)) AS intlen,
                                               translate(m, '-.', '') AS digits,
                                               ltrim(translate(m, '-.', ''), '0') AS sig,
                                               CASE WHEN length(ltrim(e, '+-0')) <= 9 THEN COALESCE(NULLIF(e, '')::bigint, 0)
                                                    WHEN e LIKE '-%' THEN -10000000000
                                                    ELSE 10000000000 END AS ex
                                        FROM (SELECT split_part(t, 'e', 1) AS m, split_part(t, 'e', 2) AS e
                                              FROM (SELECT lower(btrim(j::text, E' \t\n\r')) AS t) AS t0) AS t1) AS t2) AS t3)
                 END AS n
          FROM (SELECT (stored_at / @every_ms::bigint) * @every_ms::bigint AS bucket,
                       stored_at, id, value_json::json #> @path::text[] AS j
                FROM record_history
                WHERE record_name = @name::text
                  AND stored_at >= @start_ms::bigint
                  AND stored_at <= @end_ms::bigint
                OFFSET 0) AS f
          OFFSET 0) AS v
    WHERE abs(n) < 2::numeric ^ 1024 - 2::numeric ^ 970
    OFFSET 0
), w AS (
    SELECT bucket, stored_at, id, x,
           FIRST_VALUE(x) OVER (PARTITION BY bucket ORDER BY stored_at, id) AS first_x,
           FIRST_VALUE(x) OVER (PARTITION BY bucket ORDER BY stored_at DESC, id DESC) AS last_x
    FROM nums
)
-- sum is core.DecimalSum's exact sum: each x as its shortest decimal
-- (float8's text output; the engine's connections keep
-- extra_float_digits at 1, where PostgreSQL 12 and later print the
-- shortest decimal that reads back as x, the digits Go prints), added in
-- numeric, which does not round: the same sum in any order. The engine
-- rounds Sum and Mean from it once.
SELECT bucket::bigint AS bucket,
       COUNT(*)::bigint AS n,
       MIN(x)::float8 AS min_x,
       MAX(x)::float8 AS max_x,
       COALESCE(SUM(x::text::numeric), 0)::text AS sum,
       MAX(first_x)::float8 AS first_x,
       MAX(last_x)::float8 AS last_x
FROM w
GROUP BY bucket
ORDER BY bucket;
