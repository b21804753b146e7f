package rechist

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/seed178a96f3/rechist/repo"
)

// Synchronous is the writer's durability mode: [SyncFull] (the default) or
// [SyncNormal].
type Synchronous = repo.Synchronous

const (
	// SyncFull makes every acknowledged write survive a power loss.
	SyncFull = repo.SyncFull
	// SyncNormal makes acknowledged writes survive a crash of the process;
	// the last ones may be lost on power loss. Faster.
	SyncNormal = repo.SyncNormal
)

// Option configures [Open]. Every option checks its argument; a bad one makes
// Open fail with an error wrapping [ErrInvalidArgument] that names it.
type Option interface {
	apply(*repo.Config) error
}

type optionFunc func(*repo.Config) error

func (f optionFunc) apply(c *repo.Config) error { return f(c) }

func invalidOption(name, format string, args ...any) error {
	return repo.Invalidf("open", "%s: %s", name, fmt.Sprintf(format, args...))
}

func positiveDuration(name string, d time.Duration, set func(*repo.Config)) Option {
	return optionFunc(func(c *repo.Config) error {
		if d <= 0 {
			return invalidOption(name, "want a positive duration, got %v", d)
		}
		set(c)
		return nil
	})
}

func positiveInt(name string, n int, set func(*repo.Config)) Option {
	return optionFunc(func(c *repo.Config) error {
		if n <= 0 {
			return invalidOption(name, "want a positive number, got %d", n)
		}
		set(c)
		return nil
	})
}

// WithRetention keeps rows for d: rows stored more than d ago are deleted
// once in the background right after Open, then every cleanup interval
// (see [WithCleanupInterval]). Without it nothing is deleted automatically.
func WithRetention(d time.Duration) Option {
	return positiveDuration("WithRetention", d, func(c *repo.Config) { c.Retention = d })
}

// WithCleanupInterval sets how often the retention cleanup runs; default 1h.
func WithCleanupInterval(d time.Duration) Option {
	return positiveDuration("WithCleanupInterval", d, func(c *repo.Config) { c.CleanupInterval = d })
}

// WithSynchronous sets the durability mode; default [SyncFull].
func WithSynchronous(s Synchronous) Option {
	return optionFunc(func(c *repo.Config) error {
		if s != SyncFull && s != SyncNormal {
			return invalidOption("WithSynchronous", "%v is neither SyncFull nor SyncNormal", s)
		}
		c.Synchronous = s
		return nil
	})
}

// WithLogger sends the library's logs to l: warnings (rows skipped because
// they do not decode, failed cleanups and batches) and debug-level lifecycle
// events. By default nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *repo.Config) error {
		if l == nil {
			return invalidOption("WithLogger", "logger is nil")
		}
		c.Logger = l
		return nil
	})
}

// WithBusyTimeout sets how long a statement waits for a lock held by another
// process before it fails; default 5s.
func WithBusyTimeout(d time.Duration) Option {
	return positiveDuration("WithBusyTimeout", d, func(c *repo.Config) { c.BusyTimeout = d })
}

// WithQueueSize bounds the writes waiting for the writer goroutine; a store
// that finds the queue full waits for room. Default 1024.
func WithQueueSize(n int) Option {
	return positiveInt("WithQueueSize", n, func(c *repo.Config) { c.QueueSize = n })
}

// WithMaxBatchRows bounds how many rows the writer commits in one
// transaction when it gathers concurrent stores. Default 4096.
func WithMaxBatchRows(n int) Option {
	return positiveInt("WithMaxBatchRows", n, func(c *repo.Config) { c.MaxBatchRows = n })
}

// WithCleanupChunk bounds how many rows one cleanup transaction deletes, so
// stores are not held up by a large cleanup. Default 256.
func WithCleanupChunk(n int) Option {
	return positiveInt("WithCleanupChunk", n, func(c *repo.Config) { c.CleanupChunk = n })
}

// WithReadConns sets the size of the read-only connection pool; default
// max(4, GOMAXPROCS).
func WithReadConns(n int) Option {
	return positiveInt("WithReadConns", n, func(c *repo.Config) { c.ReadConns = n })
}

// WithCacheSize sets the writer connection's page cache in bytes; default
// 64 MiB. A larger cache keeps more of the index in memory as history grows.
func WithCacheSize(bytes int64) Option {
	return optionFunc(func(c *repo.Config) error {
		if bytes < 1<<10 {
			return invalidOption("WithCacheSize", "want at least 1 KiB, got %d bytes", bytes)
		}
		c.CacheSizeKiB = int(bytes >> 10)
		return nil
	})
}
