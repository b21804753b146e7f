package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/postgres/internal/db"
	"github.com/seed178a96f3/rechist/postgres/migrations"
)

func init() {
	d := core.Driver{Name: "postgres", Open: open, Migrations: migrationsProvider, Classify: classify}
	core.Register("postgres", d)
	core.Register("postgresql", d)
}

// engine is an open PostgreSQL history database.
type engine struct {
	cfg  core.Config
	pool *pgxpool.Pool
	q    *db.Queries
	// writerLock is the schema's writer lock id (see BeginWrite). Its
	// purpose string is the one of older rechists' commit-order lock,
	// which they take exclusively: a process still running one waits for
	// the writers of this one, and they for it.
	writerLock int64
	epoch      syncEpoch // begun by the first batch that stores rows (sync.go)
	// names says whether the schema has the names table (names.go): a
	// migrated schema has; a read-only open asks once.
	names bool
	parts partitions // time partitioning (partitions.go)
	ahead aheadTx    // the writer's transaction open ahead (commit_ahead.go)
}

// The whole engine contract; none of the optional capabilities (Compact,
// Backup, batch hooks, extra stats: PostgreSQL has its own tools and
// counters for those).
var _ core.Engine = (*engine)(nil)

// open connects to the database at dsn (a postgres:// URL or a pgx
// connection string) and applies the pending migrations. The pool holds
// ReadConns connections for queries and one for the writer, unless the URL
// sets pool_max_conns, which then wins (and conflicts with WithReadConns).
func open(ctx context.Context, dsn string, cfg core.Config) (core.Engine, error) {
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, core.Invalidf("open", "bad PostgreSQL URL: %v", err)
	}
	if strings.Contains(dsn, "pool_max_conns") {
		if slices.Contains(cfg.Given, "WithReadConns") {
			return nil, core.Invalidf("open", "WithReadConns: the URL sets pool_max_conns too; give one of them")
		}
	} else {
		pcfg.MaxConns = int32(max(4, cfg.ReadConns+1))
	}
	// float8 prints as its shortest exact decimal, as Go's strconv does:
	// what Aggregate's exact sums add (queries/records.sql), whatever the
	// server's or the role's default.
	pcfg.ConnConfig.RuntimeParams["extra_float_digits"] = "1"
	if cfg.ReadOnly {
		// Every transaction of the pool is read-only: the server refuses
		// any write, whatever the core does.
		pcfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, err
	}
	err = checkHistory(ctx, pool, cfg)
	switch {
	case err != nil:
	case cfg.ReadOnly:
		err = pool.Ping(ctx)
	case cfg.NoMigrations:
		err = checkSchema(ctx, pool)
	default:
		err = migrate(ctx, pool)
	}
	var schema string
	if err == nil {
		err = pool.QueryRow(ctx, "SELECT COALESCE(current_schema(), '')").Scan(&schema)
	}
	names := true
	if err == nil && cfg.ReadOnly {
		names, err = db.New(pool).NamesTable(ctx)
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	e := &engine{cfg: cfg, pool: pool, q: db.New(pool), writerLock: schemaLockID("rechist commit order", schema), names: names}
	e.ahead.usable = pcfg.MaxConns >= 2
	switch {
	case cfg.PartitionWidth > 0:
		err = e.partitionHistory(ctx, cfg.PartitionWidth)
	case names:
		err = e.parts.load(ctx, e.q)
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	return e, nil
}

// migrate applies the embedded migrations under goose's PostgreSQL session
// lock (an advisory lock), so that instances starting at once take turns.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn := stdlib.OpenDBFromPool(pool)
	defer conn.Close()
	p, err := newProvider(ctx, conn)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	return nil
}

// newProvider returns a goose provider that migrates under a session
// advisory lock of the connection's schema: instances that open one schema
// at once migrate one after the other, and instances on other schemas of
// the same database do not wait for each other (PostgreSQL's advisory locks
// are per database, so the lock id is derived from the schema's name). The
// lock is tried every second for up to five minutes, or until ctx ends.
func newProvider(ctx context.Context, conn *sql.DB) (*goose.Provider, error) {
	var schema string
	if err := conn.QueryRowContext(ctx, "SELECT COALESCE(current_schema(), '')").Scan(&schema); err != nil {
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(schemaLockID("rechist migrations", schema)), lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, conn, migrations.FS, goose.WithSessionLocker(locker))
}

// migrationsProvider is the driver's Migrations: a provider on a
// connection of its own, for rechist.MigrationStatus and friends.
func migrationsProvider(ctx context.Context, dsn string, mode core.SchemaMode) (*core.MigrationTarget, error) {
	conn, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	if err := conn.PingContext(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	p, err := newProvider(ctx, conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &core.MigrationTarget{Provider: p, DB: conn, VersionTableExists: versionTableExists, Close: conn.Close}, nil
}

// versionTableExists says whether goose's version table is in the search
// path's schema.
const versionTableExists = `SELECT to_regclass('goose_db_version') IS NOT NULL`

// checkSchema is Open's check with WithoutMigrations: an error if the
// schema lacks a migration, and no change.
func checkSchema(ctx context.Context, pool *pgxpool.Pool) error {
	conn := stdlib.OpenDBFromPool(pool)
	defer conn.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, conn, migrations.FS)
	if err != nil {
		return err
	}
	return core.CheckSchema(ctx, conn, p, versionTableExists)
}

// Classify maps PostgreSQL's lock timeout (55P03) to ErrBusy and its
// disk-full error (53100) to ErrDiskFull.
func (e *engine) Classify(err error) error { return classify(err) }

func classify(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return nil
	}
	switch pe.Code {
	case "55P03": // lock_not_available
		return core.ErrBusy
	case "53100": // disk_full
		return core.ErrDiskFull
	}
	return nil
}

// Close closes the pool. pgxpool waits for every connection in use to come
// back; ctx bounds that wait, and a pool still busy when it ends is
// reported (its connections close as they come back).
func (e *engine) Close(ctx context.Context) error {
	e.closeAhead()
	done := make(chan struct{})
	go func() {
		e.pool.Close()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close: connections still in use: %w", ctx.Err())
	}
}

// schemaLockID is the advisory lock id of purpose on schema: advisory locks
// are per database, so each schema gets locks of its own.
func schemaLockID(purpose, schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte(purpose + " " + schema))
	return int64(h.Sum64())
}

// checkHistory is core.CheckHistory on the search path's schema.
func checkHistory(ctx context.Context, pool *pgxpool.Pool, cfg core.Config) error {
	var schema string
	var tables []string
	var has bool
	err := pool.QueryRow(ctx, `SELECT COALESCE(current_schema(), ''),
		COALESCE((SELECT array_agg(t ORDER BY t) FROM (SELECT table_name::text AS t FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_name <> 'goose_db_version' ORDER BY 1 LIMIT 5) AS f), '{}'),
		EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1)`,
		core.HistoryTable).Scan(&schema, &tables, &has)
	if err != nil {
		return err
	}
	if err := core.CheckHistory(cfg, tables, has); err != nil {
		return fmt.Errorf("schema %q: %w", schema, err)
	}
	return nil
}
