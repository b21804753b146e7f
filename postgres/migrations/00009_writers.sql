-- Additive: the transactions that may be writing record_history now, for
-- followers of rows in commit order (DB.Changes; the engine's FinalID).
--
-- Writers run side by side, so ids are drawn in one order and committed in
-- another. A follower reads the identity's high-water mark first and this
-- list second: every transaction holding an id up to the mark drew it in
-- an INSERT (or COPY), which locks record_history before it draws an id and
-- keeps the lock until the transaction ends, so it is over or listed. Once
-- none of the listed holds its lock any more, each has left the list of
-- running transactions (PostgreSQL releases locks after that), and a new
-- snapshot holds every row up to the mark that will ever commit.
--
-- A transaction is identified by its virtual transaction id, which every
-- transaction has (a read of pg_current_snapshot() would not list one
-- whose transaction id is above the newest finished one). Only lock modes
-- that allow inserting count: a long read, a vacuum or an analyze of the
-- table is not waited for.

-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION rechist_writers() RETURNS text[]
LANGUAGE sql VOLATILE SET search_path FROM CURRENT AS $$
    SELECT COALESCE(array_agg(virtualtransaction), '{}')
    FROM pg_locks
    WHERE locktype = 'relation'
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND relation = 'record_history'::regclass
      AND mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION IF EXISTS rechist_writers();
