package testutil

// RustSchema is the SQL that the Rust crate aimdb-persistence-sqlite runs
// on every file it opens (SqliteBackend::new): WAL mode, then its table and
// index, whitespace and all. Tests make "a file written by the Rust crate"
// by running it.
const RustSchema = `PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS record_history (
                id          INTEGER PRIMARY KEY AUTOINCREMENT,
                record_name TEXT    NOT NULL,
                value_json  TEXT    NOT NULL,
                stored_at   INTEGER NOT NULL
            );
            CREATE INDEX IF NOT EXISTS idx_record_time
                ON record_history(record_name, stored_at DESC);`
