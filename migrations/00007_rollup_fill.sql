-- Additive: tiers waiting to be filled from raw rows.
--   rechist_rollup_fill  one row per record and tier width that a policy
--                        gives the record and that is to be filled from
--                        its raw rows (no finer tier to fill it from). A
--                        policy change only marks them, in its own
--                        transaction; each is then filled in a
--                        transaction of its own (the record's raw rows at
--                        or below the rollup cursor, then the mark goes
--                        and the tier exists), so a big file's fill is
--                        many short transactions, not one that outlasts
--                        the batch timeout. While a record has a mark the
--                        rollup leaves that tier alone and retention keeps
--                        the record's raw rows.

-- +goose Up
CREATE TABLE IF NOT EXISTS rechist_rollup_fill (
    record_name TEXT    NOT NULL,
    every_ms    INTEGER NOT NULL,
    PRIMARY KEY (record_name, every_ms)
);

-- +goose Down
-- Nothing: the marks are tiers still to fill; without them a later
-- rollup would take such a tier for complete. Up again finds the table.
