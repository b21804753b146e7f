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
	return policiesOf(got)
}

// policiesOf converts the table's rows.
func policiesOf(got []db.RechistPolicy) ([]core.Policy, error) {
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
