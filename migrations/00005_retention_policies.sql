-- Additive: retention policies, per pattern (DB.SetPolicy, rechist
-- retention), and the rollup tiers they keep. Every handle on the file
-- reads the policies on each retention pass, so an application, `rechist
-- serve` and `rechist cleanup` apply the same ones.
--   rechist_policy          language says how pattern is read ('wildcard':
--                           rechist's '*'; 'topic': AimDB's dot-separated
--                           topics), whichever language the handle that
--                           reads it was opened with. raw_keep_ms 0 keeps
--                           raw rows forever. tiers are the rollup tiers,
--                           "EVERY:KEEP,..." in milliseconds, finest first
--                           ('': none).
--   rechist_rollup_tier     the tiers each record has, by width
--                           (every_ms), with buckets or not yet; a tier
--                           holds every row of the record from from_ms on
--                           (one added after raw rows were gone holds
--                           only those left).
--   rechist_rollup          per record and tier width, one bucket from
--                           bucket_ms (epoch-aligned) on: the summary
--                           (state) of the record's rows in it.
--   rechist_rollup_cursor   one row at most: the highest record_history id
--                           the buckets include; rows above it, whoever
--                           stored them, are still to roll up.
--   rechist_rollup_horizon  per record, the time before which its raw rows
--                           may be gone, deleted after they were rolled up.
-- Files made by the Rust crate gain tables it does not read; rows it
-- stores come above the cursor and are rolled up as rechist's are.

-- +goose Up
CREATE TABLE IF NOT EXISTS rechist_policy (
    pattern     TEXT    NOT NULL,
    language    TEXT    NOT NULL,
    raw_keep_ms INTEGER NOT NULL CHECK (raw_keep_ms >= 0),
    set_at_ms   INTEGER NOT NULL,
    tiers       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (pattern, language)
);

CREATE TABLE IF NOT EXISTS rechist_rollup_tier (
    record_name TEXT    NOT NULL,
    every_ms    INTEGER NOT NULL,
    from_ms     INTEGER NOT NULL,
    PRIMARY KEY (record_name, every_ms)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS rechist_rollup (
    record_name TEXT    NOT NULL,
    every_ms    INTEGER NOT NULL,
    bucket_ms   INTEGER NOT NULL,
    state       TEXT    NOT NULL,
    PRIMARY KEY (record_name, every_ms, bucket_ms)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS rechist_rollup_cursor (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    id   INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS rechist_rollup_horizon (
    record_name TEXT    PRIMARY KEY,
    before_ms   INTEGER NOT NULL
);

-- +goose Down
-- Nothing: dropping the tables would lose the operator's policies and the
-- rollups of raw rows retention has deleted since. Older rechist versions
-- ignore them.
