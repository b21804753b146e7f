-- Retention policies (migration 00005). Unprepared, as every query of a
-- table newer than the files a read-only open may meet.

-- name: SetPolicy :exec
INSERT INTO rechist_policy (pattern, language, raw_keep_ms, set_at_ms, tiers)
VALUES (sqlc.arg(pattern), sqlc.arg(language), sqlc.arg(raw_keep_ms), sqlc.arg(set_at_ms), sqlc.arg(tiers))
ON CONFLICT (pattern, language) DO UPDATE
SET raw_keep_ms = excluded.raw_keep_ms, set_at_ms = excluded.set_at_ms, tiers = excluded.tiers;

-- name: RemovePolicy :execrows
DELETE FROM rechist_policy
WHERE pattern = sqlc.arg(pattern) AND language = sqlc.arg(language);

-- name: Policies :many
SELECT pattern, language, raw_keep_ms, set_at_ms, tiers
FROM rechist_policy
ORDER BY pattern, language;
