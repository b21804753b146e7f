-- Retention policies (migration 00004), set and removed through the writer
-- (a KindTiers request: core.changePolicy) and read on every retention
-- pass.

-- name: SetPolicy :exec
-- Replaces the policy of the same pattern and language.
INSERT INTO rechist_policy (pattern, language, raw_keep_ms, set_at_ms, tiers)
VALUES (@pattern::text, @language::text, @raw_keep_ms::bigint, @set_at_ms::bigint, @tiers::text)
ON CONFLICT (pattern, language) DO UPDATE SET
    raw_keep_ms = excluded.raw_keep_ms,
    set_at_ms = excluded.set_at_ms,
    tiers = excluded.tiers;

-- name: RemovePolicy :execrows
DELETE FROM rechist_policy
WHERE pattern = @pattern::text AND language = @language::text;

-- name: PolicyTable :one
-- Whether the schema has rechist_policy (migration 00004): asked first in a
-- read transaction, which a query of a missing table would abort.
SELECT (to_regclass('rechist_policy') IS NOT NULL)::boolean AS present;

-- name: Policies :many
-- Bytewise, by the primary key (both columns are COLLATE "C").
SELECT pattern, language, raw_keep_ms, set_at_ms, tiers
FROM rechist_policy
ORDER BY pattern, language;
