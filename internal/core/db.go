package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
)

// DB is an open database: an Engine plus everything that is the same on
// every engine. All its methods are safe for concurrent use.
type DB struct {
	cfg    Config
	eng    Engine
	engine string // the driver's name, for logs
	path   string // what Path shows: the DSN without a password
	w      *Writer

	rollupKick chan struct{} // wakes runRollups (buffered: one pending pass)

	closed    atomic.Bool
	skipped   atomic.Int64 // SkippedRows of a read-only DB, which has no writer
	bgCancel  context.CancelFunc
	bgWG      sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Open checks cfg, opens dsn with its engine (d.Open migrates) and starts
// the writer and, with cfg.Retention, the retention loop. shown is what
// Path returns (a URL without its password). ctx bounds the opening only.
func Open(ctx context.Context, d Driver, dsn, shown string, cfg Config) (*DB, error) {
	const op = "open"
	cfg, err := cfg.Normalized()
	if err != nil {
		return nil, err
	}
	eng, err := d.Open(ctx, dsn, cfg)
	if err != nil {
		return nil, Wrap(op, err, d.Classify)
	}
	db := &DB{cfg: cfg, eng: eng, engine: d.Name, path: shown}
	if !cfg.ReadOnly {
		db.w = newWriter(cfg, eng)
	}
	bg, cancel := context.WithCancel(context.Background())
	db.bgCancel = cancel
	if !cfg.ReadOnly && !cfg.NoMaintenance {
		// Every writer applies the stored policies (set by any process),
		// and Config.Retention, every CleanupInterval (see runRetention).
		db.bgWG.Go(func() { db.runRetention(bg) })
		db.rollupKick = make(chan struct{}, 1)
		db.bgWG.Go(func() { db.runRollups(bg) })
	}
	cfg.Logger.Debug("rechist: opened", slog.String(LogKeyEngine, d.Name), slog.String(LogKeyPath, shown))
	return db, nil
}

// Insert writes rows in one atomic request and returns once they are
// committed. Every row is checked first; if any is invalid nothing is
// written and the error (wrapping ErrInvalidArgument) names it. See
// Writer.insert for what ctx ending means.
func (db *DB) Insert(ctx context.Context, rows []Row) error {
	const op = "store"
	if err := validateRows(op, rows); err != nil || len(rows) == 0 {
		return err
	}
	if err := db.writable(op); err != nil {
		return err
	}
	err := db.w.insert(ctx, rows)
	if err == nil {
		db.kickRollup()
	}
	return Wrap(op, err, db.eng.Classify)
}

// Cleanup deletes every row stored before cutoffMs in chunks of at most
// Config.CleanupChunk rows sized by time, each a transaction of its own,
// so stores queued meanwhile commit between chunks. If ctx ends or the DB
// closes between chunks, it returns the rows deleted so far with the
// error.
func (db *DB) Cleanup(ctx context.Context, cutoffMs int64) (int64, error) {
	const op = "cleanup"
	if cutoffMs < 0 {
		return 0, Invalidf(op, "cutoff %d ms is before the Unix epoch", cutoffMs)
	}
	n, err := db.cleanup(ctx, cutoffMs)
	return n, Wrap(op, err, db.eng.Classify)
}

func (db *DB) cleanup(ctx context.Context, cutoffMs int64) (int64, error) {
	if db.closed.Load() {
		return 0, ErrClosed
	}
	if db.w == nil {
		return 0, ErrReadOnly
	}
	n, err := db.dropPartitions(ctx, cutoffMs)
	if err != nil {
		return n, err
	}
	var m int64
	if win, ok := db.eng.(CleanupWindower); ok {
		m, err = db.cleanupInWindows(ctx, win, cutoffMs)
	} else {
		m, err = db.w.cleanup(ctx, cutoffMs)
	}
	n += m
	if err == nil {
		db.w.stats.cleanups.Add(1)
	}
	return n, err
}

// dropPartitions removes the partitions older than cutoffMs on an engine
// that has them (PartitionDropper), counting their rows as deleted.
func (db *DB) dropPartitions(ctx context.Context, cutoffMs int64) (int64, error) {
	pd, ok := db.eng.(PartitionDropper)
	if !ok || cutoffMs <= 0 || !pd.Partitioned() {
		return 0, nil
	}
	n, err := pd.DropPartitions(ctx, cutoffMs)
	db.w.stats.rowsDeleted.Add(n)
	return n, err
}

// cleanupInWindows is cleanup on an engine that deletes window by window
// of time (CleanupWindower): each window a cleanup of its own, with the
// window's end as cutoff, the last ending at cutoffMs.
func (db *DB) cleanupInWindows(ctx context.Context, win CleanupWindower, cutoffMs int64) (int64, error) {
	var total int64
	for startMs := int64(math.MinInt64); ; {
		endMs, err := win.CleanupWindowEnd(ctx, startMs, cutoffMs)
		if err != nil {
			return total, err
		}
		endMs = min(max(endMs, startMs+1), cutoffMs)
		n, err := db.w.cleanup(ctx, endMs)
		total += n
		if err != nil || endMs == cutoffMs {
			return total, err
		}
		startMs = endMs
	}
}

// writable says why op cannot write now (closed, read-only), or nil.
func (db *DB) writable(op string) error {
	switch {
	case db.closed.Load():
		return Wrap(op, ErrClosed, nil)
	case db.w == nil:
		return Wrap(op, ErrReadOnly, nil)
	}
	return nil
}

// Compact asks the engine to give the space of deleted rows back to the
// file system; the writer runs it alone, between batches.
func (db *DB) Compact(ctx context.Context) error {
	const op = "compact"
	if err := db.writable(op); err != nil {
		return err
	}
	for {
		more, err := db.w.submit(ctx, newRequest(KindCompact))
		if err != nil || more == 0 {
			return Wrap(op, err, db.eng.Classify)
		}
	}
}

// Backup writes a consistent copy of the database to dst, if the engine
// can; it only reads, so it works on a read-only DB too.
func (db *DB) Backup(ctx context.Context, dst string) error {
	const op = "backup"
	if dst == "" {
		return Invalidf(op, "destination path is empty")
	}
	if db.closed.Load() {
		return Wrap(op, ErrClosed, nil)
	}
	b, ok := db.eng.(Backuper)
	if !ok {
		return Wrap(op, fmt.Errorf("%w: %s databases are backed up with their own tools (PostgreSQL: pg_dump -t record_history)", errors.ErrUnsupported, db.engine), nil)
	}
	return db.readError(op, b.Backup(ctx, dst))
}

// Query compiles pattern, checks r and returns the matching rows in result
// order (see Reader.Query).
func (db *DB) Query(ctx context.Context, pattern string, r Range) ([]Row, error) {
	const op = "query"
	if db.cfg.TopicPatterns || r.OldestFirst {
		// The engines' SQL speaks the '*' language and gives the newest
		// first; topic patterns and the oldest first are answered record
		// by record.
		var rows []Row
		for row, err := range db.All(ctx, pattern, r) {
			if err != nil {
				return nil, err
			}
			rows = append(rows, row)
		}
		return rows, nil
	}
	p, err := CompilePattern(op, pattern)
	if err != nil {
		return nil, err
	}
	if err := r.check(op); err != nil {
		return nil, err
	}
	var rows []Row
	err = db.readOne(op, func(rd Reader) (err error) {
		rows, err = rd.Query(ctx, p, r)
		return err
	})
	return rows, err
}

// Summary describes what the database holds; see Engine.Summary.
func (db *DB) Summary(ctx context.Context, top int) (Summary, error) {
	const op = "summary"
	if top < 0 {
		return Summary{}, Invalidf(op, "top must not be negative, got %d", top)
	}
	if db.closed.Load() {
		return Summary{}, Wrap(op, ErrClosed, nil)
	}
	s, err := db.eng.Summary(ctx, top)
	return s, db.readError(op, err)
}

// readError wraps a read's error; a read that failed because Close closed
// its connections under it reports ErrClosed.
func (db *DB) readError(op string, err error) error {
	if err == nil {
		return nil
	}
	if db.closed.Load() && ctxAlive(err) {
		return Wrap(op, ErrClosed, nil)
	}
	return Wrap(op, err, db.eng.Classify)
}

func ctxAlive(err error) bool {
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// Stats returns the counters of the writer and of the engine.
func (db *DB) Stats() Stats {
	var st Stats
	if db.w != nil {
		st = db.w.Stats()
	} else {
		st.SkippedRows = db.skipped.Load()
	}
	if f, ok := db.eng.(StatsFiller); ok {
		f.FillStats(&st)
	}
	return st
}

// CountSkipped adds n to Stats.SkippedRows; the typed layer calls it for
// rows it could not decode.
func (db *DB) CountSkipped(n int64) {
	if db.w != nil {
		db.w.stats.skippedRows.Add(n)
	} else {
		db.skipped.Add(n)
	}
}

// Logger returns the configured logger (never nil).
func (db *DB) Logger() *slog.Logger { return db.cfg.Logger }

// Path returns what the DB was opened with, without a password.
func (db *DB) Path() string { return db.path }

// Engine returns the engine, for its own package's tests.
func (db *DB) Engine() Engine { return db.eng }

// Close is the one Close order of every engine:
//
//  1. calls made from now on get ErrClosed;
//  2. the retention loop is stopped and waited for (a pass it had begun
//     ends between two chunks, quietly);
//  3. the writer commits every request it accepted and stops;
//  4. the engine closes (SQLite: checkpoint, close the connections),
//     bounded by Config.BatchTimeout.
//
// It is idempotent: later calls return the first call's result.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.closed.Store(true)
		db.bgCancel()
		db.bgWG.Wait()
		if db.w != nil {
			db.w.close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), db.cfg.BatchTimeout)
		defer cancel()
		if err := db.eng.Close(ctx); err != nil {
			db.closeErr = Wrap("close", err, db.eng.Classify)
		}
		db.cfg.Logger.Debug("rechist: closed", slog.String(LogKeyPath, db.path))
	})
	return db.closeErr
}
