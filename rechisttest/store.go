package rechisttest

// Storing records and reading them back.

import (
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

func testStoreAndWildcardQuery(t *testing.T, h Harness) {
	db, _ := h.openDB(t)
	acc := rechist.NewRepo[accuracy](db)
	ctx := t.Context()
	for _, city := range []string{"vienna", "graz", "linz"} {
		if err := acc.Store(ctx, "accuracy::"+city, accuracy{Value: 0.9, City: city}); err != nil {
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
	same, err := rechist.QueryLatest[accuracy](ctx, db, "accuracy::*", 5)
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

// Names with every character that is special somewhere are stored and read
// back exactly, through both an exact and a wildcard pattern.
func testUnusualNamesRoundTrip(t *testing.T, h Harness) {
	db, _ := h.openDB(t)
	r := rechist.NewRepo[string](db)
	odd := []string{
		`100%_done`, `back\slash`, `quote'"`, `star*name`, `q?`, `[x]`, "tab\tnew\nline",
		"ünïcødé ✓", "\U0001F600", strings.Repeat("long", rechist.MaxNameBytes/4), " ", "\x7f",
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
