package rechist_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

func TestStoreAndWildcardQuery(t *testing.T) {
	db, _ := openDB(t)
	acc := rechist.NewRepo[Accuracy](db)
	ctx := t.Context()
	for _, city := range []string{"vienna", "graz", "linz"} {
		if err := acc.Store(ctx, "accuracy::"+city, Accuracy{Value: 0.9, City: city}); err != nil {
			t.Fatal(err)
		}
	}
	other := rechist.NewRepo[float64](db)
	storeAt(t, other, "temperature::vienna", 21.5, ms(0))

	got, err := acc.QueryLatest(ctx, "accuracy::*", 5)
	if err != nil {
		t.Fatal(err)
	}
	if want := "accuracy::graz accuracy::linz accuracy::vienna"; names(got) != want {
		t.Fatalf("names = %q, want %q", names(got), want)
	}
	for _, r := range got {
		if r.Value.City != strings.TrimPrefix(r.Name, "accuracy::") || r.Value.Value != 0.9 {
			t.Errorf("%s: value %+v", r.Name, r.Value)
		}
		if age := time.Since(r.StoredAt); age < 0 || age > time.Hour {
			t.Errorf("%s: Store stamped %v, not the current time", r.Name, r.StoredAt)
		}
	}
	// The card's form gives the same result.
	same, err := rechist.QueryLatest[Accuracy](ctx, db, "accuracy::*", 5)
	if err != nil || summary(same) != summary(got) {
		t.Fatalf("rechist.QueryLatest = %s, %v; want %s", summary(same), err, summary(got))
	}
	all, err := rechist.Query[float64](ctx, db, "*::vienna", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	// "*" crosses types: the accuracy row does not decode as float64 and is skipped.
	if s := summary(all); s != "temperature::vienna@0=21.5" {
		t.Fatalf("*::vienna as float64 = %s", s)
	}
}

func TestLatestNPerRecordAndOrdering(t *testing.T) {
	db, _ := openDB(t)
	r := rechist.NewRepo[int](db)
	// Interleaved, out of time order, with a tie at 30 on "b".
	storeAt(t, r, "b", 1, ms(10))
	storeAt(t, r, "a", 2, ms(20))
	storeAt(t, r, "b", 3, ms(30))
	storeAt(t, r, "a", 4, ms(5))
	storeAt(t, r, "b", 5, ms(30))
	storeAt(t, r, "B", 6, ms(1))
	storeAt(t, r, "a", 7, ms(15))

	got, err := r.QueryLatest(t.Context(), "*", 2)
	if err != nil {
		t.Fatal(err)
	}
	// Bytewise name order ("B" < "a" < "b"), newest first, later insert first on ties.
	if want := "B@1=6 a@20=2 a@15=7 b@30=5 b@30=3"; summary(got) != want {
		t.Fatalf("QueryLatest(*, 2) =\n %s\nwant\n %s", summary(got), want)
	}
	got, err = r.QueryLatest(t.Context(), "a", 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := "a@20=2"; summary(got) != want {
		t.Fatalf("QueryLatest(a, 1) = %s, want %s", summary(got), want)
	}
	got, err = r.Query(t.Context(), "b", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "b@30=5 b@30=3 b@10=1"; summary(got) != want {
		t.Fatalf("Query(b) = %s, want %s", summary(got), want)
	}
}

func TestTimeRangeInclusiveAndLimit(t *testing.T) {
	db, _ := openDB(t)
	r := rechist.NewRepo[int](db)
	for i := int64(0); i <= 10; i++ {
		storeAt(t, r, "s::x", int(i), ms(i*10))
		storeAt(t, r, "s::y", int(i), ms(i*10+5))
	}
	q := func(p rechist.QueryParams) string {
		t.Helper()
		got, err := r.Query(t.Context(), "s::*", p)
		if err != nil {
			t.Fatal(err)
		}
		return summary(got)
	}
	// Both bounds inclusive: 20 and 40 are in, 45 (y) is out, 25 and 35 (y) in.
	if got, want := q(rechist.QueryParams{Start: ms(20), End: ms(40)}),
		"s::x@40=4 s::x@30=3 s::x@20=2 s::y@35=3 s::y@25=2"; got != want {
		t.Errorf("range [20,40]:\n got %s\nwant %s", got, want)
	}
	if got, want := q(rechist.QueryParams{Start: ms(20), End: ms(40), LimitPerRecord: 1}),
		"s::x@40=4 s::y@35=3"; got != want {
		t.Errorf("range [20,40] limit 1: got %s, want %s", got, want)
	}
	// Open-ended on either side.
	if got, want := q(rechist.QueryParams{Start: ms(95)}), "s::x@100=10 s::y@105=10 s::y@95=9"; got != want {
		t.Errorf("start 95: got %s, want %s", got, want)
	}
	if got, want := q(rechist.QueryParams{End: ms(5)}), "s::x@0=0 s::y@5=0"; got != want {
		t.Errorf("end 5: got %s, want %s", got, want)
	}
	// A single instant.
	if got, want := q(rechist.QueryParams{Start: ms(50), End: ms(50)}), "s::x@50=5"; got != want {
		t.Errorf("instant 50: got %s, want %s", got, want)
	}
	if got := q(rechist.QueryParams{LimitPerRecord: 3}); got != "s::x@100=10 s::x@90=9 s::x@80=8 s::y@105=10 s::y@95=9 s::y@85=8" {
		t.Errorf("limit 3: got %s", got)
	}
}

func TestPatternCharactersAreLiteral(t *testing.T) {
	db, _ := openDB(t)
	r := rechist.NewRepo[string](db)
	all := []string{
		"a_c", "abc", "a%c", "aXc", "a?c", "a\\c", "a\\\\c", "a[b]c", "ab", "a.c",
		"Accuracy::vienna", "accuracy::vienna", "accuracy::", "accuracy:", "x*y", "xzy",
	}
	for i, n := range all {
		storeAt(t, r, n, n, ms(int64(i)))
	}
	for _, tc := range []struct{ pattern, want string }{
		{"a_c", "a_c"},       // _ is no single-character wildcard
		{"a%c", "a%c"},       // % is no wildcard
		{"a?c", "a?c"},       // ? is no single-character wildcard
		{"a\\c", "a\\c"},     // \ is no escape
		{"a\\\\c", "a\\\\c"}, // nor is a doubled one
		{"a[b]c", "a[b]c"},   // [ is no character class
		{"a.c", "a.c"},       // . is no regexp
		{"a*c", "a%c a.c a?c aXc a[b]c a\\\\c a\\c a_c abc"},
		{"a*", "a%c a.c a?c aXc a[b]c a\\\\c a\\c a_c ab abc accuracy: accuracy:: accuracy::vienna"},
		{"accuracy::*", "accuracy:: accuracy::vienna"}, // * matches the empty run
		{"ACCURACY::*", ""}, // case-sensitive
		{"Accuracy::*", "Accuracy::vienna"},
		{"accuracy::VIENNA", ""},
		{"x*y", "x*y xzy"}, // * in a pattern is always the wildcard
		{"*c", "a%c a.c a?c aXc a[b]c a\\\\c a\\c a_c abc"},
		{"*vienna", "Accuracy::vienna accuracy::vienna"},
		{"ab", "ab"}, // no * means exactly that name, not a prefix
	} {
		got, err := r.QueryLatest(t.Context(), tc.pattern, 1)
		if err != nil {
			t.Fatalf("%q: %v", tc.pattern, err)
		}
		if names(got) != tc.want {
			t.Errorf("pattern %q matched %q, want %q", tc.pattern, names(got), tc.want)
		}
	}
}

func TestCleanupDeletesOlderRows(t *testing.T) {
	db, _ := openDB(t, rechist.WithCleanupChunk(7)) // small chunks: many transactions
	r := rechist.NewRepo[int](db)
	rows := make([]rechist.Record[int], 100)
	for i := range rows {
		rows[i] = rechist.Record[int]{Name: []string{"a", "b", "c"}[i%3], Value: i, StoredAt: ms(int64(i))}
	}
	if err := r.StoreMany(t.Context(), rows); err != nil {
		t.Fatal(err)
	}
	n, err := db.Cleanup(t.Context(), ms(40)) // strictly before 40: 0..39
	if err != nil {
		t.Fatal(err)
	}
	if n != 40 {
		t.Fatalf("Cleanup deleted %d rows, want 40", n)
	}
	left, err := r.Query(t.Context(), "*", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 60 {
		t.Fatalf("%d rows left, want 60", len(left))
	}
	for _, rec := range left {
		if rec.StoredAt.Before(ms(40)) {
			t.Errorf("row at %v survived the cleanup", rec.StoredAt)
		}
	}
	if n, err := db.Cleanup(t.Context(), ms(40)); n != 0 || err != nil {
		t.Fatalf("second Cleanup = %d, %v; want 0, nil", n, err)
	}
	if st := db.Stats(); st.RowsDeleted != 40 || st.Cleanups != 2 {
		t.Errorf("stats: deleted %d, cleanups %d; want 40, 2", st.RowsDeleted, st.Cleanups)
	}
}

func TestRetentionRunsAtOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	ctx := t.Context()
	db, err := rechist.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	r := rechist.NewRepo[string](db)
	old := time.Now().Add(-48 * time.Hour)
	storeAt(t, r, "s", "old", old)
	storeAt(t, r, "s", "older", old.Add(-time.Hour))
	storeAt(t, r, "s", "new", time.Now())
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = rechist.Open(ctx, path, rechist.WithRetention(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The first cleanup runs in the background right after Open; wait for it
	// to be counted (an event, not a time).
	for db.Stats().Cleanups == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("retention cleanup never ran")
		case <-time.After(time.Millisecond):
		}
	}
	got, err := rechist.NewRepo[string](db).Query(ctx, "s", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Value != "new" {
		t.Fatalf("after retention: %v, want only the new row", got)
	}
	if st := db.Stats(); st.RowsDeleted != 2 {
		t.Errorf("RowsDeleted = %d, want 2", st.RowsDeleted)
	}
}

func TestUndecodableRowsAreSkippedLoggedAndCounted(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	db, path := openDB(t, rechist.WithLogger(logger))
	r := rechist.NewRepo[Accuracy](db)
	storeAt(t, r, "acc::good", Accuracy{Value: 1, City: "good"}, ms(1))

	// Another program writes rows that are not an Accuracy.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, v := range []string{`{"value":`, `"a string"`, `[1,2]`, `{"value":"not a number"}`} {
		if _, err := raw.Exec(`INSERT INTO record_history (record_name, value_json, stored_at) VALUES ('acc::bad', ?, 2)`, v); err != nil {
			t.Fatal(err)
		}
	}
	got, err := r.Query(t.Context(), "acc::*", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	if names(got) != "acc::good" {
		t.Fatalf("got %q, want only acc::good", names(got))
	}
	if st := db.Stats(); st.SkippedRows != 4 {
		t.Errorf("SkippedRows = %d, want 4", st.SkippedRows)
	}
	if c := strings.Count(logs.String(), "level=WARN"); c != 4 || !strings.Contains(logs.String(), "record=acc::bad") {
		t.Errorf("want 4 warnings naming acc::bad, log:\n%s", logs.String())
	}
}

func TestLoggingIsSilentByDefault(t *testing.T) {
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(prev)
	db, path := openDB(t)
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`INSERT INTO record_history (record_name, value_json, stored_at) VALUES ('x', 'nope', 1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := rechist.QueryLatest[int](t.Context(), db, "x", 1); err != nil {
		t.Fatal(err)
	}
	if logs.Len() != 0 {
		t.Fatalf("default logger got output:\n%s", logs.String())
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "dir", "history.db")
	ctx := t.Context()
	for round := range 3 {
		db, err := rechist.Open(ctx, path, rechist.WithSynchronous(rechist.SyncNormal))
		if err != nil {
			t.Fatal(err)
		}
		r := rechist.NewRepo[int](db)
		got, err := r.Query(ctx, "n", rechist.QueryParams{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != round {
			t.Fatalf("round %d: found %d rows, want %d", round, len(got), round)
		}
		if err := r.StoreAt(ctx, "n", round, ms(int64(round))); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestClosedDB(t *testing.T) {
	db, err := rechist.Open(t.Context(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	r := rechist.NewRepo[int](db)
	storeAt(t, r, "x", 1, ms(1))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := context.Background()
	if err := r.Store(ctx, "x", 2); !errors.Is(err, rechist.ErrClosed) {
		t.Errorf("Store after Close: %v", err)
	}
	if err := r.StoreMany(ctx, []rechist.Record[int]{{Name: "x", Value: 3}}); !errors.Is(err, rechist.ErrClosed) {
		t.Errorf("StoreMany after Close: %v", err)
	}
	if _, err := r.QueryLatest(ctx, "x", 1); !errors.Is(err, rechist.ErrClosed) {
		t.Errorf("QueryLatest after Close: %v", err)
	}
	if _, err := db.Cleanup(ctx, ms(10)); !errors.Is(err, rechist.ErrClosed) {
		t.Errorf("Cleanup after Close: %v", err)
	}
}

func TestMemoryDatabase(t *testing.T) {
	ctx := t.Context()
	a, err := rechist.Open(ctx, rechist.MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := rechist.Open(ctx, rechist.MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := rechist.NewRepo[int](a).Store(ctx, "x", 1); err != nil {
		t.Fatal(err)
	}
	if got, err := rechist.QueryLatest[int](ctx, a, "x", 1); err != nil || len(got) != 1 {
		t.Fatalf("memory database a: %v, %v", got, err)
	}
	// Each Open of :memory: is a database of its own.
	if got, err := rechist.QueryLatest[int](ctx, b, "x", 1); err != nil || len(got) != 0 {
		t.Fatalf("memory database b sees a's rows: %v, %v", got, err)
	}
}

// Large results are decoded on several goroutines; order and skipping must
// be the same as for small ones.
func TestLargeResultKeepsOrderAndSkipsBadRows(t *testing.T) {
	db, path := openDB(t)
	r := rechist.NewRepo[int](db)
	const n = 9000
	recs := make([]rechist.Record[int], n)
	for i := range recs {
		recs[i] = rechist.Record[int]{Name: "big", Value: i, StoredAt: ms(int64(i))}
	}
	if err := r.StoreMany(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE record_history SET value_json = '"bad"' WHERE id % 1000 = 0`); err != nil {
		t.Fatal(err)
	}
	got, err := r.Query(t.Context(), "big", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n-9 {
		t.Fatalf("%d rows, want %d", len(got), n-9)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Value >= got[i-1].Value || !got[i].StoredAt.Before(got[i-1].StoredAt) {
			t.Fatalf("row %d out of order: %d after %d", i, got[i].Value, got[i-1].Value)
		}
	}
	for _, rec := range got {
		if (rec.Value+1)%1000 == 0 {
			t.Fatalf("the undecodable row %d was returned", rec.Value)
		}
	}
	if st := db.Stats(); st.SkippedRows != 9 {
		t.Errorf("SkippedRows = %d, want 9", st.SkippedRows)
	}
}
