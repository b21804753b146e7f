package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/seed178a96f3/rechist/postgres/db"
	"github.com/seed178a96f3/rechist/postgres/migrations"
	"github.com/seed178a96f3/rechist/repo"
)

func init() {
	d := repo.Driver{Open: Open, Migrations: migrationsProvider}
	repo.Register("postgres", d)
	repo.Register("postgresql", d)
}

// Engine is an open PostgreSQL history database; it implements repo.Store.
type Engine struct {
	cfg  repo.Config
	path string // the URL without its password
	pool *pgxpool.Pool
	q    *db.Queries
	w    *repo.Writer

	bgCancel  context.CancelFunc
	bgWG      sync.WaitGroup
	closeOnce sync.Once
}

var _ repo.Store = (*Engine)(nil)

// Open connects to the database at dsn (a postgres:// URL or a pgx
// connection string), applies the pending migrations and starts the writer.
// cfg must be normalized; rechist.Open does that.
func Open(ctx context.Context, dsn string, cfg repo.Config) (repo.Store, error) {
	const op = "open"
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, repo.Invalidf(op, "bad PostgreSQL URL: %v", err)
	}
	pcfg.MaxConns = int32(max(4, cfg.ReadConns+1))
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("rechist: open: %w", err)
	}
	e := &Engine{cfg: cfg, path: redact(dsn), pool: pool, q: db.New(pool)}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("rechist: open %s: %w", e.path, err)
	}
	e.w = repo.NewWriter(cfg, e.commitBatch, repo.WriterHooks{})
	bg, cancel := context.WithCancel(context.Background())
	e.bgCancel = cancel
	if cfg.Retention > 0 {
		e.bgWG.Go(func() { repo.RunRetention(bg, cfg, e.Cleanup) })
	}
	cfg.Logger.Debug("rechist: opened", slog.String("path", e.path))
	return e, nil
}

// migrate applies the embedded migrations under goose's PostgreSQL session
// lock (an advisory lock), so that instances starting at once take turns.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn := stdlib.OpenDBFromPool(pool)
	defer conn.Close()
	p, err := newProvider(conn)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	return nil
}

func newProvider(conn *sql.DB) (*goose.Provider, error) {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, conn, migrations.FS, goose.WithSessionLocker(locker))
}

// migrationsProvider is the driver's Migrations: a provider on a
// connection of its own, for rechist.MigrationStatus and friends.
func migrationsProvider(ctx context.Context, dsn string) (*goose.Provider, func() error, error) {
	conn, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, nil, err
	}
	if err := conn.PingContext(ctx); err != nil {
		conn.Close()
		return nil, nil, err
	}
	p, err := newProvider(conn)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return p, conn.Close, nil
}

// copyRows is the request size from which rows go through COPY rather than
// one INSERT of arrays.
const copyRows = 1000

// commitBatch is the engine's repo.CommitFunc: the batch in one
// transaction, every small insert request's rows in a single INSERT, large
// ones through COPY, cleanup chunks as DELETEs.
func (e *Engine) commitBatch(ctx context.Context, batch []*repo.Request, ns []int64) error {
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	q := e.q.WithTx(tx)
	var arr db.InsertRecordsParams
	for i, r := range batch {
		switch {
		case r.Rows == nil:
			if ns[i], err = q.DeleteOlderThanChunk(ctx, db.DeleteOlderThanChunkParams{CutoffMs: r.CutoffMs, ChunkSize: r.Chunk}); err != nil {
				return err
			}
		case len(r.Rows) >= copyRows:
			params := make([]db.CopyRecordsParams, len(r.Rows))
			for j, row := range r.Rows {
				params[j] = db.CopyRecordsParams{RecordName: row.Name, ValueJson: row.ValueJSON, StoredAt: row.StoredAt}
			}
			if ns[i], err = q.CopyRecords(ctx, params); err != nil {
				return err
			}
		default:
			for _, row := range r.Rows {
				arr.RecordNames = append(arr.RecordNames, row.Name)
				arr.ValueJsons = append(arr.ValueJsons, row.ValueJSON)
				arr.StoredAts = append(arr.StoredAts, row.StoredAt)
			}
			ns[i] = int64(len(r.Rows))
		}
	}
	if len(arr.RecordNames) > 0 {
		if err := q.InsertRecords(ctx, arr); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Insert writes rows atomically through the writer; see repo.Writer.Insert.
func (e *Engine) Insert(ctx context.Context, rows []repo.Row) error { return e.w.Insert(ctx, rows) }

// Cleanup deletes rows stored before cutoffMs in chunks; see
// repo.Writer.Cleanup.
func (e *Engine) Cleanup(ctx context.Context, cutoffMs int64) (int64, error) {
	return e.w.Cleanup(ctx, cutoffMs)
}

// Stats returns the writer's counters.
func (e *Engine) Stats() repo.Stats { return e.w.Stats() }

// CountSkipped adds n to Stats.SkippedRows.
func (e *Engine) CountSkipped(n int64) { e.w.CountSkipped(n) }

// Logger returns the configured logger.
func (e *Engine) Logger() *slog.Logger { return e.cfg.Logger }

// Path returns the URL the engine was opened with, without its password.
func (e *Engine) Path() string { return e.path }

// Close stops new writes (ErrClosed), commits every accepted write, stops
// the retention loop and closes the pool. It is idempotent.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.bgCancel()
		e.bgWG.Wait()
		e.w.Close()
		e.pool.Close()
		e.cfg.Logger.Debug("rechist: closed", slog.String("path", e.path))
	})
	return nil
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "postgres"
	}
	return u.Redacted()
}
