package rechist_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// Every kind of bad input is refused with ErrInvalidArgument, says what was
// wrong, and writes nothing.
func TestBadInputIsRefusedAndWritesNothing(t *testing.T) {
	db, _ := openDB(t)
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

func TestBadOptionsFailAtOpen(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		opt  rechist.Option
	}{
		{"WithRetention", rechist.WithRetention(0)},
		{"WithCleanupInterval", rechist.WithCleanupInterval(-time.Second)},
		{"WithSynchronous", rechist.WithSynchronous(rechist.Synchronous(7))},
		{"WithLogger", rechist.WithLogger(nil)},
		{"WithQueueSize", rechist.WithQueueSize(0)},
		{"WithMaxBatchRows", rechist.WithMaxBatchRows(-1)},
		{"WithCleanupChunk", rechist.WithCleanupChunk(0)},
		{"WithReadConns", rechist.WithReadConns(0)},
		{"WithBusyTimeout", rechist.WithBusyTimeout(0)},
		{"WithCacheSize", rechist.WithCacheSize(10)},
		{"Open", nil},
	} {
		db, err := rechist.Open(context.Background(), dir+"/x.db", tc.opt)
		if err == nil {
			db.Close()
			t.Errorf("%s: Open succeeded", tc.name)
			continue
		}
		if !errors.Is(err, rechist.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: got %v, want ErrInvalidArgument naming the option", tc.name, err)
		}
	}
	if _, err := rechist.Open(context.Background(), ""); !errors.Is(err, rechist.ErrInvalidArgument) {
		t.Errorf("empty path: %v", err)
	}
}

// Names with every character that is special somewhere are stored and read
// back exactly, through both an exact and a wildcard pattern.
func TestUnusualNamesRoundTrip(t *testing.T) {
	db, _ := openDB(t)
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
