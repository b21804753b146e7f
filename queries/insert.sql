-- name: InsertRecord :exec
-- One row; the writer runs it for every row of a group-commit batch, inside
-- one transaction, through a statement prepared once per connection.
INSERT INTO record_history (record_name, value_json, stored_at)
VALUES (@record_name, @value_json, @stored_at);
