-- name: InsertRecords :exec
-- A request's rows in one statement and one round trip: three arrays of the
-- same length, unnested in step (set-returning functions in one select list
-- advance together).
INSERT INTO record_history (record_name, value_json, stored_at)
SELECT unnest(@record_names::text[]), unnest(@value_jsons::text[]), unnest(@stored_ats::bigint[]);

-- name: CopyRecords :copyfrom
-- The bulk path for large requests: COPY inside the batch's transaction.
INSERT INTO record_history (record_name, value_json, stored_at) VALUES ($1, $2, $3);

-- name: DeleteOlderThanChunk :execrows
-- At most chunk_size of the oldest rows stored before cutoff_ms, through
-- idx_record_stored_at.
DELETE FROM record_history
WHERE id IN (
    SELECT id FROM record_history
    WHERE stored_at < @cutoff_ms::bigint
    ORDER BY stored_at
    LIMIT @chunk_size::bigint
);
