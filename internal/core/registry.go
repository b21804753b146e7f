package core

import (
	"context"
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
	// Migrations returns a goose provider over the engine's migrations on
	// dsn and a func that releases what it opened. Unless create is true,
	// a database that does not exist is an error, and none is created.
	Migrations func(ctx context.Context, dsn string, create bool) (*goose.Provider, func() error, error)
	// Classify is the engine's Engine.Classify, for errors of Open and of
	// the migration functions, before there is an engine.
	Classify func(error) error
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
