package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ErrConflict is returned by Sync when the destination's record of a
// source does not fit the source: another copy of the same source file
// pushed other rows, the source is an older copy (a restored backup) of
// what was pushed, or another sync of the source moved the cursor
// meanwhile.
var ErrConflict = errors.New("sync conflict")

// ErrCopiedSource is wrapped, with ErrConflict, when the source itself
// does not fit the destination's record of it (a copy of the file pushed
// other rows, or the file is an older copy): trying again cannot help.
var ErrCopiedSource = errors.New("the source is a copy of a source the destination knows")

// ErrNoSourceID is returned by Sync when the source's schema predates sync
// (no rechist_meta table): open it writable once to migrate it.
var ErrNoSourceID = errors.New("the source has no sync identity")

// SyncCursor is where a destination stands with one source.
type SyncCursor struct {
	// LastID is the id of the last source row the destination holds (0:
	// none), LastHash a fingerprint of that row, LastEpoch the token of
	// the source's epoch that holds LastID ("": none, see Reader.SyncEpoch).
	LastID    int64
	LastHash  string
	LastEpoch string
	// Sent and Missed count the rows received from the source and those
	// the source deleted before they could be sent, since the first sync.
	Sent, Missed int64
	UpdatedMs    int64
}

// SyncStep is a KindSync request's cursor move: the destination's cursor
// for Source must stand at PrevID (else the request fails with
// ErrConflict), and moves to LastID/LastHash/LastEpoch, adding the
// request's rows to Sent and Missed to Missed.
type SyncStep struct {
	Source              string
	PrevID, LastID      int64
	LastHash, LastEpoch string
	Missed              int64
	UpdatedMs           int64
}

// Next returns the cursor after the step, given the one before it, or an
// error wrapping ErrConflict when the cursor is not where the step expects
// it: what every engine's Commit runs, inside the transaction.
func (s *SyncStep) Next(before SyncCursor, rows int) (SyncCursor, error) {
	if before.LastID != s.PrevID {
		return before, fmt.Errorf("%w: source %s: the destination's cursor is at %d, this sync expected %d (another sync of the same source ran meanwhile)",
			ErrConflict, s.Source, before.LastID, s.PrevID)
	}
	return SyncCursor{LastID: s.LastID, LastHash: s.LastHash, LastEpoch: s.LastEpoch, Sent: before.Sent + int64(rows),
		Missed: before.Missed + s.Missed, UpdatedMs: s.UpdatedMs}, nil
}

// Fingerprint is the hash a destination keeps of the last row it received
// from a source: name, time and value, in the source's own terms.
func Fingerprint(r Row) string {
	h := sha256.New()
	h.Write([]byte(r.Name))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(nil, r.StoredAt, 10))
	h.Write([]byte{0})
	h.Write([]byte(r.ValueJSON))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// SyncOptions are what Sync copies and how.
type SyncOptions struct {
	// Pattern selects the records sent ("" or "*": all), in the source's
	// pattern language.
	Pattern string
	// Prefix is put before every name on the destination.
	Prefix string
	// BatchRows is how many source rows a transaction on the destination
	// covers, at most.
	BatchRows int
	// Progress, when set, is called after every batch.
	Progress func(SyncResult)
}

// SyncResult says what a Sync did and where it stands.
type SyncResult struct {
	// Source is the source's identity.
	Source string
	// Copied rows this run; Skipped rows the pattern did not select;
	// Missed rows the source deleted before they were sent (this run).
	Copied, Skipped, Missed int64
	// Cursor is the id of the last source row the destination holds;
	// SourceLast the newest row id of the source when Sync last looked.
	Cursor, SourceLast int64
	// TotalSent and TotalMissed are the destination's counts for this
	// source since its first sync.
	TotalSent, TotalMissed int64
}

// Sync copies to dst every row of src that dst has not yet received from
// src, in batches, each committed on dst with the cursor that covers it.
func Sync(ctx context.Context, src *DB, dst SyncTarget, o SyncOptions) (SyncResult, error) {
	const op = "sync"
	var res SyncResult
	if o.Pattern == "" {
		o.Pattern = "*"
		if src.cfg.TopicPatterns {
			o.Pattern = "#"
		}
	}
	p, err := src.compile(op, o.Pattern)
	if err != nil {
		return res, err
	}
	if o.Prefix != "" {
		if problem := nameProblem("prefix", o.Prefix); problem != "" {
			return res, Invalidf(op, "%s", problem)
		}
	}
	if o.BatchRows == 0 {
		o.BatchRows = 10000
	}
	if o.BatchRows < 1 {
		return res, Invalidf(op, "batch rows must be at least 1, got %d", o.BatchRows)
	}
	if d, ok := dst.(*DB); ok {
		if err := d.writable(op); err != nil {
			return res, err
		}
	}
	err = src.readFinal(ctx, op, func(rd Reader, final int64) error {
		var err error
		if res.Source, err = rd.SourceID(ctx); err != nil {
			return err
		}
		res.SourceLast, err = rd.LastID(ctx)
		res.SourceLast = min(res.SourceLast, final)
		return err
	})
	if err != nil {
		return res, err
	}
	if syncSourceRead != nil {
		syncSourceRead()
	}
	cur, err := dst.SyncStatus(ctx, res.Source)
	if err != nil {
		return res, err
	}
	res.Cursor, res.TotalSent, res.TotalMissed = cur.LastID, cur.Sent, cur.Missed
	if err := verifySource(ctx, src, res.Source, cur); err != nil {
		return res, err
	}
	for {
		var rows []Row
		var last Row
		var epoch string
		read := 0
		err := src.readFinal(ctx, op, func(rd Reader, final int64) (err error) {
			read, err = changesUpTo(ctx, rd, cur.LastID, final, o.BatchRows, func(r Row) {
				last = r
				if p.Match(r.Name) {
					r.Name = o.Prefix + r.Name
					rows = append(rows, r)
				}
			})
			if err == nil && read > 0 {
				epoch, err = rd.SyncEpoch(ctx, last.ID)
			}
			if err == nil && read < o.BatchRows {
				res.SourceLast, err = rd.LastID(ctx)
				res.SourceLast = min(res.SourceLast, final)
			}
			return err
		})
		if err != nil {
			return res, err
		}
		if read == 0 {
			return res, nil
		}
		if err := validateRows(op, rows); err != nil {
			return res, err
		}
		step := &SyncStep{Source: res.Source, PrevID: cur.LastID, LastID: last.ID, LastHash: Fingerprint(last), LastEpoch: epoch,
			Missed: last.ID - cur.LastID - int64(read), UpdatedMs: time.Now().UnixMilli()}
		if err := dst.ApplySync(ctx, step, rows); err != nil {
			return res, err
		}
		if cur, err = step.Next(cur, len(rows)); err != nil {
			return res, Wrap(op, err, nil) // cannot happen: the engine checked the same
		}
		res.Copied += int64(len(rows))
		res.Skipped += int64(read - len(rows))
		res.Missed += step.Missed
		res.Cursor, res.TotalSent, res.TotalMissed = cur.LastID, cur.Sent, cur.Missed
		res.SourceLast = max(res.SourceLast, cur.LastID)
		if o.Progress != nil {
			o.Progress(res)
		}
		if read < o.BatchRows {
			return res, nil
		}
	}
}

// syncSourceRead, when set (by tests), runs in Sync after the source's
// identity is read and before the destination's cursor is.
var syncSourceRead func()

// verifySource checks that the destination's cursor fits the source: no
// higher than any id the source ever handed out; where the source still
// holds the cursor's row, the same row; and the source's epoch at the
// cursor's id the one the destination recorded.
//
// The epoch is what proves continuity when the cursor's row is gone (a
// Delete, retention): a copy of the file that stored rows of its own after
// it was copied began an epoch of its own with them (see WritesRows),
// which the copy that pushed never had, so the two disagree at every id
// stored after the copy, deleted or not.
//
// The source's high-water mark is read after the cursor: another sync of
// the same source may have moved the cursor over rows stored after this
// Sync began, and a mark read before the cursor would take the source for
// an older copy of itself.
func verifySource(ctx context.Context, src *DB, id string, cur SyncCursor) error {
	const op = "sync"
	if cur.LastID == 0 {
		return nil
	}
	var high int64
	var epoch string
	var row Row
	found := false
	if err := src.read(ctx, op, func(rd Reader) (err error) {
		if high, err = rd.IDHighWater(ctx); err != nil {
			return err
		}
		if epoch, err = rd.SyncEpoch(ctx, cur.LastID); err != nil {
			return err
		}
		return rd.ChangesAfter(ctx, cur.LastID-1, 1, func(r Row) bool {
			row, found = r, r.ID == cur.LastID
			return false
		})
	}); err != nil {
		return err
	}
	switch {
	case cur.LastID > high:
		return Wrap(op, fmt.Errorf("%w: %w: the destination holds rows of source %s up to id %d, but this file has only ever had ids up to %d: it is an older copy (a restored backup?) of the source that pushed them; give it a new identity (docs/sync.md)",
			ErrConflict, ErrCopiedSource, id, cur.LastID, high), nil)
	case found && Fingerprint(row) != cur.LastHash:
		return Wrap(op, fmt.Errorf("%w: %w: row %d of source %s is not the row the destination received as row %d: another copy of this source file pushed its own rows; give this copy a new identity (docs/sync.md)",
			ErrConflict, ErrCopiedSource, cur.LastID, id, cur.LastID), nil)
	case epoch != cur.LastEpoch:
		return Wrap(op, fmt.Errorf("%w: %w: the destination holds rows of source %s up to id %d that this file did not write: another copy of this source file pushed its own rows (this one is a copy, a restored backup?, that stored other rows after it was made); give this copy a new identity (docs/sync.md)",
			ErrConflict, ErrCopiedSource, id, cur.LastID), nil)
	}
	return nil
}

// WritesRows reports whether batch stores rows: such a batch, the first
// of an engine's DB handle to commit, begins a new epoch of the database's
// row ids in its transaction, before its rows (the engines' StartSyncEpoch
// query), so that a copy of the database and its original never store
// rows under one epoch (see verifySource).
func WritesRows(batch []*Request) bool {
	for _, r := range batch {
		if (r.Kind == KindInsert || r.Kind == KindSync) && len(r.Rows) > 0 {
			return true
		}
	}
	return false
}

// SourceID returns the database's identity as a sync source.
func (db *DB) SourceID(ctx context.Context) (string, error) {
	var id string
	err := db.read(ctx, "sync", func(rd Reader) (err error) {
		id, err = rd.SourceID(ctx)
		return err
	})
	return id, err
}

// SyncStatus returns the database's cursor for the sync source id.
func (db *DB) SyncStatus(ctx context.Context, id string) (SyncCursor, error) {
	var c SyncCursor
	err := db.readOne("sync", func(rd Reader) (err error) {
		c, err = rd.SyncCursor(ctx, id)
		return err
	})
	return c, err
}

// NewSourceID gives the database a new random identity as a sync source,
// through the writer, and returns it.
func (db *DB) NewSourceID(ctx context.Context) (string, error) {
	const op = "new source id"
	if err := db.writable(op); err != nil {
		return "", err
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", Wrap(op, err, nil)
	}
	id := hex.EncodeToString(b)
	r := newRequest(KindSetSourceID)
	r.Name = id
	if _, err := db.w.submit(ctx, r); err != nil {
		return "", Wrap(op, err, db.eng.Classify)
	}
	return id, nil
}
