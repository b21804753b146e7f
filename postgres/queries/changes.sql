-- Reading rows in commit order: what DB.Changes (the live stream, sync) is
-- built on. Every commit of this engine takes the schema's commit-order
-- lock (CommitOrderLock) before its first statement, so identity values
-- are handed out in commit order, across processes too.

-- name: ChangesAfter :many
-- Up to page rows with an id above after, ascending by id: a range of the
-- primary key.
SELECT id, record_name, value_json, stored_at
FROM record_history
WHERE id > @after::bigint
ORDER BY id
LIMIT @page::bigint;

-- name: LastID :one
-- The highest id in the table (0 when it is empty): one seek.
SELECT COALESCE(MAX(id), 0)::bigint AS last_id FROM record_history;
