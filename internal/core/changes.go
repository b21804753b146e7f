package core

import "context"

// Changes reads rows in commit order: those with an id above after whose
// names p matches, ascending by id, reading at most limit rows of the table
// (matching or not). next is where the next call goes on: the id of the
// last row read when limit rows were read, else the highest id in the
// snapshot (and never below after), so a caller that only ever passes next
// back sees every row committed after its first call exactly once.
//
// Both engines hand out ids in commit order (SQLite has one writer at a
// time and AUTOINCREMENT ids; the PostgreSQL engine's commits take a
// commit-order lock), also across processes, which is what makes that
// promise hold for rows written by any process through rechist.
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
	err = db.read(ctx, op, func(rd Reader) error {
		read := 0
		err := rd.ChangesAfter(ctx, after, limit, func(r Row) bool {
			read++
			next = r.ID
			if p.MatchesAll || p.Match(r.Name) {
				rows = append(rows, r)
			}
			return true
		})
		if err != nil || read == limit {
			return err
		}
		last, err := rd.LastID(ctx)
		next = max(next, last)
		return err
	})
	if err != nil {
		return nil, after, err
	}
	return rows, next, nil
}

// LastID returns the highest row id committed so far (0 when there are no
// rows): where a reader that wants only rows stored from now on starts.
func (db *DB) LastID(ctx context.Context) (int64, error) {
	const op = "changes"
	var last int64
	err := db.read(ctx, op, func(rd Reader) (err error) {
		last, err = rd.LastID(ctx)
		return err
	})
	return last, err
}
