package robustness

// Hostile input. A table sends every public call arguments at and beyond
// its limits; each gets its documented outcome: stored and read back
// exactly, or an error wrapping ErrInvalidArgument with nothing written.
// Two fuzz targets then search the input space: the pattern language
// against a reference matcher, and JSON values stored and read back.
//
//	go test -run='^$' -fuzz=FuzzPatternMatchesReference -fuzztime=60s ./tests/robustness/
//	go test -run='^$' -fuzz=FuzzJSONRoundTrip -fuzztime=60s ./tests/robustness/
//
// Their seed corpora are in testdata/fuzz; plain go test runs the seeds.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/testutil"
)

var (
	epochTime = time.UnixMilli(0)
	lastMs    = time.UnixMilli(math.MaxInt64) // the last storable millisecond
)

// readBack checks that the four query calls return exactly one record for
// pattern, equal to {name, v, at rounded down to the ms, in UTC}.
func readBack[T any](ctx context.Context, db *rechist.DB, pattern, name string, v T, at time.Time) error {
	r := rechist.NewRepo[T](db)
	want := rechist.Record[T]{Name: name, Value: v, StoredAt: time.UnixMilli(at.UnixMilli()).UTC()}
	for what, query := range map[string]func() ([]rechist.Record[T], error){
		"Repo.Query":          func() ([]rechist.Record[T], error) { return r.Query(ctx, pattern, rechist.QueryParams{}) },
		"Repo.QueryLatest":    func() ([]rechist.Record[T], error) { return r.QueryLatest(ctx, pattern, 1) },
		"rechist.Query":       func() ([]rechist.Record[T], error) { return rechist.Query[T](ctx, db, pattern, rechist.QueryParams{}) },
		"rechist.QueryLatest": func() ([]rechist.Record[T], error) { return rechist.QueryLatest[T](ctx, db, pattern, 1) },
	} {
		got, err := query()
		if err != nil {
			return fmt.Errorf("%s(%.40q): %w", what, pattern, err)
		}
		if len(got) != 1 {
			return fmt.Errorf("%s(%.40q): %d records, want 1", what, pattern, len(got))
		}
		g := got[0]
		if g.Name != want.Name || !reflect.DeepEqual(g.Value, want.Value) || g.StoredAt != want.StoredAt {
			return fmt.Errorf("%s(%.40q): read back %.60q@%v, want %.60q@%v (value equal: %v)", what, pattern,
				g.Name, g.StoredAt, want.Name, want.StoredAt, reflect.DeepEqual(g.Value, want.Value))
		}
	}
	return nil
}

// roundTrip stores v under name at at with StoreAt, then (in an emptied
// file) with StoreMany, and reads it back through pattern after each.
func roundTrip[T any](ctx context.Context, db *rechist.DB, name, pattern string, v T, at time.Time) error {
	r := rechist.NewRepo[T](db)
	for _, how := range []string{"StoreAt", "StoreMany"} {
		if _, err := db.Cleanup(ctx, lastMs); err != nil { // start empty (rows at lastMs stay)
			return err
		}
		var err error
		switch how {
		case "StoreAt":
			err = r.StoreAt(ctx, name, v, at)
		case "StoreMany":
			err = r.StoreMany(ctx, []rechist.Record[T]{{Name: name, Value: v, StoredAt: at}})
		}
		if err != nil {
			return fmt.Errorf("%s: %w", how, err)
		}
		if err := readBack(ctx, db, pattern, name, v, at); err != nil {
			return fmt.Errorf("after %s: %w", how, err)
		}
		if at.Equal(lastMs) {
			break // Cleanup cannot delete it: one is enough
		}
	}
	return nil
}

type hostileMarshaler struct{ out string }

func (h hostileMarshaler) MarshalJSON() ([]byte, error) { return []byte(h.out), nil }

type cyclic struct{ Next *cyclic }

// Every public call with hostile arguments gets its documented outcome;
// the cases of the root package's badinput_test.go are not repeated.
func TestHostileArgumentsEveryCall(t *testing.T) {
	type outcome int
	const (
		stored   outcome = iota // nil; the call read its value back itself
		invalid                 // an error wrapping ErrInvalidArgument, nothing written
		canceled                // context.Canceled, nothing written
	)
	type tc struct {
		name string
		call func(ctx context.Context, db *rechist.DB) error
		want outcome
		rows int64 // rows in the file afterwards, when stored
	}
	var cases []tc
	add := func(name string, want outcome, rows int64, call func(ctx context.Context, db *rechist.DB) error) {
		cases = append(cases, tc{name, call, want, rows})
	}
	ints := func(db *rechist.DB) *rechist.Repo[int] { return rechist.NewRepo[int](db) }

	// Names: very long, made of the characters other pattern languages use,
	// control and unusual code points. Each is stored and read back exactly.
	longest := strings.Repeat("ñ", rechist.MaxNameBytes/2) // MaxNameBytes exactly
	add("a name of MaxNameBytes (read back through a short wildcard)", stored, 1, func(ctx context.Context, db *rechist.DB) error {
		return roundTrip(ctx, db, longest, "ñññ*", 7, testutil.MS(1))
	})
	add("a name one byte past MaxNameBytes", invalid, 0, func(ctx context.Context, db *rechist.DB) error {
		return ints(db).StoreAt(ctx, longest+"x", 1, testutil.MS(1))
	})
	add("1 MiB name in a StoreMany", invalid, 0, func(ctx context.Context, db *rechist.DB) error {
		return ints(db).StoreMany(ctx, []rechist.Record[int]{{Name: "ok", Value: 1}, {Name: strings.Repeat("ñ", 1<<19), Value: 2}})
	})
	add("json.RawMessage with invalid UTF-8 inside a string", invalid, 0, func(ctx context.Context, db *rechist.DB) error {
		return rechist.NewRepo[json.RawMessage](db).StoreAt(ctx, "raw", json.RawMessage("\"\xff\xfe\""), testutil.MS(1))
	})
	for _, name := range []string{
		"%", "_", `\`, "?", "[", "]", "[]", "[!a]", "[^a]", "[a-z]", "{a,b}", `%_\?[`, `\%`, `\_`, `a\`, "'", `"`, "--",
		"*", "**", "a*b", "\x01", "\n", "\r\n", "\t", "\u2028", "\ufeff", "\ufffd", "\U0010ffff", "e\u0301", "\x7f", " ",
	} {
		// A name with '*' is its own pattern too: '*' matches itself among
		// other things, and it is the only record in the file.
		add(fmt.Sprintf("name %q", name), stored, 1, func(ctx context.Context, db *rechist.DB) error {
			return roundTrip(ctx, db, name, name, name, testutil.MS(2))
		})
	}
	// Invalid UTF-8 and NUL bytes: refused as names (alone or inside a
	// StoreMany) and as patterns, by every call.
	for _, bad := range []string{
		"\x80", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80", "\xff\xfe", "ok\xff",
		"\x00", "a\x00", "\x00*", "*\x00", strings.Repeat("a", 1<<20) + "\x00",
	} {
		q := fmt.Sprintf("%.20q", bad)
		add("Store name "+q, invalid, 0, func(ctx context.Context, db *rechist.DB) error { return ints(db).Store(ctx, bad, 1) })
		add("StoreMany name "+q, invalid, 0, func(ctx context.Context, db *rechist.DB) error {
			return ints(db).StoreMany(ctx, []rechist.Record[int]{{Name: "fine", Value: 1}, {Name: bad, Value: 2}})
		})
		add("Query pattern "+q, invalid, 0, func(ctx context.Context, db *rechist.DB) error {
			_, err := ints(db).Query(ctx, bad, rechist.QueryParams{})
			return err
		})
		add("QueryLatest pattern "+q, invalid, 0, func(ctx context.Context, db *rechist.DB) error {
			_, err := ints(db).QueryLatest(ctx, bad, 1)
			return err
		})
		add("rechist.Query pattern "+q, invalid, 0, func(ctx context.Context, db *rechist.DB) error {
			_, err := rechist.Query[int](ctx, db, bad, rechist.QueryParams{})
			return err
		})
		add("rechist.QueryLatest pattern "+q, invalid, 0, func(ctx context.Context, db *rechist.DB) error {
			_, err := rechist.QueryLatest[int](ctx, db, bad, 1)
			return err
		})
	}
	// Patterns of stars only match every record, however many stars.
	for _, p := range []string{"*", "**", strings.Repeat("*", 1000), "*" + strings.Repeat("**", 100)} {
		add(fmt.Sprintf("pattern of %d stars", len(p)), stored, 3, func(ctx context.Context, db *rechist.DB) error {
			r := ints(db)
			for i, name := range []string{"a", "*", "%"} {
				if err := r.StoreAt(ctx, name, i, testutil.MS(int64(i))); err != nil {
					return err
				}
			}
			got, err := r.QueryLatest(ctx, p, 1)
			if err != nil {
				return err
			}
			if testutil.Names(got) != "% * a" {
				return fmt.Errorf("matched %q, want all three", testutil.Names(got))
			}
			return nil
		})
	}

	// Times at and beyond the limits.
	add("StoreAt at the Unix epoch exactly", stored, 1, func(ctx context.Context, db *rechist.DB) error {
		return roundTrip(ctx, db, "t", "t", 1, epochTime)
	})
	add("StoreAt at the last int64 millisecond", stored, 1, func(ctx context.Context, db *rechist.DB) error {
		return roundTrip(ctx, db, "t", "t", 1, lastMs)
	})
	add("StoreAt 999999ns after the epoch is rounded down to it", stored, 1, func(ctx context.Context, db *rechist.DB) error {
		return roundTrip(ctx, db, "t", "t", 1, epochTime.Add(999_999))
	})
	add("StoreAt in UTC+14 with a monotonic reading comes back in UTC", stored, 1, func(ctx context.Context, db *rechist.DB) error {
		return roundTrip(ctx, db, "t", "t", 1, time.Now().In(time.FixedZone("LINT", 14*3600)))
	})
	add("StoreMany stamps a zero StoredAt with the current time", stored, 1, func(ctx context.Context, db *rechist.DB) error {
		before := time.Now().Truncate(time.Millisecond)
		if err := ints(db).StoreMany(ctx, []rechist.Record[int]{{Name: "t", Value: 1}}); err != nil {
			return err
		}
		got, err := ints(db).QueryLatest(ctx, "t", 1)
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].StoredAt.Before(before) || got[0].StoredAt.After(time.Now()) {
			return fmt.Errorf("read back %v, want a time between %v and now", got, before)
		}
		return nil
	})
	for what, at := range map[string]time.Time{
		"the zero time":               {},
		"1ns before the epoch":        epochTime.Add(-1),
		"1ns after the last ms":       lastMs.Add(1),
		"1ms after the last ms":       lastMs.Add(time.Millisecond),
		"the largest time.Time":       time.Unix(math.MaxInt64-62135596800, 999_999_999),
		"year -292277022657 (min ns)": time.Unix(math.MinInt64, 0),
	} {
		add("StoreAt "+what, invalid, 0, func(ctx context.Context, db *rechist.DB) error { return ints(db).StoreAt(ctx, "t", 1, at) })
		add("Cleanup cutoff "+what, invalid, 0, func(ctx context.Context, db *rechist.DB) error {
			_, err := db.Cleanup(ctx, at)
			return err
		})
		if at.IsZero() {
			continue // StoreMany stamps a zero time with now; a zero bound is unbounded
		}
		add("StoreMany at "+what, invalid, 0, func(ctx context.Context, db *rechist.DB) error {
			return ints(db).StoreMany(ctx, []rechist.Record[int]{{Name: "t", Value: 1, StoredAt: testutil.MS(1)}, {Name: "t", Value: 2, StoredAt: at}})
		})
		add("Query start "+what, invalid, 0, func(ctx context.Context, db *rechist.DB) error {
			_, err := ints(db).Query(ctx, "t", rechist.QueryParams{Start: at})
			return err
		})
		add("Query end "+what, invalid, 0, func(ctx context.Context, db *rechist.DB) error {
			_, err := ints(db).Query(ctx, "t", rechist.QueryParams{End: at})
			return err
		})
	}
	// Range bounds at the limits select exactly the rows at the limits;
	// Cleanup deletes strictly before its cutoff.
	limits := func(ctx context.Context, db *rechist.DB) error {
		r := ints(db)
		for i, at := range []time.Time{epochTime, testutil.MS(0), lastMs} {
			if err := r.StoreAt(ctx, "t", i, at); err != nil {
				return err
			}
		}
		for _, c := range []struct {
			p    rechist.QueryParams
			want string
		}{
			{rechist.QueryParams{Start: epochTime, End: epochTime}, "0"},
			{rechist.QueryParams{Start: lastMs, End: lastMs}, "2"},
			{rechist.QueryParams{Start: epochTime, End: lastMs}, "2 1 0"},
			{rechist.QueryParams{Start: epochTime.Add(time.Millisecond), End: lastMs.Add(-time.Millisecond)}, "1"},
			{rechist.QueryParams{LimitPerRecord: math.MaxInt}, "2 1 0"},
		} {
			got, err := r.Query(ctx, "t", c.p)
			if err != nil {
				return err
			}
			var vs []string
			for _, g := range got {
				vs = append(vs, fmt.Sprint(g.Value))
			}
			if strings.Join(vs, " ") != c.want {
				return fmt.Errorf("%+v: got %v, want %s", c.p, vs, c.want)
			}
		}
		if got, err := r.QueryLatest(ctx, "t", math.MaxInt); err != nil || len(got) != 3 {
			return fmt.Errorf("QueryLatest(MaxInt) = %d rows, %v", len(got), err)
		}
		if n, err := db.Cleanup(ctx, epochTime); n != 0 || err != nil {
			return fmt.Errorf("Cleanup(epoch) = %d, %v; want 0", n, err)
		}
		if n, err := db.Cleanup(ctx, lastMs); n != 2 || err != nil {
			return fmt.Errorf("Cleanup(last ms) = %d, %v; want 2 (not the row at the last ms)", n, err)
		}
		return nil
	}
	add("query and cleanup bounds at the limits", stored, 1, limits)

	// Values: huge, odd but encodable, and not encodable.
	huge := strings.Repeat("h<&>\u2028", 16<<20/8) // 16 MiB of JSON text
	add("16 MiB string value", stored, 1, func(ctx context.Context, db *rechist.DB) error {
		return roundTrip(ctx, db, "v", "v", huge, testutil.MS(3))
	})
	add("nil pointer value stores JSON null", stored, 1, func(ctx context.Context, db *rechist.DB) error {
		return roundTrip[*int](ctx, db, "v", "v", nil, testutil.MS(3))
	})
	add("nil any value stores JSON null", stored, 1, func(ctx context.Context, db *rechist.DB) error {
		return roundTrip[any](ctx, db, "v", "v", nil, testutil.MS(3))
	})
	add("extreme numbers", stored, 1, func(ctx context.Context, db *rechist.DB) error {
		type nums struct {
			A, B int64
			C    uint64
			D, E float64
		}
		return roundTrip(ctx, db, "v", "v", nums{math.MinInt64, math.MaxInt64, math.MaxUint64, math.SmallestNonzeroFloat64, -math.MaxFloat64}, testutil.MS(3))
	})
	add("StoreMany of 50000 records, past MaxBatchRows, commits whole", stored, 50_000, func(ctx context.Context, db *rechist.DB) error {
		recs := make([]rechist.Record[int], 50_000)
		for i := range recs {
			recs[i] = rechist.Record[int]{Name: fmt.Sprintf("m%d", i%7), Value: i, StoredAt: testutil.MS(int64(i))}
		}
		return ints(db).StoreMany(ctx, recs)
	})
	cycle := &cyclic{}
	cycle.Next = cycle
	selfMap := map[string]any{}
	selfMap["self"] = selfMap
	for what, v := range map[string]any{
		"complex128":                      complex(1, 2),
		"map[bool]int":                    map[bool]int{true: 1},
		"a pointer cycle":                 cycle,
		"a map that contains itself":      selfMap,
		"MarshalJSON giving invalid JSON": hostileMarshaler{`{"a":`},
		"MarshalJSON giving nothing":      hostileMarshaler{""},
		"MarshalJSON giving two values":   hostileMarshaler{"1 2"},
		"invalid json.RawMessage":         json.RawMessage("{"),
		"invalid json.Number":             json.Number("0x10"),
		"-Inf inside a struct":            struct{ F float64 }{math.Inf(-1)},
		"NaN inside a map":                map[string]float64{"x": math.NaN()},
		"NaN float32":                     float32(math.NaN()),
	} {
		add("value "+what, invalid, 0, func(ctx context.Context, db *rechist.DB) error {
			return rechist.NewRepo[any](db).Store(ctx, "v", v)
		})
		add("StoreMany value "+what, invalid, 0, func(ctx context.Context, db *rechist.DB) error {
			return rechist.NewRepo[any](db).StoreMany(ctx, []rechist.Record[any]{{Name: "v", Value: 1}, {Name: "v", Value: v}})
		})
	}

	// Counts, empty batches, ended contexts.
	add("Summary top -1", invalid, 0, func(ctx context.Context, db *rechist.DB) error { _, err := db.Summary(ctx, -1); return err })
	add("Summary top MaxInt", stored, 2, func(ctx context.Context, db *rechist.DB) error {
		for _, n := range []string{"a", "b"} {
			if err := ints(db).StoreAt(ctx, n, 1, testutil.MS(1)); err != nil {
				return err
			}
		}
		s, err := db.Summary(ctx, math.MaxInt)
		if err != nil {
			return err
		}
		if s.Rows != 2 || s.Records != 2 || len(s.Top) != 2 {
			return fmt.Errorf("summary %+v", s)
		}
		return nil
	})
	add("StoreMany of nil", stored, 0, func(ctx context.Context, db *rechist.DB) error { return ints(db).StoreMany(ctx, nil) })
	add("StoreMany of none", stored, 0, func(ctx context.Context, db *rechist.DB) error {
		return ints(db).StoreMany(ctx, []rechist.Record[int]{})
	})
	for what, call := range map[string]func(ctx context.Context, db *rechist.DB) error{
		"Store": func(ctx context.Context, db *rechist.DB) error { return ints(db).Store(ctx, "c", 1) },
		"StoreMany": func(ctx context.Context, db *rechist.DB) error {
			return ints(db).StoreMany(ctx, []rechist.Record[int]{{Name: "c"}})
		},
		"Query": func(ctx context.Context, db *rechist.DB) error {
			_, err := ints(db).Query(ctx, "c", rechist.QueryParams{})
			return err
		},
		"QueryLatest": func(ctx context.Context, db *rechist.DB) error {
			_, err := ints(db).QueryLatest(ctx, "*", 1)
			return err
		},
		"Cleanup": func(ctx context.Context, db *rechist.DB) error { _, err := db.Cleanup(ctx, testutil.MS(1)); return err },
		"Summary": func(ctx context.Context, db *rechist.DB) error { _, err := db.Summary(ctx, 1); return err },
	} {
		add(what+" with a canceled context", canceled, 0, func(ctx context.Context, db *rechist.DB) error {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			return call(ctx, db)
		})
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db, path := testutil.OpenDB(t, "")
			before := db.Stats()
			err := c.call(t.Context(), db)
			switch c.want {
			case stored:
				if err != nil {
					t.Fatalf("got %v, want stored and read back", err)
				}
			case invalid:
				if !errors.Is(err, rechist.ErrInvalidArgument) {
					t.Fatalf("got %v, want an error wrapping ErrInvalidArgument", err)
				}
				if after := db.Stats(); after.Requests != before.Requests {
					t.Fatalf("invalid input reached the writer: %d requests", after.Requests-before.Requests)
				}
			case canceled:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("got %v, want context.Canceled", err)
				}
			}
			if n := rowCount(t, path); n != c.rows {
				t.Fatalf("%d rows in the file, want %d", n, c.rows)
			}
		})
	}
}

// rechist stores names up to MaxNameBytes, but another program may have
// written longer ones into a SQLite file (the Rust crate has no limit), and
// the exact-name query must find them. SQLite refuses a GLOB pattern longer
// than 50000 bytes (SQLITE_LIMIT_LIKE_PATTERN_LENGTH), so exact patterns do
// not go through GLOB, and longer wildcard patterns are refused as invalid
// input, not with an SQL error.
func TestLongNamesAreQueryableByName(t *testing.T) {
	db, path := testutil.OpenDB(t, "")
	r := rechist.NewRepo[int](db)
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, n := range []int{50_000, 50_001, 1 << 20} {
		name := strings.Repeat("n", n)
		if err := r.StoreAt(t.Context(), name, n, testutil.MS(1)); !errors.Is(err, rechist.ErrInvalidArgument) {
			t.Fatalf("Store of a %d-byte name: %v, want ErrInvalidArgument", n, err)
		}
		if _, err := raw.Exec(`INSERT INTO record_history (record_name, value_json, stored_at) VALUES (?, ?, ?)`,
			name, fmt.Sprint(n), testutil.Base+1); err != nil {
			t.Fatal(err)
		}
		got, err := r.QueryLatest(t.Context(), name, 1)
		if err != nil {
			t.Fatalf("query of a %d-byte name another program stored: %v", n, err)
		}
		if len(got) != 1 || got[0].Value != n {
			t.Fatalf("query of a %d-byte name: %d records", n, len(got))
		}
	}
	// A pattern longer than SQLite accepts must at least be refused as
	// invalid input, not fail as an SQL error.
	_, err = r.QueryLatest(t.Context(), strings.Repeat("*", 50_001), 1)
	if err != nil && !errors.Is(err, rechist.ErrInvalidArgument) {
		t.Fatalf("a 50001-byte pattern fails with an SQL error: %v", err)
	}
}

// A value that Store accepts must read back. One nested deeper than
// encoding/json decodes (10000 levels) must be refused at Store or read
// back some other way; today it is stored and then skipped by every query.
func TestTooDeepValuesAreRefused(t *testing.T) {
	db, _ := testutil.OpenDB(t, "")
	type node struct{ N *node }
	r := rechist.NewRepo[*node](db)
	var deep *node
	for range 10_001 {
		deep = &node{N: deep}
	}
	err := r.StoreAt(t.Context(), "deep", deep, testutil.MS(1))
	if errors.Is(err, rechist.ErrInvalidArgument) {
		return
	}
	if err != nil {
		t.Fatalf("Store of a too deep value: %v", err)
	}
	got, qerr := r.QueryLatest(t.Context(), "deep", 1)
	if qerr == nil && len(got) == 1 {
		return
	}
	if qerr == nil && len(got) == 0 && db.Stats().SkippedRows == 1 {
		t.Fatal("Store accepts a value nested 10001 levels deep; encoding/json cannot decode it, so every query skips the row")
	}
	t.Fatalf("too deep value: Store %v; read back %d records, %v", err, len(got), qerr)
}

func validName(s string) bool {
	return s != "" && utf8.ValidString(s) && !strings.Contains(s, "\x00")
}

// FuzzPatternMatchesReference stores names built from the inputs (the
// fuzzed names, and variants of the pattern: without its stars, with them
// replaced, cut, extended, upper- and lower-cased) in a real database, and
// checks that a query returns exactly the names the reference matcher
// accepts, in bytewise order. Inputs that are not valid names get
// ErrInvalidArgument and write nothing.
//
// Each fuzz worker process keeps one database open; the names of one
// input live under a prefix of their own ("f00000042\x01"), which the
// query pattern starts with too, so the inputs do not see each other.
func FuzzPatternMatchesReference(f *testing.F) {
	for _, seed := range [][4]string{
		{"a*", "a", "ab", "ba"},
		{"*", "", "x", "\n"},
		{"a_c", "abc", "a_c", "a%c"},
		{"%", "%", "x%", "anything"},
		{`a\*`, `a\`, `a\b`, `a*`},
		{"[ab]*", "[ab]", "a", "[ab]x"},
		{"?*?", "??", "?", "a"},
		{"*.*", "a.b", "ab", "."},
		{"Acc*", "acc", "ACC", "Accuracy"},
		{"é*ü", "éü", "éxü", "eu"},
		{"**a**", "a", "ba", "b"},
		{"a*b*c", "abc", "aXbYc", "acb"},
		{"", "a", "b", "c"},
		{"\xff*", "\xff", "a", "b"},
		{"a\x00*", "a", "a\x00b", "b"},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	db, _ := testutil.OpenDB(f, "", rechist.WithSynchronous(rechist.SyncNormal))
	r := rechist.NewRepo[string](db)
	var input int
	f.Fuzz(func(t *testing.T, pattern, a, b, c string) {
		ctx := t.Context()
		input++
		before := db.Stats().Requests
		for _, n := range []string{a, b, c} {
			if !validName(n) {
				if err := r.Store(ctx, n, n); !errors.Is(err, rechist.ErrInvalidArgument) {
					t.Fatalf("Store(%q): got %v, want ErrInvalidArgument", n, err)
				}
			}
		}
		if !validName(pattern) {
			if _, err := r.QueryLatest(ctx, pattern, 1); !errors.Is(err, rechist.ErrInvalidArgument) {
				t.Fatalf("QueryLatest(%q): got %v, want ErrInvalidArgument", pattern, err)
			}
			if _, err := r.Query(ctx, pattern, rechist.QueryParams{}); !errors.Is(err, rechist.ErrInvalidArgument) {
				t.Fatalf("Query(%q): got %v, want ErrInvalidArgument", pattern, err)
			}
			if db.Stats().Requests != before {
				t.Fatal("invalid input reached the writer")
			}
			return
		}

		literal := strings.ReplaceAll(pattern, "*", "")
		candidates := []string{
			a, b, c, pattern, literal,
			strings.ReplaceAll(pattern, "*", a), strings.ReplaceAll(pattern, "*", "**"),
			strings.ReplaceAll(pattern, "*", "\n"), literal + "x", "x" + literal,
			pattern[:len(pattern)-1], pattern[1:], strings.ToUpper(pattern), strings.ToLower(literal),
		}
		prefix := fmt.Sprintf("f%08d\x01", input)
		var stored []string
		var recs []rechist.Record[string]
		for _, n := range candidates {
			if validName(n) && !slices.Contains(stored, n) {
				stored = append(stored, n)
				recs = append(recs, rechist.Record[string]{Name: prefix + n, Value: n, StoredAt: testutil.MS(int64(len(recs)))})
			}
		}
		if err := r.StoreMany(ctx, recs); err != nil {
			t.Fatalf("StoreMany: %v", err)
		}
		var want []string
		for _, n := range stored {
			if testutil.ReferenceMatch(pattern, n) {
				want = append(want, n)
			}
		}
		slices.Sort(want) // Go compares strings bytewise, as the library orders names

		got, err := r.Query(ctx, prefix+pattern, rechist.QueryParams{})
		if err != nil {
			t.Fatalf("Query(%q): %v", pattern, err)
		}
		var gotNames []string
		for _, rec := range got {
			n, ok := strings.CutPrefix(rec.Name, prefix)
			if !ok || rec.Value != n {
				t.Fatalf("Query(%q) returned %q=%q from another input", pattern, rec.Name, rec.Value)
			}
			gotNames = append(gotNames, n)
		}
		if !slices.Equal(gotNames, want) {
			t.Fatalf("pattern %q over %q:\n got %q\nwant %q (reference)", pattern, stored, gotNames, want)
		}
		// The star-free variant of the pattern names exactly one record.
		if validName(literal) {
			got, err := r.QueryLatest(ctx, prefix+literal, 1)
			if err != nil || len(got) != 1 || got[0].Value != literal {
				t.Fatalf("QueryLatest(%q) = %v, %v; want exactly that record", literal, got, err)
			}
		}
	})
}

// fuzzValue is a value with a field of every JSON kind.
type fuzzValue struct {
	S     string            `json:"s"`
	F     float64           `json:"f"`
	I     int64             `json:"i"`
	U     uint64            `json:"u"`
	B     bool              `json:"b"`
	Bytes []byte            `json:"bytes"`
	Map   map[string]string `json:"map"`
	List  []any             `json:"list"`
	Next  *fuzzValue        `json:"next,omitempty"`
}

// FuzzJSONRoundTrip stores a value built from the inputs at a time built
// from them and reads it back: it must equal what encoding/json itself
// gives back for the value (which, for valid UTF-8 strings, is the value),
// at the time rounded to the ms, in UTC. NaN and infinite floats and times
// before the epoch get ErrInvalidArgument and write nothing.
func FuzzJSONRoundTrip(f *testing.F) {
	f.Add("plain", 1.5, int64(-7), uint64(7), true, []byte("raw"), int64(1_700_000_000_000))
	f.Add("<html> & \u2028", math.SmallestNonzeroFloat64, int64(math.MinInt64), uint64(math.MaxUint64), false, []byte{0, 0xff}, int64(0))
	f.Add("bad \xff utf-8", -0.0, int64(math.MaxInt64), uint64(0), true, []byte(nil), int64(math.MaxInt64))
	f.Add("nan", math.NaN(), int64(0), uint64(0), false, []byte{}, int64(1))
	f.Add("inf", math.Inf(1), int64(0), uint64(0), false, []byte{}, int64(1))
	f.Add("before epoch", 0.0, int64(0), uint64(0), false, []byte{}, int64(-1))
	db, _ := testutil.OpenDB(f, "", rechist.WithSynchronous(rechist.SyncNormal))
	r := rechist.NewRepo[fuzzValue](db)
	var input int
	f.Fuzz(func(t *testing.T, s string, fl float64, i int64, u uint64, b bool, raw []byte, atMs int64) {
		ctx := t.Context()
		input++
		name := fmt.Sprintf("j%d", input)
		v := fuzzValue{
			S: s, F: fl, I: i, U: u, B: b, Bytes: raw,
			Map:  map[string]string{s: string(raw), "": s},
			List: []any{s, fl, b, nil, map[string]any{"s": s}},
			Next: &fuzzValue{S: string(raw), F: -fl, I: -i, Bytes: []byte(s)},
		}
		at := time.UnixMilli(atMs)
		err := r.StoreAt(ctx, name, v, at)
		if math.IsNaN(fl) || math.IsInf(fl, 0) || atMs < 0 {
			if !errors.Is(err, rechist.ErrInvalidArgument) {
				t.Fatalf("StoreAt(f=%v, at=%d): got %v, want ErrInvalidArgument", fl, atMs, err)
			}
			if got, err := r.QueryLatest(ctx, name, 1); err != nil || len(got) != 0 {
				t.Fatalf("invalid value was written: %v, %v", got, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("StoreAt: %v", err)
		}
		// What encoding/json gives back for v, without the database.
		js, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var want fuzzValue
		if err := json.Unmarshal(js, &want); err != nil {
			t.Fatal(err)
		}
		if utf8.ValidString(s) && utf8.Valid(raw) {
			// Then JSON loses nothing but the types inside List.
			w, vv := want, v
			w.List, vv.List = nil, nil
			if !reflect.DeepEqual(w, vv) {
				t.Fatalf("encoding/json changed a value of valid UTF-8:\n%+v\n%+v", vv, w)
			}
		}
		got, err := r.QueryLatest(ctx, name, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("read back %d records, want 1", len(got))
		}
		if !reflect.DeepEqual(got[0].Value, want) {
			t.Fatalf("read back\n%+v\nwant\n%+v", got[0].Value, want)
		}
		if wantAt := time.UnixMilli(atMs).UTC(); got[0].StoredAt != wantAt {
			t.Fatalf("StoredAt = %v, want %v", got[0].StoredAt, wantAt)
		}
	})
}
