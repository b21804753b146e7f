package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/postgres/internal/db"
)

// pipelined says whether Commit can run batch in two round trips
// (commitPipelined): every request is an insert or a sync push whose rows
// go into the pooled INSERT (pooled). Those are the batches of Store,
// small StoreMany calls and sync pushes, most of what writers commit.
func pipelined(batch []*core.Request) bool {
	for _, r := range batch {
		if !pooled(r) {
			return false
		}
	}
	return true
}

// commitPipelined is Commit for a batch that pipelined accepts, in two
// round trips where statement by statement takes four for an insert and
// eight for a sync push (a WAN's round trip each, for a device pushing
// straight to the server). The transaction's id comes back in the first,
// before COMMIT is sent in the second, so a COMMIT whose answer is lost
// is learned as in Commit; a failure before that wrote nothing.
//
// Inserts only: BEGIN and BeginWriteWithRecords, then COMMIT. With sync
// pushes or a new epoch: BEGIN, BeginWrite, the epoch's statements, and
// LockSyncCursor and SyncCursor for each source; the cursors' moves are
// checked here (SyncStep.Next); then the cursor writes, the INSERT and
// COMMIT.
func (e *engine) commitPipelined(ctx context.Context, batch []*core.Request) error {
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer conn.Release()
	sources := syncSources(batch)
	epoch := e.epoch.wants(batch)
	rows := pooledRows(batch)

	first := &pgx.Batch{}
	first.Queue("BEGIN")
	last := &pgx.Batch{}
	if len(sources) == 0 && !epoch {
		first.Queue(db.BeginWriteWithRecords, e.writerLock, rows.RecordNames, rows.ValueJsons, rows.StoredAts)
	} else {
		first.Queue(db.BeginWrite, e.writerLock)
		if epoch {
			first.Queue(db.LockHistoryForWriting)
			first.Queue(db.StartSyncEpoch)
		}
		for _, s := range sources {
			first.Queue(db.LockSyncCursor, s)
		}
		for _, s := range sources {
			first.Queue(db.SyncCursor, s)
		}
	}
	var xid string
	cursors := make(map[string]core.SyncCursor, len(sources))
	err = runBatch(ctx, conn, first, func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		if err := br.QueryRow().Scan(&xid); err != nil {
			return statementError(nil, err) // rows of several requests: which one is unknown
		}
		for range len(first.QueuedQueries) - 2 - len(sources) {
			if _, err := br.Exec(); err != nil {
				return statementError(nil, err)
			}
		}
		for _, s := range sources {
			var c db.SyncCursorRow
			if err := br.QueryRow().Scan(&c.LastID, &c.LastHash, &c.RowsSent, &c.RowsMissed, &c.UpdatedAt); err != nil {
				return statementError(nil, err)
			}
			cursors[s] = core.SyncCursor{LastID: c.LastID, LastHash: c.LastHash, Sent: c.RowsSent, Missed: c.RowsMissed, UpdatedMs: c.UpdatedAt}
		}
		return nil
	})
	if err != nil {
		rollback(conn)
		return err
	}
	if len(sources) > 0 || epoch {
		for _, r := range batch {
			if r.Kind != core.KindSync {
				continue
			}
			next, err := r.Sync.Next(cursors[r.Sync.Source], len(r.Rows))
			if err != nil {
				rollback(conn)
				return &core.RequestError{Request: r, Err: err}
			}
			cursors[r.Sync.Source] = next
		}
		for _, s := range sources {
			c := cursors[s]
			last.Queue(db.SetSyncCursor, s, c.LastID, c.LastHash, c.Sent, c.Missed, c.UpdatedMs)
			last.Queue(db.SetSyncCursorEpoch, s, c.LastEpoch)
		}
		last.Queue(db.InsertRecords, rows.RecordNames, rows.ValueJsons, rows.StoredAts)
	}
	last.Queue("COMMIT")
	var tag pgconn.CommandTag
	err = runBatch(ctx, conn, last, func(br pgx.BatchResults) error {
		for range len(last.QueuedQueries) - 1 {
			if _, err := br.Exec(); err != nil {
				return statementError(nil, err) // rows of several requests: which one is unknown
			}
		}
		var err error
		tag, err = br.Exec()
		return err
	})
	var pe *pgconn.PgError
	switch {
	case err == nil && tag.String() == "ROLLBACK":
		return errors.New("commit: the server rolled the transaction back")
	case err == nil:
		e.epoch.committed(epoch)
		return nil
	case errors.As(err, &pe):
		// The server refused a statement (and skipped COMMIT) or the
		// COMMIT itself: nothing was written.
		rollback(conn)
		return err
	}
	err = e.learnOutcome(xid, fmt.Errorf("commit: %w", err))
	if err == nil {
		e.epoch.committed(epoch)
	}
	return err
}

// pooledRows gathers the rows of batch's requests, in queue order, for
// one INSERT, and sets each request's N.
func pooledRows(batch []*core.Request) db.InsertRecordsParams {
	var arr db.InsertRecordsParams
	for _, r := range batch {
		for _, row := range r.Rows {
			arr.RecordNames = append(arr.RecordNames, row.Name)
			arr.ValueJsons = append(arr.ValueJsons, row.ValueJSON)
			arr.StoredAts = append(arr.StoredAts, row.StoredAt)
		}
		r.N = int64(len(r.Rows))
	}
	return arr
}

// runBatch sends b on conn, lets read take its results in order, and
// closes them; the first error of read or of the close is returned.
func runBatch(ctx context.Context, conn *pgxpool.Conn, b *pgx.Batch, read func(pgx.BatchResults) error) error {
	br := conn.SendBatch(ctx, b)
	err := read(br)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncSources returns the sync sources of batch's requests, sorted, once
// each: the order in which their cursors are locked.
func syncSources(batch []*core.Request) []string {
	var sources []string
	for _, r := range batch {
		if r.Kind == core.KindSync {
			sources = append(sources, r.Sync.Source)
		}
	}
	slices.Sort(sources)
	return slices.Compact(sources)
}

// rollbackWait bounds a ROLLBACK after a failed statement.
const rollbackWait = 5 * time.Second

// rollback ends conn's failed transaction before it goes back to the
// pool, or closes conn if it cannot (the pool then drops it, and the
// server rolls back).
func rollback(conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), rollbackWait)
	defer cancel()
	if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
		conn.Conn().Close(ctx) //nolint:errcheck // closing is the fallback
	}
}
