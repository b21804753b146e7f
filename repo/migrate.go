package repo

import (
	"context"
	"database/sql"

	"github.com/pressly/goose/v3"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/migrations"
)

// migrationsProvider is the driver's Migrations: a goose provider over the
// embedded migrations on a connection of its own to the file at path.
func migrationsProvider(ctx context.Context, path string, create bool) (*goose.Provider, func() error, error) {
	if path == MemoryPath {
		return nil, nil, core.Invalidf("migrate", "an in-memory database has no migrations to inspect")
	}
	cfg, err := core.Config{}.Normalized()
	if err != nil {
		return nil, nil, err
	}
	loc, err := locate(path, create)
	if err != nil {
		return nil, nil, err
	}
	conn, err := sql.Open("sqlite", loc.dsn(writerParams(cfg, false, false)))
	if err != nil {
		return nil, nil, err
	}
	conn.SetMaxOpenConns(1)
	if err := conn.PingContext(ctx); err != nil {
		conn.Close()
		return nil, nil, err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, conn, migrations.FS)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return p, conn.Close, nil
}
