package core

import (
	"context"
	"errors"
	"path"
	"time"
)

// Migration is the state of one embedded migration in a database.
type Migration struct {
	Version   int64
	Source    string // file name, such as 00001_record_history.sql
	Applied   bool
	AppliedAt time.Time // zero when not applied
}

// baseVersion is the Rust crate's schema: the table that holds the history.
const baseVersion = 1

// MigrationStatus lists every embedded migration of dsn's engine and
// whether the database has it. It only reads: it never creates a database
// or goose's version table.
func MigrationStatus(ctx context.Context, dsn string, fallback Driver) ([]Migration, error) {
	var out []Migration
	err := withTarget(ctx, "migrate status", dsn, fallback, ReadSchema, func(t *MigrationTarget) error {
		var err error
		out, err = schemaStatus(ctx, t)
		return err
	})
	return out, err
}

// MigrateUp applies the pending migrations and returns those it applied;
// it creates a database file that does not exist yet.
func MigrateUp(ctx context.Context, dsn string, fallback Driver) ([]Migration, error) {
	var out []Migration
	err := withTarget(ctx, "migrate up", dsn, fallback, CreateSchema, func(t *MigrationTarget) error {
		res, err := t.Provider.Up(ctx)
		for _, r := range res {
			out = append(out, Migration{Version: r.Source.Version, Source: path.Base(r.Source.Path), Applied: true})
		}
		return err
	})
	return out, err
}

// MigrateDown rolls back the newest applied migration and returns it. It
// refuses to roll back the base schema (version 1): that would drop the
// table with the whole history in it. It never creates a database.
func MigrateDown(ctx context.Context, dsn string, fallback Driver) (Migration, error) {
	const op = "migrate down"
	var out Migration
	err := withTarget(ctx, op, dsn, fallback, WriteSchema, func(t *MigrationTarget) error {
		p := t.Provider
		v, err := p.GetDBVersion(ctx)
		if err != nil {
			return err
		}
		if v <= baseVersion {
			return Invalidf(op, "the database is at version %d; rolling back version %d would drop record_history and all its rows, so rechist will not", v, baseVersion)
		}
		r, err := p.Down(ctx)
		if r != nil {
			out = Migration{Version: r.Source.Version, Source: path.Base(r.Source.Path)}
		}
		return err
	})
	return out, err
}

// withTarget runs fn with dsn opened for the migration tools in mode, on a
// connection of its own (no writer, no readers).
func withTarget(ctx context.Context, op, dsn string, fallback Driver, mode SchemaMode, fn func(*MigrationTarget) error) error {
	d, err := DriverFor(op, dsn, fallback)
	if err != nil {
		return err
	}
	t, err := d.Migrations(ctx, dsn, mode)
	if err != nil {
		return Wrap(op, err, d.Classify)
	}
	defer t.Close()
	if err := fn(t); err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			return err
		}
		return Wrap(op, err, d.Classify)
	}
	return nil
}
