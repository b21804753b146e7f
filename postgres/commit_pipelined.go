package postgres

import (
	"cmp"
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
// small StoreMany calls and sync pushes, most of what writers commit. A
// push that continues an earlier identity (SyncStep.Adopt, once per new
// identity) reads the earlier identity's epochs, and those of one that
// continued it, before it is checked (SyncStep.Continue): it takes the
// statement-by-statement path, as a Forget does.
func pipelined(batch []*core.Request) bool {
	for _, r := range batch {
		if !pooled(r) || (r.Kind == core.KindSync && (r.Sync.Forget || r.Sync.Adopt)) {
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
// Inserts only: commitInsertsAhead, in one round trip, or commitInserts
// when the pool has a single connection. With sync pushes or a new epoch: BEGIN,
// BeginWrite, the epoch's statements, and LockSyncCursor and SyncCursor
// for each source; the cursors' moves are checked here (SyncStep.Next);
// then the cursor writes, the INSERT and COMMIT.
func (e *engine) commitPipelined(ctx context.Context, batch []*core.Request) error {
	t := pipelinedTx{sources: syncSources(batch), epoch: e.epoch.wants(batch), rows: pooledRows(batch)}
	inserts := len(t.sources) == 0 && !t.epoch
	if inserts && e.aheadUsable() {
		return e.commitInsertsAhead(ctx, t.rows)
	}
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer conn.Release()
	if inserts {
		return e.commitInserts(ctx, conn, t.rows)
	}
	t.cursors = make(map[string]core.SyncCursor, len(t.sources))
	last, err := t.begin(ctx, conn, e.writerLock, batch)
	if err != nil {
		rollback(conn)
		return err
	}
	var tag pgconn.CommandTag
	err = runBatch(ctx, conn, last, func(br pgx.BatchResults) error {
		for range last.Len() - 1 {
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
	case errors.As(err, &pe):
		// The server refused a statement (and skipped COMMIT) or the
		// COMMIT itself: nothing was written.
		rollback(conn)
		return err
	case err != nil:
		err = e.learnOutcome(t.xid, fmt.Errorf("commit: %w", err))
	}
	if err == nil {
		e.epoch.committed(t.epoch)
	}
	return err
}

// pipelinedTx is a commitPipelined transaction's state.
type pipelinedTx struct {
	sources []string // the batch's sync sources, sorted
	epoch   bool     // whether it begins the handle's sync epoch
	rows    db.InsertRecordsParams
	xid     string
	cursors map[string]core.SyncCursor
	epochs  map[string][]core.SyncEpoch // by source: the epochs its pushes carry, in queue order
	// at is, by source, the destination's epoch of it at its cursor (the
	// first push's PrevID, then each push's last epoch), replace whether
	// a push's epochs replace the list (core.SyncStep.EpochsFit).
	at      map[string]epochAt
	replace map[string]bool
}

// epochAt is an epoch of a source's list on the destination, if found.
type epochAt struct {
	e     core.SyncEpoch
	found bool
}

// firstPrev returns the PrevID of source's first push in batch (0: none).
func firstPrev(batch []*core.Request, source string) int64 {
	for _, r := range batch {
		if r.Kind == core.KindSync && r.Sync.Source == source {
			return r.Sync.PrevID
		}
	}
	return 0
}

// begin sends the first round trip of a batch with sync pushes or a new
// epoch and returns the second (ending with COMMIT), the sync cursors'
// moves checked in between.
func (t *pipelinedTx) begin(ctx context.Context, conn *pgxpool.Conn, lock int64, batch []*core.Request) (*pgx.Batch, error) {
	first, last := &pgx.Batch{}, &pgx.Batch{}
	first.Queue("BEGIN")
	first.Queue(db.BeginWrite, lock)
	if t.epoch {
		first.Queue(db.LockHistoryForWriting)
		first.Queue(db.StartSyncEpoch)
	}
	for _, s := range t.sources {
		first.Queue(db.LockSyncCursor, s)
	}
	for _, s := range t.sources {
		first.Queue(db.SyncCursorWithEpoch, s)
		first.Queue(db.SyncSource, s)
		first.Queue(db.SyncSourceEpochAt, s, firstPrev(batch, s))
	}
	err := runBatch(ctx, conn, first, func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		if err := br.QueryRow().Scan(&t.xid); err != nil {
			return statementError(nil, err) // rows of several requests: which one is unknown
		}
		for range first.Len() - 2 - 3*len(t.sources) {
			if _, err := br.Exec(); err != nil {
				return statementError(nil, err)
			}
		}
		for _, s := range t.sources {
			var c db.SyncCursorWithEpochRow
			if err := br.QueryRow().Scan(&c.LastID, &c.LastHash, &c.RowsSent, &c.RowsMissed, &c.UpdatedAt, &c.LastEpoch); err != nil {
				return statementError(nil, err)
			}
			cur := core.SyncCursor{LastID: c.LastID, LastHash: c.LastHash, LastEpoch: c.LastEpoch, Sent: c.RowsSent, Missed: c.RowsMissed,
				UpdatedMs: c.UpdatedAt}
			var src db.SyncSourceRow
			switch err := br.QueryRow().Scan(&src.Pattern, &src.Prefix, &src.Horizon, &src.RowsGone, &src.ContinuedBy, &src.ContinuedAt); {
			case err == nil:
				cur = withSyncSource(cur, src)
			case !errors.Is(err, pgx.ErrNoRows):
				return statementError(nil, err)
			}
			t.cursors[s] = cur
			var at epochAt
			switch err := br.QueryRow().Scan(&at.e.Start, &at.e.Token); {
			case err == nil:
				at.found = true
			case !errors.Is(err, pgx.ErrNoRows):
				return statementError(nil, err)
			}
			if t.at == nil {
				t.at = map[string]epochAt{}
			}
			t.at[s] = at
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := t.moveCursors(batch); err != nil {
		return nil, err
	}
	for _, s := range t.sources {
		c := t.cursors[s]
		last.Queue(db.SetSyncCursor, s, c.LastID, c.LastHash, c.Sent, c.Missed, c.UpdatedMs)
		last.Queue(db.SetSyncCursorEpoch, s, c.LastEpoch)
		if c.Filtered {
			p := setSyncSourceParams(s, c)
			last.Queue(db.SetSyncSource, p.SourceID, p.Pattern, p.Prefix, p.Horizon, p.RowsGone, p.ContinuedBy, p.ContinuedAt)
		}
		if t.replace[s] {
			last.Queue(db.ForgetSyncSourceEpochs, s)
		}
		if epochs := t.epochs[s]; len(epochs) > 0 {
			p := addSyncSourceEpochsParams(s, epochs)
			last.Queue(db.AddSyncSourceEpochs, p.SourceID, p.StartIds, p.Tokens)
		}
	}
	last.Queue(db.InsertRecords, t.rows.RecordNames, t.rows.ValueJsons, t.rows.StoredAts)
	last.Queue("COMMIT")
	return last, nil
}

// moveCursors checks each sync request's move from the cursor its source
// stands at (after the moves of the requests before it) and records it.
func (t *pipelinedTx) moveCursors(batch []*core.Request) error {
	for _, r := range batch {
		if r.Kind != core.KindSync {
			continue
		}
		before := t.cursors[r.Sync.Source]
		next, err := r.Sync.Next(before, len(r.Rows))
		if err != nil {
			return &core.RequestError{Request: r, Err: err}
		}
		t.cursors[r.Sync.Source] = next
		if es := r.Sync.Epochs; len(es) > 0 {
			if t.epochs == nil {
				t.epochs, t.replace = map[string][]core.SyncEpoch{}, map[string]bool{}
			}
			if at := t.at[r.Sync.Source]; !r.Sync.EpochsFit(before, at.e, at.found) {
				t.replace[r.Sync.Source], t.epochs[r.Sync.Source] = true, nil
			}
			t.epochs[r.Sync.Source] = mergeEpochs(t.epochs[r.Sync.Source], es)
			t.at[r.Sync.Source] = epochAt{e: es[len(es)-1], found: true}
		}
	}
	return nil
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

// syncSources returns the sync sources of batch's requests, and the
// earlier identities whose history a push continues (SyncStep.Parent),
// sorted, once each: the order in which their cursors are locked.
func syncSources(batch []*core.Request) []string {
	var sources []string
	for _, r := range batch {
		if r.Kind == core.KindSync {
			sources = append(sources, r.Sync.Source)
			if r.Sync.Adopt {
				sources = append(sources, r.Sync.Parent)
			}
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

// mergeEpochs adds b's epochs to a's, by start (b's token wins), in start
// order: what several pushes of one source in a batch carry, for one
// AddSyncSourceEpochs.
func mergeEpochs(a, b []core.SyncEpoch) []core.SyncEpoch {
	out := slices.Clone(a)
	for _, e := range b {
		i, found := slices.BinarySearchFunc(out, e.Start, func(x core.SyncEpoch, start int64) int { return cmp.Compare(x.Start, start) })
		if found {
			out[i] = e
		} else {
			out = slices.Insert(out, i, e)
		}
	}
	return out
}
