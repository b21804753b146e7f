package repo

import (
	"context"
	"log/slog"
	"strings"
	"sync"

	"github.com/pressly/goose/v3"
)

// Store is what the typed layer (package rechist) needs from an engine.
// The SQLite Engine in this package implements it, and so does the
// PostgreSQL engine in package postgres; the conformance suite in package
// rechisttest holds both to the same behaviour.
//
// Every method is safe for concurrent use. Insert must be atomic (all rows
// or none) and follow the cancellation contract of [Engine.Insert]; Query
// must return rows in result order (record name bytewise, newest first, the
// later insert first among equal times) and apply the pattern language of
// [Engine.Query].
type Store interface {
	Insert(ctx context.Context, rows []Row) error
	Query(ctx context.Context, pattern string, r Range) ([]Row, error)
	Cleanup(ctx context.Context, cutoffMs int64) (int64, error)
	Summary(ctx context.Context, top int) (Summary, error)
	Stats() Stats
	// CountSkipped adds to Stats.SkippedRows.
	CountSkipped(n int64)
	Logger() *slog.Logger
	Path() string
	Close() error
}

var _ Store = (*Engine)(nil)

// Driver is what an engine package registers for its URL scheme.
type Driver struct {
	// Open opens a Store for a data source name such as a postgres:// URL;
	// cfg arrives normalized.
	Open func(ctx context.Context, dsn string, cfg Config) (Store, error)
	// Migrations returns a goose provider over the engine's migrations on
	// dsn, and a func that releases what it opened.
	Migrations func(ctx context.Context, dsn string) (*goose.Provider, func() error, error)
}

var (
	driversMu sync.RWMutex
	drivers   = map[string]Driver{}
)

// Register makes an engine available to OpenStore and the migration
// functions for data source names that start with scheme + "://". It is
// meant for an engine package's init function; registering a scheme twice
// panics.
func Register(scheme string, d Driver) {
	driversMu.Lock()
	defer driversMu.Unlock()
	if _, dup := drivers[scheme]; dup {
		panic("rechist: engine registered twice for scheme " + scheme)
	}
	drivers[scheme] = d
}

// driverFor returns the driver registered for dsn's scheme; ok is false
// for a SQLite path (no scheme). A scheme nobody registered is an error.
func driverFor(op, dsn string) (d Driver, ok bool, err error) {
	scheme, _, found := strings.Cut(dsn, "://")
	if !found || strings.ContainsAny(scheme, `/\.`) {
		return Driver{}, false, nil
	}
	driversMu.RLock()
	d, ok = drivers[scheme]
	driversMu.RUnlock()
	if !ok {
		return Driver{}, false, Invalidf(op, "no engine for %s:// (for PostgreSQL, import github.com/seed178a96f3/rechist/postgres)", scheme)
	}
	return d, true, nil
}

// OpenStore opens path with the engine registered for its scheme
// (postgres://...), or as a SQLite file (or MemoryPath) when it has none.
func OpenStore(ctx context.Context, path string, cfg Config) (Store, error) {
	d, ok, err := driverFor("open", path)
	if err != nil {
		return nil, err
	}
	if !ok {
		return Open(ctx, path, cfg)
	}
	if cfg, err = cfg.normalized(); err != nil {
		return nil, err
	}
	return d.Open(ctx, path, cfg)
}
