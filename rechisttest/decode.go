package rechisttest

// Rows that do not decode as the Repo's type: skipped, counted, logged.

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/seed178a96f3/rechist"
)

func testUndecodableRowsAreSkippedLoggedAndCounted(t *testing.T, h Harness) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	db, path := h.openDB(t, rechist.WithLogger(logger))
	r := rechist.NewRepo[accuracy](db)
	storeAt(t, r, "acc::good", accuracy{Value: 1, City: "good"}, ms(1))

	// Another program writes rows that do not decode as an accuracy.
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
