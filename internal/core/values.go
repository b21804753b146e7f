package core

import (
	"context"
	"encoding/json"
	"log/slog"
	"unsafe"
)

// Values streams the rows of the record named name within r, in the
// order Reader.Rows gives them (newest first, oldest first with
// r.OldestFirst), as each row's time and value: what a reader of samples
// needs (the Prometheus API), without a Row, a Record or a copy of the
// value for each row. A value that is not valid JSON is skipped, logged
// and counted, as the typed layer skips a row that does not decode.
//
// value is valid only until yield returns, and yield must not change it:
// a caller keeps what it needs as a copy. The read is one statement, a
// snapshot of its own, through the engine's ValueStreamer where it has
// one, else through Reader.Rows.
func (db *DB) Values(ctx context.Context, name string, r Range, yield func(ms int64, value []byte) bool) error {
	const op = "query"
	if _, err := ExactPattern(op, name); err != nil {
		return err
	}
	if err := r.check(op); err != nil {
		return err
	}
	if db.closed.Load() {
		return Wrap(op, ErrClosed, nil)
	}
	skipped := int64(0) // counted at the end: one atomic add a read
	defer func() {
		if skipped > 0 {
			db.CountSkipped(skipped)
		}
	}()
	each := func(id, ms int64, value []byte) bool {
		if !json.Valid(value) {
			skipped++
			db.logInvalid(name, id)
			return true
		}
		return yield(ms, value)
	}
	if vs, ok := db.eng.(ValueStreamer); ok {
		served, err := vs.StreamValues(ctx, name, r, each)
		if served || err != nil {
			return db.readError(op, err)
		}
	}
	return db.readOne(op, func(rd Reader) error {
		return rd.Rows(ctx, name, r, func(row Row) bool {
			return each(row.ID, row.StoredAt, unsafe.Slice(unsafe.StringData(row.ValueJSON), len(row.ValueJSON)))
		})
	})
}

// Of returns the DB behind a *rechist.DB (nil for anything else): package
// rechist sets it when it loads, for rechist's own packages that read
// through the core where the public API would cost a Record a row
// (rechisthttp's Prometheus adapter reads Values).
var Of func(any) *DB

// ValidValue says whether row's value is valid JSON; a row whose value is
// not is logged and counted (Stats.SkippedRows), as the typed layer skips
// a row that does not decode: for rechist's own packages that read the
// core's rows without decoding them.
func (db *DB) ValidValue(row *Row) bool {
	if json.Valid(unsafe.Slice(unsafe.StringData(row.ValueJSON), len(row.ValueJSON))) {
		return true
	}
	db.logInvalid(row.Name, row.ID)
	db.CountSkipped(1)
	return false
}

func (db *DB) logInvalid(name string, id int64) {
	db.Logger().Warn("rechist: skipping a row that is not valid JSON",
		slog.String(LogKeyRecord, name), slog.Int64(LogKeyID, id))
}
