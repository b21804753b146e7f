-- rechist's schema on PostgreSQL: the same table and index names as the
-- SQLite schema (and the Rust crate's), with PostgreSQL types.
--   record_name  COLLATE "C": bytewise order and prefix ranges, as SQLite's
--                BINARY collation, whatever the database's locale.
--   value_json   TEXT, not JSONB: values come back byte for byte as stored
--                (JSONB reorders keys, rewrites numbers and whitespace, and
--                refuses \u0000), and rechist never looks inside them.
--   stored_at    BIGINT Unix milliseconds.
-- idx_record_time orders ties by id too, so a record's newest rows are one
-- index range in exactly the order rechist returns them.

-- +goose Up
CREATE TABLE IF NOT EXISTS record_history (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record_name TEXT COLLATE "C" NOT NULL,
    value_json  TEXT NOT NULL,
    stored_at   BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS idx_record_time
    ON record_history (record_name, stored_at DESC, id DESC);

CREATE INDEX IF NOT EXISTS idx_record_stored_at
    ON record_history (stored_at);

-- +goose Down
-- Nothing. This migration adopts the table that holds the history (the
-- Rust crate's, on SQLite); rolling it back, whoever runs it (rechist's
-- migrate down refuses to, the goose command line does not know to), must
-- never drop that table, its index or a row. To remove rechist's data,
-- drop record_history yourself.
