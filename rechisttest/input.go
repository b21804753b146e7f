package rechisttest

// Bad input.

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

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
		{"name past MaxNameBytes", func() error {
			return ints.Store(ctx, strings.Repeat("n", rechist.MaxNameBytes+1), 1)
		}, "longer than 2048 bytes"},
		{"1 MiB name in StoreMany", func() error {
			return ints.StoreMany(ctx, []rechist.Record[int]{{Name: "ok", Value: 1}, {Name: strings.Repeat("é", 1<<19), Value: 2}})
		}, "record 1 of 2"},
		{"invalid UTF-8 inside a json.RawMessage string", func() error {
			return rechist.NewRepo[json.RawMessage](db).Store(ctx, "x", json.RawMessage("\"a\xffb\""))
		}, "not valid UTF-8"},
		{"invalid UTF-8 from a json.Marshaler", func() error {
			return rechist.NewRepo[rawMarshaler](db).Store(ctx, "x", rawMarshaler("[\"\xc3\"]"))
		}, "not valid UTF-8"},
		{"number beyond float64 in a json.RawMessage", func() error {
			return rechist.NewRepo[json.RawMessage](db).Store(ctx, "x", json.RawMessage(`{"v":1e400}`))
		}, "beyond float64's range"},
		{"negative number beyond float64 from a json.Marshaler", func() error {
			return rechist.NewRepo[rawMarshaler](db).Store(ctx, "x", rawMarshaler(`[-1e400]`))
		}, "the number -1e400"},
		{"escaped lone high surrogate in a json.RawMessage", func() error {
			return rechist.NewRepo[json.RawMessage](db).Store(ctx, "x", json.RawMessage(`"\ud800"`))
		}, `lone surrogate \ud800`},
		{"escaped lone low surrogate from a json.Marshaler", func() error {
			return rechist.NewRepo[rawMarshaler](db).Store(ctx, "x", rawMarshaler(`{"k":"a\udc00"}`))
		}, `lone surrogate \udc00`},
		{"lone surrogate in StoreMany", func() error {
			return rechist.NewRepo[json.RawMessage](db).StoreMany(ctx, []rechist.Record[json.RawMessage]{
				{Name: "ok", Value: json.RawMessage(`"\ud83d\ude00"`)}, {Name: "x", Value: json.RawMessage(`"\ud83d"`)}})
		}, "lone surrogate"},
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

// rawMarshaler marshals to its own bytes, whatever they are.
type rawMarshaler string

func (r rawMarshaler) MarshalJSON() ([]byte, error) { return []byte(r), nil }
