-- Additive: the record names, with each record's raw row count and the
-- times of its oldest and newest row, so that listing records (Records,
-- the dashboard, /api/records, stats) and walking a pattern's names read
-- one small table instead of counting or hopping through every row.
--   rechist_record       one row per record name that ever had a raw row
--                        (record_id: a stable integer id of the name). A
--                        record whose rows are all deleted keeps its row
--                        with row_count 0 and no times.
--   rechist_record_mark  one row: writer_counts is 1 only inside a
--                        rechist writer's transaction, while it inserts
--                        rows whose counts it adds itself, one upsert per
--                        name (a trigger per row costs about 3 us, as much
--                        as a third of a batched insert). It is back to 0
--                        before that transaction commits, so every other
--                        connection always reads 0.
-- Triggers keep the table in the transaction that changes record_history,
-- whoever writes: an older rechist, the Rust crate, the sqlite3 shell; and
-- rechist itself for a one-row store and a sync. So it is exact at every
-- commit, a kill cannot part it from the rows, and nothing has to find out
-- afterwards what another program wrote (an id high-water mark would see
-- another program's inserts, never its deletes). Up fills it from the rows
-- already there: one pass over idx_record_time. stored_at is read as an
-- INTEGER (another program may store a REAL), as every query of rechist
-- reads it.

-- +goose Up
CREATE TABLE IF NOT EXISTS rechist_record (
    record_id   INTEGER PRIMARY KEY,
    record_name TEXT    NOT NULL UNIQUE,
    row_count   INTEGER NOT NULL,
    first_ms    INTEGER,
    last_ms     INTEGER
);

CREATE TABLE IF NOT EXISTS rechist_record_mark (
    slot          INTEGER PRIMARY KEY CHECK (slot = 1),
    writer_counts INTEGER NOT NULL
);
INSERT OR IGNORE INTO rechist_record_mark (slot, writer_counts) VALUES (1, 0);

INSERT INTO rechist_record (record_name, row_count, first_ms, last_ms)
SELECT record_name, COUNT(*),
       MIN(CAST(stored_at AS INTEGER)), MAX(CAST(stored_at AS INTEGER))
FROM record_history
WHERE true -- an INSERT ... SELECT followed by ON CONFLICT needs a WHERE
GROUP BY record_name
ON CONFLICT (record_name) DO UPDATE SET
    row_count = excluded.row_count,
    first_ms = excluded.first_ms,
    last_ms = excluded.last_ms;

-- IS NOT 1: a file whose mark row someone deleted still counts every row.
-- +goose StatementBegin
CREATE TRIGGER IF NOT EXISTS rechist_record_insert
AFTER INSERT ON record_history
WHEN (SELECT writer_counts FROM rechist_record_mark WHERE slot = 1) IS NOT 1
BEGIN
    INSERT INTO rechist_record (record_name, row_count, first_ms, last_ms)
    VALUES (new.record_name, 1, CAST(new.stored_at AS INTEGER), CAST(new.stored_at AS INTEGER))
    ON CONFLICT (record_name) DO UPDATE SET
        row_count = row_count + 1,
        first_ms = min(COALESCE(first_ms, excluded.first_ms), excluded.first_ms),
        last_ms = max(COALESCE(last_ms, excluded.last_ms), excluded.last_ms);
END;
-- +goose StatementEnd

-- A row deleted at the record's oldest or newest time: the new edge is one
-- seek in idx_record_time (the row is gone by now).
-- +goose StatementBegin
CREATE TRIGGER IF NOT EXISTS rechist_record_delete
AFTER DELETE ON record_history
BEGIN
    UPDATE rechist_record SET
        row_count = row_count - 1,
        first_ms = CASE WHEN CAST(old.stored_at AS INTEGER) > first_ms THEN first_ms
                        ELSE (SELECT CAST(MIN(h.stored_at) AS INTEGER) FROM record_history AS h
                              WHERE h.record_name = old.record_name) END,
        last_ms = CASE WHEN CAST(old.stored_at AS INTEGER) < last_ms THEN last_ms
                       ELSE (SELECT CAST(MAX(h.stored_at) AS INTEGER) FROM record_history AS h
                             WHERE h.record_name = old.record_name) END
    WHERE record_name = old.record_name;
END;
-- +goose StatementEnd

-- rechist never updates a row; another program may move one to another
-- name or time: the old row leaves, the new one comes.
-- +goose StatementBegin
CREATE TRIGGER IF NOT EXISTS rechist_record_update
AFTER UPDATE OF record_name, stored_at ON record_history
BEGIN
    UPDATE rechist_record SET
        row_count = row_count - 1,
        first_ms = (SELECT CAST(MIN(h.stored_at) AS INTEGER) FROM record_history AS h
                    WHERE h.record_name = old.record_name),
        last_ms = (SELECT CAST(MAX(h.stored_at) AS INTEGER) FROM record_history AS h
                   WHERE h.record_name = old.record_name)
    WHERE record_name = old.record_name;
    INSERT INTO rechist_record (record_name, row_count, first_ms, last_ms)
    VALUES (new.record_name, 1, CAST(new.stored_at AS INTEGER), CAST(new.stored_at AS INTEGER))
    ON CONFLICT (record_name) DO UPDATE SET
        row_count = row_count + 1,
        first_ms = (SELECT CAST(MIN(h.stored_at) AS INTEGER) FROM record_history AS h
                    WHERE h.record_name = new.record_name),
        last_ms = (SELECT CAST(MAX(h.stored_at) AS INTEGER) FROM record_history AS h
                   WHERE h.record_name = new.record_name);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER IF EXISTS rechist_record_update;
DROP TRIGGER IF EXISTS rechist_record_delete;
DROP TRIGGER IF EXISTS rechist_record_insert;
DROP TABLE IF EXISTS rechist_record_mark;
DROP TABLE IF EXISTS rechist_record;
