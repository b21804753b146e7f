package core

import (
	"context"
	"database/sql"
	"strings"
	"sync"

	"github.com/pressly/goose/v3"
)

// Driver opens one kind of engine. Package repo has the SQLite driver,
// used for paths without a URL scheme; package postgres registers its
// driver for postgres:// and postgresql://.
type Driver struct {
	// Name names the engine in messages: "sqlite", "postgres".
	Name string
	// Open connects to dsn, applies the pending migrations and returns the
	// engine. cfg arrives normalized.
	Open func(ctx context.Context, dsn string, cfg Config) (Engine, error)
	// Migrations opens dsn for the migration tools, with a goose provider
	// over the engine's migrations. With ReadSchema the connection only
	// reads (nothing is created or changed); with WriteSchema a database
	// that does not exist is an error; CreateSchema creates it.
	Migrations func(ctx context.Context, dsn string, mode SchemaMode) (*MigrationTarget, error)
	// Classify is the engine's Engine.Classify, for errors of Open and of
	// the migration functions, before there is an engine.
	Classify func(error) error
	// OpenSQL, when the engine has it (SQLite), opens a plain database/sql
	// handle with the pragmas of the engine's writer, without migrating:
	// for rechist bench's plain-SQL baselines. Kept here rather than
	// exported by the engine so that it is no public API.
	OpenSQL func(path string, cfg Config) (*sql.DB, error)
}

// SchemaMode is how the migration tools open a database.
type SchemaMode int

const (
	// ReadSchema only reads: status.
	ReadSchema SchemaMode = iota
	// WriteSchema changes an existing database: down.
	WriteSchema
	// CreateSchema creates the database if it does not exist: up.
	CreateSchema
)

// MigrationTarget is a database opened for the migration tools.
type MigrationTarget struct {
	// Provider runs goose's migrations (it creates goose's version table
	// on first use: not for ReadSchema).
	Provider *goose.Provider
	// DB is the provider's database, for reading the schema's state.
	DB *sql.DB
	// VersionTableExists is a query that returns one boolean: whether
	// goose's version table exists.
	VersionTableExists string
	// Close releases the connection.
	Close func() error
}

var (
	driversMu sync.RWMutex
	drivers   = map[string]Driver{}
)

// Register makes a driver available for data source names that start with
// scheme + "://". It is meant for an engine package's init function;
// registering a scheme twice panics.
func Register(scheme string, d Driver) {
	driversMu.Lock()
	defer driversMu.Unlock()
	if _, dup := drivers[scheme]; dup {
		panic("rechist: engine registered twice for scheme " + scheme)
	}
	drivers[scheme] = d
}

// Scheme returns dsn's URL scheme, or "" for a file path.
func Scheme(dsn string) string {
	scheme, _, found := strings.Cut(dsn, "://")
	if !found || scheme == "" || strings.ContainsAny(scheme, `/\.`) {
		return ""
	}
	return scheme
}

// DriverFor returns the driver for dsn: the one registered for its scheme,
// or fallback (the SQLite driver) when it has none. A scheme nobody
// registered is an error for op.
func DriverFor(op, dsn string, fallback Driver) (Driver, error) {
	scheme := Scheme(dsn)
	if scheme == "" {
		return fallback, nil
	}
	driversMu.RLock()
	d, ok := drivers[scheme]
	driversMu.RUnlock()
	if !ok {
		return Driver{}, Invalidf(op, "no engine for %s:// (for PostgreSQL, import github.com/seed178a96f3/rechist/postgres)", scheme)
	}
	return d, nil
}
