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
	pols := make([]core.Policy, len(got))
	for i, g := range got {
		lang, _ := core.ParseLanguage(g.Language) // unknown: 0, which the core skips
		pols[i] = core.Policy{Pattern: g.Pattern, Lang: lang, RawKeepMs: g.RawKeepMs, SetAtMs: g.SetAtMs}
	}
	return pols, nil
}

// applyPolicy sets or removes the policy of a KindPolicy request and
// returns the policies it set or removed.
func applyPolicy(ctx context.Context, sq *syncdb.Queries, c *core.PolicyChange) (int64, error) {
	p := c.Policy
	if c.Remove {
		return sq.RemovePolicy(ctx, syncdb.RemovePolicyParams{Pattern: p.Pattern, Language: p.Lang.String()})
	}
	err := sq.SetPolicy(ctx, syncdb.SetPolicyParams{Pattern: p.Pattern, Language: p.Lang.String(), RawKeepMs: p.RawKeepMs, SetAtMs: p.SetAtMs})
	if err != nil {
		return 0, err
	}
	return 1, nil
}
