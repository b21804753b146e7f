-- Additive: an index on stored_at alone, so retention deletes the oldest rows
-- in small chunks without scanning the table, and time ranges across many
-- records can be answered by the index. Files made by the Rust crate gain the
-- index and stay readable and writable by it.

-- +goose Up
CREATE INDEX IF NOT EXISTS idx_record_stored_at
    ON record_history (stored_at);

-- +goose Down
DROP INDEX IF EXISTS idx_record_stored_at;
