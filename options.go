package rechist

import (
	"log/slog"
	"time"

	"github.com/seed178a96f3/rechist/internal/core"
)

// Synchronous is the SQLite writer's durability mode: [SyncFull] (the
// default) or [SyncNormal].
type Synchronous int

const (
	// SyncFull makes every acknowledged write survive a power loss: SQLite
	// syncs the WAL on every commit. As durable as the Rust crate.
	SyncFull Synchronous = iota + 1
	// SyncNormal makes acknowledged writes survive a crash of the process;
	// the last ones may be lost on power loss. Faster.
	SyncNormal
)

// String returns the PRAGMA value, "FULL" or "NORMAL".
func (s Synchronous) String() string { return core.Synchronous(s).String() }

// Option configures [Open]. Every option checks its argument; a bad one, a
// nil one, an option given twice, or an option that only concerns SQLite
// files given with a postgres:// URL makes Open fail with an error
// wrapping [ErrInvalidArgument] that names it. [SyncOption] and
// [RepoOption] behave the same way.
type Option interface {
	openOption() namedOption[settings]
}

// settings gathers what the options set.
type settings struct {
	cfg        core.Config
	sqliteOnly []string // the SQLite-only options given
	serverOnly []string // the PostgreSQL-only options given
}

// option is every Option.
type option namedOption[settings]

func (o option) openOption() namedOption[settings] { return namedOption[settings](o) }

// configOption is the Option name that sets cfg with set.
func configOption(name string, set func(*core.Config) error) Option {
	return option{name: name, set: func(s *settings) error { return set(&s.cfg) }}
}

// settingsFor applies opts for path.
func settingsFor(path string, opts []Option) (core.Config, error) {
	var s settings
	if err := applyOptions("open", "Open", &s, &s.cfg.Given, opts, Option.openOption); err != nil {
		return s.cfg, err
	}
	if scheme := core.Scheme(path); scheme != "" && len(s.sqliteOnly) > 0 {
		return s.cfg, invalidOption(s.sqliteOnly[0], "applies to SQLite files only, and %s:// is not one", scheme)
	}
	if core.Scheme(path) == "" && len(s.serverOnly) > 0 {
		return s.cfg, invalidOption(s.serverOnly[0], "applies to PostgreSQL only, and %q is a SQLite file", path)
	}
	return s.cfg, nil
}

func invalidOption(name, format string, args ...any) error {
	return optionError("open", name, format, args...)
}

func positiveDuration(name string, d time.Duration, set func(*core.Config)) Option {
	return configOption(name, func(c *core.Config) error {
		if d <= 0 {
			return invalidOption(name, "want a positive duration, got %v", d)
		}
		set(c)
		return nil
	})
}

func positiveInt(name string, n int, set func(*core.Config)) Option {
	return configOption(name, func(c *core.Config) error {
		if n <= 0 {
			return invalidOption(name, "want a positive number, got %d", n)
		}
		set(c)
		return nil
	})
}

// sqliteOnly marks o as an option of the SQLite engine only.
func sqliteOnly(o Option) Option {
	return engineOnly(o, func(s *settings) *[]string { return &s.sqliteOnly })
}

// serverOnly marks o as an option of the PostgreSQL engine only.
func serverOnly(o Option) Option {
	return engineOnly(o, func(s *settings) *[]string { return &s.serverOnly })
}

// engineOnly marks o as an option of one engine: given, its name goes to
// the list given returns, which settingsFor checks against the path.
func engineOnly(o Option, given func(*settings) *[]string) Option {
	op := o.(option)
	set := op.set
	op.set = func(s *settings) error {
		if err := set(s); err != nil {
			return err
		}
		names := given(s)
		*names = append(*names, op.name)
		return nil
	}
	return op
}

// WithPartitions keeps the history on PostgreSQL in partitions of time of
// width d (whole minutes, at least one; a day suits most), aligned to the
// Unix epoch in UTC. Open converts an unpartitioned table once, under an
// exclusive lock, copying every row (minutes for tens of millions of
// rows: do it when writers can wait); a table partitioned by another
// width is an error (a width cannot change). Every process then sees the
// partitioning, with or without this option. Partitions are made for the
// times rows arrive with (a device's backlog included) and ahead of the
// current time; retention empties and drops whole partitions older than
// every record's cutoff in well under a second, where deleting them row by
// row took tens of seconds at tens of millions of rows. With rollup tiers,
// rows are deleted row by row as without partitions. See docs/postgres.md,
// "Time partitions". PostgreSQL only.
func WithPartitions(d time.Duration) Option {
	return serverOnly(configOption("WithPartitions", func(c *core.Config) error {
		if d < time.Minute || d%time.Minute != 0 {
			return invalidOption("WithPartitions", "want whole minutes, at least one, got %v", d)
		}
		c.PartitionWidth = d
		return nil
	}))
}

// WithRetention keeps rows for d: rows stored more than d ago are deleted
// once in the background right after Open, then every cleanup interval
// (see [WithCleanupInterval]). It is the default policy: records a stored
// [Policy] matches keep their rows as the policy says. Without it, and
// without policies, nothing is deleted automatically.
func WithRetention(d time.Duration) Option {
	return positiveDuration("WithRetention", d, func(c *core.Config) { c.Retention = d })
}

// WithCleanupInterval sets how often the retention cleanup runs; default
// 1h. Every handle that may write runs it, for the stored policies and
// [WithRetention]: once right after Open with WithRetention, else first
// after one interval (a short-lived program does not delete by opening).
func WithCleanupInterval(d time.Duration) Option {
	return positiveDuration("WithCleanupInterval", d, func(c *core.Config) { c.CleanupInterval = d })
}

// WithSynchronous sets the SQLite writer's durability mode; default
// [SyncFull]. SQLite only.
func WithSynchronous(s Synchronous) Option {
	return sqliteOnly(configOption("WithSynchronous", func(c *core.Config) error {
		if s != SyncFull && s != SyncNormal {
			return invalidOption("WithSynchronous", "%v is neither SyncFull nor SyncNormal", s)
		}
		c.Synchronous = core.Synchronous(s)
		return nil
	}))
}

// WithLogger sends the library's logs to l: warnings (rows skipped because
// they do not decode, failed cleanups and batches) and debug-level lifecycle
// events. By default nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return configOption("WithLogger", func(c *core.Config) error {
		if l == nil {
			return invalidOption("WithLogger", "logger is nil")
		}
		c.Logger = l
		return nil
	})
}

// WithBusyTimeout sets how long a SQLite statement waits for a lock held
// by another connection before it fails with [ErrBusy]: reads, and [Open]
// with its migrations; default 5s. The writer does not wait inside SQLite:
// a write transaction that meets another process's write lock is tried
// again every few milliseconds until its callers' ctx ends or
// [WithBatchTimeout] passes, so writers of several processes share a file.
// SQLite only.
func WithBusyTimeout(d time.Duration) Option {
	return sqliteOnly(positiveDuration("WithBusyTimeout", d, func(c *core.Config) { c.BusyTimeout = d }))
}

// WithBatchTimeout bounds every write transaction the writer goroutine runs
// (a group of stores, a retry, one cleanup chunk), on every engine: a
// transaction not committed by then is rolled back and its callers get an
// error, so no store waits for ever on a lock or a server. Default 1
// minute; a StoreMany of millions of rows on a slow disk may need more.
func WithBatchTimeout(d time.Duration) Option {
	return positiveDuration("WithBatchTimeout", d, func(c *core.Config) { c.BatchTimeout = d })
}

// WithQueueSize bounds the writes waiting for the writer goroutine; a store
// that finds the queue full waits for room. Default 1024.
func WithQueueSize(n int) Option {
	return positiveInt("WithQueueSize", n, func(c *core.Config) { c.QueueSize = n })
}

// WithMaxBatchRows bounds how many rows the writer commits in one
// transaction when it gathers concurrent stores. Default 4096.
func WithMaxBatchRows(n int) Option {
	return positiveInt("WithMaxBatchRows", n, func(c *core.Config) { c.MaxBatchRows = n })
}

// WithCleanupChunk bounds how many rows one cleanup (or Delete)
// transaction deletes, so stores are not held up by a large cleanup.
// Within it, chunks are sized by time: the first deletes 256 rows (or n,
// if less), and each next one twice as many while a chunk takes under
// 5 ms, half as many (down to 16) when one takes over 10 ms. Default 4096.
func WithCleanupChunk(n int) Option {
	return positiveInt("WithCleanupChunk", n, func(c *core.Config) { c.CleanupChunk = n })
}

// WithReadConns sets the size of the read-only connection pool; default
// max(4, GOMAXPROCS). On PostgreSQL the pool holds one more connection for
// the writer; a pool_max_conns in the URL sets the whole pool instead and
// may not be combined with this option.
func WithReadConns(n int) Option {
	return positiveInt("WithReadConns", n, func(c *core.Config) { c.ReadConns = n })
}

// WithCacheSize sets the page cache of each SQLite connection in bytes:
// the writer's, the background checkpointer's and every reader's (see
// [WithReadConns]), so the most it takes is bytes × (2 + read
// connections), and on this driver a full cache costs about twice its size
// in resident memory (a 64 MiB cache, 142 MiB RSS). Default 64 MiB; a
// program that only exports or reads can use a few MiB. A larger cache keeps more of the index in
// memory as history grows. SQLite only.
func WithCacheSize(bytes int64) Option {
	return sqliteOnly(configOption("WithCacheSize", func(c *core.Config) error {
		if bytes < 1<<10 {
			return invalidOption("WithCacheSize", "want at least 1 KiB, got %d bytes", bytes)
		}
		c.CacheSizeKiB = int(bytes >> 10)
		return nil
	}))
}

// WithPageSize sets the page size, in bytes, of a SQLite file Open
// creates: a power of two from 512 to 65536; default 1024 (SQLite's own
// default is 4096). A file that already exists keeps its page size
// (SQLite cannot change it in WAL mode), so the option only matters the
// first time. Small pages make a group commit, which dirties about one
// index leaf a row, write less to the WAL; larger ones suit files mostly
// written by StoreMany or holding values of several KiB. See
// docs/performance.md, "Page size". SQLite only.
func WithPageSize(bytes int) Option {
	return sqliteOnly(configOption("WithPageSize", func(c *core.Config) error {
		if !core.ValidPageSize(bytes) {
			return invalidOption("WithPageSize", "want a power of two from 512 to 65536, got %d", bytes)
		}
		c.PageSize = bytes
		return nil
	}))
}

// WithReadOnly opens an existing database for reading only: Open creates
// nothing, migrates nothing and changes nothing (not even the journal mode
// of a SQLite file the Rust crate made); a file that does not exist is an
// error that names it. Stores and cleanups return an error wrapping
// [ErrReadOnly]. Queries work on any schema that has the Rust crate's
// table. It cannot be combined with [WithRetention].
func WithReadOnly() Option {
	return configOption("WithReadOnly", func(c *core.Config) error {
		c.ReadOnly = true
		return nil
	})
}

// WithoutMigrations makes Open leave the schema alone: a database whose
// schema is behind the library's is an error that says to run `rechist
// migrate up` or `goose up`, and nothing is changed; a SQLite file that
// does not exist is an error too (goose, or [MigrateUp], creates it). For
// teams that run goose themselves: apply the migrations/ folder (or
// postgres/migrations) as part of the deployment, and open with this.
func WithoutMigrations() Option {
	return configOption("WithoutMigrations", func(c *core.Config) error {
		c.NoMigrations = true
		return nil
	})
}

// WithoutMaintenance makes the handle run no retention passes and no
// rollups in the background; [DB.ApplyRetention], [DB.Cleanup] and
// [DB.RollUp] still work when called, with [WithRetention] as the default
// policy. For a handle that only feeds a database another process
// maintains: `rechist sync` opens a PostgreSQL destination with it, where a
// thousand devices would otherwise each run retention and rollups on the
// server, a rollup pass holding the schema's writer lock alone across the
// device's network. Something must then maintain the database: `rechist
// serve`, an application's handle, or `rechist cleanup` from cron.
func WithoutMaintenance() Option {
	return configOption("WithoutMaintenance", func(c *core.Config) error {
		c.NoMaintenance = true
		return nil
	})
}

// WithHistoryOnly makes Open refuse, with an error wrapping
// [ErrInvalidArgument], a database that holds other tables but no
// record_history, instead of adding rechist's tables to it: for a path
// that should name a history, where another program's database is a
// mistake. The command line opens every file so unless given `--init`.
// An empty database, or one with record_history (the Rust crate's
// included), opens as always. A read-only open refuses a database without
// record_history in any case: there is nothing to read.
func WithHistoryOnly() Option {
	return configOption("WithHistoryOnly", func(c *core.Config) error {
		c.HistoryOnly = true
		return nil
	})
}

// WithTopicPatterns switches every pattern of the DB (Query, QueryLatest,
// All, Records, Delete, Aggregate) to AimDB's topic patterns: names are
// dot-separated segments; a segment "*" matches exactly one segment, "#"
// zero or more (RabbitMQ's topic exchange); every other character, '*'
// inside a segment included, stands for itself; case matters. "sensors.#"
// matches "sensors" and "sensors.temp.vienna", "temp.*" matches
// "temp.vienna" but not "temp" or "temp.vienna.indoor". The literal
// segments before the first wildcard still bound the index range. Without
// it, '*' matches any run of characters, as in the Rust crate.
func WithTopicPatterns() Option {
	return configOption("WithTopicPatterns", func(c *core.Config) error {
		c.TopicPatterns = true
		return nil
	})
}
