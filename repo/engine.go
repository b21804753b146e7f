package repo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/seed178a96f3/rechist/db"
	"github.com/seed178a96f3/rechist/migrations"
)

// Engine is an open record-history database: one writer goroutine that owns
// every write, a read-only connection pool, and the retention loop.
// All its methods are safe for concurrent use.
type Engine struct {
	cfg  Config
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

	w        *Writer
	bgCancel context.CancelFunc
	bgWG     sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// Open opens (or creates) the database at path, applies the pending
// migrations, and starts the writer. path may be MemoryPath for a private
// in-memory database. ctx bounds the opening and the migrations only.
func Open(ctx context.Context, path string, cfg Config) (*Engine, error) {
	cfg, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	loc, err := locate(path)
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, path: path, loc: loc}
	if err := e.openPools(ctx); err != nil {
		e.closePools()
		return nil, err
	}
	hooks := WriterHooks{}
	if e.ckpt != nil {
		hooks.BeforeBatch = func(ctx context.Context) { e.ckpt.assist(ctx, e.writeDB, &e.readGate) }
		hooks.AfterCommit = e.ckpt.committed
	}
	e.w = NewWriter(cfg, e.commitBatch, hooks)
	if e.ckpt != nil {
		e.ckptEnd = make(chan struct{})
		go e.ckpt.run(e.ckptEnd)
	}

	bg, cancel := context.WithCancel(context.Background())
	e.bgCancel = cancel
	if cfg.Retention > 0 {
		e.bgWG.Add(1)
		go e.runRetention(bg)
	}
	cfg.Logger.Debug("rechist: opened", slog.String(logKeyPath, path),
		slog.String(logKeySynchronous, cfg.Synchronous.String()))
	return e, nil
}

// openPools opens the writer connection, migrates, checks the journal
// mode, then opens the read pool and prepares the statements of both.
func (e *Engine) openPools(ctx context.Context) error {
	const op = "open"
	var err error
	if e.writeDB, err = openOneConn(ctx, e.loc.dsn(writerParams(e.cfg, e.loc.memory, true))); err != nil {
		return opError(op, fmt.Errorf("open %s: %w", e.path, err))
	}
	if err := migrate(ctx, e.writeDB); err != nil {
		return opError(op, err)
	}
	if !e.loc.memory {
		var mode string
		if err := e.writeDB.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			return opError(op, err)
		}
		if mode != "wal" {
			return opError(op, fmt.Errorf("journal mode is %q, want wal", mode))
		}
	}
	if e.writeSt, err = prepareWriterStmts(ctx, e.writeDB); err != nil {
		return opError(op, err)
	}
	if !e.loc.memory {
		if e.ckptDB, err = openOneConn(ctx, e.loc.dsn(writerParams(e.cfg, false, true))); err != nil {
			return opError(op, err)
		}
		e.ckpt = newCheckpointer(e.ckptDB, int64(e.cfg.WALRestartPages), e.cfg.CheckpointInterval, e.cfg.Logger)
	}

	e.readDB, err = sql.Open("sqlite", e.loc.dsn(readerParams(e.cfg)))
	if err != nil {
		return opError(op, err)
	}
	e.readDB.SetMaxOpenConns(e.cfg.ReadConns)
	e.readDB.SetMaxIdleConns(e.cfg.ReadConns)
	if e.readQ, err = db.Prepare(ctx, e.readDB); err != nil {
		return opError(op, err)
	}
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

// Close stops accepting writes (later calls get ErrClosed), commits every
// write already accepted, stops the background goroutines, checkpoints the
// WAL into the database file and closes it. It is idempotent: later calls
// return the first call's result.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.w.closed.Store(true) // reads and new writes see ErrClosed now
		e.bgCancel()
		e.bgWG.Wait()
		e.w.Close()
		if e.ckpt != nil {
			close(e.ckptEnd)
			<-e.ckpt.done
		}

		var errs []error
		if !e.loc.memory {
			if _, err := e.writeDB.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				errs = append(errs, fmt.Errorf("checkpoint: %w", err))
			}
		}
		errs = append(errs, e.closePools())
		if err := errors.Join(errs...); err != nil {
			e.closeErr = opError("close", err)
		}
		e.cfg.Logger.Debug("rechist: closed", slog.String(logKeyPath, e.path))
	})
	return e.closeErr
}

// closePools closes whatever openPools managed to open.
func (e *Engine) closePools() error {
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

// Path returns the path the engine was opened with.
func (e *Engine) Path() string { return e.path }

// Logger returns the configured logger (never nil).
func (e *Engine) Logger() *slog.Logger { return e.cfg.Logger }
