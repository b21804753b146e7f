-- The schema of the Rust crate aimdb-persistence-sqlite, byte for byte in
-- meaning: either program reads and writes files made by the other.
-- IF NOT EXISTS lets this migration adopt a file the Rust crate created.

-- +goose Up
CREATE TABLE IF NOT EXISTS record_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    record_name TEXT    NOT NULL,
    value_json  TEXT    NOT NULL,
    stored_at   INTEGER NOT NULL -- Unix timestamp in milliseconds (i64)
);

CREATE INDEX IF NOT EXISTS idx_record_time
    ON record_history (record_name, stored_at DESC);

-- +goose Down
-- Nothing. This migration adopts the table that holds the history (the
-- Rust crate's, on SQLite); rolling it back, whoever runs it (rechist's
-- migrate down refuses to, the goose command line does not know to), must
-- never drop that table, its index or a row. To remove rechist's data,
-- drop record_history yourself.
