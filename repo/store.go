package repo

import (
	"context"
	"log/slog"
	"strings"
	"sync"
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

// Opener opens a Store for a data source name such as a postgres:// URL.
type Opener func(ctx context.Context, dsn string, cfg Config) (Store, error)

var (
	openersMu sync.RWMutex
	openers   = map[string]Opener{}
)

// Register makes an engine available to OpenStore for data source names
// that start with scheme + "://". It is meant for an engine package's init
// function; registering a scheme twice panics.
func Register(scheme string, open Opener) {
	openersMu.Lock()
	defer openersMu.Unlock()
	if _, dup := openers[scheme]; dup {
		panic("rechist: engine registered twice for scheme " + scheme)
	}
	openers[scheme] = open
}

// OpenStore opens path with the engine registered for its scheme
// (postgres://...), or as a SQLite file (or MemoryPath) when it has none.
func OpenStore(ctx context.Context, path string, cfg Config) (Store, error) {
	if scheme, _, ok := strings.Cut(path, "://"); ok && !strings.ContainsAny(scheme, `/\.`) {
		openersMu.RLock()
		open, found := openers[scheme]
		openersMu.RUnlock()
		if !found {
			return nil, Invalidf("open", "no engine for %s:// (for PostgreSQL, import github.com/seed178a96f3/rechist/postgres)", scheme)
		}
		cfg, err := cfg.normalized()
		if err != nil {
			return nil, err
		}
		return open(ctx, path, cfg)
	}
	return Open(ctx, path, cfg)
}
