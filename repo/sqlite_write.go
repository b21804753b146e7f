package repo

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/seed178a96f3/rechist/db"
	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/repo/internal/syncdb"
)

// Commit runs the whole batch in one immediate write transaction on the
// writer connection. A BEGIN that meets another connection's write lock
// fails after a short wait (writerBusyTimeout) as Retryable: the core tries
// the batch again until its deadline, honouring its callers' ctx between
// tries. A statement that fails on one request's data is a RequestError.
//
// The statements inside the transaction run without ctx's cancellation:
// each is bounded work under a write lock already held (one row, or one
// chunk of a delete), and the driver would start a goroutine per statement
// to watch a cancellable context (a batch of 200 rows, 200 goroutines). The
// batch's deadline still bounds BEGIN, the one step that waits for a lock.
//
// A batch of one row, the common case when one caller stores in sequence,
// is one autocommit INSERT instead: one driver call rather than BEGIN,
// INSERT and COMMIT with their goroutines, as the Rust crate commits. The
// handle's first batch that stores rows takes the transaction: it begins
// the handle's sync epoch before its rows (sync.go).
func (e *engine) Commit(ctx context.Context, batch []*core.Request) error {
	if len(batch) == 1 && batch[0].Kind == core.KindInsert && len(batch[0].Rows) == 1 && e.epoch.begun.Load() {
		return e.commitOneRow(ctx, batch[0])
	}
	// Inserts alone are kept for the rollup (recent.go); any other write
	// to record_history forgets what was kept (a KindTiers request's
	// deletes do so in tierStore).
	inserts := true
	for _, r := range batch {
		switch r.Kind {
		case core.KindInsert:
		case core.KindTiers:
			inserts = false
		default:
			inserts = false
			e.recent.drop()
		}
	}
	keep := inserts && e.recent.wanted()
	tx, err := e.writeDB.BeginTx(ctx, nil)
	if err != nil {
		err = fmt.Errorf("begin: %w", err)
		if classify(err) == core.ErrBusy {
			return core.Retryable(err)
		}
		return err
	}
	ts := &txStmts{tx: tx, stmts: e.writeSt, bound: map[string]*sql.Stmt{}}
	q, sq := db.New(ts), syncdb.New(ts)
	stmtCtx := context.WithoutCancel(ctx)
	ins := inserter{q: q, sq: sq}
	fail := func(r *core.Request, err error) error {
		_ = tx.Rollback()
		var re *core.RequestError
		if errors.As(err, &re) {
			return err
		}
		if requestsFault(err) {
			return &core.RequestError{Request: r, Err: err} // r nil: one of several
		}
		return err
	}
	epochStarted, err := e.epoch.begin(stmtCtx, sq, batch)
	if err != nil {
		return fail(nil, err)
	}
	for _, r := range batch {
		if r.Kind == core.KindInsert {
			// Insert requests' rows are pooled, eight to a statement,
			// across requests; a refused row is then one of the pool's.
			r.N = int64(len(r.Rows))
			if err := ins.add(stmtCtx, r.Rows); err != nil {
				return fail(nil, err)
			}
			continue
		}
		if err := ins.flush(stmtCtx); err != nil {
			return fail(nil, err)
		}
		if r.Kind == core.KindTiers {
			// The function sees the batch's deadline; its statements
			// run without cancellation all the same (tierStore).
			r.N, err = runTiers(ctx, ts, q, sq, r, &e.recent)
		} else {
			r.N, err = applyRequest(stmtCtx, q, sq, r)
		}
		if err != nil {
			return fail(r, err)
		}
		if r.Kind == core.KindDeleteChunk || r.Kind == core.KindDeleteRange {
			// Inside this write transaction no other connection deletes:
			// a short chunk is the last one.
			r.More = r.N == r.Chunk
		}
	}
	if err := ins.flushRows(stmtCtx); err != nil {
		return fail(nil, err)
	}
	var lastID, version int64
	if keep {
		// Before the names' upsert, which may insert a name's row.
		if err := tx.QueryRowContext(stmtCtx, lastInsertAndVersion).Scan(&lastID, &version); err != nil {
			return fail(nil, err)
		}
	}
	if err := ins.flushCounts(stmtCtx); err != nil {
		return fail(nil, err)
	}
	if err := tx.Commit(); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("commit: %w", err)
	}
	e.epoch.committed(epochStarted)
	if keep {
		e.recent.add(version, lastID, batch)
	}
	return nil
}

// lastInsertAndVersion reads, inside a write transaction, the id of its
// last insert and the connection's data_version, which changes when
// another connection has committed since it was last read (recent.go).
const lastInsertAndVersion = `SELECT last_insert_rowid(), data_version FROM pragma_data_version`

// inserter pools the rows of a batch's insert requests and inserts them
// eight to a statement (InsertRecords8), the rest one by one, in order.
// It counts them into the names table itself (one upsert per name, not the
// insert trigger's one per row: migration 00008), while the mark says so.
type inserter struct {
	q  *db.Queries
	sq *syncdb.Queries
	// rows are pooled, fewer than eight.
	rows []core.Row
	// marked: the mark is set for this run of inserts; counting: it was
	// there to set, so counts are this run's rows by name.
	marked, counting bool
	counts           map[string]*nameCount
}

// nameCount is one name's rows in a run of inserts: how many, the oldest
// and newest times.
type nameCount struct{ rows, first, last int64 }

func (in *inserter) add(ctx context.Context, rows []core.Row) error {
	if !in.marked {
		n, err := in.sq.SetWriterCounts(ctx, 1)
		if err != nil {
			return err
		}
		in.marked, in.counting = true, n == 1
	}
	if in.counting {
		if in.counts == nil {
			in.counts = map[string]*nameCount{}
		}
		for i := range rows {
			r := &rows[i]
			c := in.counts[r.Name]
			if c == nil {
				in.counts[r.Name] = &nameCount{rows: 1, first: r.StoredAt, last: r.StoredAt}
				continue
			}
			c.rows++
			c.first, c.last = min(c.first, r.StoredAt), max(c.last, r.StoredAt)
		}
	}
	for len(rows) > 0 {
		if len(in.rows) == 0 && len(rows) >= 8 {
			if err := in.q.InsertRecords8(ctx, eight(rows[:8])); err != nil {
				return err
			}
			rows = rows[8:]
			continue
		}
		take := min(8-len(in.rows), len(rows))
		in.rows = append(in.rows, rows[:take]...)
		rows = rows[take:]
		if len(in.rows) == 8 {
			if err := in.q.InsertRecords8(ctx, eight(in.rows)); err != nil {
				return err
			}
			in.rows = in.rows[:0]
		}
	}
	return nil
}

// flush inserts the pooled rows and adds the run's counts: what must be
// done before the transaction runs any other statement.
func (in *inserter) flush(ctx context.Context) error {
	if err := in.flushRows(ctx); err != nil {
		return err
	}
	return in.flushCounts(ctx)
}

// flushRows inserts the pooled rows one by one.
func (in *inserter) flushRows(ctx context.Context) error {
	for i := range in.rows {
		row := &in.rows[i]
		if err := in.q.InsertRecord(ctx, db.InsertRecordParams{RecordName: row.Name, ValueJson: row.ValueJSON, StoredAt: row.StoredAt}); err != nil {
			return err
		}
	}
	in.rows = in.rows[:0]
	return nil
}

// flushCounts adds the run's counts to the names table in one upsert and
// clears the mark, so that the trigger counts whatever comes next.
func (in *inserter) flushCounts(ctx context.Context) error {
	if !in.marked {
		return nil
	}
	if len(in.counts) > 0 {
		list := make([][4]any, 0, len(in.counts))
		for name, c := range in.counts {
			list = append(list, [4]any{name, c.rows, c.first, c.last})
		}
		js, err := json.Marshal(list)
		if err != nil {
			return err
		}
		if err := in.sq.AddNamedRows(ctx, string(js)); err != nil {
			return err
		}
		clear(in.counts)
	}
	if _, err := in.sq.SetWriterCounts(ctx, 0); err != nil {
		return err
	}
	in.marked, in.counting = false, false
	return nil
}

func eight(r []core.Row) db.InsertRecords8Params {
	return db.InsertRecords8Params{
		N1: r[0].Name, V1: r[0].ValueJSON, T1: r[0].StoredAt,
		N2: r[1].Name, V2: r[1].ValueJSON, T2: r[1].StoredAt,
		N3: r[2].Name, V3: r[2].ValueJSON, T3: r[2].StoredAt,
		N4: r[3].Name, V4: r[3].ValueJSON, T4: r[3].StoredAt,
		N5: r[4].Name, V5: r[4].ValueJSON, T5: r[4].StoredAt,
		N6: r[5].Name, V6: r[5].ValueJSON, T6: r[5].StoredAt,
		N7: r[6].Name, V7: r[6].ValueJSON, T7: r[6].StoredAt,
		N8: r[7].Name, V8: r[7].ValueJSON, T8: r[7].StoredAt,
	}
}

// commitOneRow stores the one row of r in an autocommit INSERT. SQLite
// documents that a statement outside an explicit transaction that fails
// with SQLITE_BUSY wrote nothing and may be tried again: that failure is
// Retryable, as a BEGIN that meets another connection's lock is.
func (e *engine) commitOneRow(ctx context.Context, r *core.Request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	st, err := e.writeSt.get(db.InsertRecord)
	if err != nil {
		return err
	}
	row := &r.Rows[0]
	res, err := st.ExecContext(context.WithoutCancel(ctx), row.Name, row.ValueJSON, row.StoredAt)
	switch {
	case err == nil:
		r.N = 1
		e.keepOneRow(ctx, res, r)
		return nil
	case classify(err) == core.ErrBusy:
		return core.Retryable(fmt.Errorf("insert: %w", err))
	case requestsFault(err):
		return &core.RequestError{Request: r, Err: err}
	}
	return err
}

// keepOneRow keeps the row an autocommit INSERT just committed for the
// rollup (recent.go), as a transaction's rows are kept. Its id is the
// insert's (the names trigger's insert does not change it); data_version,
// read after the COMMIT, is unchanged only if no other connection has
// committed since the cache's version was read, so the cache and the row
// are still exactly the table's; changed (or unread), the cache is
// dropped. Without it, a writer committing batches of one row between
// larger ones (64 goroutines storing) dropped the cache at each, and the
// rollup read its rows back from the table.
func (e *engine) keepOneRow(ctx context.Context, res sql.Result, r *core.Request) {
	if !e.recent.wanted() {
		return
	}
	id, err := res.LastInsertId()
	var version int64
	if err == nil {
		err = e.writeDB.QueryRowContext(context.WithoutCancel(ctx), dataVersion).Scan(&version)
	}
	if err != nil || !e.recent.addIfVersion(version, id, r) {
		e.recent.drop()
	}
}

// applyRequest runs one request's statements inside the transaction.
func applyRequest(ctx context.Context, q *db.Queries, sq *syncdb.Queries, r *core.Request) (int64, error) {
	switch r.Kind {
	case core.KindDeleteChunk:
		times, err := q.DeleteOlderThanChunk(ctx, db.DeleteOlderThanChunkParams{FromMs: r.StartMs, CutoffMs: r.CutoffMs, ChunkSize: r.Chunk})
		r.LastMs = r.StartMs
		for _, t := range times {
			r.LastMs = max(r.LastMs, t)
		}
		return int64(len(times)), err
	case core.KindDeleteRange:
		return q.DeleteRecordRangeChunk(ctx, db.DeleteRecordRangeChunkParams{Name: r.Name, StartMs: r.StartMs, EndMs: r.CutoffMs, ChunkSize: r.Chunk})
	case core.KindSync:
		if err := moveSyncCursor(ctx, sq, r); err != nil {
			return 0, err
		}
	case core.KindSetSourceID:
		return 0, setSourceID(ctx, sq, r.Name)
	}
	for i := range r.Rows {
		row := &r.Rows[i]
		err := q.InsertRecord(ctx, db.InsertRecordParams{RecordName: row.Name, ValueJson: row.ValueJSON, StoredAt: row.StoredAt})
		if err != nil {
			return 0, err
		}
	}
	return int64(len(r.Rows)), nil
}

// requestsFault reports whether a statement failed because of the request's
// own data (a constraint, a trigger's RAISE, a value too big) rather than
// the database's state.
func requestsFault(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH:
		return true
	}
	return false
}
