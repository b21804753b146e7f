-- The blocks of migration 00006, as a file opened read-only that predates
-- migration 00011 keeps them (package legacydb, compiled against the
-- schema up to 00010). A writable open moves them (00011); a read-only
-- open reads them here, since reads never change a file.

-- name: RollupBlocks :many
SELECT block_ms, data
FROM rechist_rollup_block
WHERE record_name = CAST(@name AS TEXT)
  AND every_ms = CAST(@every_ms AS INTEGER)
  AND block_ms >= CAST(@from_ms AS INTEGER)
  AND block_ms <= CAST(@to_ms AS INTEGER)
ORDER BY block_ms;

-- name: RollupOldestBlock :one
SELECT block_ms, data FROM rechist_rollup_block
WHERE record_name = CAST(@name AS TEXT) AND every_ms = CAST(@every_ms AS INTEGER)
ORDER BY block_ms LIMIT 1;

-- name: RollupNewestBlock :one
SELECT block_ms, data FROM rechist_rollup_block
WHERE record_name = CAST(@name AS TEXT) AND every_ms = CAST(@every_ms AS INTEGER)
ORDER BY block_ms DESC LIMIT 1;

-- name: RollupUsage :many
SELECT record_name, every_ms, COUNT(*) AS blocks, CAST(SUM(length(data)) AS INTEGER) AS bytes
FROM rechist_rollup_block
GROUP BY record_name, every_ms
ORDER BY record_name, every_ms;
