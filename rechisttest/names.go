package rechisttest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// nameStat is what the listings say of one record: its raw rows and the
// times of its oldest and newest.
type nameStat struct {
	rows        int64
	first, last int64
}

// statsFromRows computes each record's nameStat from the rows themselves,
// read by time (a pattern of only "*" without a limit reads the table by
// time, not name by name), and the newest limit rows of each record in
// result order.
func statsFromRows(t *testing.T, db *rechist.DB, limit int) (map[string]nameStat, []string) {
	t.Helper()
	recs, err := rechist.NewRepo[any](db).Query(t.Context(), "*", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	ref := map[string]nameStat{}
	for _, r := range recs {
		at := r.StoredAt.UnixMilli()
		s, ok := ref[r.Name]
		if !ok {
			s = nameStat{first: at, last: at}
		}
		s.rows++
		s.first, s.last = min(s.first, at), max(s.last, at)
		ref[r.Name] = s
	}
	// recs are in result order already: the read by time is ordered by
	// name, newest first, the later insert first, with no name walk.
	var latest []string
	for i, r := range recs {
		if i >= limit && recs[i-limit].Name == r.Name {
			continue
		}
		latest = append(latest, fmt.Sprintf("%s@%d=%v", r.Name, r.StoredAt.UnixMilli(), r.Value))
	}
	return ref, latest
}

// checkListings compares Records, Names, Summary and QueryLatest with
// what the rows say.
func checkListings(t *testing.T, db *rechist.DB, step string) {
	t.Helper()
	ctx := t.Context()
	ref, latest := statsFromRows(t, db, 2)
	infos, err := db.Records(ctx, "*")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]nameStat{}
	var order []string
	for _, i := range infos {
		got[i.Name] = nameStat{rows: i.Rows, first: i.First.UnixMilli(), last: i.Last.UnixMilli()}
		order = append(order, i.Name)
	}
	if fmt.Sprint(got) != fmt.Sprint(ref) {
		t.Fatalf("%s: Records(*) =\n%v\nthe rows say\n%v", step, got, ref)
	}
	if !slices.IsSorted(order) {
		t.Fatalf("%s: Records not in name order: %q", step, order)
	}
	if names, err := db.Names(ctx, "*"); err != nil || !slices.Equal(names, order) {
		t.Fatalf("%s: Names(*) = %q, %v; want %q", step, names, err, order)
	}
	var rows int64
	for _, s := range ref {
		rows += s.rows
	}
	sum, err := db.Summary(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != rows || sum.Records != int64(len(ref)) {
		t.Fatalf("%s: Summary says %d rows, %d records; the rows say %d, %d", step, sum.Rows, sum.Records, rows, len(ref))
	}
	recs, err := rechist.NewRepo[any](db).QueryLatest(ctx, "*", 2)
	if err != nil {
		t.Fatal(err)
	}
	var gotLatest []string
	for _, r := range recs {
		gotLatest = append(gotLatest, fmt.Sprintf("%s@%d=%v", r.Name, r.StoredAt.UnixMilli(), r.Value))
	}
	if !slices.Equal(gotLatest, latest) {
		t.Fatalf("%s: QueryLatest(*, 2) =\n%q\nthe rows say\n%q", step, gotLatest, latest)
	}
}

// Listings (Records, Names, Summary, the walk of QueryLatest) agree with
// the rows after every kind of write: batches and single rows, late rows,
// rows another program inserts, moves and deletes, Delete of ranges,
// cleanups, and records emptied and stored again.
func testListingsFollowEveryWrite(t *testing.T, h Harness) {
	ctx := t.Context()
	db, dsn := h.openDB(t, append(h.Fast, rechist.WithCleanupChunk(7))...)
	r := rechist.NewRepo[int](db)
	rng := rand.New(rand.NewPCG(21, 22))
	names := []string{"n::a", "n::b", "n::c", "n::é", "o::a", "o::b"}
	name := func() string { return names[rng.IntN(len(names))] }
	at := func() int64 { return int64(rng.IntN(1000)) }
	for step := range 60 {
		var what string
		switch k := rng.IntN(8); k {
		case 0, 1:
			var batch []rechist.Record[int]
			for range 1 + rng.IntN(40) {
				batch = append(batch, rechist.Record[int]{Name: name(), Value: step, StoredAt: ms(at())})
			}
			what = fmt.Sprintf("StoreMany of %d", len(batch))
			if err := r.StoreMany(ctx, batch); err != nil {
				t.Fatal(err)
			}
		case 2:
			what = "StoreAt"
			storeAt(t, r, name(), step, ms(at()))
		case 3:
			n, a := name(), at()
			what = fmt.Sprintf("another program inserts %s at %d", n, a)
			h.InsertRaw(t, dsn, n, fmt.Sprint(step), ms(a).UnixMilli())
		case 4:
			if h.ExecRaw == nil {
				continue
			}
			from, to, a := name(), name(), at()
			what = fmt.Sprintf("another program moves %s's rows below %d to %s at %d", from, a, to, a)
			h.ExecRaw(t, dsn, fmt.Sprintf(`UPDATE record_history SET record_name = '%s', stored_at = %d
				WHERE record_name = '%s' AND stored_at < %d`, to, ms(a).UnixMilli(), from, ms(a).UnixMilli()))
		case 5:
			if h.ExecRaw == nil {
				continue
			}
			n, a := name(), at()
			what = fmt.Sprintf("another program deletes %s from %d", n, a)
			h.ExecRaw(t, dsn, fmt.Sprintf(`DELETE FROM record_history WHERE record_name = '%s' AND stored_at >= %d`, n, ms(a).UnixMilli()))
		case 6:
			p := []string{"n::*", "o::a", "*", "n::é"}[rng.IntN(4)]
			a, b := at(), at()
			what = fmt.Sprintf("Delete(%s, %d..%d)", p, min(a, b), max(a, b))
			if _, err := db.Delete(ctx, p, rechist.QueryParams{Start: ms(min(a, b)), End: ms(max(a, b))}); err != nil {
				t.Fatal(err)
			}
		case 7:
			a := at()
			what = fmt.Sprintf("Cleanup before %d", a)
			if _, err := db.Cleanup(ctx, ms(a)); err != nil {
				t.Fatal(err)
			}
		}
		checkListings(t, db, fmt.Sprintf("step %d (%s)", step, what))
	}
	// Every record emptied, then one stored again.
	if _, err := db.Cleanup(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	checkListings(t, db, "all deleted")
	storeAt(t, r, "n::b", 1, ms(3))
	checkListings(t, db, "n::b again")
}

// A schema from before the names table (rolled back to it here) lists
// its records from the rows when opened read-only, rows another program
// adds included, and gets the table, filled from the rows, when a writer
// opens it.
func testListingsOfAnOlderSchema(t *testing.T, h Harness) {
	if h.Prepared {
		t.Skip("the harness's databases cannot go back to an older schema")
	}
	ctx := t.Context()
	dsn := h.NewDSN(t)
	db, err := open(ctx, dsn, h.Fast...)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, db, []string{"old::a", "old::b", "old::c"}, 5)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ { // down to before the names table's migration
		m, err := rechist.MigrateDown(ctx, dsn)
		if err != nil || i == 20 {
			t.Fatalf("MigrateDown = %+v, %v; want the names table's migration within 20 steps", m, err)
		}
		if strings.HasSuffix(m.Source, "_record_names.sql") {
			break
		}
	}
	h.InsertRaw(t, dsn, "old::d", "1", ms(7).UnixMilli())
	h.InsertRaw(t, dsn, "old::a", "1", ms(-3).UnixMilli())
	ro, err := open(ctx, dsn, rechist.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	checkListings(t, ro, "read-only, no names table")
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = open(ctx, dsn, h.Fast...)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkListings(t, db, "migrated again")
	storeAt(t, rechist.NewRepo[int](db), "old::e", 1, ms(9))
	checkListings(t, db, "stored after the migration")
}
