-- Rollup tiers (migration 00004): what core.TierStore runs in a KindTiers
-- request's write transaction and core.TierReader in a read snapshot.
-- MaxID, RowsAfter and DeleteRange reuse LastID, ChangesAfter and
-- DeleteRecordRangeChunk.

-- name: TierTables :one
-- Whether the schema has the tiers' tables, as migration 00005 left them
-- (a schema between 00004 and 00005 has tiers it cannot read): asked
-- first in a read transaction, which a query of a missing table would
-- abort.
SELECT (to_regclass('rechist_rollup_block') IS NOT NULL)::boolean AS present;

-- name: RollupCursor :one
SELECT id FROM rechist_rollup_cursor WHERE slot = 1;

-- name: SetRollupCursor :exec
INSERT INTO rechist_rollup_cursor (slot, id) VALUES (1, @id::bigint)
ON CONFLICT (slot) DO UPDATE SET id = excluded.id;

-- name: RollupHorizon :one
SELECT before_ms FROM rechist_rollup_horizon WHERE record_name = @name::text;

-- name: SetRollupHorizon :exec
INSERT INTO rechist_rollup_horizon (record_name, before_ms)
VALUES (@name::text, @before_ms::bigint)
ON CONFLICT (record_name) DO UPDATE SET before_ms = excluded.before_ms;

-- name: RollupBlocks :many
-- A range of the primary key, in block order.
SELECT block_ms, data
FROM rechist_rollup_block
WHERE record_name = @name::text
  AND every_ms = @every_ms::bigint
  AND block_ms >= @from_ms::bigint
  AND block_ms <= @to_ms::bigint
ORDER BY block_ms;

-- name: PutRollupBlock :exec
INSERT INTO rechist_rollup_block (record_name, every_ms, block_ms, data)
VALUES (@name::text, @every_ms::bigint, @block_ms::bigint, @data::bytea)
ON CONFLICT (record_name, every_ms, block_ms) DO UPDATE SET data = excluded.data;

-- name: DeleteRollupBlocks :execrows
DELETE FROM rechist_rollup_block
WHERE record_name = @name::text
  AND every_ms = @every_ms::bigint
  AND block_ms >= @from_ms::bigint
  AND block_ms <= @to_ms::bigint;

-- name: RollupWidths :many
SELECT every_ms FROM rechist_rollup_tier
WHERE record_name = @name::text
ORDER BY every_ms;

-- name: RollupTierFrom :one
SELECT from_ms FROM rechist_rollup_tier
WHERE record_name = @name::text AND every_ms = @every_ms::bigint;

-- name: SetRollupTier :exec
INSERT INTO rechist_rollup_tier (record_name, every_ms, from_ms)
VALUES (@name::text, @every_ms::bigint, @from_ms::bigint)
ON CONFLICT (record_name, every_ms) DO UPDATE SET from_ms = excluded.from_ms;

-- name: DeleteRollupTier :exec
DELETE FROM rechist_rollup_tier
WHERE record_name = @name::text AND every_ms = @every_ms::bigint;

-- name: DeleteRollupTierBlocks :exec
DELETE FROM rechist_rollup_block
WHERE record_name = @name::text AND every_ms = @every_ms::bigint;

-- name: RecordRowsByID :many
-- One record's rows within [start_ms, end_ms] whose id is in
-- (above_id, upto_id], in no order.
SELECT id, record_name, value_json, stored_at
FROM record_history
WHERE record_name = @name::text
  AND stored_at >= @start_ms::bigint
  AND stored_at <= @end_ms::bigint
  AND id > @above_id::bigint
  AND id <= @upto_id::bigint;

-- name: DeleteRolledUpChunk :execrows
-- At most chunk_size rows of one record stored before cutoff_ms whose id
-- is at most max_id (rolled up).
DELETE FROM record_history
WHERE id = ANY(ARRAY(
    SELECT id FROM record_history
    WHERE record_name = @name::text
      AND stored_at < @cutoff_ms::bigint
      AND id <= @max_id::bigint
    LIMIT @chunk_size::bigint
))
  AND stored_at < @cutoff_ms::bigint;

-- name: RollupNames :many
-- Up to page distinct names of records with tiers, at or above lo and
-- above after, below hi unless hi is NULL: a range of the primary key.
SELECT DISTINCT record_name FROM rechist_rollup_tier
WHERE record_name >= @lo::text
  AND record_name > @after::text
  AND (sqlc.narg(hi)::text IS NULL OR record_name < sqlc.narg(hi)::text)
ORDER BY record_name
LIMIT @page::bigint;

-- name: RollupBlocksAt :many
-- The blocks of the keys (three arrays of the same length, zipped by the
-- set-returning functions side by side): one statement for the blocks of
-- a whole rollup step, each a primary-key seek.
SELECT b.record_name, b.every_ms, b.block_ms, b.data
FROM (SELECT unnest(@names::text[]) AS name, unnest(@everys::bigint[]) AS every_ms,
             unnest(@ats::bigint[]) AS block_ms) AS k
JOIN rechist_rollup_block AS b
  ON b.record_name = k.name AND b.every_ms = k.every_ms AND b.block_ms = k.block_ms;

-- name: RollupOldestBlock :one
SELECT block_ms, data FROM rechist_rollup_block
WHERE record_name = @name::text AND every_ms = @every_ms::bigint
ORDER BY block_ms LIMIT 1;

-- name: RollupNewestBlock :one
SELECT block_ms, data FROM rechist_rollup_block
WHERE record_name = @name::text AND every_ms = @every_ms::bigint
ORDER BY block_ms DESC LIMIT 1;

-- name: RollupUsage :many
SELECT record_name, every_ms, COUNT(*)::bigint AS blocks, SUM(octet_length(data))::bigint AS bytes
FROM rechist_rollup_block
GROUP BY record_name, every_ms
ORDER BY record_name, every_ms;

-- name: PutRollupBlocks :exec
-- The blocks of a rollup step in one statement (four arrays of the same
-- length, zipped by the set-returning functions side by side).
INSERT INTO rechist_rollup_block (record_name, every_ms, block_ms, data)
SELECT unnest(@names::text[]), unnest(@everys::bigint[]), unnest(@ats::bigint[]), unnest(@datas::bytea[])
ON CONFLICT (record_name, every_ms, block_ms) DO UPDATE SET data = excluded.data;

-- name: AddRollupFill :exec
-- A tier to fill from the record's raw rows (migration 00006).
INSERT INTO rechist_rollup_fill (record_name, every_ms)
VALUES (@name::text, @every_ms::bigint)
ON CONFLICT (record_name, every_ms) DO NOTHING;

-- name: DeleteRollupFill :exec
DELETE FROM rechist_rollup_fill
WHERE record_name = @name::text AND every_ms = @every_ms::bigint;

-- name: RollupFillWidths :many
-- The widths of one record's tiers waiting to be filled.
SELECT every_ms FROM rechist_rollup_fill
WHERE record_name = @name::text
ORDER BY every_ms;

-- name: FirstRollupFill :one
-- The first tier waiting to be filled, by name and width.
SELECT record_name, every_ms FROM rechist_rollup_fill
ORDER BY record_name, every_ms
LIMIT 1;
