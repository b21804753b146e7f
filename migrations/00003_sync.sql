-- Additive: what sync (rechist.Sync, `rechist sync`) needs, on every file.
--   rechist_meta         the file's own facts; 'source_id' is its identity
--                        as a sync source: random, made once, here, so
--                        that a sync that only reads the file finds it.
--   rechist_sync_cursor  as a destination: per source, the id of the last
--                        source row it holds (last_id), a fingerprint of
--                        that row (last_hash, to notice a copied source
--                        file), and the rows received and the rows the
--                        source deleted before they could be sent. It is
--                        written in the transaction of the rows it covers.
-- Files made by the Rust crate gain two tables it does not read.

-- +goose Up
CREATE TABLE IF NOT EXISTS rechist_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

INSERT INTO rechist_meta (key, value)
VALUES ('source_id', lower(hex(randomblob(16))))
ON CONFLICT (key) DO NOTHING;

CREATE TABLE IF NOT EXISTS rechist_sync_cursor (
    source_id   TEXT    PRIMARY KEY,
    last_id     INTEGER NOT NULL,
    last_hash   TEXT    NOT NULL,
    rows_sent   INTEGER NOT NULL,
    rows_missed INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL -- Unix milliseconds
);

-- +goose Down
-- Nothing: dropping these tables would give the file a new identity as a
-- source (a destination would then receive its rows a second time) and
-- make it forget what it received as a destination. Older readers ignore
-- them; drop them yourself if you must.
