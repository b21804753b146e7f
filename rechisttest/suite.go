package rechisttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

func testStoreAndWildcardQuery(t *testing.T, h Harness) {
	db, _ := h.openDB(t)
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

func testLatestNPerRecordAndOrdering(t *testing.T, h Harness) {
	db, _ := h.openDB(t)
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

func testTimeRangeInclusiveAndLimit(t *testing.T, h Harness) {
	db, _ := h.openDB(t)
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

func testPatternCharactersAreLiteral(t *testing.T, h Harness) {
	db, _ := h.openDB(t)
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

func testCleanupDeletesOlderRows(t *testing.T, h Harness) {
	db, _ := h.openDB(t, rechist.WithCleanupChunk(7)) // small chunks: many transactions
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

func testRetentionRunsAtOpen(t *testing.T, h Harness) {
	path := h.NewDSN(t)
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

func testUndecodableRowsAreSkippedLoggedAndCounted(t *testing.T, h Harness) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	db, path := h.openDB(t, rechist.WithLogger(logger))
	r := rechist.NewRepo[Accuracy](db)
	storeAt(t, r, "acc::good", Accuracy{Value: 1, City: "good"}, ms(1))

	// Another program writes rows that are not an Accuracy.
	for _, v := range []string{`{"value":`, `"a string"`, `[1,2]`, `{"value":"not a number"}`} {
		h.InsertRaw(t, path, "acc::bad", v, 2)
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

func testLoggingIsSilentByDefault(t *testing.T, h Harness) {
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(prev)
	db, path := h.openDB(t)
	h.InsertRaw(t, path, "x", "nope", 1)
	if _, err := rechist.QueryLatest[int](t.Context(), db, "x", 1); err != nil {
		t.Fatal(err)
	}
	if logs.Len() != 0 {
		t.Fatalf("default logger got output:\n%s", logs.String())
	}
}

func testReopenKeepsData(t *testing.T, h Harness) {
	path := h.NewDSN(t)
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

func testClosedDB(t *testing.T, h Harness) {
	db, err := rechist.Open(t.Context(), h.NewDSN(t))
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

// Large results are decoded on several goroutines; order and skipping must
// be the same as for small ones.
func testLargeResultKeepsOrderAndSkipsBadRows(t *testing.T, h Harness) {
	db, path := h.openDB(t)
	r := rechist.NewRepo[int](db)
	const n = 9000
	recs := make([]rechist.Record[int], n)
	for i := range recs {
		recs[i] = rechist.Record[int]{Name: "big", Value: i, StoredAt: ms(int64(i))}
	}
	if err := r.StoreMany(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	for i := 999; i < n; i += 1000 { // nine rows another program made undecodable
		h.InsertRaw(t, path, "big", `"bad"`, ms(int64(i)).UnixMilli())
	}
	got, err := r.Query(t.Context(), "big", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("%d rows, want the %d that decode", len(got), n)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Value >= got[i-1].Value || !got[i].StoredAt.Before(got[i-1].StoredAt) {
			t.Fatalf("row %d out of order: %d after %d", i, got[i].Value, got[i-1].Value)
		}
	}
	if st := db.Stats(); st.SkippedRows != 9 {
		t.Errorf("SkippedRows = %d, want 9", st.SkippedRows)
	}
}

// Every kind of bad input is refused with ErrInvalidArgument, says what was
// wrong, and writes nothing.
func testBadInputIsRefusedAndWritesNothing(t *testing.T, h Harness) {
	db, _ := h.openDB(t)
	ctx := t.Context()
	floats := rechist.NewRepo[float64](db)
	chans := rechist.NewRepo[chan int](db)
	anys := rechist.NewRepo[any](db)
	ints := rechist.NewRepo[int](db)
	beforeEpoch := time.UnixMilli(-1)
	pastEnd := time.UnixMilli(math.MaxInt64).Add(time.Millisecond)

	for _, tc := range []struct {
		name string
		call func() error
		says string
	}{
		{"empty name", func() error { return ints.Store(ctx, "", 1) }, "record name is empty"},
		{"invalid UTF-8 name", func() error { return ints.Store(ctx, "a\xffb", 1) }, "not valid UTF-8"},
		{"NUL in name", func() error { return ints.Store(ctx, "a\x00b", 1) }, "NUL"},
		{"NaN", func() error { return floats.Store(ctx, "x", math.NaN()) }, "cannot be encoded as JSON"},
		{"+Inf", func() error { return floats.Store(ctx, "x", math.Inf(1)) }, "cannot be encoded as JSON"},
		{"channel", func() error { return chans.Store(ctx, "x", make(chan int)) }, "cannot be encoded as JSON"},
		{"func in any", func() error { return anys.Store(ctx, "x", func() {}) }, "cannot be encoded as JSON"},
		{"time before epoch", func() error { return ints.StoreAt(ctx, "x", 1, beforeEpoch) }, "before the Unix epoch"},
		{"time past int64 ms", func() error { return ints.StoreAt(ctx, "x", 1, pastEnd) }, "past the last storable millisecond"},
		{"one bad record in StoreMany", func() error {
			return ints.StoreMany(ctx, []rechist.Record[int]{{Name: "ok", Value: 1}, {Name: "", Value: 2}})
		}, "record 1 of 2"},
		{"NaN in StoreMany", func() error {
			return floats.StoreMany(ctx, []rechist.Record[float64]{{Name: "ok", Value: 1}, {Name: "x", Value: math.NaN()}})
		}, "cannot be encoded"},
		{"empty pattern", func() error { _, err := ints.QueryLatest(ctx, "", 1); return err }, "pattern is empty"},
		{"invalid UTF-8 pattern", func() error { _, err := ints.QueryLatest(ctx, "\xff*", 1); return err }, "not valid UTF-8"},
		{"n = 0", func() error { _, err := ints.QueryLatest(ctx, "x", 0); return err }, "n must be at least 1"},
		{"n < 0", func() error { _, err := rechist.QueryLatest[int](ctx, db, "x", -3); return err }, "n must be at least 1"},
		{"negative limit", func() error {
			_, err := ints.Query(ctx, "x", rechist.QueryParams{LimitPerRecord: -1})
			return err
		}, "limit per record must not be negative"},
		{"start after end", func() error {
			_, err := ints.Query(ctx, "x", rechist.QueryParams{Start: ms(2), End: ms(1)})
			return err
		}, "is after end"},
		{"start before epoch", func() error {
			_, err := ints.Query(ctx, "x", rechist.QueryParams{Start: beforeEpoch})
			return err
		}, "before the Unix epoch"},
		{"end past int64 ms", func() error {
			_, err := ints.Query(ctx, "x", rechist.QueryParams{End: pastEnd})
			return err
		}, "past the last storable"},
		{"cleanup before epoch", func() error { _, err := db.Cleanup(ctx, beforeEpoch); return err }, "before the Unix epoch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, rechist.ErrInvalidArgument) {
				t.Fatalf("got %v, want an error wrapping ErrInvalidArgument", err)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
		})
	}
	if st := db.Stats(); st.RowsWritten != 0 || st.Requests != 0 {
		t.Fatalf("bad input reached the writer: %+v", st)
	}
	if got, err := anys.Query(ctx, "*", rechist.QueryParams{}); err != nil || len(got) != 0 {
		t.Fatalf("rows stored by bad input: %v, %v", got, err)
	}
}

// Names with every character that is special somewhere are stored and read
// back exactly, through both an exact and a wildcard pattern.
func testUnusualNamesRoundTrip(t *testing.T, h Harness) {
	db, _ := h.openDB(t)
	r := rechist.NewRepo[string](db)
	odd := []string{
		`100%_done`, `back\slash`, `quote'"`, `star*name`, `q?`, `[x]`, "tab\tnew\nline",
		"ünïcødé ✓", "\U0001F600", strings.Repeat("long", 4096), " ", "\x7f",
	}
	for i, n := range odd {
		storeAt(t, r, n, n, ms(int64(i)))
	}
	for _, n := range odd {
		got, err := r.QueryLatest(t.Context(), strings.ReplaceAll(n, "*", "?"), 1)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(n, "*") {
			// '*' cannot be written literally: "star?name" matches nothing,
			// "star*name" matches it as a wildcard.
			if len(got) != 0 {
				t.Errorf("%q: ? matched %q", n, names(got))
			}
			got, err = r.QueryLatest(t.Context(), n, 1)
			if err != nil {
				t.Fatal(err)
			}
		}
		if len(got) != 1 || got[0].Name != n || got[0].Value != n {
			t.Errorf("%q: read back %q", n, names(got))
		}
	}
	all, err := r.QueryLatest(t.Context(), "*", 1)
	if err != nil || len(all) != len(odd) {
		t.Fatalf("* found %d of %d names (%v)", len(all), len(odd), err)
	}
}

func testConcurrentStoresAllPresentExactlyOnce(t *testing.T, h Harness) {
	db, _ := h.openDB(t, rechist.WithSynchronous(rechist.SyncNormal))
	r := rechist.NewRepo[int](db)
	const goroutines, each = 64, 500
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				if err := r.Store(context.Background(), fmt.Sprintf("g::%02d", g%8), g*each+i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := r.Query(t.Context(), "g::*", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[int]int, goroutines*each)
	for _, rec := range got {
		if want := fmt.Sprintf("g::%02d", rec.Value/each%8); rec.Name != want {
			t.Fatalf("value %d stored under %s, want %s", rec.Value, rec.Name, want)
		}
		seen[rec.Value]++
	}
	for v := range goroutines * each {
		if seen[v] != 1 {
			t.Fatalf("value %d present %d times", v, seen[v])
		}
	}
	st := db.Stats()
	if st.RowsWritten != goroutines*each || st.Requests != goroutines*each {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("%d rows in %d batches (mean %.1f rows a commit)", st.RowsWritten, st.Batches, float64(st.RowsWritten)/float64(st.Batches))
}

// Close commits every write it accepted: after Close, the file holds exactly
// the values whose Store returned nil, and every other Store got ErrClosed.
func testCloseFlushesEverythingAccepted(t *testing.T, h Harness) {
	path := h.NewDSN(t)
	db, err := rechist.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	r := rechist.NewRepo[int](db)
	const goroutines = 16
	acked := make([][]int, goroutines)
	var wg sync.WaitGroup
	started := make(chan struct{}, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := 0; ; i++ {
				v := g*1_000_000 + i
				err := r.Store(context.Background(), "c", v)
				if i == 10 {
					started <- struct{}{}
				}
				if errors.Is(err, rechist.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Store: %v", err)
					return
				}
				acked[g] = append(acked[g], v)
			}
		})
	}
	for range goroutines {
		<-started // every writer is well under way
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	db, err = rechist.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := rechist.Query[int](t.Context(), db, "c", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]bool{}
	for _, vs := range acked {
		for _, v := range vs {
			want[v] = true
		}
	}
	if len(got) != len(want) {
		t.Fatalf("file holds %d rows, %d stores were acknowledged", len(got), len(want))
	}
	for _, rec := range got {
		if !want[rec.Value] {
			t.Fatalf("value %d in the file was not acknowledged, or is there twice", rec.Value)
		}
		delete(want, rec.Value)
	}
	t.Logf("%d acknowledged stores, all present once after Close", len(got))
}
