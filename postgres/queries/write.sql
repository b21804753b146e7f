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
-- At most chunk_size rows stored before cutoff_ms, record by record in name
-- order from from_name on, each record's oldest first: how many, and the
-- name of the last record, where the cleanup's next chunk starts. The names
-- table says which records have rows to delete (first_ms < cutoff_ms) and
-- where each one's start (first_ms, exact), so a chunk never reads the dead
-- index entries of the chunks before it (until a vacuum, a scan from the
-- start of idx_record_stored_at read them all again: 8 index pages a chunk
-- at first, 2,800 after 2M rows). Record by record, a chunk updates the
-- names table's rows of a few records, not of one record a row: the oldest
-- 256 rows of a fleet are 256 records' (2.4x faster in a psql run of 100
-- chunks at 1M rows; performance.md). The rows are deleted by their ids
-- as one array, their time bounded by a parameter: on a table in time
-- partitions PostgreSQL then looks in the partitions before the cutoff
-- only, where ids from a join were looked up in every partition (850 ms
-- for 256 rows at 365 partitions); a join on the time too made it scan
-- every row before the cutoff on one table. The other deletes do the same.
WITH victims AS (
    SELECT h.id
    FROM rechist_record AS r
    CROSS JOIN LATERAL (
        SELECT x.id, x.stored_at
        FROM record_history AS x
        WHERE x.record_name = r.record_name
          AND x.stored_at >= r.first_ms
          AND x.stored_at < @cutoff_ms::bigint
        ORDER BY x.stored_at
        LIMIT @chunk_size::bigint
    ) AS h
    WHERE r.record_name >= @from_name::text
      AND r.first_ms < @cutoff_ms::bigint
    ORDER BY r.record_name, h.stored_at
    LIMIT @chunk_size::bigint
), deleted AS (
    DELETE FROM record_history
    WHERE id = ANY(ARRAY(SELECT id FROM victims))
      AND stored_at < @cutoff_ms::bigint
    RETURNING record_name
)
SELECT COUNT(*)::bigint AS n, COALESCE(MAX(record_name), '')::text AS last_name FROM deleted;

-- name: CleanupWindowEnd :one
-- Where a cleanup's window that starts at start_ms ends (DB.Cleanup goes
-- window by window, each a cleanup of its own: core.CleanupWindower): the
-- time of the window_rows-th row from start_ms on stored before
-- cutoff_ms, or cutoff_ms when fewer remain; later than start_ms, so a
-- window is never empty. DeleteOlderThanChunk deletes record by record
-- within it: the window's rows lie on a few thousand heap pages, which
-- stay in shared buffers while each record's share of them is deleted,
-- where record by record over the whole cutoff visited every page of the
-- oldest rows once per record (2.6x slower per row at 20M rows than at
-- 5M). One scan of window_rows entries of idx_record_stored_at from the
-- window's start, after the dead entries of the windows before; it runs
-- outside the writer, so no store waits for it.
SELECT GREATEST(COALESCE((
    SELECT h.stored_at FROM record_history AS h
    WHERE h.stored_at >= sqlc.arg(start_ms)::bigint AND h.stored_at < sqlc.arg(cutoff_ms)::bigint
    ORDER BY h.stored_at
    OFFSET sqlc.arg(window_rows)::bigint
    LIMIT 1
), sqlc.arg(cutoff_ms)::bigint), sqlc.arg(start_ms)::bigint + 1)::bigint AS end_ms;

-- name: AnyOlderThan :one
-- Whether a row stored before cutoff_ms is still there, in a snapshot of its
-- own: under READ COMMITTED another cleanup may have deleted part of a chunk,
-- so a short chunk alone does not prove the cleanup is done. From the names
-- table (each record's oldest time, exact in every committed state), not
-- from idx_record_stored_at, whose first entries after a cleanup are the
-- dead ones of every row it deleted until a vacuum: read again after each
-- window of a cleanup, they made 2M of 20M rows take 1m54s.
SELECT EXISTS (SELECT 1 FROM rechist_record WHERE first_ms < @cutoff_ms::bigint) AS any_left;

-- name: BeginWrite :one
-- The first statement of a write transaction that only inserts or deletes
-- rows (and moves sync cursors). It takes the schema's writer lock in
-- shared mode (a transaction-level advisory lock, released at COMMIT or
-- ROLLBACK): such writers run side by side, in any number of processes,
-- and only wait for a transaction that holds the lock alone
-- (BeginWriteAlone). Their rows commit in any order; followers read them
-- in commit order all the same (FinalID). It returns the transaction's id:
-- how the outcome of a COMMIT whose answer was lost is learned on another
-- connection.
SELECT pg_current_xact_id()::text AS xid
FROM (SELECT pg_advisory_xact_lock_shared(@lock_id::bigint)) AS writers;

-- name: BeginWriteWithRecords :one
-- BeginWrite and InsertRecords in one statement: a batch of inserts only
-- (commitPipelined) costs the server one statement less. The INSERT reads
-- its rows through the writer CTE, so the lock is taken before any id is
-- drawn; the CTE is evaluated once.
WITH writer AS (
    SELECT pg_current_xact_id()::text AS xid
    FROM (SELECT pg_advisory_xact_lock_shared(@lock_id::bigint)) AS writers
), inserted AS (
    INSERT INTO record_history (record_name, value_json, stored_at)
    SELECT unnest(@record_names::text[]), unnest(@value_jsons::text[]), unnest(@stored_ats::bigint[])
    FROM writer
)
SELECT xid FROM writer;

-- name: CurrentXactID :one
-- The id of the transaction a writer opens ahead of its next commit
-- (commit_ahead.go): known before the commit is sent, so that a COMMIT
-- whose answer is lost is learned as in BeginWrite.
SELECT pg_current_xact_id()::text AS xid;

-- name: BeginWriteAlone :one
-- BeginWrite for a transaction that must see no other rechist writer at
-- work: a rollup (which reads rows after its cursor in id order, so every
-- id below the newest must be final), a policy change, a new sync epoch or
-- source id. It takes the writer lock exclusively: it waits for the
-- writers in progress, and new ones wait for it.
SELECT pg_current_xact_id()::text AS xid
FROM (SELECT pg_advisory_xact_lock(@lock_id::bigint)) AS writers;

-- name: XactStatus :one
-- 'committed', 'aborted' or 'in progress' (NULL when too old to know).
SELECT COALESCE(pg_xact_status(CAST(sqlc.arg(xid)::text AS xid8))::text, 'unknown')::text AS status;

-- name: DeleteRecordRangeChunk :one
-- The oldest chunk_size rows of one record within [start_ms, end_ms]: one
-- chunk of a Delete (or of a retention policy's per-record pass). It
-- returns how many, and the time of the newest it deleted (start_ms when
-- none), where the next chunk starts: rows at that time may remain, and
-- the dead entries of the chunks before lie before it in idx_record_time,
-- where a chunk that started at start_ms again read them all.
WITH victims AS (
    SELECT id FROM record_history
    WHERE record_name = sqlc.arg(name)::text
      AND stored_at >= sqlc.arg(start_ms)::bigint
      AND stored_at <= sqlc.arg(end_ms)::bigint
    ORDER BY stored_at
    LIMIT sqlc.arg(chunk_size)::bigint
), deleted AS (
    DELETE FROM record_history
    WHERE id = ANY(ARRAY(SELECT id FROM victims))
      AND stored_at >= sqlc.arg(start_ms)::bigint
      AND stored_at <= sqlc.arg(end_ms)::bigint
    RETURNING stored_at
)
SELECT COUNT(*)::bigint AS n, COALESCE(MAX(stored_at), sqlc.arg(start_ms)::bigint)::bigint AS last_ms FROM deleted;

-- name: AnyInRange :one
-- Whether a row of the record within the range is still there (see
-- AnyOlderThan).
SELECT EXISTS (
    SELECT 1 FROM record_history
    WHERE record_name = @name::text
      AND stored_at >= @start_ms::bigint
      AND stored_at <= @end_ms::bigint
) AS any_left;
