-- Additive: the takeovers a sync destination took (SQLite's migration
-- 00010_sync_takeovers.sql says the same; see docs/sync.md).
--   rechist_sync_takeover  per new identity that continued an earlier
--                          identity's history (the push that adopts it,
--                          in its transaction, under the parent's cursor
--                          lock): the earlier identity (parent_id), the id
--                          it continued from (at_id) and the new
--                          identity's epoch at at_id + 1 (epoch). A second
--                          new identity of the same file that takes over
--                          the same parent comes with the same epoch after
--                          that point and is refused, so that the rows
--                          after it are not stored twice. A schema without
--                          the table has recorded no takeover.

-- +goose Up
CREATE TABLE IF NOT EXISTS rechist_sync_takeover (
    parent_id TEXT COLLATE "C" NOT NULL,
    source_id TEXT COLLATE "C" NOT NULL,
    at_id     BIGINT NOT NULL,
    epoch     TEXT   NOT NULL,
    PRIMARY KEY (parent_id, source_id)
);

-- +goose Down
-- Nothing: dropping the table would let a file that took two new
-- identities store the rows after a takeover twice. Older readers ignore
-- it.
