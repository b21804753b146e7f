-- Additive: what sync (rechist.Sync, `rechist sync`) needs.
--   rechist_meta         the schema's own facts; 'source_id' is its
--                        identity as a sync source, random, made once.
--   rechist_sync_cursor  as a destination: per source, the id of the last
--                        source row it holds (last_id), a fingerprint of
--                        that row (last_hash, to notice a copied source
--                        file), the rows received and the rows the source
--                        deleted before they could be sent. It is written
--                        in the transaction of the rows it covers.

-- +goose Up
CREATE TABLE IF NOT EXISTS rechist_meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
);

INSERT INTO rechist_meta (key, value)
VALUES ('source_id', replace(gen_random_uuid()::text, '-', ''))
ON CONFLICT (key) DO NOTHING;

CREATE TABLE IF NOT EXISTS rechist_sync_cursor (
    source_id   TEXT COLLATE "C" PRIMARY KEY,
    last_id     BIGINT NOT NULL,
    last_hash   TEXT   NOT NULL,
    rows_sent   BIGINT NOT NULL,
    rows_missed BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL -- Unix milliseconds
);

-- +goose Down
-- Nothing: dropping these tables would give the file a new identity as a
-- source (a destination would then receive its rows a second time) and
-- make it forget what it received as a destination. Older readers ignore
-- them; drop them yourself if you must.
