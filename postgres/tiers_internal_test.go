package postgres

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/postgres/internal/db"
)

// commitTiers runs fn as a KindTiers request through the engine's Commit,
// as the writer does, and returns the request's N.
func commitTiers(t *testing.T, e *engine, fn func(context.Context, core.TierStore) (int64, error)) (int64, error) {
	t.Helper()
	r := &core.Request{Kind: core.KindTiers, Tiers: fn}
	err := e.Commit(t.Context(), []*core.Request{r})
	return r.N, err
}

// sortedIDs returns the ids of rows, ascending.
func sortedIDs(rows []core.Row) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	slices.Sort(out)
	return out
}

// collectRows gathers what a streaming method yields.
func collectRows(t *testing.T, stream func(yield func(core.Row) bool) error) []core.Row {
	t.Helper()
	var out []core.Row
	if err := stream(func(r core.Row) bool { out = append(out, r); return true }); err != nil {
		t.Fatalf("stream: %v", err)
	}
	return out
}

// tiersFixture stores rows a@10, a@20, b@15, a@30, b@40, a@50 in this
// order and returns their ids by name.
func tiersFixture(t *testing.T, e *engine) map[string][]int64 {
	t.Helper()
	ctx := t.Context()
	ins := &core.Request{Kind: core.KindInsert, Rows: []core.Row{
		{Name: "a", ValueJSON: "1", StoredAt: 10}, {Name: "a", ValueJSON: "2", StoredAt: 20},
		{Name: "b", ValueJSON: "3", StoredAt: 15}, {Name: "a", ValueJSON: "4", StoredAt: 30},
		{Name: "b", ValueJSON: "5", StoredAt: 40}, {Name: "a", ValueJSON: "6", StoredAt: 50}}}
	if err := e.Commit(ctx, []*core.Request{ins}); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	var all []core.Row
	err := e.Read(ctx, func(rd core.Reader) error {
		return rd.ChangesAfter(ctx, 0, 100, func(r core.Row) bool { all = append(all, r); return true })
	})
	if err != nil || len(all) != 6 {
		t.Fatalf("fixture: %d rows, %v", len(all), err)
	}
	byName := map[string][]int64{}
	for _, r := range all {
		byName[r.Name] = append(byName[r.Name], r.ID)
	}
	return byName
}

// Every TierStore method, on the transaction of a KindTiers request: what
// one statement writes the next reads, and the request's N is what the
// function returns.
func TestTierStoreRoundTrip(t *testing.T) {
	e := openEngine(t)
	id := tiersFixture(t, e)
	a, b := id["a"], id["b"]
	pol := core.Policy{Pattern: "a*", Lang: core.LangWildcard, RawKeepMs: 1000,
		Tiers: []core.Tier{{EveryMs: 60_000, KeepMs: 0}, {EveryMs: 3_600_000, KeepMs: 86_400_000}}, SetAtMs: 5}

	n, err := commitTiers(t, e, func(ctx context.Context, s core.TierStore) (int64, error) {
		must := func(what string, err error) { // t.Fatal would leave the transaction open
			if err != nil {
				t.Errorf("%s: %v", what, err)
			}
		}
		// Policies.
		pols, err := s.Policies(ctx)
		if must("Policies", err); len(pols) != 0 {
			t.Errorf("Policies of a new schema: %+v", pols)
		}
		must("SetPolicy", s.SetPolicy(ctx, pol))
		pols, err = s.Policies(ctx)
		if must("Policies", err); len(pols) != 1 || !slices.Equal(pols[0].Tiers, pol.Tiers) || pols[0].RawKeepMs != 1000 || pols[0].SetAtMs != 5 {
			t.Errorf("Policies: %+v, want %+v", pols, pol)
		}
		if ok, err := s.RemovePolicy(ctx, "zz*", core.LangWildcard); err != nil || ok {
			t.Errorf("RemovePolicy of none: %v, %v", ok, err)
		}

		// The cursor and the raw rows.
		if _, ok, err := s.RollupCursor(ctx); err != nil || ok {
			t.Errorf("RollupCursor of a new schema: ok %v, %v", ok, err)
		}
		must("SetRollupCursor", s.SetRollupCursor(ctx, a[0]))
		must("SetRollupCursor", s.SetRollupCursor(ctx, a[1]))
		if c, ok, err := s.RollupCursor(ctx); err != nil || !ok || c != a[1] {
			t.Errorf("RollupCursor: %d, %v, %v; want %d", c, ok, err, a[1])
		}
		if m, err := s.MaxID(ctx); err != nil || m != a[3] {
			t.Errorf("MaxID: %d, %v; want %d", m, err, a[3])
		}
		rows, err := s.RowsAfter(ctx, 0, 2)
		if must("RowsAfter", err); len(rows) != 2 || rows[0].ID != a[0] || rows[1].ID != a[1] || rows[1].Name != "a" || rows[1].ValueJSON != "2" || rows[1].StoredAt != 20 {
			t.Errorf("RowsAfter(0, 2): %+v", rows)
		}
		rows, err = s.RowsAfter(ctx, a[1], 100)
		if must("RowsAfter", err); !slices.Equal(sortedIDs(rows), []int64{b[0], a[2], b[1], a[3]}) || !slices.IsSortedFunc(rows, func(x, y core.Row) int { return int(x.ID - y.ID) }) {
			t.Errorf("RowsAfter(%d): %+v", a[1], rows)
		}
		got := collectRows(t, func(y func(core.Row) bool) error { return s.RecordRows(ctx, "a", 20, 50, a[2], y) })
		if !slices.Equal(sortedIDs(got), []int64{a[1], a[2]}) {
			t.Errorf("RecordRows(a, [20, 50], max %d): %v", a[2], sortedIDs(got))
		}
		calls := 0
		must("RecordRows", s.RecordRows(ctx, "a", 0, 100, a[3], func(core.Row) bool { calls++; return false }))
		if calls != 1 {
			t.Errorf("RecordRows went on after yield returned false: %d calls", calls)
		}
		for _, c := range []struct {
			after string
			limit int
			want  []string
		}{{"", 10, []string{"a", "b"}}, {"a", 10, []string{"b"}}, {"", 1, []string{"a"}}, {"b", 10, nil}} {
			if names, err := s.Names(ctx, c.after, c.limit); err != nil || !slices.Equal(names, c.want) {
				t.Errorf("Names(%q, %d): %q, %v; want %q", c.after, c.limit, names, err, c.want)
			}
		}

		// Tiers and buckets.
		for _, bk := range []core.TierBlock{
			{Name: "a", EveryMs: 60_000, BlockMs: 120_000, Data: []byte("s3")},
			{Name: "a", EveryMs: 60_000, BlockMs: 0, Data: []byte("old")},
			{Name: "a", EveryMs: 60_000, BlockMs: 0, Data: []byte("s1")}, // replaces
			{Name: "a", EveryMs: 60_000, BlockMs: 60_000, Data: []byte("s2")},
			{Name: "a", EveryMs: 3_600_000, BlockMs: 0, Data: []byte("h")},
			{Name: "b", EveryMs: 60_000, BlockMs: 0, Data: []byte("b1")},
		} {
			must("PutBlock", s.PutBlock(ctx, bk))
		}
		bks, err := s.Blocks(ctx, "a", 60_000, 0, 60_000)
		if must("Blocks", err); len(bks) != 2 || !sameBlock(bks[0], core.TierBlock{Name: "a", EveryMs: 60_000, BlockMs: 0, Data: []byte("s1")}) || string(bks[1].Data) != "s2" {
			t.Errorf("Blocks(a, 1m, [0, 1m]): %+v", bks)
		}
		// PutBlocks: eight in one statement and the rest one by one, a
		// block replaced among them.
		var many []core.TierBlock
		for i := range 10 {
			many = append(many, core.TierBlock{Name: "m", EveryMs: 1000, BlockMs: int64(i) * 8000, Data: []byte{byte(i), 0, 1}})
		}
		must("PutBlocks", s.PutBlocks(ctx, many))
		many[9].Data = []byte("nine")
		must("PutBlocks again", s.PutBlocks(ctx, many[9:]))
		if got, err := s.Blocks(ctx, "m", 1000, 0, 80_000); err != nil || len(got) != 10 || !sameBlock(got[3], many[3]) || !sameBlock(got[9], many[9]) {
			t.Errorf("Blocks after PutBlocks: %+v, %v", got, err)
		}
		if n, err := s.DeleteBlocks(ctx, "m", 1000, 0, 80_000); err != nil || n != 10 {
			t.Errorf("DeleteBlocks of m: %d, %v", n, err)
		}
		at, err := s.BlocksAt(ctx, []core.TierBlock{{Name: "a", EveryMs: 60_000, BlockMs: 60_000}, {Name: "a", EveryMs: 60_000, BlockMs: 1},
			{Name: "b", EveryMs: 60_000, BlockMs: 0}, {Name: "a", EveryMs: 3_600_000, BlockMs: 0}})
		slices.SortFunc(at, func(x, y core.TierBlock) int { return strings.Compare(string(x.Data), string(y.Data)) })
		if must("BlocksAt", err); len(at) != 3 || !sameBlock(at[0], core.TierBlock{Name: "b", EveryMs: 60_000, BlockMs: 0, Data: []byte("b1")}) ||
			!sameBlock(at[1], core.TierBlock{Name: "a", EveryMs: 3_600_000, BlockMs: 0, Data: []byte("h")}) || string(at[2].Data) != "s2" {
			t.Errorf("BlocksAt: %+v", at)
		}
		if n, err := s.DeleteBlocks(ctx, "a", 60_000, 60_000, 200_000); err != nil || n != 2 {
			t.Errorf("DeleteBlocks: %d, %v; want 2", n, err)
		}
		must("SetTier", s.SetTier(ctx, "a", 3_600_000, 7))
		must("SetTier", s.SetTier(ctx, "a", 60_000, 99))
		must("SetTier", s.SetTier(ctx, "a", 60_000, 0)) // replaces
		must("SetTier", s.SetTier(ctx, "b", 60_000, 0))
		must("SetTier", s.SetTier(ctx, "c", 60_000, 0)) // a record without rows
		if w, err := s.TierWidths(ctx, "a"); err != nil || !slices.Equal(w, []int64{60_000, 3_600_000}) {
			t.Errorf("TierWidths(a): %v, %v", w, err)
		}
		if from, ok, err := s.TierFrom(ctx, "a", 60_000); err != nil || !ok || from != 0 {
			t.Errorf("TierFrom(a, 1m): %d, %v, %v; want 0", from, ok, err)
		}
		if _, ok, err := s.TierFrom(ctx, "a", 1); err != nil || ok {
			t.Errorf("TierFrom of no tier: ok %v, %v", ok, err)
		}
		for _, c := range []struct {
			pattern, after string
			limit          int
			want           []string
		}{{"*", "", 10, []string{"a", "b", "c"}}, {"*", "a", 10, []string{"b", "c"}}, {"*", "", 2, []string{"a", "b"}}, {"b", "", 10, []string{"b"}}} {
			p, err := core.CompilePattern("test", c.pattern)
			must("CompilePattern", err)
			if names, err := s.TierNames(ctx, p, c.after, c.limit); err != nil || !slices.Equal(names, c.want) {
				t.Errorf("TierNames(%q, after %q, %d): %q, %v; want %q", c.pattern, c.after, c.limit, names, err, c.want)
			}
		}
		must("DeleteTier", s.DeleteTier(ctx, "a", 3_600_000))
		if w, err := s.TierWidths(ctx, "a"); err != nil || !slices.Equal(w, []int64{60_000}) {
			t.Errorf("TierWidths(a) after DeleteTier: %v, %v", w, err)
		}
		if bks, err := s.Blocks(ctx, "a", 3_600_000, math.MinInt64, math.MaxInt64); err != nil || len(bks) != 0 {
			t.Errorf("Blocks of a deleted tier: %+v, %v", bks, err)
		}
		if bks, err := s.Blocks(ctx, "a", 60_000, math.MinInt64, math.MaxInt64); err != nil || len(bks) != 1 {
			t.Errorf("Blocks of the tier kept: %+v, %v; want one", bks, err)
		}

		// Horizons and deletes.
		if h, err := s.Horizon(ctx, "a"); err != nil || h != 0 {
			t.Errorf("Horizon of none: %d, %v", h, err)
		}
		must("SetHorizon", s.SetHorizon(ctx, "a", 400))
		must("SetHorizon", s.SetHorizon(ctx, "a", 500))
		if h, err := s.Horizon(ctx, "a"); err != nil || h != 500 {
			t.Errorf("Horizon: %d, %v; want 500", h, err)
		}
		// a@10, a@20 and a@30 are before 45, a@30 above max id a[1]: one
		// chunk of 1, then the rest.
		if n, err := s.DeleteRolledUp(ctx, "a", 45, a[1], 1); err != nil || n != 1 {
			t.Errorf("DeleteRolledUp limit 1: %d, %v", n, err)
		}
		if n, err := s.DeleteRolledUp(ctx, "a", 45, a[1], 10); err != nil || n != 1 {
			t.Errorf("DeleteRolledUp rest: %d, %v", n, err)
		}
		if n, err := s.DeleteRange(ctx, "b", 0, 20, 10); err != nil || n != 1 {
			t.Errorf("DeleteRange(b, [0, 20]): %d, %v", n, err)
		}
		rows, err = s.RowsAfter(ctx, 0, 100)
		if must("RowsAfter", err); !slices.Equal(sortedIDs(rows), []int64{a[2], b[1], a[3]}) {
			t.Errorf("rows left: %v, want %v", sortedIDs(rows), []int64{a[2], b[1], a[3]})
		}
		return 42, nil
	})
	if err != nil || n != 42 {
		t.Fatalf("Commit: N %d, %v; want 42", n, err)
	}

	// Committed: a second request reads it and removes the policy.
	_, err = commitTiers(t, e, func(ctx context.Context, s core.TierStore) (int64, error) {
		if c, ok, err := s.RollupCursor(ctx); err != nil || !ok || c != a[1] {
			t.Errorf("RollupCursor after the commit: %d, %v, %v", c, ok, err)
		}
		if h, err := s.Horizon(ctx, "a"); err != nil || h != 500 {
			t.Errorf("Horizon after the commit: %d, %v", h, err)
		}
		if ok, err := s.RemovePolicy(ctx, pol.Pattern, pol.Lang); err != nil || !ok {
			t.Errorf("RemovePolicy: %v, %v", ok, err)
		}
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pols, err := e.Reader().Policies(t.Context()); err != nil || len(pols) != 0 {
		t.Errorf("Policies after RemovePolicy: %+v, %v", pols, err)
	}
}

// The reader's TierReader, in a read transaction and on the pool, reads
// what a KindTiers request committed.
func TestTierReader(t *testing.T) {
	e := openEngine(t)
	id := tiersFixture(t, e)
	a := id["a"]
	_, err := commitTiers(t, e, func(ctx context.Context, s core.TierStore) (int64, error) {
		return 0, errors.Join(s.SetRollupCursor(ctx, a[1]), s.SetHorizon(ctx, "a", 15),
			s.SetTier(ctx, "a", 60_000, 0), s.SetTier(ctx, "a", 10, 3), s.SetTier(ctx, "b", 10, 0),
			s.PutBlock(ctx, core.TierBlock{Name: "a", EveryMs: 10, BlockMs: 10, Data: []byte("x")}),
			s.PutBlock(ctx, core.TierBlock{Name: "a", EveryMs: 10, BlockMs: 20, Data: []byte("y")}))
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	check := func(how string, rd core.Reader) {
		if c, ok, err := rd.RollupCursor(ctx); err != nil || !ok || c != a[1] {
			t.Errorf("%s: RollupCursor: %d, %v, %v; want %d", how, c, ok, err, a[1])
		}
		if h, err := rd.Horizon(ctx, "a"); err != nil || h != 15 {
			t.Errorf("%s: Horizon: %d, %v", how, h, err)
		}
		if h, err := rd.Horizon(ctx, "b"); err != nil || h != 0 {
			t.Errorf("%s: Horizon of none: %d, %v", how, h, err)
		}
		if bks, err := rd.Blocks(ctx, "a", 10, 0, 15); err != nil || len(bks) != 1 || !sameBlock(bks[0], core.TierBlock{Name: "a", EveryMs: 10, BlockMs: 10, Data: []byte("x")}) {
			t.Errorf("%s: Blocks: %+v, %v", how, bks, err)
		}
		if w, err := rd.TierWidths(ctx, "a"); err != nil || !slices.Equal(w, []int64{10, 60_000}) {
			t.Errorf("%s: TierWidths: %v, %v", how, w, err)
		}
		if from, ok, err := rd.TierFrom(ctx, "a", 10); err != nil || !ok || from != 3 {
			t.Errorf("%s: TierFrom: %d, %v, %v; want 3", how, from, ok, err)
		}
		for _, c := range []struct {
			pattern, after string
			want           []string
		}{{"*", "", []string{"a", "b"}}, {"*", "a", []string{"b"}}, {"a", "", []string{"a"}}, {"c*", "", nil}} {
			p, err := core.CompilePattern("test", c.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if names, err := rd.TierNames(ctx, p, c.after, 10); err != nil || !slices.Equal(names, c.want) {
				t.Errorf("%s: TierNames(%q, after %q): %q, %v; want %q", how, c.pattern, c.after, names, err, c.want)
			}
		}
		for _, after := range []int64{a[1], 0} {
			got := collectRows(t, func(y func(core.Row) bool) error {
				return rd.RowsAbove(ctx, "a", core.Range{StartMs: 20, EndMs: 40}, after, y)
			})
			want := []int64{a[2]}
			if after == 0 {
				want = []int64{a[1], a[2]}
			}
			i := slices.IndexFunc(got, func(r core.Row) bool { return r.ID == a[2] })
			if !slices.Equal(sortedIDs(got), want) || got[i].ValueJSON != "4" || got[i].StoredAt != 30 || got[i].Name != "a" {
				t.Errorf("%s: RowsAbove(a, [20, 40], %d): %+v, want ids %v", how, after, got, want)
			}
		}
	}
	if err := e.Read(ctx, func(rd core.Reader) error { check("Read", rd); return nil }); err != nil {
		t.Fatal(err)
	}
	check("Reader", e.Reader())
}

// What the function of a KindTiers request returns is Commit's error,
// unchanged when it is the function's own or a *core.RequestError (even
// one wrapping a statement PostgreSQL refused), and nothing of the request
// is committed. A statement's refusal the function passes on plain is the
// request's, as a refused row of any other request is.
func TestTierStoreErrorRollsBack(t *testing.T) {
	e := openEngine(t)
	nul := core.TierBlock{Name: "a", EveryMs: 10, BlockMs: 0} // no data: NOT NULL refuses it, SQLSTATE 23502
	boom := errors.New("boom")
	for _, c := range []struct {
		name string
		fail func(ctx context.Context, s core.TierStore) error
		same bool // Commit returns what fail returned
	}{
		{"plain", func(context.Context, core.TierStore) error { return boom }, true},
		{"RequestError", func(context.Context, core.TierStore) error { return &core.RequestError{Err: boom} }, true},
		{"RequestError of a statement", func(ctx context.Context, s core.TierStore) error {
			return &core.RequestError{Err: s.PutBlock(ctx, nul)}
		}, true},
		{"a statement's", func(ctx context.Context, s core.TierStore) error { return s.PutBlock(ctx, nul) }, false},
	} {
		var returned error
		r := &core.Request{Kind: core.KindTiers, Tiers: func(ctx context.Context, s core.TierStore) (int64, error) {
			if err := s.SetRollupCursor(ctx, 9); err != nil {
				return 0, err
			}
			returned = c.fail(ctx, s)
			return 0, returned
		}}
		err := e.Commit(t.Context(), []*core.Request{r})
		var re *core.RequestError
		var pe *pgconn.PgError
		switch {
		case c.same && err != returned:
			t.Errorf("%s: Commit: %#v, want %#v unchanged", c.name, err, returned)
		case !c.same && (!errors.As(err, &re) || re.Request != r || !errors.As(re.Err, &pe) || pe.Code != "23502"):
			t.Errorf("%s: Commit: %#v, want a RequestError of the request wrapping SQLSTATE 23502", c.name, err)
		}
	}
	if _, ok, err := e.Reader().RollupCursor(t.Context()); ok || err != nil {
		t.Errorf("RollupCursor after failed requests: ok %v, %v; want none", ok, err)
	}
}

// A schema that predates migration 00004 (opened read-only) has no
// cursor, horizons, tiers or buckets, on the pool and in a read
// transaction: empty, not an error; the transaction is not aborted, so its
// raw rows still read.
func TestTierReaderOfASchemaWithoutTheTables(t *testing.T) {
	e := openEngine(t)
	ctx := t.Context()
	ins := &core.Request{Kind: core.KindInsert, Rows: []core.Row{{Name: "a", ValueJSON: "1", StoredAt: 10}}}
	if err := e.Commit(ctx, []*core.Request{ins}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `DROP TABLE rechist_policy, rechist_rollup_block, rechist_rollup_tier, rechist_rollup_cursor, rechist_rollup_horizon`); err != nil {
		t.Fatal(err)
	}
	check := func(how string, rd core.Reader) {
		if pols, err := rd.Policies(ctx); err != nil || len(pols) != 0 {
			t.Errorf("%s: Policies: %+v, %v", how, pols, err)
		}
		if _, ok, err := rd.RollupCursor(ctx); err != nil || ok {
			t.Errorf("%s: RollupCursor: ok %v, %v; want none", how, ok, err)
		}
		if h, err := rd.Horizon(ctx, "a"); err != nil || h != 0 {
			t.Errorf("%s: Horizon: %d, %v", how, h, err)
		}
		if bks, err := rd.Blocks(ctx, "a", 10, math.MinInt64, math.MaxInt64); err != nil || len(bks) != 0 {
			t.Errorf("%s: Blocks: %+v, %v", how, bks, err)
		}
		if w, err := rd.TierWidths(ctx, "a"); err != nil || len(w) != 0 {
			t.Errorf("%s: TierWidths: %v, %v", how, w, err)
		}
		if _, ok, err := rd.TierFrom(ctx, "a", 10); err != nil || ok {
			t.Errorf("%s: TierFrom: ok %v, %v", how, ok, err)
		}
		if names, err := rd.TierNames(ctx, core.Pattern{}, "", 10); err != nil || len(names) != 0 {
			t.Errorf("%s: TierNames: %q, %v", how, names, err)
		}
		got := collectRows(t, func(y func(core.Row) bool) error { return rd.RowsAbove(ctx, "a", core.Unbounded, 0, y) })
		if len(got) != 1 || got[0].ValueJSON != "1" {
			t.Errorf("%s: RowsAbove: %+v, want the one row", how, got)
		}
	}
	if err := e.Read(ctx, func(rd core.Reader) error { check("Read", rd); return nil }); err != nil {
		t.Fatal(err)
	}
	check("Reader", e.Reader())
}

// Tiers in rechist_policy that do not parse are an error, not a policy
// without tiers (retention would delete raw rows no tier holds), on the
// pool, in a read transaction and in a KindTiers request.
func TestPoliciesWithBadTiersIsAnError(t *testing.T) {
	e := openEngine(t)
	ctx := t.Context()
	if _, err := e.pool.Exec(ctx, `INSERT INTO rechist_policy (pattern, language, raw_keep_ms, set_at_ms, tiers) VALUES ('a*', 'wildcard', 1, 2, '60000')`); err != nil {
		t.Fatal(err)
	}
	if pols, err := e.Reader().Policies(ctx); err == nil || !strings.Contains(err.Error(), "bad tiers") {
		t.Errorf("Policies on the pool: %+v, %v; want the bad tiers' error", pols, err)
	}
	err := e.Read(ctx, func(rd core.Reader) error { _, err := rd.Policies(ctx); return err })
	if err == nil || !strings.Contains(err.Error(), "bad tiers") {
		t.Errorf("Policies in a transaction: %v; want the bad tiers' error", err)
	}
	_, err = commitTiers(t, e, func(ctx context.Context, s core.TierStore) (int64, error) { _, err := s.Policies(ctx); return 0, err })
	if err == nil || !strings.Contains(err.Error(), "bad tiers") {
		t.Errorf("Policies in a KindTiers request: %v; want the bad tiers' error", err)
	}
}

// The rollup's statements over raw rows and buckets read an index range,
// never the whole table (sequential scans off, so that the planner shows
// what it can use on a table this small).
func TestTierQueryPlans(t *testing.T) {
	e := openEngine(t)
	tiersFixture(t, e)
	tx := planTx(t, e, "enable_seqscan = off")
	for _, c := range []struct {
		name, query, want string
		args              []any
	}{
		{"RecordRowsByID", db.RecordRowsByID, "idx_record_time", []any{"a", 0, 100, int64(math.MinInt64), 4}},
		{"DeleteRolledUpChunk", db.DeleteRolledUpChunk, "idx_record_time", []any{"a", 100, 4, 10}},
		{"RollupBlocks", db.RollupBlocks, "rechist_rollup_block_pkey", []any{"a", 10, 0, 100}},
		{"RollupNames", db.RollupNames, "rechist_rollup_tier_pkey", []any{"", "", nil, 10}},
	} {
		plan := explain(t, tx, c.name, "EXPLAIN "+c.query, c.args...)
		if !strings.Contains(plan, c.want) || strings.Contains(plan, "Seq Scan") {
			t.Errorf("%s: plan\n%s\nwant %q and no sequential scan", c.name, plan, c.want)
		}
	}
}

// sameBlock says whether two blocks are the same.
func sameBlock(a, b core.TierBlock) bool {
	return a.Name == b.Name && a.EveryMs == b.EveryMs && a.BlockMs == b.BlockMs && string(a.Data) == string(b.Data)
}
