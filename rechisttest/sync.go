package rechisttest

// Sync: a source's rows copied into a destination exactly once.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/seed178a96f3/rechist"
)

// contents lists every row of db as "name@ms=value", sorted: a multiset
// to compare.
func contents(t *testing.T, db *rechist.DB) []string {
	t.Helper()
	all, _ := follow(t, db, "*", 0, 1<<20)
	out := make([]string, len(all))
	for i, c := range all {
		out[i] = fmt.Sprintf("%s@%d=%s", c.Name, c.StoredAt.UnixMilli(), c.Value)
	}
	sort.Strings(out)
	return out
}

func prefixed(prefix string, rows []string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = prefix + r
	}
	return out
}

func sameRows(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s: destination holds %d rows, want %d\n got: %.600q\nwant: %.600q", what, len(got), len(want), got, want)
	}
}

// Sync copies every row once, byte for byte with its time, in batches;
// a second Sync copies only what is new; the pattern and prefix apply.
func testSyncCopiesEachRowOnce(t *testing.T, h Harness) {
	src, srcDSN := h.openDB(t, h.Fast...)
	dst, _ := h.openDB(t, h.Fast...)
	ctx := t.Context()
	fill(t, src, []string{"a::x", "a::y", "b::z"}, 7)
	h.InsertRaw(t, srcDSN, "raw", `{ "spaced" : 1.50e0 }`, 5)
	res, err := rechist.Sync(ctx, src, dst, rechist.SyncBatchRows(4), rechist.SyncPrefix("gw1."))
	if err != nil {
		t.Fatal(err)
	}
	want := prefixed("gw1.", contents(t, src))
	sameRows(t, "first sync", contents(t, dst), want)
	last, _ := src.LastID(ctx)
	if res.Copied != 22 || res.Skipped != 0 || res.Missed != 0 || res.Cursor != last || res.SourceLast != last || res.TotalSent != 22 || res.Source == "" {
		t.Fatalf("first sync: %+v; want 22 copied, cursor and source last %d", res, last)
	}
	if id, err := src.SourceID(ctx); err != nil || id != res.Source {
		t.Fatalf("SourceID = %q, %v; want %q", id, err, res.Source)
	}
	if st, err := dst.SyncStatus(ctx, res.Source); err != nil || st.Cursor != last || st.Sent != 22 || st.Updated.IsZero() {
		t.Fatalf("SyncStatus = %+v, %v", st, err)
	}
	res, err = rechist.Sync(ctx, src, dst, rechist.SyncPrefix("gw1."))
	if err != nil || res.Copied != 0 || res.Cursor != last {
		t.Fatalf("second sync with nothing new: %+v, %v", res, err)
	}
	fill(t, src, []string{"a::x", "c::new"}, 2)
	res, err = rechist.Sync(ctx, src, dst, rechist.SyncPrefix("gw1."))
	if err != nil || res.Copied != 4 || res.TotalSent != 26 {
		t.Fatalf("sync after 4 new rows: %+v, %v; want 4 copied", res, err)
	}
	// The pattern applies: a destination that receives only a::*.
	only, _ := h.openDB(t, h.Fast...)
	res, err = rechist.Sync(ctx, src, only, rechist.SyncPrefix("gw1."), rechist.SyncPattern("a::*"))
	if err != nil || res.Copied != 16 || res.Skipped != 10 || res.TotalSent != 16 {
		t.Fatalf("sync of a::*: %+v, %v; want 16 copied, 10 skipped", res, err)
	}
	var wantA []string
	for _, r := range contents(t, src) {
		if strings.HasPrefix(r, "a::") {
			wantA = append(wantA, "gw1."+r)
		}
	}
	sameRows(t, "sync with a pattern", contents(t, only), wantA)
}

// Rows the source deleted before they were sent are counted as missed;
// the rest arrive.
func testSyncCountsMissedRows(t *testing.T, h Harness) {
	src, _ := h.openDB(t, h.Fast...)
	dst, _ := h.openDB(t, h.Fast...)
	ctx := t.Context()
	r := rechist.NewRepo[int](src)
	for i := range 10 {
		storeAt(t, r, "s", i, ms(int64(i)))
	}
	if _, err := rechist.Sync(ctx, src, dst); err != nil {
		t.Fatal(err)
	}
	for i := 10; i < 20; i++ {
		storeAt(t, r, "s", i, ms(int64(i)))
	}
	// Retention deletes 3 unsent rows (and 5 sent ones) before the next push.
	if n, err := src.Delete(ctx, "s", rechist.QueryParams{End: ms(12)}); err != nil || n != 13 {
		t.Fatalf("Delete = %d, %v", n, err)
	}
	res, err := rechist.Sync(ctx, src, dst, rechist.SyncBatchRows(3))
	if err != nil || res.Copied != 7 || res.Missed != 3 || res.TotalMissed != 3 || res.TotalSent != 17 {
		t.Fatalf("sync after retention: %+v, %v; want 7 copied, 3 missed", res, err)
	}
}

// Several sources push into one destination at once; two Syncs of one
// source at once never store a row twice (one may fail with ErrConflict).
func testSyncConcurrentSources(t *testing.T, h Harness) {
	dst, _ := h.openDB(t, h.Fast...)
	ctx, cancel := context.WithTimeout(t.Context(), workTimeout)
	defer cancel()
	var srcs []*rechist.DB
	var want []string
	for i := range 3 {
		src, _ := h.openDB(t, h.Fast...)
		fill(t, src, []string{"m::1", "m::2"}, 60)
		want = append(want, prefixed(fmt.Sprintf("dev%d.", i), contents(t, src))...)
		srcs = append(srcs, src)
	}
	sort.Strings(want)
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(srcs))
	for i, src := range srcs {
		for range 2 { // two syncs of each source at once
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					_, err := rechist.Sync(ctx, src, dst, rechist.SyncBatchRows(7), rechist.SyncPrefix(fmt.Sprintf("dev%d.", i)))
					if errors.Is(err, rechist.ErrConflict) && ctx.Err() == nil {
						continue // the other one moved the cursor: start again from it
					}
					errs <- err
					return
				}
			}()
		}
	}
	waitGroup(t, "syncs", &wg, workTimeout)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	sameRows(t, "three sources, two syncs each", contents(t, dst), want)
}

// A copy of a source file (same identity) that pushes other rows, and an
// older copy (a restored backup), are refused; nothing of them is written.
func testSyncRefusesCopiedSource(t *testing.T, h Harness) {
	if h.Server {
		t.Skip("an engine on a server has no files to copy (Backup is unsupported)")
	}
	src, _ := h.openDB(t, h.Fast...)
	dst, _ := h.openDB(t, h.Fast...)
	ctx := t.Context()
	r := rechist.NewRepo[int](src)
	storeAt(t, r, "s", 1, ms(1))
	backup := filepath.Join(t.TempDir(), "old.db")
	if err := src.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	storeAt(t, r, "s", 2, ms(2))
	copyFile := filepath.Join(t.TempDir(), "copy.db")
	if err := src.Backup(ctx, copyFile); err != nil {
		t.Fatal(err)
	}
	storeAt(t, r, "s", 3, ms(3))
	if _, err := rechist.Sync(ctx, src, dst); err != nil {
		t.Fatal(err)
	}
	before := contents(t, dst)
	cp, err := open(ctx, copyFile)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	storeAt(t, rechist.NewRepo[int](cp), "s", 33, ms(3)) // the copy's own row 3
	if res, err := rechist.Sync(ctx, cp, dst); !errors.Is(err, rechist.ErrConflict) || !errors.Is(err, rechist.ErrCopiedSource) || res.Copied != 0 {
		t.Fatalf("sync of a copy that wrote its own row 3: %+v, %v; want ErrConflict", res, err)
	}
	old, err := open(ctx, backup, rechist.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if res, err := rechist.Sync(ctx, old, dst); !errors.Is(err, rechist.ErrConflict) || !errors.Is(err, rechist.ErrCopiedSource) || res.Copied != 0 {
		t.Fatalf("sync of an older copy: %+v, %v; want ErrConflict", res, err)
	}
	sameRows(t, "after refused syncs", contents(t, dst), before)

	// The copy gets an identity of its own and pushes under its own
	// prefix: everything it holds, once; the original's rows stay as they
	// were.
	oldID, _ := cp.SourceID(ctx)
	newID, err := cp.NewSourceID(ctx)
	if err != nil || newID == oldID || len(newID) != 32 {
		t.Fatalf("NewSourceID = %q, %v (was %q)", newID, err, oldID)
	}
	if got, err := cp.SourceID(ctx); err != nil || got != newID {
		t.Fatalf("SourceID after NewSourceID = %q, %v; want %q", got, err, newID)
	}
	res, err := rechist.Sync(ctx, cp, dst, rechist.SyncPrefix("copy."))
	if err != nil || res.Copied != 3 || res.Source != newID {
		t.Fatalf("sync of the copy under its new identity: %+v, %v; want its 3 rows", res, err)
	}
	sameRows(t, "after the copy's own push", contents(t, dst), func() []string {
		out := append(slices.Clone(before), prefixed("copy.", contents(t, cp))...)
		sort.Strings(out)
		return out
	}())
	if _, err := old.NewSourceID(ctx); !errors.Is(err, rechist.ErrReadOnly) {
		t.Fatalf("NewSourceID on a read-only DB = %v; want ErrReadOnly", err)
	}
}

// Bad arguments are refused; a read-only source works, a read-only
// destination does not.
func testSyncArguments(t *testing.T, h Harness) {
	src, srcDSN := h.openDB(t, h.Fast...)
	dst, dstDSN := h.openDB(t, h.Fast...)
	ctx := t.Context()
	storeAt(t, rechist.NewRepo[json.RawMessage](src), "s", json.RawMessage(`1`), ms(1))
	for name, opts := range map[string][]rechist.SyncOption{
		"empty prefix":    {rechist.SyncPrefix("")},
		"zero batch":      {rechist.SyncBatchRows(0)},
		"bad pattern":     {rechist.SyncPattern("a\x00")},
		"prefix too long": {rechist.SyncPrefix(strings.Repeat("p", rechist.MaxNameBytes))},
	} {
		if _, err := rechist.Sync(ctx, src, dst, opts...); !errors.Is(err, rechist.ErrInvalidArgument) {
			t.Errorf("%s: %v; want ErrInvalidArgument", name, err)
		}
	}
	if got := contents(t, dst); len(got) != 0 {
		t.Fatalf("refused syncs wrote %q", got)
	}
	if _, err := rechist.Sync(ctx, src, src); !errors.Is(err, rechist.ErrInvalidArgument) {
		t.Errorf("Sync(src, src) = %v; want ErrInvalidArgument", err)
	}
	roSrc, err := open(ctx, srcDSN, rechist.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer roSrc.Close()
	if res, err := rechist.Sync(ctx, roSrc, dst); err != nil || res.Copied != 1 {
		t.Fatalf("sync from a read-only source: %+v, %v", res, err)
	}
	roDst, err := open(ctx, dstDSN, rechist.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer roDst.Close()
	if _, err := rechist.Sync(ctx, src, roDst); !errors.Is(err, rechist.ErrReadOnly) {
		t.Fatalf("sync into a read-only destination = %v; want ErrReadOnly", err)
	}
}

// A new identity makes the source a new one to every destination: the next
// Sync sends everything again, and the old cursor stays as it was.
func testSyncNewIdentity(t *testing.T, h Harness) {
	src, _ := h.openDB(t, h.Fast...)
	dst, _ := h.openDB(t, h.Fast...)
	ctx := t.Context()
	fill(t, src, []string{"n::a", "n::b"}, 3)
	first, err := rechist.Sync(ctx, src, dst, rechist.SyncPrefix("one."))
	if err != nil || first.Copied != 6 {
		t.Fatalf("first sync: %+v, %v", first, err)
	}
	id, err := src.NewSourceID(ctx)
	if err != nil || id == first.Source {
		t.Fatalf("NewSourceID = %q, %v (was %q)", id, err, first.Source)
	}
	second, err := rechist.Sync(ctx, src, dst, rechist.SyncPrefix("two."))
	if err != nil || second.Copied != 6 || second.Source != id || second.TotalSent != 6 {
		t.Fatalf("sync under the new identity: %+v, %v; want all 6 rows again", second, err)
	}
	if st, err := dst.SyncStatus(ctx, first.Source); err != nil || st.Sent != 6 || st.Cursor != first.Cursor {
		t.Fatalf("the old identity's cursor: %+v, %v", st, err)
	}
	want := append(prefixed("one.", contents(t, src)), prefixed("two.", contents(t, src))...)
	sort.Strings(want)
	sameRows(t, "both identities", contents(t, dst), want)

	// A third identity under a prefix an earlier one pushed with goes on
	// from that one's cursor: nothing twice.
	was, had := contents(t, dst), contents(t, src)
	fill(t, src, []string{"n::a"}, 1)
	third, err := src.NewSourceID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := rechist.Sync(ctx, src, dst, rechist.SyncPrefix("one."))
	if err != nil || res.Source != third || res.Parent != first.Source || res.ParentID != first.Cursor || res.Copied != 1 {
		t.Fatalf("sync under a third identity with the first's prefix: %+v, %v; want 1 copied, continued from %s at %d",
			res, err, first.Source, first.Cursor)
	}
	want = slices.Clone(was)
	for _, r := range contents(t, src) {
		if i := slices.Index(had, r); i >= 0 {
			had = slices.Delete(had, i, i+1)
		} else {
			want = append(want, "one."+r)
		}
	}
	sort.Strings(want)
	sameRows(t, "three identities", contents(t, dst), want)
}

// storeRun stores one row of record "s" at each of ms(from)..ms(to), value
// i+offset, in one StoreMany: on a fresh SQLite file row i gets id i.
func storeRun(t *testing.T, db *rechist.DB, from, to, offset int) {
	t.Helper()
	var recs []rechist.Record[int]
	for i := from; i <= to; i++ {
		recs = append(recs, rechist.Record[int]{Name: "s", Value: i + offset, StoredAt: ms(int64(i))})
	}
	if err := rechist.NewRepo[int](db).StoreMany(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
}

// deleteRun deletes the rows of "s" at ms(from)..ms(to) and checks how
// many went.
func deleteRun(t *testing.T, db *rechist.DB, from, to int) {
	t.Helper()
	n, err := db.Delete(t.Context(), "s", rechist.QueryParams{Start: ms(int64(from)), End: ms(int64(to))})
	if err != nil || n != int64(to-from+1) {
		t.Fatalf("Delete of ms %d..%d = %d, %v; want %d rows", from, to, n, err, to-from+1)
	}
}

// A restored backup that wrote rows of its own is refused even when the
// row at the destination's cursor is gone from it (deleted by hand or by
// retention), so that the destination cannot compare that row; the
// original, whose rows at and around the cursor retention deleted, still
// syncs. The sources are SQLite files (they can be copied), the
// destination is the engine's.
func testSyncRefusesRestoredBackupWithoutCursorRow(t *testing.T, h Harness) {
	dst, _ := h.openDB(t, h.Fast...)
	ctx := t.Context()
	dir := t.TempDir()
	src, err := open(ctx, filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	storeRun(t, src, 1, 1000, 0)
	backup := filepath.Join(dir, "backup.db")
	if err := src.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	storeRun(t, src, 1001, 1500, 0)
	first, err := rechist.Sync(ctx, src, dst, rechist.SyncPrefix("gw."))
	if err != nil || first.Copied != 1500 || first.Cursor != 1500 {
		t.Fatalf("first sync: %+v, %v; want 1500 rows, cursor 1500", first, err)
	}
	before := contents(t, dst)
	status, err := dst.SyncStatus(ctx, first.Source)
	if err != nil {
		t.Fatal(err)
	}

	// The backup is restored and lives on: rows 1001-1799 of its own,
	// then the 14 rows around the cursor's id 1500 go.
	cp, err := open(ctx, backup)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	storeRun(t, cp, 1001, 1799, 100000)
	deleteRun(t, cp, 1495, 1508)
	if res, err := rechist.Sync(ctx, cp, dst, rechist.SyncPrefix("gw.")); !errors.Is(err, rechist.ErrConflict) || !errors.Is(err, rechist.ErrCopiedSource) || res.Copied != 0 {
		t.Fatalf("sync of a restored backup without the cursor's row: %+v, %v; want ErrCopiedSource", res, err)
	}
	ro, err := open(ctx, backup, rechist.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if res, err := rechist.Sync(ctx, ro, dst, rechist.SyncPrefix("gw.")); !errors.Is(err, rechist.ErrCopiedSource) || res.Copied != 0 {
		t.Fatalf("sync of the same backup opened read-only: %+v, %v; want ErrCopiedSource", res, err)
	}
	sameRows(t, "after the refused backup", contents(t, dst), before)
	if st, err := dst.SyncStatus(ctx, first.Source); err != nil || st != status {
		t.Fatalf("SyncStatus after the refused backup = %+v, %v; want %+v", st, err, status)
	}

	// The original, reopened (its next write starts anew), loses the rows
	// at and around the cursor to retention and goes on: rows 1501-1505
	// are missed, the rest arrive.
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	src, err = open(ctx, filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	storeRun(t, src, 1501, 1600, 0)
	deleteRun(t, src, 1490, 1505)
	res, err := rechist.Sync(ctx, src, dst, rechist.SyncPrefix("gw."))
	if err != nil || res.Copied != 95 || res.Missed != 5 || res.Cursor != 1600 {
		t.Fatalf("sync of the original after retention at the cursor: %+v, %v; want 95 copied, 5 missed, cursor 1600", res, err)
	}
	want := slices.Clone(before)
	for i := 1506; i <= 1600; i++ {
		want = append(want, fmt.Sprintf("gw.s@%d=%d", ms(int64(i)).UnixMilli(), i))
	}
	sort.Strings(want)
	sameRows(t, "after the original's push", contents(t, dst), want)
}

// Two SQLite files with one identity, a copy and its original, both store
// rows of their own; one pushes, the other is refused (ErrCopiedSource).
// The refused one takes a new identity: its next Sync under the same prefix
// continues from where the two parted, sending only its own rows, so the
// destination ends with every row of both once. Whichever pushed first;
// and if the one that pushed first takes the new identity, it continues
// its own history and the other, still refused, takes one too. Under
// another prefix a new identity sends everything (nothing of it is there).
func testSyncNewIdentityContinues(t *testing.T, h Harness) {
	for _, c := range []struct {
		name       string
		copyFirst  bool
		renewFirst bool // the one that pushed first takes a new identity too
	}{
		{"CopyPushedFirst", true, false},
		{"OriginalPushedFirst", false, false},
		{"BothTakeNewIdentities", true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dst, _ := h.openDB(t, h.Fast...)
			ctx := t.Context()
			dir := t.TempDir()
			orig, err := open(ctx, filepath.Join(dir, "orig.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer orig.Close()
			storeRun(t, orig, 1, 100, 0)
			if err := orig.Backup(ctx, filepath.Join(dir, "copy.db")); err != nil {
				t.Fatal(err)
			}
			storeRun(t, orig, 101, 150, 0)
			cp, err := open(ctx, filepath.Join(dir, "copy.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer cp.Close()
			storeRun(t, cp, 101, 130, 1000)
			first, second := orig, cp
			if c.copyFirst {
				first, second = cp, orig
			}
			pushed, err := rechist.Sync(ctx, first, dst, rechist.SyncPrefix("gw."), rechist.SyncBatchRows(40))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := rechist.Sync(ctx, second, dst, rechist.SyncPrefix("gw.")); !errors.Is(err, rechist.ErrCopiedSource) {
				t.Fatalf("the second file's push: %v; want ErrCopiedSource", err)
			}
			if c.renewFirst {
				if _, err := first.NewSourceID(ctx); err != nil {
					t.Fatal(err)
				}
				// Nothing after the old identity's cursor: nothing to
				// commit, so no cursor yet, and no claim to continue.
				res, err := rechist.Sync(ctx, first, dst, rechist.SyncPrefix("gw."))
				if err != nil || res.Copied != 0 || res.Parent != "" || res.ParentID != 0 || res.Cursor != 0 {
					t.Fatalf("the first file's push under a new identity: %+v, %v; want nothing copied, nothing continued yet", res, err)
				}
				if _, err := rechist.Sync(ctx, second, dst, rechist.SyncPrefix("gw.")); !errors.Is(err, rechist.ErrCopiedSource) {
					t.Fatalf("the second file's push after the first took a new identity: %v; want ErrCopiedSource", err)
				}
			}
			if _, err := second.NewSourceID(ctx); err != nil {
				t.Fatal(err)
			}
			secondLast, _ := second.LastID(ctx)
			res, err := rechist.Sync(ctx, second, dst, rechist.SyncPrefix("gw."), rechist.SyncBatchRows(7))
			if err != nil || res.Parent != pushed.Source || res.ParentID != 100 || res.Copied != secondLast-100 || res.Missed != 0 {
				t.Fatalf("the refused file's push under a new identity: %+v, %v; want %d copied, continued from %s at 100",
					res, err, secondLast-100, pushed.Source)
			}
			// Both go on.
			storeRun(t, orig, 151, 160, 0)
			storeRun(t, cp, 131, 140, 1000)
			for _, f := range []*rechist.DB{orig, cp} {
				if res, err := rechist.Sync(ctx, f, dst, rechist.SyncPrefix("gw.")); err != nil || res.Copied != 10 {
					t.Fatalf("the next push: %+v, %v; want 10 copied", res, err)
				}
			}
			want := prefixed("gw.", contents(t, orig))
			for _, r := range contents(t, cp) {
				if !slices.Contains(want, "gw."+r) {
					want = append(want, "gw."+r)
				}
			}
			sort.Strings(want)
			sameRows(t, "both files", contents(t, dst), want)
			if len(want) != 100+60+40 {
				t.Fatalf("want %d rows, expected 200", len(want))
			}

			// Under another prefix, a new identity sends everything.
			if _, err := orig.NewSourceID(ctx); err != nil {
				t.Fatal(err)
			}
			if res, err := rechist.Sync(ctx, orig, dst, rechist.SyncPrefix("again.")); err != nil || res.Copied != 160 || res.Parent != "" {
				t.Fatalf("a new identity under another prefix: %+v, %v; want all 160 rows", res, err)
			}
		})
	}
}

// The destination remembers the pattern and prefix of a source's pushes: a
// Sync with others fails with ErrInvalidArgument and writes nothing.
// SyncSources lists the source; ForgetSyncSource forgets it (its rows
// stay), after which the next Sync is a first one, with any pattern and
// prefix. Forgetting an unknown source is ErrNotFound, an empty one
// ErrInvalidArgument, on a read-only handle ErrReadOnly.
func testSyncRemembersPatternAndPrefix(t *testing.T, h Harness) {
	src, _ := h.openDB(t, h.Fast...)
	dst, dstDSN := h.openDB(t, h.Fast...)
	ctx := t.Context()
	fill(t, src, []string{"a::x", "b::y"}, 3)
	first, err := rechist.Sync(ctx, src, dst, rechist.SyncPattern("a::*"), rechist.SyncPrefix("gw."))
	if err != nil || first.Copied != 3 {
		t.Fatalf("first sync: %+v, %v", first, err)
	}
	before := contents(t, dst)
	status, err := dst.SyncStatus(ctx, first.Source)
	if err != nil || !status.Filtered || status.Pattern != "a::*" || status.Prefix != "gw." {
		t.Fatalf("SyncStatus = %+v, %v; want pattern a::* and prefix gw.", status, err)
	}
	fill(t, src, []string{"a::x", "b::y"}, 1)
	for name, opts := range map[string][]rechist.SyncOption{
		"a wider pattern":  {rechist.SyncPrefix("gw.")},
		"no prefix":        {rechist.SyncPattern("a::*")},
		"another prefix":   {rechist.SyncPattern("a::*"), rechist.SyncPrefix("gw2.")},
		"another pattern":  {rechist.SyncPattern("b::*"), rechist.SyncPrefix("gw.")},
		"pattern a::x too": {rechist.SyncPattern("a::x"), rechist.SyncPrefix("gw.")},
	} {
		if res, err := rechist.Sync(ctx, src, dst, opts...); !errors.Is(err, rechist.ErrInvalidArgument) || res.Copied != 0 {
			t.Errorf("sync with %s: %+v, %v; want ErrInvalidArgument", name, res, err)
		}
	}
	// A push that says another pattern is refused by the destination
	// itself too (a client that did not look first).
	err = dst.ApplySync(ctx, rechist.SyncPush{Source: first.Source, Prev: status.Cursor, Last: status.Cursor + 1, Hash: "h",
		Pattern: "*", Prefix: "gw.", Rows: []rechist.SyncRow{{Name: "gw.b::y", Value: json.RawMessage(`1`), StoredAt: ms(1)}}})
	if !errors.Is(err, rechist.ErrInvalidArgument) {
		t.Fatalf("ApplySync with another pattern: %v; want ErrInvalidArgument", err)
	}
	sameRows(t, "after the refused syncs", contents(t, dst), before)
	if st, err := dst.SyncStatus(ctx, first.Source); err != nil || st != status {
		t.Fatalf("SyncStatus after the refused syncs = %+v, %v; want %+v", st, err, status)
	}
	if res, err := rechist.Sync(ctx, src, dst, rechist.SyncPattern("a::*"), rechist.SyncPrefix("gw.")); err != nil || res.Copied != 1 {
		t.Fatalf("sync with the same pattern and prefix: %+v, %v; want 1 copied", res, err)
	}

	srcs, err := dst.SyncSources(ctx)
	if err != nil || len(srcs) != 1 || srcs[0].Source != first.Source || srcs[0].Sent != 4 || srcs[0].Pattern != "a::*" {
		t.Fatalf("SyncSources = %+v, %v", srcs, err)
	}
	for name, id := range map[string]string{"empty": "", "too long": strings.Repeat("x", 201)} {
		if _, err := dst.ForgetSyncSource(ctx, id); !errors.Is(err, rechist.ErrInvalidArgument) {
			t.Errorf("ForgetSyncSource(%s) = %v; want ErrInvalidArgument", name, err)
		}
	}
	if _, err := dst.ForgetSyncSource(ctx, "nobody"); !errors.Is(err, rechist.ErrNotFound) {
		t.Errorf("ForgetSyncSource of an unknown source = %v; want ErrNotFound", err)
	}
	ro, err := open(ctx, dstDSN, rechist.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.ForgetSyncSource(ctx, first.Source); !errors.Is(err, rechist.ErrReadOnly) {
		t.Errorf("ForgetSyncSource on a read-only handle = %v; want ErrReadOnly", err)
	}
	if srcs, err := ro.SyncSources(ctx); err != nil || len(srcs) != 1 {
		t.Errorf("SyncSources on a read-only handle = %+v, %v", srcs, err)
	}
	received := contents(t, dst)
	forgot, err := dst.ForgetSyncSource(ctx, first.Source)
	if err != nil || forgot.Cursor != status.Cursor+2 || forgot.Sent != 4 {
		t.Fatalf("ForgetSyncSource = %+v, %v", forgot, err)
	}
	if st, err := dst.SyncStatus(ctx, first.Source); err != nil || st != (rechist.SyncStatus{Source: first.Source}) {
		t.Fatalf("SyncStatus after ForgetSyncSource = %+v, %v; want nothing", st, err)
	}
	if srcs, err := dst.SyncSources(ctx); err != nil || len(srcs) != 0 {
		t.Fatalf("SyncSources after ForgetSyncSource = %+v, %v", srcs, err)
	}
	if es, err := dst.SyncEpochs(ctx, first.Source); err != nil || len(es) != 0 {
		t.Fatalf("SyncEpochs after ForgetSyncSource = %+v, %v", es, err)
	}
	sameRows(t, "the rows received stay", contents(t, dst), received)
	res, err := rechist.Sync(ctx, src, dst, rechist.SyncPrefix("all."))
	if err != nil || res.Copied != 8 || res.TotalSent != 8 {
		t.Fatalf("sync after ForgetSyncSource: %+v, %v; want all 8 rows", res, err)
	}
	want := append(received, prefixed("all.", contents(t, src))...)
	sort.Strings(want)
	sameRows(t, "after forget and a new push", contents(t, dst), want)
}

// Rows the source deleted before the destination first received it are
// gone, not missed: counted apart, with the source's newest id then; rows
// it deletes unsent after that are missed.
func testSyncGoneBeforeFirstPushIsNotMissed(t *testing.T, h Harness) {
	src, _ := h.openDB(t, h.Fast...)
	dst, _ := h.openDB(t, h.Fast...)
	ctx := t.Context()
	r := rechist.NewRepo[int](src)
	for i := range 10 {
		storeAt(t, r, "s", i, ms(int64(i)))
		storeAt(t, r, "keep", i, ms(int64(i)))
	}
	// Rows of s go, interleaved with the rows of keep that stay.
	if n, err := src.Delete(ctx, "s", rechist.QueryParams{End: ms(5)}); err != nil || n != 6 {
		t.Fatalf("Delete = %d, %v", n, err)
	}
	// The newest row goes too: its id is above every row the first push
	// sends, and still gone, not missed, when a later push passes it.
	if n, err := src.Delete(ctx, "keep", rechist.QueryParams{Start: ms(9)}); err != nil || n != 1 {
		t.Fatalf("Delete = %d, %v", n, err)
	}
	last, _ := src.LastID(ctx)
	high := last + 1
	res, err := rechist.Sync(ctx, src, dst, rechist.SyncBatchRows(3))
	if err != nil || res.Copied != 13 || res.Missed != 0 || res.Gone != 6 || res.Horizon != high || res.TotalGone != 6 || res.TotalMissed != 0 {
		t.Fatalf("first sync: %+v, %v; want 13 copied, 6 gone, none missed, horizon %d", res, err, high)
	}
	for i := 10; i < 15; i++ {
		storeAt(t, r, "s", i, ms(int64(i)))
	}
	if n, err := src.Delete(ctx, "s", rechist.QueryParams{End: ms(11)}); err != nil || n != 6 {
		t.Fatalf("Delete = %d, %v", n, err)
	}
	res, err = rechist.Sync(ctx, src, dst)
	if err != nil || res.Copied != 3 || res.Missed != 2 || res.Gone != 1 || res.TotalGone != 7 || res.TotalMissed != 2 {
		t.Fatalf("sync after rows went unsent: %+v, %v; want 3 copied, 2 missed, 1 gone (the newest row before the first push)", res, err)
	}
	if st, err := dst.SyncStatus(ctx, res.Source); err != nil || st.Gone != 7 || st.Missed != 2 || st.Horizon != high {
		t.Fatalf("SyncStatus = %+v, %v; want 7 gone, 2 missed, horizon %d", st, err, high)
	}
}

// raceTarget is a destination DB seen through rechist.SyncTo, which runs
// before(p) before it applies the push p (nil: none): what lets a test put
// another sync between a sync's read of a batch and its commit.
type raceTarget struct {
	dst    *rechist.DB
	before func(p rechist.SyncPush) (applied bool)
}

func (t *raceTarget) SyncStatus(ctx context.Context, source string) (rechist.SyncStatus, error) {
	return t.dst.SyncStatus(ctx, source)
}

func (t *raceTarget) SyncEpochs(ctx context.Context, source string) ([]rechist.SyncEpoch, error) {
	return t.dst.SyncEpochs(ctx, source)
}

func (t *raceTarget) ApplySync(ctx context.Context, p rechist.SyncPush) error {
	if t.before != nil && t.before(p) {
		return nil
	}
	return t.dst.ApplySync(ctx, p)
}

// A sync under a file's old identity that is still pushing when the file
// takes a new identity and a sync under the new one continues the old
// one's history: every row ends up on the destination once. When the new
// identity takes over first, the old sync's next push is refused as a
// copy's (the destination marked the old identity continued); when the
// old sync's push commits between the new sync's read of the old cursor
// and its takeover, the takeover is refused (ErrConflict), the old sync
// stops at its next batch (its source has another identity), and the new
// sync, run again, continues from where the old one stopped.
func testSyncNewIdentityRacesTheOldOne(t *testing.T, h Harness) {
	// Batches of 10 rows and of 1,000 (PostgreSQL commits the first's
	// pushes under the old identity in its pipelined path, the second's
	// with COPY in the other; a takeover always takes the other).
	for _, c := range []struct {
		oldFirst bool
		batch    int
	}{{false, 10}, {true, 10}, {false, 1000}, {true, 1000}} {
		t.Run(fmt.Sprintf("OldPushCommitsFirst=%v/Batch=%d", c.oldFirst, c.batch), func(t *testing.T) {
			oldFirst, batch, n := c.oldFirst, c.batch, int64(10*c.batch)
			dst, _ := h.openDB(t, h.Fast...)
			ctx := t.Context()
			src, err := open(ctx, filepath.Join(t.TempDir(), "src.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			storeRun(t, src, 1, int(n), 0)
			opts := []rechist.SyncOption{rechist.SyncPrefix("gw."), rechist.SyncBatchRows(batch)}
			pushes := 0
			var takeover error
			old := &raceTarget{dst: dst}
			old.before = func(p rechist.SyncPush) bool {
				if pushes++; pushes != 5 {
					return false
				}
				if _, err := src.NewSourceID(ctx); err != nil {
					t.Fatal(err)
				}
				applied := false
				renewed := &raceTarget{dst: dst}
				if oldFirst {
					renewed.before = func(q rechist.SyncPush) bool {
						if q.Adopt && !applied {
							if err := dst.ApplySync(ctx, p); err != nil {
								t.Fatalf("the old identity's push: %v", err)
							}
							applied = true
						}
						return false
					}
				}
				_, takeover = rechist.SyncTo(ctx, src, renewed, opts...)
				return applied
			}
			oldRes, err := rechist.SyncTo(ctx, src, old, opts...)
			if oldFirst {
				if !errors.Is(err, rechist.ErrConflict) || !errors.Is(takeover, rechist.ErrConflict) || oldRes.Cursor != n/2 {
					t.Fatalf("old sync: %+v, %v; takeover: %v; want both ErrConflict, the old one at %d", oldRes, err, takeover, n/2)
				}
				res, err := rechist.Sync(ctx, src, dst, opts...)
				if err != nil || res.ParentID != n/2 || res.Copied != n/2 {
					t.Fatalf("the new identity's push: %+v, %v; want %d copied after %d", res, err, n/2, n/2)
				}
			} else {
				// Refused as continued, and no copy: the file that took the
				// new identity is this one.
				if !errors.Is(err, rechist.ErrConflict) || errors.Is(err, rechist.ErrCopiedSource) || takeover != nil || oldRes.Cursor != 4*int64(batch) {
					t.Fatalf("old sync: %+v, %v; takeover: %v; want ErrConflict (not a copy) at %d, the takeover done", oldRes, err, takeover, 4*batch)
				}
				if st, err := dst.SyncStatus(ctx, oldRes.Source); err != nil || st.ContinuedBy == "" || st.ContinuedAt != 4*int64(batch) {
					t.Fatalf("the old identity's status: %+v, %v; want continued at %d", st, err, 4*batch)
				}
			}
			sameRows(t, "after the race", contents(t, dst), prefixed("gw.", contents(t, src)))
			storeRun(t, src, int(n)+1, int(n)+10, 0)
			if res, err := rechist.Sync(ctx, src, dst, opts...); err != nil || res.Copied != 10 {
				t.Fatalf("the next push: %+v, %v; want 10 copied", res, err)
			}
			sameRows(t, "after the next push", contents(t, dst), prefixed("gw.", contents(t, src)))
		})
	}
}

// A push that records no epochs (an older client's) leaves a gap in the
// destination's list of the source's epochs; the next push's epochs do
// not go on from the list's epoch at the cursor, so they replace it (a
// list that begins later). A copy made after that continues its old
// identity's history from where it parted from the original, not from the
// gap's start (which sent the rows after it again).
func testSyncNewIdentityAfterAPushWithoutEpochs(t *testing.T, h Harness) {
	dst, _ := h.openDB(t, h.Fast...)
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "src.db")
	opts := []rechist.SyncOption{rechist.SyncPrefix("gw.")}
	// Each open stores under an epoch of its own: 1-10, 11-20, 21-30.
	for i, push := range []func(src *rechist.DB) error{
		func(src *rechist.DB) error { _, err := rechist.Sync(ctx, src, dst, opts...); return err },
		func(src *rechist.DB) error { // an older client: no epochs
			old := &raceTarget{dst: dst}
			old.before = func(p rechist.SyncPush) bool {
				p.Epochs = nil
				if err := dst.ApplySync(ctx, p); err != nil {
					t.Fatalf("the older client's push: %v", err)
				}
				return true
			}
			_, err := rechist.SyncTo(ctx, src, syncTargetOnly{old}, opts...)
			return err
		},
		func(src *rechist.DB) error { _, err := rechist.Sync(ctx, src, dst, opts...); return err },
	} {
		src, err := open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		storeRun(t, src, 10*i+1, 10*i+10, 0)
		err = push(src)
		src.Close()
		if err != nil {
			t.Fatalf("push %d: %v", i+1, err)
		}
	}
	orig, err := open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	if err := orig.Backup(ctx, filepath.Join(dir, "copy.db")); err != nil {
		t.Fatal(err)
	}
	storeRun(t, orig, 31, 40, 0)
	pushed, err := rechist.Sync(ctx, orig, dst, opts...)
	if err != nil || pushed.Copied != 10 {
		t.Fatalf("the original's push: %+v, %v", pushed, err)
	}
	cp, err := open(ctx, filepath.Join(dir, "copy.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	storeRun(t, cp, 31, 35, 1000)
	if _, err := cp.NewSourceID(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := rechist.Sync(ctx, cp, dst, opts...)
	if err != nil || res.Parent != pushed.Source || res.ParentID != 30 || res.Copied != 5 {
		t.Fatalf("the copy's push under a new identity: %+v, %v; want its 5 rows, continued from %s at 30", res, err, pushed.Source)
	}
	want := prefixed("gw.", contents(t, orig))
	for _, r := range contents(t, cp) {
		if !slices.Contains(want, "gw."+r) {
			want = append(want, "gw."+r)
		}
	}
	sort.Strings(want)
	sameRows(t, "both files", contents(t, dst), want)
}

// syncTargetOnly hides every method of a target but rechist.SyncTarget's.
type syncTargetOnly struct{ rechist.SyncTarget }

// A push that claims to continue another identity's history (Adopt, that
// identity and its cursor) with epochs that part from the ones the
// destination received from that identity before the point it continues
// from is refused, nothing written and the identity not marked continued:
// the destination does not take the claim on trust (any client that may
// push could otherwise take over another device's history and skip its
// own rows). The same claim with the identity's own epochs is taken.
func testSyncTakeoverOfAnotherHistoryRefused(t *testing.T, h Harness) {
	dst, _ := h.openDB(t, h.Fast...)
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "src.db")
	opts := []rechist.SyncOption{rechist.SyncPrefix("gw.")}
	var res rechist.SyncResult
	for i := range 2 { // two epochs: 1-5, 6-10
		src, err := open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		storeRun(t, src, 5*i+1, 5*i+5, 0)
		res, err = rechist.Sync(ctx, src, dst, opts...)
		src.Close()
		if err != nil || res.Copied != 5 {
			t.Fatalf("push %d: %+v, %v", i+1, res, err)
		}
	}
	theirs, err := dst.SyncEpochs(ctx, res.Source)
	if err != nil || len(theirs) != 2 {
		t.Fatalf("the source's epochs on the destination: %v, %v; want 2", theirs, err)
	}
	before := contents(t, dst)
	claim := func(epochs []rechist.SyncEpoch) rechist.SyncPush {
		return rechist.SyncPush{Source: "forged", Prev: 10, Last: 12, Hash: "h", Epoch: epochs[len(epochs)-1].Token,
			Pattern: "*", Prefix: "gw.", Horizon: 12, Adopt: true, Parent: res.Source, ParentLast: 10, Epochs: epochs,
			Rows: []rechist.SyncRow{{Name: "gw.forged", Value: json.RawMessage("1"), StoredAt: ms(11)},
				{Name: "gw.forged", Value: json.RawMessage("2"), StoredAt: ms(12)}}}
	}
	for _, c := range []struct {
		name   string
		epochs []rechist.SyncEpoch
	}{
		{"none of its epochs", []rechist.SyncEpoch{{Start: 1, Token: "another"}}},
		{"its first epoch only", []rechist.SyncEpoch{theirs[0], {Start: 6, Token: "another"}}},
		{"its first epoch, ending early", []rechist.SyncEpoch{theirs[0], {Start: 4, Token: "another"}}},
	} {
		err := dst.ApplySync(ctx, claim(c.epochs))
		if !errors.Is(err, rechist.ErrConflict) || !errors.Is(err, rechist.ErrCopiedSource) {
			t.Fatalf("a takeover with %s: %v; want ErrConflict and ErrCopiedSource", c.name, err)
		}
		sameRows(t, "after a refused takeover ("+c.name+")", contents(t, dst), before)
		if st, err := dst.SyncStatus(ctx, res.Source); err != nil || st.ContinuedBy != "" || st.Cursor != 10 {
			t.Fatalf("the old identity after a refused takeover (%s): %+v, %v; want at 10, not continued", c.name, st, err)
		}
		if st, err := dst.SyncStatus(ctx, "forged"); err != nil || st.Cursor != 0 {
			t.Fatalf("the forged source after a refused takeover (%s): %+v, %v; want no cursor", c.name, st, err)
		}
	}
	if err := dst.ApplySync(ctx, claim(theirs)); err != nil {
		t.Fatalf("a takeover with the identity's own epochs: %v", err)
	}
	if st, err := dst.SyncStatus(ctx, res.Source); err != nil || st.ContinuedBy != "forged" || st.ContinuedAt != 10 {
		t.Fatalf("the old identity after the takeover: %+v, %v; want continued by forged at 10", st, err)
	}
}

// A file takes a new identity (S1) and a sync under it reads its rows to
// take over the old identity's history; before that push commits, the
// file takes another new identity (S2), whose sync finds no cursor of S1,
// takes over the old identity at the same point and marks it continued.
// S1's takeover then comes with the same history after the point as S2's
// (the same file): it is refused (the sync under S1 is told its file took
// a new identity, no copy), and every row is on the destination once.
func testSyncTwoNewIdentitiesWhileASyncRuns(t *testing.T, h Harness) {
	dst, _ := h.openDB(t, h.Fast...)
	ctx := t.Context()
	src, err := open(ctx, filepath.Join(t.TempDir(), "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	opts := []rechist.SyncOption{rechist.SyncPrefix("gw.")}
	storeRun(t, src, 1, 10, 0)
	first, err := rechist.Sync(ctx, src, dst, opts...)
	if err != nil || first.Copied != 10 {
		t.Fatalf("the first push: %+v, %v", first, err)
	}
	s1, err := src.NewSourceID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	storeRun(t, src, 11, 20, 0)
	res, err, s2, second, secondErr := syncWithASecondIdentity(t, src, dst, opts)
	if secondErr != nil || second.Source != s2 || second.Parent != first.Source || second.ParentID != 10 || second.Copied != 10 {
		t.Fatalf("the sync under the second new identity: %+v, %v; want 10 rows, continued from %s at 10", second, secondErr, first.Source)
	}
	if !errors.Is(err, rechist.ErrConflict) || errors.Is(err, rechist.ErrCopiedSource) || res.Source != s1 || res.Copied != 0 {
		t.Fatalf("the sync under the first new identity: %+v, %v; want ErrConflict (not a copy), nothing copied", res, err)
	}
	if st, err := dst.SyncStatus(ctx, s1); err != nil || st.Cursor != 0 {
		t.Fatalf("the first new identity's status: %+v, %v; want no cursor", st, err)
	}
	if st, err := dst.SyncStatus(ctx, first.Source); err != nil || st.ContinuedBy != s2 || st.ContinuedAt != 10 {
		t.Fatalf("the old identity's status: %+v, %v; want continued by %s at 10", st, err, s2)
	}
	sameRows(t, "after both takeovers", contents(t, dst), prefixed("gw.", contents(t, src)))
	storeRun(t, src, 21, 25, 0)
	if r, err := rechist.Sync(ctx, src, dst, opts...); err != nil || r.Copied != 5 || r.Source != s2 {
		t.Fatalf("the next push: %+v, %v; want 5 rows under %s", r, err, s2)
	}
	sameRows(t, "after the next push", contents(t, dst), prefixed("gw.", contents(t, src)))
}

// A copy of a file, which parted from the history the original pushed
// below its cursor, takes a new identity (S1), and a sync under it reads
// its rows to take over the old identity's history from where they part;
// before that push commits, the copy takes another new identity (S2),
// whose sync finds no cursor of S1 and takes over the old identity at the
// same point. Neither takeover starts at the old cursor, so the old
// identity is not marked continued: the destination records each
// takeover, and S1's, which comes with the same history after the point
// as S2's (the same file), is refused (the sync under S1 is told its file
// took a new identity, no copy). Every row is on the destination once.
func testSyncTwoNewIdentitiesBelowTheOldCursor(t *testing.T, h Harness) {
	dst, _ := h.openDB(t, h.Fast...)
	ctx := t.Context()
	dir := t.TempDir()
	orig, err := open(ctx, filepath.Join(dir, "orig.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	opts := []rechist.SyncOption{rechist.SyncPrefix("gw.")}
	storeRun(t, orig, 1, 10, 0)
	if err := orig.Backup(ctx, filepath.Join(dir, "copy.db")); err != nil {
		t.Fatal(err)
	}
	storeRun(t, orig, 11, 20, 0)
	first, err := rechist.Sync(ctx, orig, dst, opts...)
	if err != nil || first.Copied != 20 {
		t.Fatalf("the original's push: %+v, %v", first, err)
	}
	src, err := open(ctx, filepath.Join(dir, "copy.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	storeRun(t, src, 11, 15, 1000)
	if _, err := rechist.Sync(ctx, src, dst, opts...); !errors.Is(err, rechist.ErrCopiedSource) {
		t.Fatalf("the copy's push: %v; want ErrCopiedSource", err)
	}
	s1, err := src.NewSourceID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err, s2, second, secondErr := syncWithASecondIdentity(t, src, dst, opts)
	if secondErr != nil || second.Source != s2 || second.Parent != first.Source || second.ParentID != 10 || second.Copied != 5 {
		t.Fatalf("the sync under the second new identity: %+v, %v; want 5 rows, continued from %s at 10", second, secondErr, first.Source)
	}
	if !errors.Is(err, rechist.ErrConflict) || errors.Is(err, rechist.ErrCopiedSource) || res.Source != s1 || res.Copied != 0 {
		t.Fatalf("the sync under the first new identity: %+v, %v; want ErrConflict (not a copy), nothing copied", res, err)
	}
	if st, err := dst.SyncStatus(ctx, s1); err != nil || st.Cursor != 0 {
		t.Fatalf("the first new identity's status: %+v, %v; want no cursor", st, err)
	}
	if st, err := dst.SyncStatus(ctx, first.Source); err != nil || st.ContinuedBy != "" || st.Cursor != 20 {
		t.Fatalf("the old identity's status: %+v, %v; want at 20, not continued", st, err)
	}
	want := func() []string {
		w := prefixed("gw.", contents(t, orig))
		for _, r := range contents(t, src) {
			if !slices.Contains(w, "gw."+r) {
				w = append(w, "gw."+r)
			}
		}
		sort.Strings(w)
		return w
	}
	sameRows(t, "after both takeovers", contents(t, dst), want())
	storeRun(t, src, 16, 20, 1000)
	if r, err := rechist.Sync(ctx, src, dst, opts...); err != nil || r.Copied != 5 || r.Source != s2 {
		t.Fatalf("the next push: %+v, %v; want 5 rows under %s", r, err, s2)
	}
	sameRows(t, "after the next push", contents(t, dst), want())
}

// syncWithASecondIdentity syncs src to dst under src's identity; just
// before its takeover push reaches dst, src takes another new identity (s2)
// and a whole sync under it runs (second, secondErr). It returns what the
// first sync returned, then the second's.
func syncWithASecondIdentity(t *testing.T, src *rechist.DB, dst *rechist.DB, opts []rechist.SyncOption) (res rechist.SyncResult, err error, s2 string, second rechist.SyncResult, secondErr error) {
	t.Helper()
	ctx := t.Context()
	racing := &raceTarget{dst: dst}
	racing.before = func(p rechist.SyncPush) bool {
		if !p.Adopt || s2 != "" {
			return false
		}
		var err error
		if s2, err = src.NewSourceID(ctx); err != nil {
			t.Fatal(err)
		}
		second, secondErr = rechist.Sync(ctx, src, dst, opts...)
		return false
	}
	res, err = rechist.SyncTo(ctx, src, racing, opts...)
	return res, err, s2, second, secondErr
}
