package rechisthttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

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
