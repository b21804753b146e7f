package core

import (
	"context"
	"fmt"
	"time"
)

// SyncTarget is where Sync pushes: a DB of this process (DB implements
// it), or a server that applies pushes for it (rechisthttp's client).
type SyncTarget interface {
	// SyncStatus returns where the target stands with the source: the
	// zero SyncCursor when it has received nothing from it.
	SyncStatus(ctx context.Context, source string) (SyncCursor, error)
	// ApplySync commits rows and step's cursor move in one transaction,
	// only if the cursor is at step.PrevID (else an error wrapping
	// ErrConflict, and nothing written). An error wrapping
	// ErrOutcomeUnknown says the commit may or may not have happened.
	ApplySync(ctx context.Context, step *SyncStep, rows []Row) error
}

var _ SyncTarget = (*DB)(nil)

// ApplySync is SyncTarget's for this DB: what Sync does with a batch, and
// what a server does with a push it received. It checks the step and the
// rows first: nothing of a bad push is written. It sets step.UpdatedMs to
// now, the destination's time.
func (db *DB) ApplySync(ctx context.Context, step *SyncStep, rows []Row) error {
	const op = "sync"
	if err := db.writable(op); err != nil {
		return err
	}
	if step == nil {
		return Invalidf(op, "no cursor move")
	}
	if err := step.check(op, len(rows)); err != nil {
		return err
	}
	if err := validateRows(op, rows); err != nil {
		return err
	}
	step.UpdatedMs = time.Now().UnixMilli()
	req := newRequest(KindSync)
	req.Rows, req.Sync = rows, step
	db.w.stats.requests.Add(1)
	if _, err := db.w.submit(ctx, req); err != nil {
		return Wrap(op, err, db.eng.Classify)
	}
	db.kickRollup()
	return nil
}

// maxSourceBytes bounds a source's identity (rechist makes 32 hex digits).
const maxSourceBytes = 200

// check says what is wrong with a step that carries rows rows, from a
// source that may be another program: the cursor moves forward over at
// least its rows and the ids it says were missed.
func (s *SyncStep) check(op string, rows int) error {
	switch {
	case s.Source == "" || len(s.Source) > maxSourceBytes:
		return Invalidf(op, "source id must be 1 to %d bytes, got %d", maxSourceBytes, len(s.Source))
	case s.PrevID < 0 || s.Missed < 0:
		return Invalidf(op, "cursor %d and missed rows %d must not be negative", s.PrevID, s.Missed)
	case s.LastHash == "":
		return Invalidf(op, "the last row's fingerprint is missing")
	case s.Gone < 0 || s.Horizon < 0:
		return Invalidf(op, "gone rows %d and horizon %d must not be negative", s.Gone, s.Horizon)
	case s.Forget:
		return Invalidf(op, "a push cannot forget its source")
	case s.LastID-s.PrevID < int64(rows)+s.Missed+s.Gone || s.LastID <= s.PrevID:
		return Invalidf(op, "%s", fmt.Sprintf("the cursor moves from %d to %d, too little for %d rows, %d missed and %d gone", s.PrevID, s.LastID, rows, s.Missed, s.Gone))
	case len(s.Pattern) > MaxNameBytes || len(s.Prefix) > MaxNameBytes:
		return Invalidf(op, "pattern and prefix must be at most %d bytes", MaxNameBytes)
	case s.Adopt && (s.Parent == "" || len(s.Parent) > maxSourceBytes || s.Parent == s.Source || s.ParentLast < s.PrevID):
		return Invalidf(op, "a push that continues an earlier identity's history names it (1 to %d bytes, not the source itself) and its cursor (%d), at or after where it continues (%d)",
			maxSourceBytes, s.ParentLast, s.PrevID)
	case len(s.Epochs) > maxStepEpochs:
		return Invalidf(op, "%d epochs in one push, at most %d", len(s.Epochs), maxStepEpochs)
	}
	for i, e := range s.Epochs {
		if e.Start < 1 || e.Start > s.LastID || e.Token == "" || len(e.Token) > maxSourceBytes || (i > 0 && e.Start <= s.Epochs[i-1].Start) {
			return Invalidf(op, "epoch %d (start %d) must start at 1 to %d, after the one before it, with a token of 1 to %d bytes", i, e.Start, s.LastID, maxSourceBytes)
		}
	}
	return nil
}
