package core

import (
	"fmt"
	"log/slog"
	"runtime"
	"time"
)

// Synchronous is SQLite's synchronous setting for the writer connection
// (package rechist has its own type; this is the engines' copy).
// The zero value means the default, [SyncFull].
type Synchronous int

const (
	// SyncFull syncs the WAL on every commit: a committed write survives a
	// power loss. The default, as durable as the Rust crate.
	SyncFull Synchronous = iota + 1
	// SyncNormal syncs the WAL only at checkpoints: a commit survives a crash
	// of the process but the last commits may be lost on power loss. Faster.
	SyncNormal
)

// String returns the PRAGMA value, "FULL" or "NORMAL".
func (s Synchronous) String() string {
	switch s {
	case SyncFull:
		return "FULL"
	case SyncNormal:
		return "NORMAL"
	}
	return fmt.Sprintf("Synchronous(%d)", int(s))
}

// Defaults used for the zero fields of a Config.
const (
	DefaultBusyTimeout     = 5 * time.Second
	DefaultQueueSize       = 1024
	DefaultMaxBatchRows    = 4096
	DefaultCleanupInterval = time.Hour
	DefaultCleanupChunk    = 4096
	DefaultCacheSizeKiB    = 64 << 10 // 64 MiB of page cache per connection
	DefaultWALRestartPages = 16384    // 64 MiB of WAL with 4 KiB pages, 16 MiB with 1 KiB
	DefaultCheckpointEvery = 100 * time.Millisecond
	DefaultBatchTimeout    = time.Minute
	// DefaultPageSize is the page size of a SQLite file rechist creates
	// (existing files keep theirs): 1 KiB rather than SQLite's 4 KiB, so a
	// group commit that dirties one index leaf a row writes a quarter of
	// the WAL (docs/performance.md, "Page size").
	DefaultPageSize = 1024
)

// Config tunes a DB and its engine. The zero value is valid; zero fields
// take the defaults above. Fields marked SQLite are ignored by other
// engines (package rechist refuses the options that set them there).
type Config struct {
	// Synchronous is the writer's durability mode; zero means SyncFull. SQLite.
	Synchronous Synchronous
	// BusyTimeout is how long a statement waits for a lock held by another
	// process before failing with SQLITE_BUSY. SQLite.
	BusyTimeout time.Duration
	// QueueSize bounds the number of write requests waiting for the writer.
	// A caller that finds the queue full waits (or gives up with its ctx).
	QueueSize int
	// MaxBatchRows bounds how many rows the writer gathers into one
	// transaction. A single request larger than this is still committed
	// whole, in a transaction of its own.
	MaxBatchRows int
	// CacheSizeKiB is the page cache of each connection: the writer's, the
	// checkpointer's and every reader's (PRAGMA cache_size). SQLite.
	CacheSizeKiB int
	// WALRestartPages is the most the WAL may grow (in pages) before the
	// writer helps the background checkpointer rewind it; the threshold
	// follows the write rate down to a sixteenth of it. SQLite.
	WALRestartPages int
	// CheckpointInterval is the least time between two background
	// checkpoint passes: longer passes copy a page changed by many commits
	// once. SQLite.
	CheckpointInterval time.Duration
	// PageSize is the page size, in bytes, of a SQLite file the writer
	// creates: a power of two from 512 to 65536. It does not change a file
	// that already exists (a WAL file keeps its page size). SQLite.
	PageSize int
	// BatchTimeout is the deadline of every write transaction the writer
	// runs (a batch, a retry, a cleanup chunk): no commit waits longer for
	// a lock or a server, so no caller waits for ever.
	BatchTimeout time.Duration
	// ReadConns is the size of the read-only connection pool; zero means
	// max(4, GOMAXPROCS).
	ReadConns int
	// Retention, when positive, deletes rows older than now-Retention once
	// at Open (in the background) and then every CleanupInterval.
	Retention time.Duration
	// CleanupInterval is the period of the retention cleanup.
	CleanupInterval time.Duration
	// CleanupChunk is the most rows one cleanup transaction deletes
	// (chunks are sized by time within it: chunkSizer).
	CleanupChunk int
	// Logger receives warnings (undecodable rows, failed cleanups) and
	// lifecycle events at debug level. Nil discards everything.
	Logger *slog.Logger
	// Now is the clock used for retention; nil means time.Now.
	Now func() time.Time
	// ReadOnly opens an existing database without creating, migrating or
	// changing anything; writes fail with ErrReadOnly.
	ReadOnly bool
	// TopicPatterns switches every pattern to the topic language (see
	// CompileTopicPattern).
	TopicPatterns bool
	// NoMigrations leaves the schema alone; a schema that is behind is an
	// error at Open.
	NoMigrations bool
	// HistoryOnly refuses to add rechist's tables to a database that
	// holds other tables but no record_history (WithHistoryOnly).
	HistoryOnly bool
	// NoMaintenance starts no background retention passes and no
	// background rollups (WithoutMaintenance).
	NoMaintenance bool
	// PartitionWidth, when positive, keeps record_history in partitions
	// of that width: a PostgreSQL engine converts an unpartitioned table
	// at Open (WithPartitions).
	PartitionWidth time.Duration
	// Given names the options the caller gave (WithReadConns, ...), for
	// engines that must not override them or must refuse a conflict.
	Given []string
}

// Normalized returns c with defaults filled in, or an error naming the
// first field that is out of range.
func (c Config) Normalized() (Config, error) {
	const op = "open"
	switch c.Synchronous {
	case 0:
		c.Synchronous = SyncFull
	case SyncFull, SyncNormal:
	default:
		return c, Invalidf(op, "synchronous mode %d is neither SyncFull nor SyncNormal", int(c.Synchronous))
	}
	positive := []struct {
		name string
		v    int64
		def  int64
		set  func(int64)
	}{
		{"busy timeout", int64(c.BusyTimeout), int64(DefaultBusyTimeout), func(v int64) { c.BusyTimeout = time.Duration(v) }},
		{"queue size", int64(c.QueueSize), DefaultQueueSize, func(v int64) { c.QueueSize = int(v) }},
		{"max batch rows", int64(c.MaxBatchRows), DefaultMaxBatchRows, func(v int64) { c.MaxBatchRows = int(v) }},
		{"cache size", int64(c.CacheSizeKiB), DefaultCacheSizeKiB, func(v int64) { c.CacheSizeKiB = int(v) }},
		{"WAL restart pages", int64(c.WALRestartPages), DefaultWALRestartPages, func(v int64) { c.WALRestartPages = int(v) }},
		{"checkpoint interval", int64(c.CheckpointInterval), int64(DefaultCheckpointEvery), func(v int64) { c.CheckpointInterval = time.Duration(v) }},
		{"read connections", int64(c.ReadConns), int64(max(4, runtime.GOMAXPROCS(0))), func(v int64) { c.ReadConns = int(v) }},
		{"cleanup interval", int64(c.CleanupInterval), int64(DefaultCleanupInterval), func(v int64) { c.CleanupInterval = time.Duration(v) }},
		{"cleanup chunk", int64(c.CleanupChunk), DefaultCleanupChunk, func(v int64) { c.CleanupChunk = int(v) }},
		{"batch timeout", int64(c.BatchTimeout), int64(DefaultBatchTimeout), func(v int64) { c.BatchTimeout = time.Duration(v) }},
	}
	for _, p := range positive {
		switch {
		case p.v < 0:
			return c, Invalidf(op, "%s must not be negative, got %d", p.name, p.v)
		case p.v == 0:
			p.set(p.def)
		}
	}
	switch {
	case c.PageSize == 0:
		c.PageSize = DefaultPageSize
	case !ValidPageSize(c.PageSize):
		return c, Invalidf(op, "page size must be a power of two from 512 to 65536, got %d", c.PageSize)
	}
	if c.Retention < 0 {
		return c, Invalidf(op, "retention must not be negative, got %v", c.Retention)
	}
	if c.PartitionWidth > 0 && (c.ReadOnly || c.NoMigrations) {
		return c, Invalidf(op, "WithPartitions: cannot be combined with WithReadOnly or WithoutMigrations, which change no schema")
	}
	if c.ReadOnly && c.Retention > 0 {
		return c, Invalidf(op, "WithReadOnly: cannot be combined with WithRetention, which deletes rows")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// ValidPageSize reports whether n is a page size SQLite accepts: a power
// of two from 512 to 65536.
func ValidPageSize(n int) bool {
	return n >= 512 && n <= 65536 && n&(n-1) == 0
}
