package core

import "context"

// Changes reads rows in commit order: those with an id above after whose
// names p matches, ascending by id, reading at most limit rows of the table
// (matching or not). next is where the next call goes on: the id of the
// last row read when limit rows were read, else the highest final id in
// the snapshot (and never below after), so a caller that only ever passes
// next back sees every row committed after its first call exactly once.
//
// It reads only rows whose ids are final (Reader.FinalID): on SQLite
// every id, as writers take turns; on PostgreSQL, where writers run side
// by side and a row may commit after one with a higher id, those below
// which no transaction is still running. That is what makes the promise
// hold for rows written by any process.
func (db *DB) Changes(ctx context.Context, pattern string, after int64, limit int) (rows []Row, next int64, err error) {
	const op = "changes"
	p, err := db.compile(op, pattern)
	switch {
	case err != nil:
		return nil, after, err
	case after < 0:
		return nil, after, Invalidf(op, "after must not be negative, got %d", after)
	case limit < 1:
		return nil, after, Invalidf(op, "limit must be at least 1, got %d", limit)
	}
	next = after
	err = db.readFinal(ctx, op, func(rd Reader, final int64) error {
		read, err := changesUpTo(ctx, rd, after, final, limit, func(r Row) {
			next = r.ID
			if p.MatchesAll || p.Match(r.Name) {
				rows = append(rows, r)
			}
		})
		if err != nil || read == limit {
			return err
		}
		last, err := rd.LastID(ctx)
		next = max(next, min(last, final))
		return err
	})
	if err != nil {
		return nil, after, err
	}
	return rows, next, nil
}

// LastID returns the highest final row id committed so far (0 when there
// are no rows): where a reader that wants only rows stored from now on
// starts.
func (db *DB) LastID(ctx context.Context) (int64, error) {
	const op = "changes"
	var last int64
	err := db.readFinal(ctx, op, func(rd Reader, final int64) (err error) {
		last, err = rd.LastID(ctx)
		last = min(last, final)
		return err
	})
	return last, err
}

// readFinal runs fn in a read snapshot taken after Reader.FinalID said
// which ids are final (final): every row up to it that will ever commit
// is in the snapshot.
func (db *DB) readFinal(ctx context.Context, op string, fn func(rd Reader, final int64) error) error {
	var final int64
	if err := db.readOne(op, func(rd Reader) (err error) {
		final, err = rd.FinalID(ctx)
		return err
	}); err != nil {
		return err
	}
	return db.read(ctx, op, func(rd Reader) error { return fn(rd, final) })
}

// changesUpTo passes yield the rows ChangesAfter reads, up to limit, that
// have an id at or below final, and says how many.
func changesUpTo(ctx context.Context, rd Reader, after, final int64, limit int, yield func(Row)) (read int, err error) {
	err = rd.ChangesAfter(ctx, after, limit, func(r Row) bool {
		if r.ID > final {
			return false
		}
		read++
		yield(r)
		return true
	})
	return read, err
}
