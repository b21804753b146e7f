package rechisttest

// The core's Values (what the Prometheus API reads samples through): one
// record's rows as (time, value), against a reference made from every row
// stored, in both orders, with ranges and limits; rows that are not JSON
// skipped and counted; bad input, a cancelled ctx, a closed DB.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/core"
)

func testValuesMatchTheRows(t *testing.T, h Harness) {
	var logs bytes.Buffer
	db, dsn := h.openDB(t, rechist.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	c := core.Of(db)
	ctx := t.Context()

	// Three records, one with names a pattern would read otherwise; runs
	// of rows at one millisecond, stored in turns so that insert order and
	// time order differ.
	type row struct {
		name  string
		ms    int64
		value string
		seq   int // insert order
	}
	var all []row
	seq := 0
	add := func(name string, at int64, value string) {
		t.Helper()
		if err := rechist.NewRepo[json.RawMessage](db).StoreAt(ctx, name, json.RawMessage(value), ms(at)); err != nil {
			t.Fatal(err)
		}
		seq++
		all = append(all, row{name, ms(at).UnixMilli(), value, seq})
	}
	names := []string{"v::a", "v::*_%", "v::ä"}
	for i := range 40 {
		for k, name := range names {
			at := int64(1000 + (i*7+k*3)%25*10) // 25 distinct times, most repeated
			add(name, at, fmt.Sprintf(`{"i":%d,"k":%d}`, i, k))
		}
	}
	// A row another program wrote that is not JSON: skipped and counted.
	h.InsertRaw(t, dsn, "v::a", `{"i":`, ms(1100).UnixMilli())

	collect := func(name string, rg core.Range, stopAfter int) ([]string, error) {
		var got []string
		err := c.Values(ctx, name, rg, func(ms int64, value []byte) bool {
			got = append(got, fmt.Sprintf("%d %s", ms, value))
			return stopAfter == 0 || len(got) < stopAfter
		})
		return got, err
	}
	want := func(name string, rg core.Range) []string {
		var rows []row
		for _, r := range all {
			if r.name == name && r.ms >= rg.StartMs && r.ms <= rg.EndMs {
				rows = append(rows, r)
			}
		}
		slices.SortFunc(rows, func(a, b row) int {
			if a.ms != b.ms {
				if rg.OldestFirst {
					return int(a.ms - b.ms)
				}
				return int(b.ms - a.ms)
			}
			return b.seq - a.seq // the later insert first, either way
		})
		if rg.LimitPerRecord > 0 && int64(len(rows)) > rg.LimitPerRecord {
			rows = rows[:rg.LimitPerRecord]
		}
		out := []string{}
		for _, r := range rows {
			out = append(out, fmt.Sprintf("%d %s", r.ms, r.value))
		}
		return out
	}
	base := ms(0).UnixMilli()
	before := db.Stats().SkippedRows
	for _, name := range append(names, "v::none", "v:") {
		for _, rg := range []core.Range{
			core.Unbounded,
			{StartMs: base + 1050, EndMs: base + 1150},
			{StartMs: base + 1100, EndMs: base + 1100},
			{StartMs: 0, EndMs: base + 999},
			{StartMs: base + 1000, EndMs: base + 1240, LimitPerRecord: 1},
			{StartMs: base + 1000, EndMs: base + 1240, LimitPerRecord: 7},
		} {
			for _, oldest := range []bool{false, true} {
				rg.OldestFirst = oldest
				got, err := collect(name, rg, 0)
				if err != nil {
					t.Fatalf("Values(%q, %+v): %v", name, rg, err)
				}
				if w := want(name, rg); !slices.Equal(got, w) && !(len(got) == 0 && len(w) == 0) {
					t.Fatalf("Values(%q, %+v):\n got %q\nwant %q", name, rg, got, w)
				}
			}
		}
	}
	// The bad row lies in three of the ranges above, read in both orders.
	if got := db.Stats().SkippedRows - before; got != 6 {
		t.Errorf("SkippedRows grew by %d, want 6 (the bad row in three ranges, both orders)", got)
	}
	if !strings.Contains(logs.String(), "record=v::a") {
		t.Errorf("no warning naming v::a:\n%s", logs.String())
	}

	// yield returning false stops the read.
	if got, err := collect("v::a", core.Unbounded, 5); err != nil || len(got) != 5 {
		t.Fatalf("stopped after 5: %d rows, %v", len(got), err)
	}
	// Bad input.
	for _, bad := range []struct {
		name string
		rg   core.Range
	}{{"", core.Unbounded}, {"a\x00b", core.Unbounded}, {"v::a", core.Range{StartMs: 5, EndMs: 4}}, {"v::a", core.Range{EndMs: 1, LimitPerRecord: -1}}} {
		if _, err := collect(bad.name, bad.rg, 0); !errors.Is(err, rechist.ErrInvalidArgument) {
			t.Errorf("Values(%q, %+v) = %v, want ErrInvalidArgument", bad.name, bad.rg, err)
		}
	}
	// A cancelled ctx ends the read with its error.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := c.Values(cctx, "v::a", core.Unbounded, func(int64, []byte) bool { return true }); !errors.Is(err, context.Canceled) {
		t.Errorf("Values with a cancelled ctx = %v, want context.Canceled", err)
	}
	// A closed DB.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := collect("v::a", core.Unbounded, 0); !errors.Is(err, rechist.ErrClosed) {
		t.Errorf("Values after Close = %v, want ErrClosed", err)
	}
}
