package postgres

import (
	"context"
	"reflect"
	"testing"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/internal/testutil/pgtest"
)

// openEngine opens the engine on a schema of its own, migrated, and
// closes it when the test ends.
func openEngine(t *testing.T) *engine {
	t.Helper()
	cfg, err := core.Config{}.Normalized()
	if err != nil {
		t.Fatal(err)
	}
	eng, err := open(t.Context(), pgtest.NewSchema(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	return eng.(*engine)
}

// A schema that predates migration 00004 (opened read-only) has no
// policies, on the pool and in a read transaction; the transaction is not
// aborted, so the reads after it still run.
func TestPoliciesOfASchemaWithoutTheTable(t *testing.T) {
	ctx := t.Context()
	e := openEngine(t)
	if _, err := e.pool.Exec(ctx, `DROP TABLE rechist_policy`); err != nil {
		t.Fatal(err)
	}
	if pols, err := e.Reader().Policies(ctx); err != nil || len(pols) != 0 {
		t.Fatalf("Policies on the pool: %v, %v; want none", pols, err)
	}
	err := e.Read(ctx, func(rd core.Reader) error {
		if pols, err := rd.Policies(ctx); err != nil || len(pols) != 0 {
			t.Errorf("Policies in a transaction: %v, %v; want none", pols, err)
		}
		_, err := rd.LastID(ctx)
		return err
	})
	if err != nil {
		t.Fatalf("a read after Policies in the same transaction: %v", err)
	}
}

// A stored language this rechist does not know (a newer one wrote it)
// comes back as language 0, which the core skips; the known ones come
// back as they were set, in order.
func TestPolicyOfAnUnknownLanguageIsLanguageZero(t *testing.T) {
	ctx := t.Context()
	e := openEngine(t)
	set := func(pol core.Policy) {
		t.Helper()
		r := &core.Request{Kind: core.KindTiers, Tiers: func(ctx context.Context, s core.TierStore) (int64, error) {
			return 1, s.SetPolicy(ctx, pol)
		}}
		if err := e.Commit(ctx, []*core.Request{r}); err != nil || r.N != 1 {
			t.Fatalf("set %+v: N=%d, %v", pol, r.N, err)
		}
	}
	set(core.Policy{Pattern: "a.#", Lang: core.LangTopic, RawKeepMs: 5, SetAtMs: 7})
	set(core.Policy{Pattern: "a*", Lang: core.LangWildcard, RawKeepMs: 6, SetAtMs: 8})
	if _, err := e.pool.Exec(ctx, `INSERT INTO rechist_policy (pattern, language, raw_keep_ms, set_at_ms) VALUES ('a*', 'regex', 1, 2)`); err != nil {
		t.Fatal(err)
	}
	for _, how := range []string{"pool", "transaction"} {
		var pols []core.Policy
		var err error
		if how == "pool" {
			pols, err = e.Reader().Policies(ctx)
		} else {
			err = e.Read(ctx, func(rd core.Reader) (err error) { pols, err = rd.Policies(ctx); return err })
		}
		want := []core.Policy{
			{Pattern: "a*", Lang: 0, RawKeepMs: 1, SetAtMs: 2}, // 'regex' < 'wildcard'
			{Pattern: "a*", Lang: core.LangWildcard, RawKeepMs: 6, SetAtMs: 8},
			{Pattern: "a.#", Lang: core.LangTopic, RawKeepMs: 5, SetAtMs: 7},
		}
		if err != nil || len(pols) != len(want) {
			t.Fatalf("%s: Policies = %+v, %v; want %+v", how, pols, err, want)
		}
		for i := range want {
			if !reflect.DeepEqual(pols[i], want[i]) {
				t.Errorf("%s: policy %d = %+v, want %+v", how, i, pols[i], want[i])
			}
		}
	}
	r := &core.Request{Kind: core.KindTiers, Tiers: func(ctx context.Context, s core.TierStore) (int64, error) {
		found, err := s.RemovePolicy(ctx, "a*", core.LangWildcard)
		if found {
			return 1, err
		}
		return 0, err
	}}
	if err := e.Commit(ctx, []*core.Request{r}); err != nil || r.N != 1 {
		t.Fatalf("remove: N=%d, %v; want 1", r.N, err)
	}
	if err := e.Commit(ctx, []*core.Request{r}); err != nil || r.N != 0 {
		t.Fatalf("remove again: N=%d, %v; want 0", r.N, err)
	}
}
