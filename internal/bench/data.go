package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/db"
	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/repo"
)

// value is what the scenarios store: a small struct, ~25 bytes of JSON.
type value struct {
	V   float64 `json:"v"`
	Seq int64   `json:"seq"`
}

// names are the record names, set by Run from Config.Records.
var names []string

func setNames(n int) {
	names = make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("bench::rec%04d", i)
	}
}

func valueJSON(seq int64) string { return fmt.Sprintf(`{"v":0.5,"seq":%d}`, seq) }

// baseStart is the time of the first base row: rows are 1 ms apart, well
// before anything the store scenarios write.
var baseStart = time.Now().Add(-60 * 24 * time.Hour).UnixMilli()

// build creates a database at path holding rows rows, the records written
// round-robin, through the fastest plain path.
func (r *runner) build(ctx context.Context, path string, rows int) error {
	r.progress("building %s with %d rows", path, rows)
	return buildWith(ctx, path, rows, func(i int) (string, string, int64) {
		return names[i%len(names)], valueJSON(int64(i)), baseStart + int64(i)
	})
}

// fileFor returns a checkpointed file holding rows base rows (the records
// written round-robin, as in base.db), building it the first time a step
// asks for that size: steps share base.db, big.db and the sizes only they
// need.
func (r *runner) fileFor(ctx context.Context, rows int) (string, error) {
	if p, ok := r.files[rows]; ok {
		return p, nil
	}
	name := fmt.Sprintf("rows-%d.db", rows)
	switch rows {
	case r.cfg.BaseRows:
		name = "base.db"
	case r.cfg.BigRows:
		name = "big.db"
	}
	p := r.path(name)
	if err := r.build(ctx, p, rows); err != nil {
		return "", err
	}
	if r.files == nil {
		r.files = map[int]string{}
	}
	r.files[rows] = p
	return p, nil
}

// buildPageSize is the page size of the files buildWith creates (every
// file the bench writes to is one of them or a copy); zero is rechist's
// default.
var buildPageSize int

// buildWith creates a database at path holding rows rows, row i being
// row(i): its record name, value JSON and time in Unix milliseconds.
func buildWith(ctx context.Context, path string, rows int, row func(i int) (name, value string, at int64)) error {
	for _, suffix := range []string{"", "-wal", "-shm"} { // a --dir used before
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	var opts []rechist.Option
	if buildPageSize > 0 {
		opts = append(opts, rechist.WithPageSize(buildPageSize))
	}
	d, err := rechist.Open(ctx, path, opts...) // creates the schema
	if err != nil {
		return err
	}
	if err := d.Close(); err != nil {
		return err
	}
	conn, err := repo.Driver.OpenSQL(path, core.Config{Synchronous: core.SyncNormal})
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	// Each INSERT fires the names table's trigger, which makes SQLite keep
	// a statement journal: in memory, not a temporary file written a page
	// at a time (performance.md, "What the table costs a write").
	if _, err := conn.ExecContext(ctx, "PRAGMA temp_store = memory"); err != nil {
		return err
	}
	const chunk = 200_000
	for done := 0; done < rows; {
		n := min(chunk, rows-done)
		if err := insertRows(ctx, conn, done, n, row); err != nil {
			return err
		}
		done += n
	}
	_, err = conn.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

// insertPlain inserts rows from..from+n-1 in one transaction with one
// prepared statement (the generated INSERT): the limit baseline's loop.
func insertPlain(ctx context.Context, conn *sql.DB, from, n int, at func(int) int64) error {
	return insertRows(ctx, conn, from, n, func(i int) (string, string, int64) {
		return names[i%len(names)], valueJSON(int64(i)), at(i)
	})
}

// insertRows inserts rows from..from+n-1, row i being row(i), in one
// transaction with one prepared statement (the generated INSERT).
func insertRows(ctx context.Context, conn *sql.DB, from, n int, row func(int) (string, string, int64)) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, db.InsertRecord)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := from; i < from+n; i++ {
		name, value, at := row(i)
		if _, err := stmt.ExecContext(ctx, name, value, at); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// copyFile copies a database file (checkpointed, so no WAL) to dst.
func copyFile(src, dst string) error {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(dst + suffix)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// openBaseCopy copies the base file to name and opens the copy with
// synchronous=NORMAL, for a scenario that changes the data.
func (r *runner) openBaseCopy(ctx context.Context, name string) (*rechist.DB, error) {
	path := r.path(name)
	if err := copyFile(r.path("base.db"), path); err != nil {
		return nil, err
	}
	return rechist.Open(ctx, path, rechist.WithSynchronous(rechist.SyncNormal))
}
