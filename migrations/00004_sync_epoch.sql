-- Additive: what sync needs to tell a source from a copy of it (a restored
-- backup, a copied file) that stored rows of its own after it was copied,
-- whatever rows either has deleted since.
--   rechist_sync_epoch         as a source: the epochs of the file's row
--                              ids. Every DB handle's first write that
--                              stores rows begins one, in its own
--                              transaction: a random token from start_id
--                              (the next id) on. A copy's first write
--                              after the copy begins an epoch the original
--                              never had, so the two files' epochs differ
--                              at every id stored after the copy.
--   rechist_sync_cursor_epoch  as a destination: per source, the token of
--                              the source's epoch at the cursor's id,
--                              written with the cursor.
-- Files made by the Rust crate gain two tables it does not read; rows it
-- stores belong to the epoch before them.

-- +goose Up
CREATE TABLE IF NOT EXISTS rechist_sync_epoch (
    start_id INTEGER PRIMARY KEY,
    token    TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS rechist_sync_cursor_epoch (
    source_id  TEXT PRIMARY KEY,
    last_epoch TEXT NOT NULL
);

-- +goose Down
-- Nothing: dropping these tables would make every destination refuse this
-- file as a copy of itself, and make it forget, as a destination, which
-- history its sources' cursors belong to. Older readers ignore them.
