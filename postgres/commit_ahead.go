package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/seed178a96f3/rechist/postgres/internal/db"
)

// A batch of inserts commits in one round trip when the writer has a
// transaction open ahead: opened at the end of the last commit's round trip,
// on a connection the writer keeps, its id already known. The batch sends
// the INSERT (BeginWriteWithRecords: the writers' lock, then the rows),
// COMMIT, and BEGIN and CurrentXactID for the next batch, then a Sync, in
// one write. The id is known before the COMMIT is sent, so a COMMIT whose
// answer is lost is learned (learnOutcome) as with the two round trips of
// commitInserts; a connection lost before the COMMIT reached the server
// rolls back. The transaction open ahead has taken no lock (the writers'
// lock and the table's come with the INSERT), so it holds back nobody:
// not a rollup, not a follower (FinalID waits only for transactions that
// locked record_history), not a partition's detach. It is READ COMMITTED
// whatever the server's default, so the INSERT reads the names table as of
// its own start, not of the BEGIN. Unused for aheadIdle, it is rolled back
// and the connection goes back to the pool.
//
// The second round trip cost 16 handles of one goroutine on the 2-vCPU VM
// a seventh of their commits/s: 0.70-0.71x of plain INSERTs with it,
// 0.80-0.82x in one (docs/performance.md).

// aheadIdle is how long a transaction open ahead waits for the next batch
// before it is rolled back. A writer storing steadily uses it at once; one
// that stores now and then pays the two round trips of opening one, and
// leaves an idle transaction holding an id (and so the oldest transaction
// VACUUM must respect) for at most this long.
var aheadIdle = 100 * time.Millisecond

// Names of the statements prepared on the writer's connection.
const (
	commitStatement = "rechist_commit"
	beginStatement  = "rechist_begin"
	xidStatement    = "rechist_current_xid"
)

// aheadTx is the writer's transaction open ahead, if any.
type aheadTx struct {
	mu     sync.Mutex
	conn   *pgxpool.Conn // nil: none open
	xid    string
	gen    uint64 // which opening the idle timer belongs to
	timer  *time.Timer
	closed bool
	usable bool // the pool has two connections or more (set by open)
}

// aheadUsable says whether the writer may keep a connection of the pool:
// not when the pool has only one, which queries need too.
func (e *engine) aheadUsable() bool { return e.ahead.usable }

// errNotCommitted marks the failure of a batch whose connection was lost
// and whose transaction the server says it rolled back: nothing of the
// batch was written.
var errNotCommitted = errors.New("the connection was lost before the commit; the server rolled back")

// commitInsertsAhead commits a batch of inserts only on the transaction
// open ahead, opening one first when there is none (a round trip more), and
// leaves the next one open. When the transaction open ahead turns out to
// be gone (its connection closed while it waited: a restart, a network
// failure) and the server says it wrote nothing, the batch is tried once
// more on a new one: its outcome is known, so this stores nothing twice.
func (e *engine) commitInsertsAhead(ctx context.Context, rows db.InsertRecordsParams) error {
	a := &e.ahead
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.timer != nil {
		a.timer.Stop()
	}
	a.gen++
	conn, xid := a.conn, a.xid
	a.conn, a.xid = nil, ""
	reused := conn != nil
	for {
		if conn == nil {
			if a.closed {
				return errors.New("begin: the engine is closed")
			}
			var err error
			if conn, err = e.pool.Acquire(ctx); err != nil {
				return fmt.Errorf("begin: %w", err)
			}
			if xid, err = openAhead(ctx, conn); err != nil {
				dropConn(conn)
				return fmt.Errorf("begin: %w", err) // nothing was written
			}
		}
		next, err := e.commitOnAhead(ctx, conn, xid, rows)
		if reused && errors.Is(err, errNotCommitted) && ctx.Err() == nil {
			conn, xid, reused = nil, "", false
			continue
		}
		if next != "" {
			gen := a.gen
			a.conn, a.xid = conn, next
			a.timer = time.AfterFunc(aheadIdle, func() { e.dropAhead(gen) })
		}
		return err
	}
}

// commitOnAhead commits rows on conn's transaction xid, open ahead, and
// returns the id of the next one it opened, or "" when conn is no longer
// the writer's (given back to the pool, or closed).
func (e *engine) commitOnAhead(ctx context.Context, conn *pgxpool.Conn, xid string, rows db.InsertRecordsParams) (string, error) {
	c := conn.Conn()
	st, err := writerStatements(ctx, conn)
	if err != nil {
		return "", e.lost(conn, xid, fmt.Errorf("begin: %w", err))
	}
	values, formats, err := e.insertArgs(c, st[0], rows)
	if err != nil {
		dropConn(conn) // nothing sent; the transaction open ahead ends with it
		return "", fmt.Errorf("begin: %w", err)
	}
	p := c.PgConn().StartPipeline(ctx)
	p.SendQueryStatement(st[0], values, formats, nil) // the INSERT
	p.SendQueryStatement(st[1], nil, nil, nil)        // COMMIT
	p.SendQueryStatement(st[2], nil, nil, nil)        // BEGIN
	p.SendQueryStatement(st[3], nil, nil, nil)        // CurrentXactID
	if err := p.Sync(); err != nil {
		_ = p.Close()
		return "", e.lost(conn, xid, fmt.Errorf("commit: %w", err))
	}
	if _, err := insertedXID(p); err != nil {
		if refused(err) {
			// The server refused the statement: it skipped the rest up
			// to the Sync, and the transaction awaits its ROLLBACK.
			if cerr := p.Close(); cerr == nil {
				rollback(conn)
				conn.Release()
			} else {
				dropConn(conn)
			}
			return "", statementError(nil, err) // rows of several requests: which one is unknown
		}
		_ = p.Close()
		return "", e.lost(conn, xid, fmt.Errorf("commit: %w", err))
	}
	tag, err := commandTag(p)
	switch {
	case err != nil:
		_ = p.Close()
		if refused(err) {
			dropConn(conn)
			return "", fmt.Errorf("commit: %w", err) // the server refused the commit: nothing was written
		}
		return "", e.lost(conn, xid, fmt.Errorf("commit: %w", err))
	case tag != "COMMIT":
		_ = p.Close()
		dropConn(conn)
		return "", fmt.Errorf("commit: the server answered %q: rolled back", tag)
	}
	// Committed. What follows only opens the next transaction: a failure
	// there costs the connection, not the batch.
	next, err := nextXID(p)
	if err == nil {
		err = p.Close()
	} else {
		_ = p.Close()
	}
	if err != nil {
		dropConn(conn)
		return "", nil
	}
	return next, nil
}

// refused says whether err is the server refusing a statement, the
// session going on; not a connection's end, which a FATAL error announces
// (57P01 when an administrator or a shutdown terminates the session).
func refused(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Severity != "FATAL" && pe.Severity != "PANIC"
}

// lost ends conn after a failure that may have come after the COMMIT
// reached the server, and learns the outcome: nil if the transaction
// committed, commitErr wrapped in errNotCommitted if it rolled back. A
// session stuck in the transaction (waiting for a lock, or idle in it) is
// terminated (learnOutcomeOf): the COMMIT went with the statement, so such
// a session would otherwise commit or roll back whenever it got going.
func (e *engine) lost(conn *pgxpool.Conn, xid string, commitErr error) error {
	pid := conn.Conn().PgConn().PID()
	dropConn(conn)
	err := e.learnOutcomeOf(xid, pid, commitErr)
	if err != nil && err == commitErr { //nolint:errorlint // learnOutcome returns commitErr itself when the server rolled back
		return fmt.Errorf("%w: %w", errNotCommitted, commitErr)
	}
	return err
}

// commandTag reads the answer to a statement that returns no rows.
func commandTag(p *pgconn.Pipeline) (string, error) {
	res, err := p.GetResults()
	if err != nil {
		return "", err
	}
	rr, ok := res.(*pgconn.ResultReader)
	if !ok {
		return "", fmt.Errorf("got %T, want a statement's answer", res)
	}
	tag, err := rr.Close()
	return tag.String(), err
}

// nextXID reads the answers to BEGIN, CurrentXactID and the Sync: the id of
// the transaction opened ahead.
func nextXID(p *pgconn.Pipeline) (string, error) {
	if _, err := commandTag(p); err != nil {
		return "", err
	}
	xid, err := insertedXID(p)
	if err != nil {
		return "", err
	}
	return xid, syncResult(p)
}

// writerStatements prepares the statements of commitOnAhead on conn, the
// first time only (pgx keeps them by name): the INSERT, COMMIT, BEGIN and
// CurrentXactID.
func writerStatements(ctx context.Context, conn *pgxpool.Conn) ([4]*pgconn.StatementDescription, error) {
	var st [4]*pgconn.StatementDescription
	for i, s := range [4][2]string{{insertStatement, db.BeginWriteWithRecords}, {commitStatement, "COMMIT"}, {beginStatement, "BEGIN ISOLATION LEVEL READ COMMITTED"}, {xidStatement, db.CurrentXactID}} {
		var err error
		if st[i], err = conn.Conn().Prepare(ctx, s[0], s[1]); err != nil {
			return st, err
		}
	}
	return st, nil
}

// openAhead opens a transaction on conn and returns its id.
func openAhead(ctx context.Context, conn *pgxpool.Conn) (string, error) {
	st, err := writerStatements(ctx, conn)
	if err != nil {
		return "", err
	}
	p := conn.Conn().PgConn().StartPipeline(ctx)
	p.SendQueryStatement(st[2], nil, nil, nil) // BEGIN
	p.SendQueryStatement(st[3], nil, nil, nil) // CurrentXactID
	if err := p.Sync(); err != nil {
		_ = p.Close()
		return "", err
	}
	xid, err := nextXID(p)
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	return xid, err
}

// dropAhead rolls back the transaction open ahead of opening gen if it is
// still unused, and gives its connection back to the pool.
func (e *engine) dropAhead(gen uint64) {
	a := &e.ahead
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.gen != gen || a.conn == nil {
		return
	}
	rollback(a.conn)
	a.conn.Release()
	a.conn, a.xid = nil, ""
}

// closeAhead rolls back the transaction open ahead, if any, and stops the
// writer from opening another: Close's first step, since the pool waits
// for every connection to come back.
func (e *engine) closeAhead() {
	a := &e.ahead
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	if a.timer != nil {
		a.timer.Stop()
	}
	if a.conn != nil {
		rollback(a.conn)
		a.conn.Release()
		a.conn, a.xid = nil, ""
	}
}

// dropConn closes conn's connection (the server rolls back whatever it
// had open) and gives it back to the pool, which discards it.
func dropConn(conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Conn().Close(ctx)
	conn.Release()
}
