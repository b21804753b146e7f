package repo

import (
	"context"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/repo/internal/syncdb"
)

// Policies reads rechist_policy; a file that predates it (opened
// read-only, or by WithoutMigrations) has none.
func (r *reader) Policies(ctx context.Context) ([]core.Policy, error) {
	got, err := syncdb.New(r.conn).Policies(ctx)
	if err != nil {
		if r.missingTable(ctx, err, "rechist_policy") {
			return nil, nil
		}
		return nil, err
	}
	return policiesOf(got)
}

// policiesOf converts the rows of rechist_policy; tiers that do not parse
// are an error, not a policy without tiers, which would let retention
// delete raw rows that were never rolled up.
func policiesOf(got []syncdb.RechistPolicy) ([]core.Policy, error) {
	pols := make([]core.Policy, len(got))
	for i, g := range got {
		lang, _ := core.ParseLanguage(g.Language) // unknown: 0, which the core skips
		tiers, err := core.ParseTiers(g.Tiers)
		if err != nil {
			return nil, err
		}
		pols[i] = core.Policy{Pattern: g.Pattern, Lang: lang, RawKeepMs: g.RawKeepMs, Tiers: tiers, SetAtMs: g.SetAtMs}
	}
	return pols, nil
}

// setPolicy stores p, replacing the policy of its pattern and language.
func setPolicy(ctx context.Context, sq *syncdb.Queries, p core.Policy) error {
	return sq.SetPolicy(ctx, syncdb.SetPolicyParams{Pattern: p.Pattern, Language: p.Lang.String(), RawKeepMs: p.RawKeepMs,
		SetAtMs: p.SetAtMs, Tiers: core.FormatTiers(p.Tiers)})
}

// removePolicy removes the policy of pattern in lang and reports whether
// there was one.
func removePolicy(ctx context.Context, sq *syncdb.Queries, pattern string, lang core.Language) (bool, error) {
	n, err := sq.RemovePolicy(ctx, syncdb.RemovePolicyParams{Pattern: pattern, Language: lang.String()})
	return n > 0, err
}
