package rechist_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/testutil"
)

// An option given twice is refused by name instead of the last one winning.
func TestRepeatedOptionIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	_, err := rechist.Open(t.Context(), path, rechist.WithQueueSize(8), rechist.WithQueueSize(16))
	if !errors.Is(err, rechist.ErrInvalidArgument) || !strings.Contains(err.Error(), "WithQueueSize") {
		t.Fatalf("got %v, want ErrInvalidArgument naming WithQueueSize", err)
	}
	if _, statErr := filepath.Glob(path); statErr != nil || fileExists(path) {
		t.Fatalf("a refused Open created %s", path)
	}
}

// Options that only concern SQLite files are refused, by name, with a URL
// of another engine; the check comes before the engine is looked up, so it
// holds whether or not the program imports that engine.
func TestSQLiteOnlyOptionsAreRefusedForURLs(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  rechist.Option
	}{
		{"WithSynchronous", rechist.WithSynchronous(rechist.SyncNormal)},
		{"WithBusyTimeout", rechist.WithBusyTimeout(time.Second)},
		{"WithCacheSize", rechist.WithCacheSize(1 << 20)},
		{"WithPageSize", rechist.WithPageSize(1024)},
	} {
		_, err := rechist.Open(t.Context(), "postgres://user:secret@127.0.0.1:1/db", rechist.WithQueueSize(8), tc.opt)
		if !errors.Is(err, rechist.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: got %v, want ErrInvalidArgument naming it", tc.name, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error shows the password: %v", tc.name, err)
		}
	}
}

// Every error is a *rechist.Error that names the operation.
func TestErrorsAreTypedWithTheirOperation(t *testing.T) {
	db, _ := testutil.OpenDB(t, "")
	r := rechist.NewRepo[int](db)
	err := r.Store(t.Context(), "", 1)
	var e *rechist.Error
	if !errors.As(err, &e) || e.Op != "store" || !errors.Is(err, rechist.ErrInvalidArgument) {
		t.Fatalf("Store with an empty name: %#v", err)
	}
	if err.Error() != "rechist: store: invalid argument: record name is empty" {
		t.Fatalf("message %q", err.Error())
	}
	_, err = r.QueryLatest(t.Context(), "x", 0)
	if !errors.As(err, &e) || e.Op != "query" {
		t.Fatalf("QueryLatest n=0: %#v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	err = r.Store(t.Context(), "x", 1)
	if !errors.As(err, &e) || e.Op != "store" || !errors.Is(err, rechist.ErrClosed) {
		t.Fatalf("Store after Close: %#v", err)
	}
}
