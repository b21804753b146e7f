package rechisthttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// syncServer serves db writable with token through handler wrap (nil:
// none) and returns a client of it.
func syncServer(t *testing.T, db *rechist.DB, token string, wrap func(http.Handler) http.Handler, opts ...Option) *SyncClient {
	t.Helper()
	var h http.Handler = NewHandler(db, append([]Option{Writable(), WithToken(token)}, opts...)...)
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := NewSyncClient(srv.URL, token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// rowsOf returns db's rows as name=value@ms, by name and time.
func rowsOf(t *testing.T, db *rechist.DB) []string {
	t.Helper()
	var out []string
	for r, err := range rechist.NewRepo[json.RawMessage](db).All(t.Context(), "*", rechist.QueryParams{}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s=%s@%d", r.Name, r.Value, r.StoredAt.UnixMilli()))
	}
	return out
}

// A device pushes to a server over HTTP in batches, three times with rows
// stored in between: the server holds every row once, byte for byte, and
// its cursor says so; a push with nothing new writes nothing.
func TestSyncOverHTTPCopiesEachRowOnce(t *testing.T) {
	t.Parallel()
	src, dst := openDB(t), openDB(t)
	c := syncServer(t, dst, "secret", nil)
	n := 0
	for round := range 3 {
		for range 25 {
			n++
			store(t, src, fmt.Sprintf("dev.%d", n%4), int64(1000+n), fmt.Sprintf(`{"v": %d}`, n))
		}
		r, err := rechist.SyncTo(t.Context(), src, c, rechist.SyncBatchRows(7), rechist.SyncPrefix("gw."))
		if err != nil || r.Copied != 25 {
			t.Fatalf("round %d: SyncTo = %+v, %v; want 25 copied", round, r, err)
		}
	}
	if r, err := rechist.SyncTo(t.Context(), src, c, rechist.SyncPrefix("gw.")); err != nil || r.Copied != 0 {
		t.Fatalf("a push with nothing new: %+v, %v", r, err)
	}
	want := rowsOf(t, src)
	for i := range want {
		want[i] = "gw." + want[i]
	}
	if got := rowsOf(t, dst); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("server holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	id, _ := src.SourceID(t.Context())
	st, err := c.SyncStatus(t.Context(), id)
	if err != nil || st.Cursor != 75 || st.Sent != 75 || st.Hash == "" || st.Epoch == "" {
		t.Fatalf("status over HTTP: %+v, %v", st, err)
	}
}

// dropAnswer runs the handler for the first POST it sees, with the push
// reaching the server or not (before), and then cuts the connection
// without an answer, as a network failure would.
func dropAnswer(before bool, dropped *atomic.Int32) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || !dropped.CompareAndSwap(0, 1) {
				next.ServeHTTP(w, r)
				return
			}
			if !before {
				next.ServeHTTP(httptest.NewRecorder(), r) // the push commits; its answer is lost
			}
			panic(http.ErrAbortHandler)
		})
	}
}

// A push whose answer is lost after it committed is found committed (the
// client asks for the cursor): SyncTo succeeds and nothing is sent twice.
// One lost before it reached the server is reported as an unknown outcome,
// and the next SyncTo sends it.
func TestSyncOverHTTPLostAnswer(t *testing.T) {
	t.Parallel()
	for _, before := range []bool{false, true} {
		t.Run(fmt.Sprintf("before=%v", before), func(t *testing.T) {
			t.Parallel()
			src, dst := openDB(t), openDB(t)
			for i := range 10 {
				store(t, src, "x", int64(1000+i), fmt.Sprint(i))
			}
			var dropped atomic.Int32
			c := syncServer(t, dst, "", dropAnswer(before, &dropped))
			r, err := rechist.SyncTo(t.Context(), src, c, rechist.SyncBatchRows(4))
			switch {
			case dropped.Load() != 1:
				t.Fatal("no answer was dropped")
			case !before && (err != nil || r.Copied != 10):
				t.Fatalf("answer lost after the commit: %+v, %v; want 10 copied and no error", r, err)
			case before && !errors.Is(err, rechist.ErrOutcomeUnknown):
				t.Fatalf("push lost on its way: %v; want ErrOutcomeUnknown", err)
			}
			if _, err := rechist.SyncTo(t.Context(), src, c); err != nil {
				t.Fatal(err)
			}
			if got, want := rowsOf(t, dst), rowsOf(t, src); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("server holds %v, want %v", got, want)
			}
		})
	}
}

// What the server refuses, it refuses whole and says why: a missing
// token, a read-only server, a push not well formed (a cursor that moves
// back, a bad record name), a push whose cursor is not the server's; and a
// copy of the device's file that pushed other rows is told it is a copy,
// from the status the server keeps, as with a database destination.
func TestSyncOverHTTPRefusals(t *testing.T) {
	t.Parallel()
	src, dst := openDB(t), openDB(t)
	store(t, src, "x", 1000, "1")
	ctx := t.Context()

	if _, err := rechist.SyncTo(ctx, src, syncServer(t, dst, "secret", func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Del("Authorization")
			h.ServeHTTP(w, r)
		})
	})); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("without the token: %v; want a 401", err)
	}
	ro := NewHandler(dst, WithToken("t"))
	srv := httptest.NewServer(ro)
	t.Cleanup(srv.Close)
	roc, _ := NewSyncClient(srv.URL, "t")
	if _, err := rechist.SyncTo(ctx, src, roc); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("to a read-only server: %v", err)
	}

	c := syncServer(t, dst, "", nil)
	id, _ := src.SourceID(ctx)
	for _, tc := range []struct {
		p    rechist.SyncPush
		want error
	}{
		{rechist.SyncPush{Source: id, Prev: 5, Last: 3, Hash: "h"}, rechist.ErrInvalidArgument},
		{rechist.SyncPush{Source: id, Prev: 0, Last: 1, Hash: "h", Rows: []rechist.SyncRow{{Name: "", Value: json.RawMessage("1")}}}, rechist.ErrInvalidArgument},
		{rechist.SyncPush{Source: id, Prev: 0, Last: 1, Hash: "", Rows: nil}, rechist.ErrInvalidArgument},
		{rechist.SyncPush{Source: id, Prev: 7, Last: 9, Hash: "h"}, rechist.ErrConflict},
	} {
		if err := c.ApplySync(ctx, tc.p); !errors.Is(err, tc.want) {
			t.Fatalf("push %+v: %v; want %v", tc.p, err, tc.want)
		}
	}
	// A body that is not a sync batch.
	resp, err := http.Post(strings.TrimSuffix(c.String(), "/")+"/api/sync", "application/json", bytes.NewReader([]byte(`{"rows": 5}`)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a body that is not a batch: %d", resp.StatusCode)
	}
	if got := rowsOf(t, dst); len(got) != 0 {
		t.Fatalf("refused pushes wrote %v", got)
	}

	// A copy of the file stores a row of its own and pushes first; the
	// original is then refused as a copied source.
	if _, err := rechist.SyncTo(ctx, src, c); err != nil {
		t.Fatal(err)
	}
	cp := openDB(t)
	if err := src.Backup(ctx, cp.Path()+".copy"); err != nil {
		t.Fatal(err)
	}
	copyDB, err := rechist.Open(ctx, cp.Path()+".copy")
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	store(t, copyDB, "x", 2000, `"copy"`)
	if _, err := rechist.SyncTo(ctx, copyDB, c); err != nil {
		t.Fatal(err)
	}
	store(t, src, "x", 3000, `"original"`)
	if _, err := rechist.SyncTo(ctx, src, c); !errors.Is(err, rechist.ErrCopiedSource) {
		t.Fatalf("the original after its copy pushed: %v; want ErrCopiedSource", err)
	}
}

// A device that pushes again and again (rechist sync --follow) asks the
// server for its cursor once: each later push is one request. When another
// sync of the same source moved the cursor meanwhile, the push the client
// planned from what it remembered is refused whole (ErrConflict), and the
// next asks the server again: every row once.
func TestSyncOverHTTPOneRequestAPush(t *testing.T) {
	t.Parallel()
	src, dst := openDB(t), openDB(t)
	var gets, posts atomic.Int32
	count := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet {
				gets.Add(1)
			} else {
				posts.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	}
	c := syncServer(t, dst, "", count)
	n := 0
	storeSome := func() {
		for range 5 {
			n++
			store(t, src, "dev", int64(1000+n), fmt.Sprint(n))
		}
	}
	for round := range 3 {
		storeSome()
		if r, err := rechist.SyncTo(t.Context(), src, c); err != nil || r.Copied != 5 || r.TotalSent != int64(5*(round+1)) {
			t.Fatalf("round %d: %+v, %v", round, r, err)
		}
	}
	if gets.Load() != 1 || posts.Load() != 3 {
		t.Fatalf("three pushes took %d GETs and %d POSTs, want 1 and 3", gets.Load(), posts.Load())
	}
	other, err := NewSyncClient(c.base.String(), "")
	if err != nil {
		t.Fatal(err)
	}
	storeSome()
	if _, err := rechist.SyncTo(t.Context(), src, other); err != nil {
		t.Fatal(err)
	}
	storeSome()
	if _, err := rechist.SyncTo(t.Context(), src, c); !errors.Is(err, rechist.ErrConflict) {
		t.Fatalf("a push planned from a cursor another sync moved: %v, want ErrConflict", err)
	}
	if r, err := rechist.SyncTo(t.Context(), src, c); err != nil || r.Copied != 5 || r.TotalSent != 25 {
		t.Fatalf("the push after the conflict: %+v, %v", r, err)
	}
	if got, want := rowsOf(t, dst), rowsOf(t, src); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("server holds %v, want %v", got, want)
	}
}

// Over HTTP, a file refused as a copy (its original pushed first) takes a
// new identity and goes on from where the two parted: the client asks the
// server for the epochs its old identity left (GET /api/sync?epochs=1),
// and the server holds every row of both files once.
func TestSyncOverHTTPNewIdentityContinues(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	orig, dst := openDB(t), openDB(t)
	for i := range 5 {
		store(t, orig, "shared", int64(1000+i), fmt.Sprint(i))
	}
	copyPath := filepath.Join(dir, "copy.db")
	if err := orig.Backup(t.Context(), copyPath); err != nil {
		t.Fatal(err)
	}
	cp, err := rechist.Open(t.Context(), copyPath)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	store(t, orig, "orig", 2000, "1")
	store(t, cp, "copy", 3000, "2")
	store(t, cp, "copy", 3001, "3")
	c := syncServer(t, dst, "", nil)
	first, err := rechist.SyncTo(t.Context(), orig, c, rechist.SyncPrefix("gw."))
	if err != nil || first.Copied != 6 {
		t.Fatalf("the original's push: %+v, %v", first, err)
	}
	if _, err := rechist.SyncTo(t.Context(), cp, c, rechist.SyncPrefix("gw.")); !errors.Is(err, rechist.ErrCopiedSource) {
		t.Fatalf("the copy's push: %v; want ErrCopiedSource", err)
	}
	if _, err := cp.NewSourceID(t.Context()); err != nil {
		t.Fatal(err)
	}
	r, err := rechist.SyncTo(t.Context(), cp, c, rechist.SyncPrefix("gw."))
	if err != nil || r.Copied != 2 || r.Parent != first.Source || r.ParentID != 5 {
		t.Fatalf("the copy's push under a new identity: %+v, %v; want its 2 rows, continued from %s at 5", r, err, first.Source)
	}
	store(t, cp, "copy", 3002, "4")
	if r, err := rechist.SyncTo(t.Context(), cp, c, rechist.SyncPrefix("gw.")); err != nil || r.Copied != 1 {
		t.Fatalf("the copy's next push: %+v, %v", r, err)
	}
	rows := rowsOf(t, dst)
	slices.Sort(rows)
	got := strings.Join(rows, "\n")
	want := strings.Join([]string{"gw.copy=2@3000", "gw.copy=3@3001", "gw.copy=4@3002", "gw.orig=1@2000",
		"gw.shared=0@1000", "gw.shared=1@1001", "gw.shared=2@1002", "gw.shared=3@1003", "gw.shared=4@1004"}, "\n")
	if got != want {
		t.Fatalf("server holds\n%s\nwant\n%s", got, want)
	}
}

// The server remembers a source's pattern and prefix and where it first
// received it: GET /api/sync says them; a push with another pattern or
// prefix is refused (400, ErrInvalidArgument) and writes nothing; rows the
// source no longer had at its first push are gone, not missed.
func TestSyncOverHTTPRemembersPatternAndPrefix(t *testing.T) {
	t.Parallel()
	src, dst := openDB(t), openDB(t)
	for i := range 6 {
		store(t, src, fmt.Sprintf("%c.x", 'a'+i%2), int64(1000+i), fmt.Sprint(i))
	}
	if _, err := src.Delete(t.Context(), "a.x", rechist.QueryParams{End: time.UnixMilli(1000)}); err != nil {
		t.Fatal(err)
	}
	c := syncServer(t, dst, "tok", nil)
	r, err := rechist.SyncTo(t.Context(), src, c, rechist.SyncPattern("a.*"), rechist.SyncPrefix("gw."))
	if err != nil || r.Copied != 2 || r.Skipped != 3 || r.Gone != 1 || r.Missed != 0 || r.Horizon != 6 {
		t.Fatalf("first push: %+v, %v; want 2 copied, 3 skipped, 1 gone", r, err)
	}
	other := syncServer(t, dst, "tok", nil) // a client that remembers nothing
	st, err := other.SyncStatus(t.Context(), r.Source)
	if err != nil || !st.Filtered || st.Pattern != "a.*" || st.Prefix != "gw." || st.Gone != 1 || st.Horizon != 6 || st.Missed != 0 {
		t.Fatalf("status over HTTP: %+v, %v", st, err)
	}
	store(t, src, "a.x", 2000, "9")
	before := rowsOf(t, dst)
	for _, opts := range [][]rechist.SyncOption{{rechist.SyncPrefix("gw.")}, {rechist.SyncPattern("a.*")}} {
		for _, cl := range []*SyncClient{c, other} {
			if r, err := rechist.SyncTo(t.Context(), src, cl, opts...); !errors.Is(err, rechist.ErrInvalidArgument) || r.Copied != 0 {
				t.Fatalf("a push with another pattern or prefix: %+v, %v; want ErrInvalidArgument", r, err)
			}
		}
	}
	// The server checks too: a push that says another pattern is refused.
	err = other.ApplySync(t.Context(), rechist.SyncPush{Source: r.Source, Prev: 6, Last: 7, Hash: "h", Pattern: "*", Prefix: "gw.",
		Rows: []rechist.SyncRow{{Name: "gw.a.x", Value: json.RawMessage(`9`), StoredAt: time.UnixMilli(2000)}}})
	var se *serverError
	if !errors.Is(err, rechist.ErrInvalidArgument) || !errors.As(err, &se) || se.code != http.StatusBadRequest {
		t.Fatalf("a push with another pattern: %v; want 400", err)
	}
	if got := rowsOf(t, dst); strings.Join(got, "\n") != strings.Join(before, "\n") {
		t.Fatalf("refused pushes wrote rows:\n%s", strings.Join(got, "\n"))
	}
	if r, err := rechist.SyncTo(t.Context(), src, c, rechist.SyncPattern("a.*"), rechist.SyncPrefix("gw.")); err != nil || r.Copied != 1 {
		t.Fatalf("a push with the same pattern and prefix: %+v, %v", r, err)
	}
}

// A new identity that continues its old identity's history from the old
// cursor marks the old identity continued on the server: a push under the
// old one (a sync of it still running, in the same file) is refused, 409
// and nothing written, and GET /api/sync says who continued it.
func TestSyncOverHTTPNewIdentityFreezesTheOldOne(t *testing.T) {
	t.Parallel()
	src, dst := openDB(t), openDB(t)
	for i := range 6 {
		store(t, src, "s", int64(1000+i), fmt.Sprint(i))
	}
	c := syncServer(t, dst, "", nil)
	first, err := rechist.SyncTo(t.Context(), src, c, rechist.SyncPrefix("gw."))
	if err != nil || first.Copied != 6 {
		t.Fatalf("the first push: %+v, %v", first, err)
	}
	renewed, err := src.NewSourceID(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	store(t, src, "s", 1006, "6")
	r, err := rechist.SyncTo(t.Context(), src, c, rechist.SyncPrefix("gw."))
	if err != nil || r.Copied != 1 || r.Parent != first.Source || r.ParentID != 6 {
		t.Fatalf("the push under the new identity: %+v, %v; want 1 row, continued from %s at 6", r, err, first.Source)
	}
	late := rechist.SyncPush{Source: first.Source, Prev: 6, Last: 7, Hash: "h", Pattern: "*", Prefix: "gw.",
		Rows: []rechist.SyncRow{{Name: "gw.s", Value: json.RawMessage("6"), StoredAt: time.UnixMilli(1006)}}}
	if err := c.ApplySync(t.Context(), late); !errors.Is(err, rechist.ErrConflict) {
		t.Fatalf("a push under the old identity: %v; want ErrConflict", err)
	}
	if st, err := c.SyncStatus(t.Context(), first.Source); err != nil || st.ContinuedBy != renewed || st.ContinuedAt != 6 || st.Cursor != 6 {
		t.Fatalf("the old identity's status: %+v, %v; want continued by %s at 6", st, err, renewed)
	}
	if n := len(rowsOf(t, dst)); n != 7 {
		t.Fatalf("server holds %d rows, want 7", n)
	}
}

// A source with more epochs than fit in a megabyte of JSON (an old
// identity many DB handles wrote to): SyncEpochs reads them all, where it
// failed to decode an answer cut at 1 MiB.
func TestSyncOverHTTPManyEpochs(t *testing.T) {
	t.Parallel()
	dst := openDB(t)
	const n = 30_000
	p := rechist.SyncPush{Source: "many", Prev: 0, Last: n, Hash: "h", Pattern: "*", Prefix: "",
		Rows: []rechist.SyncRow{{Name: "s", Value: json.RawMessage("1"), StoredAt: time.UnixMilli(1000)}}}
	for i := range n {
		p.Epochs = append(p.Epochs, rechist.SyncEpoch{Start: int64(i + 1), Token: fmt.Sprintf("%032x", i)})
	}
	if err := dst.ApplySync(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	c := syncServer(t, dst, "", nil)
	got, err := c.SyncEpochs(t.Context(), "many")
	if err != nil || len(got) != n || got[n-1] != p.Epochs[n-1] {
		t.Fatalf("SyncEpochs: %d epochs, %v; want %d", len(got), err, n)
	}
}

// A takeover refused because the old identity's cursor moved between the
// client's look at it and the push (a copy of the file pushed under the
// old identity meanwhile) succeeds on the next try: the client forgets
// the old identity's status it read, asks for it again (one more GET) and
// pushes once, where it used to push the stale cursor again and again.
func TestSyncOverHTTPTakeoverRefusedOnceAsksAgain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src, dst := openDB(t), openDB(t)
	for i := range 6 {
		store(t, src, "s", int64(1000+i), fmt.Sprint(i))
	}
	other := syncServer(t, dst, "", nil)
	first, err := rechist.SyncTo(t.Context(), src, other, rechist.SyncPrefix("gw."))
	if err != nil || first.Copied != 6 {
		t.Fatalf("the first push: %+v, %v", first, err)
	}
	copyPath := filepath.Join(dir, "copy.db")
	if err := src.Backup(t.Context(), copyPath); err != nil {
		t.Fatal(err)
	}
	cp, err := rechist.Open(t.Context(), copyPath)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	store(t, cp, "c", 2000, "7")
	if _, err := src.NewSourceID(t.Context()); err != nil {
		t.Fatal(err)
	}
	store(t, src, "s", 1006, "6")
	var gets, posts atomic.Int32
	var moved atomic.Bool
	wrap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet {
				gets.Add(1)
				next.ServeHTTP(w, r)
				return
			}
			posts.Add(1)
			var buf bytes.Buffer
			if _, err := buf.ReadFrom(r.Body); err != nil {
				t.Error(err)
			}
			// The first takeover: the copy pushes under the old identity
			// first, moving its cursor from 6 to 7.
			if bytes.Contains(buf.Bytes(), []byte(`"adopt":true`)) && moved.CompareAndSwap(false, true) {
				if r, err := rechist.SyncTo(r.Context(), cp, other, rechist.SyncPrefix("gw.")); err != nil || r.Copied != 1 {
					t.Errorf("the copy's push under the old identity: %+v, %v", r, err)
				}
			}
			r.Body = io.NopCloser(&buf)
			next.ServeHTTP(w, r)
		})
	}
	c := syncServer(t, dst, "", wrap)
	if _, err := rechist.SyncTo(t.Context(), src, c, rechist.SyncPrefix("gw.")); !errors.Is(err, rechist.ErrConflict) || errors.Is(err, rechist.ErrCopiedSource) {
		t.Fatalf("the takeover the copy overtook: %v; want ErrConflict, no copy", err)
	}
	gets.Store(0)
	posts.Store(0)
	r, err := rechist.SyncTo(t.Context(), src, c, rechist.SyncPrefix("gw."))
	if err != nil || r.Copied != 1 || r.Parent != first.Source || r.ParentID != 6 {
		t.Fatalf("the takeover's next try: %+v, %v; want 1 row, continued from %s at 6", r, err, first.Source)
	}
	// The new identity's status, the old one's (asked again) and its epochs.
	if gets.Load() != 3 || posts.Load() != 1 {
		t.Fatalf("the next try took %d GETs and %d POSTs, want 3 and 1", gets.Load(), posts.Load())
	}
	if n := len(rowsOf(t, dst)); n != 8 {
		t.Fatalf("server holds %d rows, want 8", n)
	}
}
