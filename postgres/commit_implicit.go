package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/seed178a96f3/rechist/postgres/internal/db"
)

// insertStatement names BeginWriteWithRecords prepared on a connection for
// commitInserts.
const insertStatement = "rechist_begin_write_with_records"

// commitInserts commits a batch of inserts only (the rows of Store and of
// small StoreMany calls) in two round trips and one statement, no BEGIN
// and no COMMIT, when the pool cannot spare a connection for
// commitInsertsAhead's one round trip. The extended query protocol runs every statement up to a
// Sync in one implicit transaction, and commits it at the Sync. So the
// first round trip is BeginWriteWithRecords (the writers' lock, the
// transaction's id and the INSERT) followed by a Flush, which asks the
// server for its answer without ending the transaction; the second is the
// Sync alone. As with COMMIT, the id is back before the Sync is sent: a
// Sync whose answer is lost is learned (learnOutcome); a failure before it
// wrote nothing, since the server rolls back an implicit transaction whose
// connection ends without a Sync. Against BEGIN, the statement and COMMIT
// in the same two round trips, the server runs two statements fewer a
// commit: 16 handles of one goroutine and one connection went from
// 0.67-0.71x to 0.71-0.78x of plain INSERTs' commits/s on the 2-vCPU VM
// (docs/performance.md).
func (e *engine) commitInserts(ctx context.Context, conn *pgxpool.Conn, rows db.InsertRecordsParams) error {
	c := conn.Conn()
	sd, err := c.Prepare(ctx, insertStatement, db.BeginWriteWithRecords)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	values, formats, err := e.insertArgs(c, sd, rows)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	p := c.PgConn().StartPipeline(ctx)
	p.SendQueryStatement(sd, values, formats, nil)
	p.SendFlushRequest()
	xid, err := insertedXID(p)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			// The server refused the statement: end its transaction with
			// the Sync (a rollback) and keep the connection.
			_ = p.Sync()
		}
		// Without a Sync, Close closes the connection: the server rolls
		// back.
		_ = p.Close()
		return statementError(nil, err) // rows of several requests: which one is unknown
	}
	err = p.Sync()
	if err == nil {
		err = syncResult(p)
	}
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	var pe *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe):
		return fmt.Errorf("commit: %w", err) // the server refused the commit: nothing was written
	default:
		return e.learnOutcome(xid, fmt.Errorf("commit: %w", err))
	}
}

// insertArgs encodes the arguments of BeginWriteWithRecords, prepared on c
// as sd, for rows.
func (e *engine) insertArgs(c *pgx.Conn, sd *pgconn.StatementDescription, rows db.InsertRecordsParams) (values [][]byte, formats []int16, err error) {
	args := []any{e.writerLock, rows.RecordNames, rows.ValueJsons, rows.StoredAts}
	values = make([][]byte, len(args))
	formats = make([]int16, len(args))
	m := c.TypeMap()
	for i, a := range args {
		formats[i] = m.FormatCodeForOID(sd.ParamOIDs[i])
		if values[i], err = m.Encode(sd.ParamOIDs[i], formats[i], a, nil); err != nil {
			return nil, nil, err
		}
	}
	return values, formats, nil
}

// insertedXID sends p's requests and reads the statement's answer: the
// transaction's id.
func insertedXID(p *pgconn.Pipeline) (string, error) {
	if err := p.Flush(); err != nil {
		return "", err
	}
	res, err := p.GetResults()
	if err != nil {
		return "", err
	}
	rr, ok := res.(*pgconn.ResultReader)
	if !ok {
		return "", fmt.Errorf("begin: got %T, want the statement's rows", res)
	}
	var xid string
	for rr.NextRow() {
		xid = string(rr.Values()[0])
	}
	if _, err := rr.Close(); err != nil {
		return "", err
	}
	if xid == "" {
		return "", errors.New("begin: the statement returned no transaction id")
	}
	return xid, nil
}

// syncResult reads the answer to p's Sync: the commit.
func syncResult(p *pgconn.Pipeline) error {
	res, err := p.GetResults()
	if err != nil {
		return err
	}
	if _, ok := res.(*pgconn.PipelineSync); !ok {
		return fmt.Errorf("got %T, want the Sync's answer", res)
	}
	return nil
}
