-- Additive: retention policies, per pattern (DB.SetPolicy, rechist
-- retention). Every handle on the file reads them on each retention pass,
-- so an application, `rechist serve` and `rechist cleanup` apply the same
-- ones. language says how pattern is read ('wildcard': rechist's '*';
-- 'topic': AimDB's dot-separated topics), whichever language the handle
-- that reads it was opened with. raw_keep_ms 0 keeps raw rows forever.
-- Files made by the Rust crate gain a table it does not read.

-- +goose Up
CREATE TABLE IF NOT EXISTS rechist_policy (
    pattern     TEXT    NOT NULL,
    language    TEXT    NOT NULL,
    raw_keep_ms INTEGER NOT NULL CHECK (raw_keep_ms >= 0),
    set_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (pattern, language)
);

-- +goose Down
-- Nothing: dropping the table would lose the operator's policies. Older
-- rechist versions ignore it.
