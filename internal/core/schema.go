package core

import (
	"context"
	"database/sql"
	"fmt"
	"path"
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
