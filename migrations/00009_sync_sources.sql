-- Additive: what a sync destination remembers of each source besides its
-- cursor, so that an operator cannot wedge it (issue 23, docs/sync.md).
--   rechist_sync_source        per source: the --pattern and --prefix its
--                              pushes use (a push with others is refused:
--                              the cursor covers the rows the first ones
--                              looked at), the source's newest id when the
--                              destination first received it (horizon) and
--                              how many ids up to it the source no longer
--                              had then (rows_gone: not missed, gone before
--                              sync saw them). Written with the cursor.
--                              continued_by/continued_at: the new identity
--                              that took over the source's history at its
--                              cursor continued_at (DB.NewSourceID, the
--                              push that adopts it, in its transaction):
--                              the source's cursor never moves again.
--   rechist_sync_source_epoch  per source: the epochs (rechist_sync_epoch of
--                              the source) of the ids the destination
--                              received, so that a source that takes a new
--                              identity can tell where its history and the
--                              one received under the old identity part.
-- The source's own identities before its current one are kept in
-- rechist_meta, key 'source_parents' (no new table). A cursor written
-- before this migration has no row here: its pattern and prefix are
-- unknown (the next push records them) and every gap counts as missed.
-- Files made by the Rust crate gain two tables it does not read.

-- +goose Up
CREATE TABLE IF NOT EXISTS rechist_sync_source (
    source_id TEXT    PRIMARY KEY,
    pattern   TEXT    NOT NULL,
    prefix    TEXT    NOT NULL,
    horizon   INTEGER NOT NULL,
    rows_gone INTEGER NOT NULL,
    continued_by TEXT    NOT NULL DEFAULT '',
    continued_at INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS rechist_sync_source_epoch (
    source_id TEXT    NOT NULL,
    start_id  INTEGER NOT NULL,
    token     TEXT    NOT NULL,
    PRIMARY KEY (source_id, start_id)
) WITHOUT ROWID;

-- +goose Down
-- Nothing: dropping these tables would let a push with another pattern or
-- prefix silently skip rows, and make missed counts include rows deleted
-- before the first push. Older readers ignore them.
