package repo

import (
	"context"
	"database/sql"

	"github.com/pressly/goose/v3"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/migrations"
)

// versionTableExists says whether goose's version table is in the file.
const versionTableExists = `SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'goose_db_version'`

// migrationsProvider is the driver's Migrations: a goose provider over the
// embedded migrations on a connection of its own to the file at path,
// opened read-only for ReadSchema.
func migrationsProvider(ctx context.Context, path string, mode core.SchemaMode) (*core.MigrationTarget, error) {
	if path == MemoryPath {
		return nil, core.Invalidf("migrate", "an in-memory database has no migrations to inspect")
	}
	cfg, err := core.Config{}.Normalized()
	if err != nil {
		return nil, err
	}
	loc, err := locate(path, mode == core.CreateSchema)
	if err != nil {
		return nil, err
	}
	var conn *sql.DB
	if mode == core.ReadSchema {
		// A status read may find the file immutable, as a read-only open
		// does (readonly.go); it reads the version table once, at once.
		conn, _, err = openReadPool(ctx, loc, path, cfg, 1)
	} else {
		conn, err = openOneConn(ctx, loc.dsn(writerParams(cfg, false, false)))
	}
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, conn, migrations.FS)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &core.MigrationTarget{Provider: p, DB: conn, VersionTableExists: versionTableExists, Close: conn.Close}, nil
}
