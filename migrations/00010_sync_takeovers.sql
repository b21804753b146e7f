-- Additive: the takeovers a sync destination took (docs/sync.md: a copied
-- source).
--   rechist_sync_takeover  per new identity that continued an earlier
--                          identity's history (the push that adopts it,
--                          in its transaction): the earlier identity
--                          (parent_id), the id it continued from (at_id)
--                          and the new identity's epoch at at_id + 1
--                          (epoch). A second new identity of the same file
--                          that takes over the same parent (the file took
--                          a new identity again while a sync under the
--                          first was on its way) comes with the same epoch
--                          after that point and is refused, so that the
--                          rows after it are not stored twice, also when
--                          the takeover starts below the parent's cursor
--                          and the parent is not marked continued. A file
--                          without the table has recorded no takeover.

-- +goose Up
CREATE TABLE IF NOT EXISTS rechist_sync_takeover (
    parent_id TEXT    NOT NULL,
    source_id TEXT    NOT NULL,
    at_id     INTEGER NOT NULL,
    epoch     TEXT    NOT NULL,
    PRIMARY KEY (parent_id, source_id)
) WITHOUT ROWID;

-- +goose Down
-- Nothing: dropping the table would let a file that took two new
-- identities store the rows after a takeover twice. Older readers ignore
-- it.
