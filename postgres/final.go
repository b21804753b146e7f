package postgres

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// How FinalID waits: it asks again after a pause that doubles from
// finalPauseMin to finalPauseMax.
var (
	finalPauseMin = 200 * time.Microsecond
	finalPauseMax = 20 * time.Millisecond
)

// FinalID returns the identity's high-water mark once every transaction
// that could hold an id at or below it has ended. Writers run side by side
// (BeginWrite), so ids are drawn in one order and committed in another: a
// follower that read up to the newest committed id could pass over a
// lower one committed a moment later. Reading the mark first and the
// transactions that may be writing record_history second (Writers), every
// holder of an id up to the mark is over or listed; this waits until none
// of the listed is still running (migration 00009 says why that suffices).
// A write takes milliseconds, and so does the wait; a read, a vacuum or a
// transaction elsewhere on the server is not waited for. ctx bounds the
// wait.
//
// A schema from before migration 00009 (opened read-only) has only older
// rechists' writers, which take turns: every id is final.
func (r *reader) FinalID(ctx context.Context) (int64, error) {
	high, err := r.q.IDHighWater(ctx)
	if err != nil {
		return 0, err
	}
	writers, err := r.q.Writers(ctx)
	if undefinedFunction(err) {
		return math.MaxInt64, nil
	}
	if err != nil || len(writers) == 0 {
		return high, err
	}
	for pause := finalPauseMin; ; pause = min(2*pause, finalPauseMax) {
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-t.C:
		}
		n, err := r.q.WritersStillRunning(ctx, writers)
		if err != nil || n == 0 {
			return high, err
		}
	}
}

// undefinedFunction reports whether err is SQLSTATE 42883.
func undefinedFunction(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42883"
}
