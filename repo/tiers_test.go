package repo

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/repo/internal/syncdb"
)

// commitTiers runs fn as a KindTiers request through the engine's Commit,
// as the writer does, and returns the request's N.
func commitTiers(t *testing.T, e *testDB, fn func(context.Context, core.TierStore) (int64, error)) (int64, error) {
	t.Helper()
	r := &core.Request{Kind: core.KindTiers, Tiers: fn}
	err := e.e.Commit(context.Background(), []*core.Request{r})
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

// tiersFixture stores rows a@10, a@20, b@15, a@30, b@40, a@50 (ids 1..6)
// and returns their ids by name.
func tiersFixture(t *testing.T, e *testDB) map[string][]int64 {
	t.Helper()
	mustInsert(t, e,
		core.Row{Name: "a", ValueJSON: "1", StoredAt: 10}, core.Row{Name: "a", ValueJSON: "2", StoredAt: 20},
		core.Row{Name: "b", ValueJSON: "3", StoredAt: 15}, core.Row{Name: "a", ValueJSON: "4", StoredAt: 30},
		core.Row{Name: "b", ValueJSON: "5", StoredAt: 40}, core.Row{Name: "a", ValueJSON: "6", StoredAt: 50})
	var all []core.Row
	err := e.e.Read(context.Background(), func(rd core.Reader) error {
		return rd.ChangesAfter(context.Background(), 0, 100, func(r core.Row) bool { all = append(all, r); return true })
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
	e := openTest(t, core.Config{})
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
			t.Errorf("Policies of a new file: %+v", pols)
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
			t.Errorf("RollupCursor of a new file: ok %v, %v", ok, err)
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
			{Name: "a", EveryMs: 60_000, BlockMs: 960_000, Data: []byte("s3")},
			{Name: "a", EveryMs: 60_000, BlockMs: 0, Data: []byte("old")},
			{Name: "a", EveryMs: 60_000, BlockMs: 0, Data: []byte("s1")}, // replaces
			{Name: "a", EveryMs: 60_000, BlockMs: 480_000, Data: []byte("s2")},
			{Name: "a", EveryMs: 3_600_000, BlockMs: 0, Data: []byte("h")},
			{Name: "b", EveryMs: 60_000, BlockMs: 0, Data: []byte("b1")},
		} {
			must("PutBlock", s.PutBlock(ctx, bk))
		}
		if err := s.PutBlock(ctx, core.TierBlock{Name: "a", EveryMs: 60_000, BlockMs: 60_000, Data: []byte("x")}); err == nil {
			t.Error("PutBlock of a block not aligned to eight widths: no error")
		}
		bks, err := s.Blocks(ctx, "a", 60_000, 0, 480_000)
		if must("Blocks", err); len(bks) != 2 || !sameBlock(bks[0], core.TierBlock{Name: "a", EveryMs: 60_000, BlockMs: 0, Data: []byte("s1")}) || string(bks[1].Data) != "s2" {
			t.Errorf("Blocks(a, 1m, [0, 8m]): %+v", bks)
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
		at, err := s.BlocksAt(ctx, []core.TierBlock{{Name: "a", EveryMs: 60_000, BlockMs: 480_000}, {Name: "a", EveryMs: 60_000, BlockMs: 10 * 480_000},
			{Name: "b", EveryMs: 60_000, BlockMs: 0}, {Name: "a", EveryMs: 3_600_000, BlockMs: 0}})
		slices.SortFunc(at, func(x, y core.TierBlock) int { return strings.Compare(string(x.Data), string(y.Data)) })
		if must("BlocksAt", err); len(at) != 3 || !sameBlock(at[0], core.TierBlock{Name: "b", EveryMs: 60_000, BlockMs: 0, Data: []byte("b1")}) ||
			!sameBlock(at[1], core.TierBlock{Name: "a", EveryMs: 3_600_000, BlockMs: 0, Data: []byte("h")}) || string(at[2].Data) != "s2" {
			t.Errorf("BlocksAt: %+v", at)
		}
		if n, err := s.DeleteBlocks(ctx, "a", 60_000, 1, 1_000_000); err != nil || n != 2 {
			t.Errorf("DeleteBlocks: %d, %v; want 2", n, err)
		}
		must("SetTier", s.SetTier(ctx, "a", 3_600_000, 7))
		must("SetTier", s.SetTier(ctx, "a", 60_000, 99))
		must("SetTier", s.SetTier(ctx, "a", 60_000, 0)) // replaces
		must("SetTier", s.SetTier(ctx, "b", 60_000, 0))
		if w, err := s.TierWidths(ctx, "a"); err != nil || !slices.Equal(w, []int64{60_000, 3_600_000}) {
			t.Errorf("TierWidths(a): %v, %v", w, err)
		}
		if from, ok, err := s.TierFrom(ctx, "a", 60_000); err != nil || !ok || from != 0 {
			t.Errorf("TierFrom(a, 1m): %d, %v, %v; want 0", from, ok, err)
		}
		if _, ok, err := s.TierFrom(ctx, "a", 1); err != nil || ok {
			t.Errorf("TierFrom of no tier: ok %v, %v", ok, err)
		}
		must("DeleteTier", s.DeleteTier(ctx, "a", 3_600_000))
		if w, err := s.TierWidths(ctx, "a"); err != nil || !slices.Equal(w, []int64{60_000}) {
			t.Errorf("TierWidths(a) after DeleteTier: %v, %v", w, err)
		}
		if bks, err := s.Blocks(ctx, "a", 3_600_000, math.MinInt64, math.MaxInt64); err != nil || len(bks) != 0 {
			t.Errorf("Blocks of a deleted tier: %+v, %v", bks, err)
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
		if ok, err := s.RemovePolicy(ctx, pol.Pattern, pol.Lang); err != nil || !ok {
			t.Errorf("RemovePolicy: %v, %v", ok, err)
		}
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pols, err := e.Policies(context.Background()); err != nil || len(pols) != 0 {
		t.Errorf("Policies after RemovePolicy: %+v, %v", pols, err)
	}
}

// The reader's TierReader, in a read transaction and on the pool, reads
// what a KindTiers request committed.
func TestTierReader(t *testing.T) {
	e := openTest(t, core.Config{})
	id := tiersFixture(t, e)
	a := id["a"]
	_, err := commitTiers(t, e, func(ctx context.Context, s core.TierStore) (int64, error) {
		return 0, errors.Join(s.SetRollupCursor(ctx, a[1]), s.SetHorizon(ctx, "a", 15),
			s.SetTier(ctx, "a", 60_000, 0), s.SetTier(ctx, "a", 10, 0), s.SetTier(ctx, "b", 10, 0),
			s.PutBlock(ctx, core.TierBlock{Name: "a", EveryMs: 10, BlockMs: 80, Data: []byte("x")}),
			s.PutBlock(ctx, core.TierBlock{Name: "a", EveryMs: 10, BlockMs: 160, Data: []byte("y")}))
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
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
		if bks, err := rd.Blocks(ctx, "a", 10, 0, 159); err != nil || len(bks) != 1 || string(bks[0].Data) != "x" || bks[0].BlockMs != 80 {
			t.Errorf("%s: Blocks: %+v, %v", how, bks, err)
		}
		if w, err := rd.TierWidths(ctx, "a"); err != nil || !slices.Equal(w, []int64{10, 60_000}) {
			t.Errorf("%s: TierWidths: %v, %v", how, w, err)
		}
		if from, ok, err := rd.TierFrom(ctx, "a", 10); err != nil || !ok || from != 0 {
			t.Errorf("%s: TierFrom: %d, %v, %v", how, from, ok, err)
		}
		for _, c := range []struct {
			pattern, after string
			want           []string
		}{{"*", "", []string{"a", "b"}}, {"*", "a", []string{"b"}}, {"a", "", []string{"a"}}, {"c*", "", nil}} {
			p, err := core.CompilePattern("test", c.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if names, err := rd.(*reader).TierNames(ctx, p, c.after, 10); err != nil || !slices.Equal(names, c.want) {
				t.Errorf("%s: TierNames(%q, after %q): %q, %v; want %q", how, c.pattern, c.after, names, err, c.want)
			}
		}
		// Few ids above a[1]: read from the table; far below the last id
		// (recentScanMax): through the record's index range. Both read
		// the same rows.
		for _, after := range []int64{a[1], a[1] - 2*recentScanMax} {
			got := collectRows(t, func(y func(core.Row) bool) error {
				return rd.RowsAbove(ctx, "a", core.Range{StartMs: 20, EndMs: 40}, after, y)
			})
			want := []int64{a[2]}
			if after < 0 {
				want = []int64{a[1], a[2]}
			}
			i := slices.IndexFunc(got, func(r core.Row) bool { return r.ID == a[2] })
			if !slices.Equal(sortedIDs(got), want) || got[i].ValueJSON != "4" || got[i].StoredAt != 30 || got[i].Name != "a" {
				t.Errorf("%s: RowsAbove(a, [20, 40], %d): %+v, want ids %v", how, after, got, want)
			}
		}
	}
	if err := e.e.Read(ctx, func(rd core.Reader) error { check("Read", rd); return nil }); err != nil {
		t.Fatal(err)
	}
	check("Reader", e.e.Reader())
}

// What the function of a KindTiers request returns is Commit's error,
// unchanged, and nothing of the request is committed.
func TestTierStoreErrorRollsBack(t *testing.T) {
	e := openTest(t, core.Config{})
	boom := errors.New("boom")
	refused := &core.RequestError{Err: boom}
	for _, want := range []error{boom, refused} {
		_, err := commitTiers(t, e, func(ctx context.Context, s core.TierStore) (int64, error) {
			if err := s.SetRollupCursor(ctx, 9); err != nil {
				return 0, err
			}
			return 0, want
		})
		if err != want {
			t.Errorf("Commit: %v, want %v unchanged", err, want)
		}
	}
	err := e.e.Read(context.Background(), func(rd core.Reader) error {
		if _, ok, err := rd.RollupCursor(context.Background()); ok || err != nil {
			t.Errorf("RollupCursor after failed requests: ok %v, %v; want none", ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A file opened read-only whose migrations stop at 00004 has no policies,
// cursor, horizons, tiers or buckets: empty, not an error; its raw rows
// still read.
func TestTierReaderOfAFileBeforeTiers(t *testing.T) {
	e := reshape(t, "DROP TABLE rechist_policy", "DROP TABLE rechist_tier_block", "DROP TABLE rechist_tier_series", "DROP TABLE rechist_rollup_tier",
		"DROP TABLE rechist_rollup_cursor", "DROP TABLE rechist_rollup_horizon",
		"DELETE FROM goose_db_version WHERE version_id >= 5")
	ctx := context.Background()
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
		if names, err := rd.(*reader).TierNames(ctx, core.Pattern{}, "", 10); err != nil || len(names) != 0 {
			t.Errorf("%s: TierNames: %q, %v", how, names, err)
		}
		got := collectRows(t, func(y func(core.Row) bool) error { return rd.RowsAbove(ctx, "a", core.Unbounded, 0, y) })
		if len(got) != 1 || got[0].ValueJSON != "1" {
			t.Errorf("%s: RowsAbove: %+v, want reshape's one row", how, got)
		}
	}
	if err := e.e.Read(ctx, func(rd core.Reader) error { check("Read", rd); return nil }); err != nil {
		t.Fatal(err)
	}
	check("Reader", e.e.Reader())
}

// Tiers in rechist_policy that do not parse are an error, not a policy
// without tiers (retention would delete raw rows no tier holds).
func TestPoliciesWithBadTiersIsAnError(t *testing.T) {
	e := reshape(t, "INSERT INTO rechist_policy (pattern, language, raw_keep_ms, set_at_ms, tiers) VALUES ('a*', 'wildcard', 1, 2, '60000')")
	if pols, err := e.Policies(context.Background()); err == nil || !strings.Contains(err.Error(), "bad tiers") {
		t.Fatalf("Policies: %+v, %v; want the bad tiers' error", pols, err)
	}
}

// The rollup's statements over raw rows read an index range, never the
// whole table.
func TestTierQueryPlans(t *testing.T) {
	e := openTest(t, core.Config{})
	tiersFixture(t, e)
	for _, c := range []struct {
		name, query, want string
		args              []any
	}{
		{"RecordRowsByID", syncdb.RecordRowsByID, "USING INDEX idx_record_time (record_name=? AND stored_at>? AND stored_at<?)",
			[]any{"a", 0, 100, int64(math.MinInt64), 4}},
		{"RecentRecordRows", syncdb.RecentRecordRows, "USING INTEGER PRIMARY KEY (rowid>?)", []any{4, "a", 0, 100}},
		{"DeleteRolledUpChunk", syncdb.DeleteRolledUpChunk, "USING COVERING INDEX idx_record_time (record_name=? AND stored_at<?)",
			[]any{"a", 100, 4, 10}},
		{"TierSeries", syncdb.TierSeries, "USING COVERING INDEX sqlite_autoindex_rechist_tier_series_1 (record_name=? AND every_ms=? AND era>? AND era<?)",
			[]any{"a", 10, 0, 0}},
		{"TierBlocks", syncdb.TierBlocks, "USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)", []any{1 << 31, 1<<32 - 1}},
		{"TierBlocksAt", syncdb.TierBlocksAt, "USING INTEGER PRIMARY KEY (rowid=?)", []any{`[2147483648,2147483649]`}},
	} {
		plan := explain(t, e, c.query, c.args...)
		if !strings.Contains(plan, c.want) || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s: plan\n%swant %q and no sort", c.name, plan, c.want)
		}
	}
}

// sameBlock says whether two blocks are the same.
func sameBlock(a, b core.TierBlock) bool {
	return a.Name == b.Name && a.EveryMs == b.EveryMs && a.BlockMs == b.BlockMs && string(a.Data) == string(b.Data)
}
