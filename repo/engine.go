package repo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/seed178a96f3/rechist/db"
	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/migrations"
	"github.com/seed178a96f3/rechist/repo/internal/syncdb"
)

// Driver is the SQLite engine, for paths without a URL scheme (and
// MemoryPath). Its type is internal, so only rechist's own packages can
// use it: package rechist opens files through it, and rechist bench opens
// its plain-SQL baselines with its OpenSQL. It is not covered by any
// compatibility promise.
var Driver = core.Driver{Name: "sqlite", Open: open, Migrations: migrationsProvider, Classify: classify, OpenSQL: openSQL}

// engine is an open SQLite file: one connection for the writer goroutine,
// one for the background checkpointer, and a read-only pool.
type engine struct {
	cfg  core.Config
	path string
	loc  location

	writeDB *sql.DB      // one connection, used only by the writer goroutine
	writeSt *writerStmts // statements prepared on writeDB
	readDB  *sql.DB      // read-only pool
	readQ   *db.Queries  // statements prepared on readDB
	// readGate is held for reading by every query on readDB, and for
	// writing by the writer for the instant it lets the WAL start over
	// (see checkpoint.go): SQLite cannot rewind a WAL that a reader uses.
	readGate sync.RWMutex
	ckpt     *checkpointer
	ckptDB   *sql.DB // the checkpointer's connection (files only)
	ckptEnd  chan struct{}
	// immutable is what a read-only open saw of a file it had to open
	// immutable (readonly.go); nil otherwise.
	immutable *immutableState
	raw       *rawPool   // C-API connections for StreamValues (rawread.go); nil in memory
	epoch     syncEpoch  // begun by the first batch that stores rows (sync.go)
	recent    recentRows // rows just committed, for the rollup (recent.go)
}

// The whole engine contract, and every optional capability: the
// checkpointer between batches, its counters, Compact and Backup.
var (
	_ core.Engine      = (*engine)(nil)
	_ core.BatchHooks  = (*engine)(nil)
	_ core.StatsFiller = (*engine)(nil)
	_ core.Compacter   = (*engine)(nil)
	_ core.Backuper    = (*engine)(nil)
)

// open opens (or creates) the database at path, applies the pending
// migrations and starts the checkpointer. path may be MemoryPath.
func open(ctx context.Context, path string, cfg core.Config) (core.Engine, error) {
	if cfg.ReadOnly && path == MemoryPath {
		return nil, core.Invalidf("open", "WithReadOnly: an in-memory database starts empty; there is nothing to read")
	}
	// Only an open that may migrate creates a file: a read-only one, or one
	// that leaves the schema to the operator, needs an existing database.
	loc, err := locate(path, !cfg.ReadOnly && !cfg.NoMigrations)
	if err != nil {
		if cfg.NoMigrations && errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%w; WithoutMigrations does not create it: run `rechist migrate up` (or goose up) first", err)
		}
		return nil, err
	}
	e := &engine{cfg: cfg, path: path, loc: loc}
	open := e.openPools
	if cfg.ReadOnly {
		open = e.openReadOnly
	}
	if err := open(ctx); err != nil {
		_ = e.closePools()
		return nil, err
	}
	if e.ckpt != nil {
		e.ckptEnd = make(chan struct{})
		go e.ckpt.run(e.ckptEnd)
	}
	return e, nil
}

// openPools opens the writer connection, migrates, checks the journal
// mode, then opens the read pool and prepares the statements of both.
func (e *engine) openPools(ctx context.Context) error {
	var err error
	if e.loc.memory {
		// An in-memory database lives with its connections: set it up on
		// the writer's own. No other process shares it.
		if e.writeDB, err = openOneConn(ctx, e.loc.dsn(withMemoryJournals(writerParams(e.cfg, true, true)))); err != nil {
			return fmt.Errorf("open %s: %w", e.path, err)
		}
		if err := e.prepareSchema(ctx, e.writeDB); err != nil {
			return err
		}
	} else {
		// A file is set up (auto-vacuum, migrations) on a connection of its
		// own, which waits the full busy timeout for another process's
		// lock; the writer's connection then waits only writerBusyTimeout
		// in SQLite, set in its DSN so that a connection database/sql opens
		// again (after a cancelled BEGIN, say) has it too: a BEGIN that
		// meets another process's write lock gives up quickly and the core
		// tries again (see Commit), so callers' deadlines hold while they
		// wait, and Close's checkpoint never holds other writers up for
		// long.
		if err := e.checkBeforeWriting(ctx); err != nil {
			return fmt.Errorf("open %s: %w", e.path, err)
		}
		setup, err := openOneConn(ctx, e.loc.dsn(writerParams(e.cfg, false, false)))
		if err == nil {
			err = e.prepareSchema(ctx, setup)
		}
		if setup != nil {
			if cerr := setup.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return fmt.Errorf("open %s: %w", e.path, err)
		}
		params := withMemoryJournals(writerParams(e.cfg, false, true))
		params.Set("_busy_timeout", fmt.Sprint(writerBusyTimeout.Milliseconds()))
		if e.writeDB, err = openOneConn(ctx, e.loc.dsn(params)); err != nil {
			return fmt.Errorf("open %s: %w", e.path, err)
		}
	}
	if !e.loc.memory {
		var mode string
		if err := e.writeDB.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			return err
		}
		if mode != "wal" {
			return fmt.Errorf("journal mode is %q, want wal", mode)
		}
	}
	if e.writeSt, err = prepareWriterStmts(ctx, e.writeDB); err != nil {
		return err
	}
	// A file whose policies have tiers: the writer keeps its rows for the
	// rollup from its first store, not from the first rollup's ask, which
	// read the first batch after an open back from the table (a schema
	// without the policies, under WithoutMigrations, has none).
	if pols, err := syncdb.New(e.writeDB).Policies(ctx); err == nil && slices.ContainsFunc(pols, func(p syncdb.RechistPolicy) bool { return p.Tiers != "" }) {
		e.recent.on = true
	}
	if !e.loc.memory {
		if e.ckptDB, err = openOneConn(ctx, e.loc.dsn(writerParams(e.cfg, false, true))); err != nil {
			return err
		}
		e.ckpt = newCheckpointer(e.ckptDB, int64(e.cfg.WALRestartPages), e.cfg.CheckpointInterval, e.cfg.Logger)
	}

	e.readDB, err = sql.Open("sqlite", e.loc.dsn(readerParams(e.cfg)))
	if err != nil {
		return err
	}
	e.readDB.SetMaxOpenConns(e.cfg.ReadConns)
	e.readDB.SetMaxIdleConns(e.cfg.ReadConns)
	if e.readQ, err = db.Prepare(ctx, e.readDB); err != nil {
		return err
	}
	e.raw = newRawPool(e.loc, e.cfg, false, e.cfg.ReadConns)
	return nil
}

// prepareSchema gives a database without tables yet incremental
// auto-vacuum, then migrates it (or, with NoMigrations, checks it).
func (e *engine) prepareSchema(ctx context.Context, conn *sql.DB) error {
	// A file created now gets incremental auto-vacuum, so that Compact can
	// give free pages back without rebuilding it. In WAL mode the setting
	// takes only through a VACUUM, instant on an empty file. If another
	// process is creating the same file at this moment, that may fail: the
	// file then works as well, only its first Compact rebuilds it.
	var tables int64
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master").Scan(&tables); err != nil {
		return err
	}
	if tables == 0 && !e.loc.memory {
		if _, err := conn.ExecContext(ctx, "PRAGMA auto_vacuum = 2"); err == nil {
			if _, err := conn.ExecContext(ctx, "VACUUM"); err != nil {
				e.cfg.Logger.Debug("rechist: incremental auto-vacuum not set", slog.Any(core.LogKeyError, err))
			}
		}
	}
	if e.cfg.NoMigrations {
		p, err := goose.NewProvider(goose.DialectSQLite3, conn, migrations.FS)
		if err != nil {
			return err
		}
		return core.CheckSchema(ctx, conn, p, versionTableExists)
	}
	return migrate(ctx, conn)
}

// openReadOnly opens only the read pool, on the file opened read-only: no
// writer, no checkpointer, no migrations, no journal-mode change.
func (e *engine) openReadOnly(ctx context.Context) error {
	var err error
	if e.readDB, e.immutable, err = openReadPool(ctx, e.loc, e.path, e.cfg, e.cfg.ReadConns); err != nil {
		return fmt.Errorf("open %s read-only: %w", e.path, err)
	}
	if err := checkHistory(ctx, e.readDB, e.cfg); err != nil {
		return fmt.Errorf("open %s read-only: %w", e.path, err)
	}
	if e.readQ, err = db.Prepare(ctx, e.readDB); err != nil {
		return fmt.Errorf("open %s read-only: %w", e.path, err)
	}
	e.raw = newRawPool(e.loc, e.cfg, e.immutable != nil, e.cfg.ReadConns)
	return nil
}

// openOneConn opens a pool of one connection that is never closed while the
// engine lives: its prepared statements and page cache stay warm, and an
// in-memory database lives as long as the writer's. A handle is returned
// even with an error, for closePools.
func openOneConn(ctx context.Context, dsn string) (*sql.DB, error) {
	d, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	d.SetMaxOpenConns(1)
	d.SetMaxIdleConns(1)
	d.SetConnMaxLifetime(0)
	d.SetConnMaxIdleTime(0)
	return d, d.PingContext(ctx)
}

// migrate applies the embedded goose migrations that the file lacks.
func migrate(ctx context.Context, conn *sql.DB) error {
	p, err := goose.NewProvider(goose.DialectSQLite3, conn, migrations.FS)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	return nil
}

// writerBusyTimeout is how long one statement of the writer's connection
// waits for another connection's lock before the core's retry loop takes
// over.
const writerBusyTimeout = 10 * time.Millisecond

// Close stops the checkpointer, copies the WAL into the database file and
// truncates it, and closes the connections. The writer has stopped (the
// core closes it first). If another connection still reads the WAL, the
// checkpoint cannot truncate it: nothing is lost (the WAL holds the
// commits), and the next opener finishes the job; that is logged, not an
// error.
func (e *engine) Close(ctx context.Context) error {
	if e.ckpt != nil {
		close(e.ckptEnd)
		<-e.ckpt.done
	}
	e.raw.close() // before the checkpoint, which an open statement would stop
	var errs []error
	if !e.loc.memory && e.writeDB != nil {
		var busy, log, copied int64
		err := e.writeDB.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &log, &copied)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("checkpoint: %w", err))
		case busy != 0:
			e.cfg.Logger.Info("rechist: WAL left for the next opener: another connection still reads it",
				slog.String(core.LogKeyPath, e.path), slog.Int64(core.LogKeyFrames, log),
				slog.Int64("copied", copied))
		}
	}
	errs = append(errs, e.closePools(), closeImmutable(e.immutable, e.path))
	return errors.Join(errs...)
}

// closePools closes whatever openPools managed to open.
func (e *engine) closePools() error {
	var errs []error
	if e.writeSt != nil {
		errs = append(errs, e.writeSt.close())
	}
	if e.readQ != nil {
		errs = append(errs, e.readQ.Close())
	}
	for _, d := range []*sql.DB{e.readDB, e.ckptDB, e.writeDB} {
		if d != nil {
			errs = append(errs, d.Close())
		}
	}
	return errors.Join(errs...)
}

// BeforeBatch lets the checkpointer's writer-assisted pass run between two
// batches (see checkpoint.go).
func (e *engine) BeforeBatch(ctx context.Context) {
	if e.ckpt != nil {
		e.ckpt.assist(ctx, e.writeDB, &e.readGate)
	}
}

// AfterBatch tells the checkpointer that the WAL grew.
func (e *engine) AfterBatch() {
	if e.ckpt != nil {
		e.ckpt.committed()
	}
}

// FillStats adds the checkpointer's rewinds.
func (e *engine) FillStats(st *core.Stats) {
	if e.ckpt != nil {
		st.WALRewinds = e.ckpt.rewinds.Load()
	}
}

// checkBeforeWriting is WithHistoryOnly's check of an existing file, on a
// read-only connection: the writer's would switch the file to WAL mode on
// connecting, before any check, so another program's file would be
// changed before it is refused.
func (e *engine) checkBeforeWriting(ctx context.Context) error {
	if !e.cfg.HistoryOnly {
		return nil
	}
	if fi, err := os.Stat(e.path); err != nil || fi.Size() == 0 {
		return nil // a new file: nothing to refuse
	}
	probe, _, err := openReadPool(ctx, e.loc, e.path, e.cfg, 1)
	if err != nil {
		return err
	}
	defer probe.Close()
	return checkHistory(ctx, probe, e.cfg)
}

// checkHistory is core.CheckHistory on the file conn reads.
func checkHistory(ctx context.Context, conn *sql.DB, cfg core.Config) error {
	rows, err := conn.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name <> 'goose_db_version' ORDER BY name`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var tables []string
	has := false
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return err
		}
		has = has || name == core.HistoryTable
		if len(tables) < 5 {
			tables = append(tables, name)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return core.CheckHistory(cfg, tables, has)
}
