package rechist

import (
	"context"
	"encoding/json"
	"time"
)

// Change is one stored row as it was committed: its id, its record's name,
// its value as the JSON text stored (byte for byte) and its time.
type Change struct {
	// ID is the row's id. Ids grow in commit order and are never reused.
	ID       int64
	Name     string
	Value    json.RawMessage
	StoredAt time.Time
}

// Changes reads rows in commit order: those with an id above after whose
// names match pattern, ascending by id. It reads at most limit rows of the
// table, matching or not, so a call is short whatever the pattern; next is
// where to go on (pass it as after next time; it equals after when nothing
// new was committed). A reader that starts from [DB.LastID] and only ever
// passes next back sees every row committed since, by any process writing
// the database through rechist, exactly once and in commit order: this is
// what live streams and sync are built on.
//
// On SQLite, writers take turns (one write lock per file) and ids are
// never reused (AUTOINCREMENT), so ids grow in commit order. On
// PostgreSQL, writers of every process run side by side, and a row can
// commit after one with a higher id: Changes then reads only the ids below
// which no transaction that may write the table is still running, waiting
// (within ctx) for the ones running when it was called. That covers rows
// inserted by any program, rechist or not; a long transaction writing
// record_history holds followers back until it ends.
//
// Deleted rows are simply absent. Errors wrap [ErrInvalidArgument] for a
// bad pattern, a negative after or a limit under 1, and [ErrClosed] after
// Close.
func (db *DB) Changes(ctx context.Context, pattern string, after int64, limit int) (changes []Change, next int64, err error) {
	rows, next, err := db.core.Changes(ctx, pattern, after, limit)
	if err != nil {
		return nil, next, public(err)
	}
	changes = make([]Change, len(rows))
	for i, r := range rows {
		changes[i] = Change{ID: r.ID, Name: r.Name, Value: json.RawMessage(r.ValueJSON), StoredAt: fromMillis(r.StoredAt)}
	}
	return changes, next, nil
}

// LastID returns the highest row id committed so far, 0 when there are no
// rows: pass it to [DB.Changes] to read only what is stored from now on.
func (db *DB) LastID(ctx context.Context) (int64, error) {
	id, err := db.core.LastID(ctx)
	return id, public(err)
}
