-- name: InsertRecords :exec
-- A request's rows in one statement and one round trip: three arrays of the
-- same length, unnested in step (set-returning functions in one select list
-- advance together).
INSERT INTO record_history (record_name, value_json, stored_at)
SELECT unnest(@record_names::text[]), unnest(@value_jsons::text[]), unnest(@stored_ats::bigint[]);

-- name: CopyRecords :copyfrom
-- The bulk path for large requests: COPY inside the batch's transaction.
INSERT INTO record_history (record_name, value_json, stored_at) VALUES ($1, $2, $3);

-- name: DeleteOlderThanChunk :one
-- At most chunk_size of the oldest rows stored in [from_ms, cutoff_ms),
-- through idx_record_stored_at: how many, and the time of the newest, where
-- the cleanup's next chunk starts. Starting there, a chunk never reads the
-- dead index entries of the chunks before it (until a vacuum removes them,
-- a scan from the start of the index reads them all again: 8 index pages
-- a chunk at first, 2,800 after 2M rows).
WITH deleted AS (
    DELETE FROM record_history
    WHERE id IN (
        SELECT id FROM record_history
        WHERE stored_at >= @from_ms::bigint
          AND stored_at < @cutoff_ms::bigint
        ORDER BY stored_at
        LIMIT @chunk_size::bigint
    )
    RETURNING stored_at
)
SELECT COUNT(*)::bigint AS n, COALESCE(MAX(stored_at), 0)::bigint AS last_ms FROM deleted;

-- name: AnyOlderThan :one
-- Whether a row stored before cutoff_ms is still there, in a snapshot of its
-- own: under READ COMMITTED another cleanup may have deleted part of a chunk,
-- so a short chunk alone does not prove the cleanup is done.
SELECT EXISTS (SELECT 1 FROM record_history WHERE stored_at < @cutoff_ms::bigint) AS any_left;

-- name: BeginWrite :one
-- The first statement of every write transaction. It takes the schema's
-- commit-order lock (a transaction-level advisory lock, released at COMMIT
-- or ROLLBACK), so that write transactions of every process on this schema
-- run one after another: identity values are then handed out in commit
-- order and a reader following the table by id (DB.Changes) never sees a
-- higher id before a lower one that commits later. It returns the
-- transaction's id, taken before COMMIT so that its outcome can be learned
-- on another connection if the connection is lost during COMMIT.
SELECT pg_current_xact_id()::text AS xid
FROM (SELECT pg_advisory_xact_lock(@lock_id::bigint)) AS commit_order;

-- name: XactStatus :one
-- 'committed', 'aborted' or 'in progress' (NULL when too old to know).
SELECT COALESCE(pg_xact_status(CAST(sqlc.arg(xid)::text AS xid8))::text, 'unknown')::text AS status;

-- name: DeleteRecordRangeChunk :execrows
-- At most chunk_size rows of one record within [start_ms, end_ms]: one
-- chunk of a Delete.
DELETE FROM record_history
WHERE id IN (
    SELECT id FROM record_history
    WHERE record_name = @name::text
      AND stored_at >= @start_ms::bigint
      AND stored_at <= @end_ms::bigint
    LIMIT @chunk_size::bigint
);

-- name: AnyInRange :one
-- Whether a row of the record within the range is still there (see
-- AnyOlderThan).
SELECT EXISTS (
    SELECT 1 FROM record_history
    WHERE record_name = @name::text
      AND stored_at >= @start_ms::bigint
      AND stored_at <= @end_ms::bigint
) AS any_left;
