package core

import (
	"context"
	"database/sql"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
)

// appliedMigrations reads goose's version table without changing anything:
// for each version, whether it is applied (its newest row says so) and
// when. A database without the table has none applied.
func appliedMigrations(ctx context.Context, db *sql.DB, existsQuery string) (map[int64]time.Time, error) {
	var exists bool
	if err := db.QueryRowContext(ctx, existsQuery).Scan(&exists); err != nil {
		return nil, err
	}
	applied := map[int64]time.Time{}
	if !exists {
		return applied, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT version_id, is_applied, tstamp FROM goose_db_version ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var v int64
		var ok bool
		var at sql.NullTime
		if err := rows.Scan(&v, &ok, &at); err != nil {
			return nil, err
		}
		if ok {
			applied[v] = at.Time
		} else {
			delete(applied, v)
		}
	}
	return applied, rows.Err()
}

// schemaStatus lists the provider's migrations with their state in db.
func schemaStatus(ctx context.Context, t *MigrationTarget) ([]Migration, error) {
	applied, err := appliedMigrations(ctx, t.DB, t.VersionTableExists)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, s := range t.Provider.ListSources() {
		at, ok := applied[s.Version]
		out = append(out, Migration{Version: s.Version, Source: path.Base(s.Path), Applied: ok, AppliedAt: at})
	}
	return out, nil
}

// CheckSchema returns an error when the database at db lacks migrations
// that p holds, saying how to apply them; it changes nothing. It is what
// Open runs instead of migrating, with WithoutMigrations.
func CheckSchema(ctx context.Context, db *sql.DB, p *goose.Provider, existsQuery string) error {
	st, err := schemaStatus(ctx, &MigrationTarget{Provider: p, DB: db, VersionTableExists: existsQuery})
	if err != nil {
		return fmt.Errorf("read the schema's version: %w", err)
	}
	var pending []string
	for _, m := range st {
		if !m.Applied {
			pending = append(pending, m.Source)
		}
	}
	if len(pending) > 0 {
		return fmt.Errorf("the schema is behind: %d migrations not applied (%v); run `rechist migrate up` (or `goose -dir migrations ... up`), or open without WithoutMigrations", len(pending), pending)
	}
	return nil
}

// HistoryTable is the table every rechist history holds, the Rust
// crate's included.
const HistoryTable = "record_history"

// CheckHistory is Open's check of what a database holds before it reads
// or migrates it: tables lists up to a few of its tables (not SQLite's
// own, not goose's version table), hasHistory whether record_history is
// one. A read-only open needs record_history; a writable one with
// HistoryOnly refuses a database of other tables without it, which
// migrating would add rechist's tables to. The error wraps
// ErrInvalidArgument; the engine names the file or schema.
func CheckHistory(c Config, tables []string, hasHistory bool) error {
	switch {
	case hasHistory:
		return nil
	case c.ReadOnly && len(tables) == 0:
		return fmt.Errorf("%w: not a rechist history: it has no tables", ErrInvalidArgument)
	case c.ReadOnly:
		return fmt.Errorf("%w: not a rechist history: it has no record_history table (its tables: %s)", ErrInvalidArgument, strings.Join(tables, ", "))
	case c.HistoryOnly && len(tables) > 0:
		return fmt.Errorf("%w: not a rechist history: it holds other tables (%s) but no record_history; rechist would add its own tables to it (as the command line's --init, or the library's Open without WithHistoryOnly, do)", ErrInvalidArgument, strings.Join(tables, ", "))
	}
	return nil
}
