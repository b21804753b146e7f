-- Reading rows in commit order: what DB.Changes (the live stream, sync) is
-- built on. Writers run side by side, so a row can commit after one with a
-- higher id; a follower therefore reads only up to an id below which every
-- row is final (FinalID: IDHighWater, then Writers, then
-- WritersStillRunning until none is), in a snapshot taken after that.

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

-- name: Writers :one
-- The transactions that may hold a row id now (rechist_writers, migration
-- 00009), read after the identity's high-water mark (IDHighWater, its own
-- statement): each one that holds an id up to that mark is listed.
SELECT rechist_writers()::text[] AS writers;

-- name: WritersStillRunning :one
-- How many of writers (a Writers list) still hold their lock on
-- record_history, that is, have not ended.
SELECT COUNT(*)::bigint AS running
FROM unnest(@writers::text[]) AS w
WHERE w IN (SELECT unnest(rechist_writers()));
