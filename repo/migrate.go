package repo

import (
	"context"
	"database/sql"
	"errors"
	"path"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/seed178a96f3/rechist/migrations"
)

// Migration is the state of one embedded migration in a database file.
type Migration struct {
	Version   int64
	Source    string // file name, such as 00001_record_history.sql
	Applied   bool
	AppliedAt time.Time // zero when not applied
}

// baseVersion is the Rust crate's schema: the table that holds the history.
const baseVersion = 1

// MigrationStatus lists every embedded migration and whether the database
// at path has it. It creates the file if there is none.
func MigrationStatus(ctx context.Context, path string) ([]Migration, error) {
	var out []Migration
	err := withProvider(ctx, "migrate status", path, func(p *goose.Provider) error {
		st, err := p.Status(ctx)
		for _, s := range st {
			out = append(out, Migration{
				Version:   s.Source.Version,
				Source:    baseName(s.Source.Path),
				Applied:   s.State == goose.StateApplied,
				AppliedAt: s.AppliedAt,
			})
		}
		return err
	})
	return out, err
}

// MigrateUp applies the pending migrations to the database at path and
// returns those it applied. Open does the same on every open.
func MigrateUp(ctx context.Context, path string) ([]Migration, error) {
	var out []Migration
	err := withProvider(ctx, "migrate up", path, func(p *goose.Provider) error {
		res, err := p.Up(ctx)
		for _, r := range res {
			out = append(out, Migration{Version: r.Source.Version, Source: baseName(r.Source.Path), Applied: true})
		}
		return err
	})
	return out, err
}

// MigrateDown rolls back the newest applied migration and returns it. It
// refuses to roll back the base schema (version 1): that would drop the
// table with the whole history in it.
func MigrateDown(ctx context.Context, path string) (Migration, error) {
	const op = "migrate down"
	var out Migration
	err := withProvider(ctx, op, path, func(p *goose.Provider) error {
		v, err := p.GetDBVersion(ctx)
		if err != nil {
			return err
		}
		if v <= baseVersion {
			return Invalidf(op, "the database is at version %d; rolling back version %d would drop record_history and all its rows, so rechist will not", v, baseVersion)
		}
		r, err := p.Down(ctx)
		if r != nil {
			out = Migration{Version: r.Source.Version, Source: baseName(r.Source.Path)}
		}
		return err
	})
	return out, err
}

// withProvider opens path for migrations only (no writer, no readers) and
// runs fn with a goose provider over the embedded migrations of its engine.
func withProvider(ctx context.Context, op, path string, fn func(*goose.Provider) error) error {
	d, ok, err := driverFor(op, path)
	if err != nil {
		return err
	}
	if ok {
		p, release, err := d.Migrations(ctx, path)
		if err != nil {
			return opError(op, err)
		}
		defer release()
		return runProvider(op, p, fn)
	}
	cfg, err := Config{}.normalized()
	if err != nil {
		return err
	}
	if path == MemoryPath {
		return Invalidf(op, "an in-memory database has no migrations to inspect")
	}
	loc, err := locate(path)
	if err != nil {
		return err
	}
	conn, err := sql.Open("sqlite", loc.dsn(writerParams(cfg, false, false)))
	if err != nil {
		return opError(op, err)
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	p, err := goose.NewProvider(goose.DialectSQLite3, conn, migrations.FS)
	if err != nil {
		return opError(op, err)
	}
	return runProvider(op, p, fn)
}

func runProvider(op string, p *goose.Provider, fn func(*goose.Provider) error) error {
	if err := fn(p); err != nil {
		if errors.Is(err, ErrInvalidArgument) {
			return err
		}
		return opError(op, err)
	}
	return nil
}

func baseName(p string) string { return path.Base(p) }
