package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/postgres/internal/db"
)

// Policies reads rechist_policy; a schema that predates it (opened
// read-only, or WithoutMigrations) has none. In a read transaction it
// looks for the table first, as SyncEpoch does, since a query of a missing
// table would abort the transaction; on the pool a failed query aborts
// nothing, so it saves the round trip and reads SQLSTATE 42P01 as none.
func (r *reader) Policies(ctx context.Context) ([]core.Policy, error) {
	if _, inTx := r.conn.(pgx.Tx); inTx {
		if present, err := r.q.PolicyTable(ctx); err != nil || !present {
			return nil, err
		}
	}
	got, err := r.q.Policies(ctx)
	if err != nil {
		if missingSchema(err) {
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

// applyPolicy sets or removes the policy of a KindPolicy request inside the
// write transaction and returns the policies it set or removed (a set: 1;
// a remove: 0 or 1).
func applyPolicy(ctx context.Context, q *db.Queries, c *core.PolicyChange) (int64, error) {
	p := c.Policy
	if c.Remove {
		return q.RemovePolicy(ctx, db.RemovePolicyParams{Pattern: p.Pattern, Language: p.Lang.String()})
	}
	err := q.SetPolicy(ctx, db.SetPolicyParams{Pattern: p.Pattern, Language: p.Lang.String(), RawKeepMs: p.RawKeepMs, SetAtMs: p.SetAtMs})
	if err != nil {
		return 0, err
	}
	return 1, nil
}
