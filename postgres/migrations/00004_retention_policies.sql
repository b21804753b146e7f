-- Additive: retention policies, per pattern (DB.SetPolicy, rechist
-- retention). Every handle on the schema reads them on each retention
-- pass, so an application, `rechist serve` and `rechist cleanup` apply the
-- same ones. language says how pattern is read ('wildcard': rechist's '*';
-- 'topic': AimDB's dot-separated topics), whichever language the handle
-- that reads it was opened with. raw_keep_ms 0 keeps raw rows forever.
--   COLLATE "C": bytewise order and equality, as SQLite's (Policies lists
--                them by pattern, then language, in the same order on
--                both engines).

-- +goose Up
CREATE TABLE IF NOT EXISTS rechist_policy (
    pattern     TEXT COLLATE "C" NOT NULL,
    language    TEXT COLLATE "C" NOT NULL,
    raw_keep_ms BIGINT NOT NULL CHECK (raw_keep_ms >= 0),
    set_at_ms   BIGINT NOT NULL, -- Unix milliseconds
    PRIMARY KEY (pattern, language)
);

-- +goose Down
-- Nothing: dropping the table would lose the operator's policies. Older
-- rechist versions ignore it.
