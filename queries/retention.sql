-- name: DeleteOlderThanChunk :many
-- Deletes at most chunk_size of the oldest rows stored in [from_ms,
-- cutoff_ms) and returns their times: the cleanup's next chunk starts at
-- the newest of them, so no chunk reads again where the chunks before it
-- deleted (on PostgreSQL, dead index entries until a vacuum: the cost of a
-- chunk grew with what the cleanup had deleted). idx_record_stored_at
-- makes each chunk an index range, so a cleanup of any size is a series of
-- short write transactions that let stores through in between.
DELETE FROM record_history
WHERE id IN (
    SELECT id FROM record_history
    WHERE stored_at >= CAST(@from_ms AS INTEGER)
      AND stored_at < CAST(@cutoff_ms AS INTEGER)
    ORDER BY stored_at
    LIMIT CAST(@chunk_size AS INTEGER)
)
RETURNING CAST(stored_at AS INTEGER) AS stored_at;

-- name: DeleteRecordRangeChunk :execrows
-- At most chunk_size rows of one record within [start_ms, end_ms]: one
-- chunk of a Delete, an index range of idx_record_time.
DELETE FROM record_history
WHERE id IN (
    SELECT id FROM record_history
    WHERE record_name = CAST(@name AS TEXT)
      AND stored_at >= CAST(@start_ms AS INTEGER)
      AND stored_at <= CAST(@end_ms AS INTEGER)
    LIMIT CAST(@chunk_size AS INTEGER)
);
