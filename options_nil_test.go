package rechist_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// noPanic runs f and turns a panic into an error, so that a call that
// panics fails its case instead of the whole test binary.
func noPanic(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panicked: %v", p)
		}
	}()
	return f()
}

// Every call of the root package that takes options (Open, NewRepo, Sync)
// refuses a nil option, and an option given a nil func, with an error
// wrapping ErrInvalidArgument that names the call, and does nothing: no
// file, no row, no cursor. Before, Sync(ctx, src, dst, nil) panicked, and
// SyncProgress(nil) panicked after the first batch; NewRepo ignored a nil
// option.
func TestNilOptionsAreRefused(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	open := func(name string) *rechist.DB {
		t.Helper()
		db, err := rechist.Open(ctx, filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	src, dst := open("src.db"), open("dst.db")
	if err := rechist.NewRepo[int](src).Store(ctx, "a", 1); err != nil {
		t.Fatal(err)
	}
	called := false
	progress := rechist.SyncProgress(func(rechist.SyncResult) { called = true })
	nothingSynced := func() error {
		id, err := src.SourceID(ctx)
		if err != nil {
			return err
		}
		if st, err := dst.SyncStatus(ctx, id); err != nil || st.Cursor != 0 {
			return fmt.Errorf("dst holds cursor %d of the source (%v)", st.Cursor, err)
		}
		if n, err := dst.LastID(ctx); err != nil || n != 0 {
			return fmt.Errorf("dst holds rows up to id %d (%v)", n, err)
		}
		return nil
	}
	for _, tc := range []struct {
		name string
		want string // what the error names
		call func() error
		left func() error // checks that nothing was done
	}{
		{"Open nil", "Open", func() error {
			db, err := rechist.Open(ctx, filepath.Join(dir, "new.db"), rechist.WithQueueSize(8), nil)
			if err == nil {
				db.Close()
			}
			return err
		}, func() error {
			if fileExists(filepath.Join(dir, "new.db")) {
				return errors.New("Open created the file")
			}
			return nil
		}},
		{"Sync nil", "Sync", func() error {
			_, err := rechist.Sync(ctx, src, dst, nil)
			return err
		}, nothingSynced},
		{"Sync nil after others", "Sync", func() error {
			_, err := rechist.Sync(ctx, src, dst, rechist.SyncBatchRows(1), progress, nil)
			return err
		}, nothingSynced},
		{"SyncProgress(nil)", "SyncProgress", func() error {
			_, err := rechist.Sync(ctx, src, dst, rechist.SyncProgress(nil))
			return err
		}, nothingSynced},
		{"NewRepo nil: Store", "NewRepo", func() error {
			return rechist.NewRepo[int](dst, nil).Store(ctx, "b", 1)
		}, nothingSynced},
		{"NewRepo nil: StoreAt", "NewRepo", func() error {
			return rechist.NewRepo[int](dst, rechist.Strict(), nil).StoreAt(ctx, "b", 1, time.UnixMilli(5))
		}, nothingSynced},
		{"NewRepo nil: StoreMany", "NewRepo", func() error {
			return rechist.NewRepo[int](dst, nil).StoreMany(ctx, []rechist.Record[int]{{Name: "b", Value: 1}})
		}, nothingSynced},
		{"NewRepo nil: Query", "NewRepo", func() error {
			_, err := rechist.NewRepo[int](src, nil).Query(ctx, "*", rechist.QueryParams{})
			return err
		}, nil},
		{"NewRepo nil: QueryLatest", "NewRepo", func() error {
			_, err := rechist.NewRepo[int](src, nil).QueryLatest(ctx, "*", 1)
			return err
		}, nil},
		{"NewRepo nil: Latest", "NewRepo", func() error {
			_, err := rechist.NewRepo[int](src, nil).Latest(ctx, "a")
			return err
		}, nil},
		{"NewRepo nil: All", "NewRepo", func() error {
			n := 0
			for _, err := range rechist.NewRepo[int](src, nil).All(ctx, "*", rechist.QueryParams{}) {
				if err != nil {
					return err
				}
				n++
			}
			return fmt.Errorf("All yielded %d records and no error", n)
		}, nil},
	} {
		err := noPanic(tc.call)
		if !errors.Is(err, rechist.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error wrapping ErrInvalidArgument that names %s", tc.name, err, tc.want)
		}
		if tc.left != nil {
			if err := tc.left(); err != nil {
				t.Errorf("%s: not refused before doing anything: %v", tc.name, err)
			}
		}
	}
	if called {
		t.Error("a refused Sync called its progress func")
	}
	// The same calls without the nil option work.
	if _, err := rechist.Sync(ctx, src, dst, rechist.SyncBatchRows(1), progress); err != nil || !called {
		t.Fatalf("Sync with valid options: %v (progress called %v)", err, called)
	}
	if got, err := rechist.NewRepo[int](dst, rechist.Strict()).Query(ctx, "*", rechist.QueryParams{}); err != nil || len(got) != 1 {
		t.Fatalf("NewRepo with valid options: %v, %v", got, err)
	}
}

// Every option of the package has one shape: given twice, it is refused
// by name, as Open's always were. Before, Sync and NewRepo took the last
// of two.
func TestOptionsGivenTwiceAreRefused(t *testing.T) {
	ctx := t.Context()
	db, err := rechist.Open(ctx, filepath.Join(t.TempDir(), "twice.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	other, err := rechist.Open(ctx, filepath.Join(t.TempDir(), "other.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for name, err := range map[string]error{
		"Open": func() error {
			d, err := rechist.Open(ctx, filepath.Join(t.TempDir(), "x.db"), rechist.WithQueueSize(1), rechist.WithQueueSize(2))
			if err == nil {
				d.Close()
			}
			return err
		}(),
		"Sync": func() error {
			_, err := rechist.Sync(ctx, db, other, rechist.SyncBatchRows(1), rechist.SyncBatchRows(2))
			return err
		}(),
		"NewRepo": rechist.NewRepo[int](db, rechist.Strict(), rechist.Strict()).Store(ctx, "a", 1),
	} {
		if !errors.Is(err, rechist.ErrInvalidArgument) || !strings.Contains(err.Error(), "given more than once") {
			t.Errorf("%s with an option twice: %v; want ErrInvalidArgument, given more than once", name, err)
		}
	}
	if n, err := db.LastID(ctx); err != nil || n != 0 {
		t.Errorf("refused calls stored rows: last id %d, %v", n, err)
	}
}
