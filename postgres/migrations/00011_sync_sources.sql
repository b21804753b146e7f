-- Additive: what a sync destination remembers of each source besides its
-- cursor (SQLite's migration 00009_sync_sources.sql says the same; see
-- docs/sync.md).
--   rechist_sync_source        per source: the --pattern and --prefix its
--                              pushes use, the source's newest id when the
--                              destination first received it (horizon) and
--                              how many ids up to it the source no longer
--                              had then (rows_gone). Written with the
--                              cursor, under its lock (LockSyncCursor).
--                              continued_by/continued_at: the new identity
--                              that took over the source's history at its
--                              cursor continued_at, under both cursors'
--                              locks: the source's cursor never moves again.
--   rechist_sync_source_epoch  per source: the epochs of the ids the
--                              destination received, so that a source that
--                              takes a new identity can tell where its
--                              history and the one received under the old
--                              identity part.

-- +goose Up
CREATE TABLE IF NOT EXISTS rechist_sync_source (
    source_id TEXT COLLATE "C" PRIMARY KEY,
    pattern   TEXT   NOT NULL,
    prefix    TEXT   NOT NULL,
    horizon   BIGINT NOT NULL,
    rows_gone BIGINT NOT NULL,
    continued_by TEXT   NOT NULL DEFAULT '',
    continued_at BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS rechist_sync_source_epoch (
    source_id TEXT COLLATE "C" NOT NULL,
    start_id  BIGINT NOT NULL,
    token     TEXT   NOT NULL,
    PRIMARY KEY (source_id, start_id)
);

-- +goose Down
-- Nothing: dropping these tables would let a push with another pattern or
-- prefix silently skip rows, and make missed counts include rows deleted
-- before the first push. Older readers ignore them.
