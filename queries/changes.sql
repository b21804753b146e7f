-- Reading rows in commit order: what DB.Changes (the live stream, sync) is
-- built on. record_history's id is INTEGER PRIMARY KEY AUTOINCREMENT and
-- SQLite has one writer at a time, so ids grow in commit order, across
-- processes too, and are never reused after a delete.

-- name: ChangesAfter :many
-- Up to page rows with an id above after, ascending by id: a range of the
-- table's own B-tree, however large the table.
SELECT id, record_name, value_json,
       CAST(stored_at AS INTEGER) AS stored_at -- a REAL from another program
FROM record_history
WHERE id > CAST(@after AS INTEGER)
ORDER BY id
LIMIT CAST(@page AS INTEGER);

-- name: LastID :one
-- The highest id in the table (0 when it is empty): one seek.
SELECT CAST(COALESCE(MAX(id), 0) AS INTEGER) AS last_id FROM record_history;
