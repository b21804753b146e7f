package core

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
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
	// Source is the source's id (set by SyncSources).
	Source string
	// Filtered says whether the destination knows the pattern and prefix
	// the source's pushes use (a cursor written before rechist kept them
	// does not): Pattern and Prefix.
	Filtered        bool
	Pattern, Prefix string
	// Horizon is the highest id the source had handed out when the destination first
	// received it, and Gone how many ids up to it the source no longer had
	// then: rows deleted before sync saw them, not missed. Zero for a
	// cursor written before rechist kept them (every gap is missed).
	Horizon, Gone int64
	// ContinuedBy is the new identity that took over the source's history
	// at its cursor ContinuedAt (see SyncStep.Parent): the cursor never
	// moves again, a push of the source is refused as a copy's.
	ContinuedBy string
	ContinuedAt int64
}

// SyncEpoch is an epoch of a source's row ids (see WritesRows): from
// Start on, until the next epoch's start, its ids were handed out by the
// DB handle whose random token is Token.
type SyncEpoch struct {
	Start int64
	Token string
}

// maxStepEpochs bounds the epochs one push may carry (one per DB handle
// that wrote the ids it covers; a first push carries every one).
const maxStepEpochs = 100_000

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
	// Pattern and Prefix are the push's (Pattern "": not said, by an
	// older client: neither checked nor recorded). A cursor that knows
	// others refuses the step with ErrInvalidArgument.
	Pattern, Prefix string
	// Horizon is the highest id the source had handed out when the destination first
	// received it (recorded by the step that creates the cursor), Gone the
	// ids up to it that the step passes over without a row (not missed).
	Horizon, Gone int64
	// Epochs are the source's epochs of the ids the step covers (all of
	// them up to LastID for a cursor's first step), in id order.
	Epochs []SyncEpoch
	// Adopt says that the source continues the history an earlier
	// identity of it left on the destination up to PrevID (see Sync): the
	// source's cursor must not exist yet. Parent is that identity and
	// ParentLast its cursor when Sync read it: the step fails with
	// ErrConflict unless the parent's cursor is still there (checked and
	// held in the same transaction, see Continue), so that a sync still
	// pushing under the old identity cannot store the rows the new one
	// sends.
	Adopt      bool
	Parent     string
	ParentLast int64
	// Forget deletes what the destination remembers of the source (no
	// rows, nothing else of the step is used): DB.ForgetSyncSource.
	Forget bool
}

// Next returns the cursor after the step, given the one before it, or an
// error wrapping ErrConflict when the cursor is not where the step expects
// it: what every engine's Commit runs, inside the transaction.
//
// A step whose pattern or prefix is not the one the cursor knows fails
// with an error wrapping ErrInvalidArgument (FilterChanged).
func (s *SyncStep) Next(before SyncCursor, rows int) (SyncCursor, error) {
	switch {
	case !s.Adopt && before.ContinuedBy != "":
		return before, ContinuedError(s.Source, before)
	case s.Adopt && before.LastID != 0:
		return before, fmt.Errorf("%w: source %s: the destination's cursor is at %d, this sync expected none (another sync of the same source ran meanwhile)",
			ErrConflict, s.Source, before.LastID)
	case !s.Adopt && before.LastID != s.PrevID:
		return before, fmt.Errorf("%w: source %s: the destination's cursor is at %d, this sync expected %d (another sync of the same source ran meanwhile)",
			ErrConflict, s.Source, before.LastID, s.PrevID)
	case s.Pattern != "" && before.LastID > 0 && before.Filtered && (before.Pattern != s.Pattern || before.Prefix != s.Prefix):
		return before, FilterChanged(s.Source, before, s.Pattern, s.Prefix)
	}
	next := SyncCursor{LastID: s.LastID, LastHash: s.LastHash, LastEpoch: s.LastEpoch, Sent: before.Sent + int64(rows),
		Missed: before.Missed + s.Missed, UpdatedMs: s.UpdatedMs, Filtered: before.Filtered, Pattern: before.Pattern,
		Prefix: before.Prefix, Horizon: before.Horizon, Gone: before.Gone + s.Gone, ContinuedBy: before.ContinuedBy,
		ContinuedAt: before.ContinuedAt}
	if before.LastID == 0 {
		next.Horizon = s.Horizon
	}
	if s.Pattern != "" {
		next.Filtered, next.Pattern, next.Prefix = true, s.Pattern, s.Prefix
	}
	return next, nil
}

// Continue checks, in the transaction of an Adopt step, that the parent
// identity's cursor (read there, and held: the engines lock it, or hold
// the write lock) is where Sync read it, and returns the parent's cursor
// after the step: when the step continues from the parent's cursor itself
// (the same file's history, which a sync still running under the old
// identity could go on pushing), the parent is marked continued there, so
// that no push under it moves its cursor again (mark). A step that is not
// an Adopt passes.
//
// parentEpochs is the parent's list of epochs on the destination, read in
// the same transaction; heirEpochs, when the parent is continued
// (parent.ContinuedBy), the list of the identity that continued it. The
// step carries the source's epochs from id 0 (a cursor's first step): it
// continues only if they agree with the parent's up to PrevID
// (forkPoint), the history it claims to share; else it is refused as a
// copy's (ErrCopiedSource), so that a push cannot take over another
// device's history and skip its own rows by naming it. And a step that
// continues from the point where another identity continued the parent
// already, with the same epoch as that identity's at the id after it,
// has the same history past the point: it comes from the same file, which
// took a new identity twice (the other identity's push took over while
// this one's was on its way), and is refused likewise, so that the rows
// after the point are not stored under both (a genuine copy of the file
// stored its rows after the point under an epoch of its own).
//
// takeovers are the takeovers of the parent the destination recorded
// (Takeover), read in the same transaction: a step that comes with the
// epoch another identity's takeover recorded at the id after the point it
// continued from has that identity's history past the point, the same
// file's, and is refused with ErrConflict (not a copy: run again, the
// file's newest identity goes on), also when neither continued from the
// parent's cursor, so that the parent was never marked continued.
func (s *SyncStep) Continue(parent SyncCursor, parentEpochs, heirEpochs []SyncEpoch, takeovers []SyncTakeover) (next SyncCursor, mark bool, err error) {
	if !s.Adopt {
		return parent, false, nil
	}
	switch {
	case parent.LastID != s.ParentLast:
		return parent, false, fmt.Errorf("%w: source %s continues the history of %s, whose cursor on the destination is at %d, and this sync expected %d (a sync under the earlier identity ran meanwhile)",
			ErrConflict, s.Source, s.Parent, parent.LastID, s.ParentLast)
	case s.PrevID > parent.LastID || !parent.Filtered || parent.Pattern != s.Pattern || parent.Prefix != s.Prefix:
		return parent, false, fmt.Errorf("%w: source %s cannot continue the history of %s from id %d: the destination holds it up to id %d with pattern %q and prefix %q, this push has %q and %q",
			ErrConflict, s.Source, s.Parent, s.PrevID, parent.LastID, parent.Pattern, parent.Prefix, s.Pattern, s.Prefix)
	case s.PrevID > 0 && forkPoint(s.Epochs, parentEpochs) < s.PrevID:
		return parent, false, fmt.Errorf("%w: %w: source %s cannot continue the history of %s from id %d: its epochs and the ones the destination received from %s part before that id (its history is not that one); nothing was written",
			ErrConflict, ErrCopiedSource, s.Source, s.Parent, s.PrevID, s.Parent)
	case parent.ContinuedBy != "" && parent.ContinuedBy != s.Source && parent.ContinuedAt == s.PrevID:
		ours, ok := epochAt(s.Epochs, s.PrevID+1)
		theirs, ok2 := epochAt(heirEpochs, s.PrevID+1)
		if ok && ok2 && ours == theirs {
			return parent, false, fmt.Errorf("%w: %w: source %s cannot continue the history of %s from id %d: the new identity %s continued it there already, with the same history after it (the file took a new identity again while this push was on its way: push under its newest identity); nothing was written",
				ErrConflict, ErrCopiedSource, s.Source, s.Parent, s.PrevID, parent.ContinuedBy)
		}
	}
	for _, t := range takeovers {
		if t.Source == s.Source || t.Epoch == "" {
			continue
		}
		if ours, ok := epochAt(s.Epochs, t.At+1); ok && ours.Token == t.Epoch {
			return parent, false, fmt.Errorf("%w: source %s cannot continue the history of %s from id %d: the identity %s took it over from id %d already, with the same history after that id (the file took a new identity again while a sync under this one was on its way, or another sync of it ran meanwhile: push again, under its newest identity); nothing was written",
				ErrConflict, s.Source, s.Parent, s.PrevID, t.Source, t.At)
		}
	}
	if s.PrevID < parent.LastID || parent.ContinuedBy != "" {
		return parent, false, nil
	}
	parent.ContinuedBy, parent.ContinuedAt = s.Source, parent.LastID
	return parent, true, nil
}

// SyncTakeover is a takeover a destination recorded (SyncStep.Takeover):
// Source continued its parent's history from id At, and its epoch at
// At+1 is Epoch ("": the push carried none).
type SyncTakeover struct {
	Source string
	At     int64
	Epoch  string
}

// Takeover is what the destination records of an Adopt step that it
// committed, in the same transaction, for Continue to compare later
// takeovers of the same parent with.
func (s *SyncStep) Takeover() SyncTakeover {
	e, _ := epochAt(s.Epochs, s.PrevID+1)
	return SyncTakeover{Source: s.Source, At: s.PrevID, Epoch: e.Token}
}

// epochAt returns the epoch of list (in start order) that holds id.
func epochAt(list []SyncEpoch, id int64) (SyncEpoch, bool) {
	i, _ := slices.BinarySearchFunc(list, id+1, func(e SyncEpoch, start int64) int { return cmp.Compare(e.Start, start) })
	if i == 0 {
		return SyncEpoch{}, false
	}
	return list[i-1], true
}

// ContinuedError is the error of a push of source, whose history on the
// destination (cursor c) a new identity took over.
func ContinuedError(source string, c SyncCursor) error {
	return fmt.Errorf("%w: %w: source %s: its history on the destination, up to id %d, was taken over by the new identity %s (rechist sync --new-identity, on this file or a copy of it): "+
		"the destination takes no more rows under this identity. If this file is the one that took the new identity, its sync under the old one stopped; run it again. "+
		"Otherwise give this file an identity of its own too: rechist --db FILE sync --new-identity; it goes on from where its history and the destination's part (docs/sync.md)",
		ErrConflict, ErrCopiedSource, source, c.ContinuedAt, c.ContinuedBy)
}

// EpochsFit says whether the step's epochs go on the list of the source's
// epochs the destination holds, whose last epoch at or before the step's
// PrevID is at (found false: none), before being the source's cursor
// before the step: that epoch is the one the cursor recorded at PrevID,
// and the step's first epoch is either it or one that starts after
// PrevID. When they do not, a push between them recorded no epochs (an
// older client's) and the list has a gap, which would make a new
// identity's continuation point (forkPoint) too low: the destination then
// replaces its list with the step's epochs, a list that begins later.
func (s *SyncStep) EpochsFit(before SyncCursor, at SyncEpoch, found bool) bool {
	if len(s.Epochs) == 0 {
		return true
	}
	if found != (before.LastEpoch != "") || (found && at.Token != before.LastEpoch) {
		return false
	}
	first := s.Epochs[0]
	return first.Start > s.PrevID || (found && first == at)
}

// FilterChanged is the error of a push of source whose pattern or prefix
// is not the one the destination's cursor c covers: what the cursor
// passed over was looked at with the old ones, so the new ones would
// leave rows unsent (a wider pattern) or store them under a name nothing
// else has (another prefix) without saying so.
func FilterChanged(source string, c SyncCursor, pattern, prefix string) error {
	return fmt.Errorf("%w: source %s: the destination received its rows up to id %d with pattern %q and prefix %q, and this push has pattern %q and prefix %q: "+
		"the cursor covers every row the first ones looked at, so the new ones would leave rows unsent. Push with pattern %q and prefix %q; "+
		"or, to send this source again under the new ones, make the destination forget it first (rechist --db DESTINATION sync forget %s; DB.ForgetSyncSource): "+
		"the rows it received stay, and the next push is a first one (every row the source still holds, under a prefix no earlier identity of it used here)",
		ErrInvalidArgument, source, c.LastID, c.Pattern, c.Prefix, pattern, prefix, c.Pattern, c.Prefix, source)
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
	// Gone counts the ids this run passed over that the source no longer
	// had when the destination first received it (deleted before sync saw
	// them: not missed); Horizon is the highest id the source had handed out then, TotalGone
	// the destination's count.
	Gone, Horizon, TotalGone int64
	// Parent is set when this run began the source's cursor by continuing
	// the history an earlier identity of it (Parent) left on the
	// destination, up to id ParentID (see DB.NewSourceID).
	Parent   string
	ParentID int64
	// Reached says whether the destination answered (its cursor is known).
	Reached bool
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
	// high is the highest id the source ever handed out that is settled
	// (final): the horizon of a first push, so that rows deleted from the
	// end before it are gone, not missed, when a later row is sent.
	var high int64
	err = src.readFinal(ctx, op, func(rd Reader, final int64) error {
		var err error
		if res.Source, err = rd.SourceID(ctx); err != nil {
			return err
		}
		if res.SourceLast, err = rd.LastID(ctx); err != nil {
			return err
		}
		res.SourceLast = min(res.SourceLast, final)
		high, err = rd.IDHighWater(ctx)
		high = max(min(high, final), res.SourceLast)
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
	res.Reached = true
	res.Cursor, res.TotalSent, res.TotalMissed, res.TotalGone, res.Horizon = cur.LastID, cur.Sent, cur.Missed, cur.Gone, cur.Horizon
	if cur.LastID > 0 && cur.Filtered && (cur.Pattern != o.Pattern || cur.Prefix != o.Prefix) {
		return res, Wrap(op, FilterChanged(res.Source, cur, o.Pattern, o.Prefix), nil)
	}
	if err := verifySource(ctx, src, res.Source, cur); err != nil {
		return res, err
	}
	// horizon splits the gaps of what this run reads: up to it, ids the
	// source no longer had when the destination first received it.
	horizon := cur.Horizon
	adopt := false
	var parent string
	var parentLast int64
	if cur.LastID == 0 {
		horizon = high
		var at, h int64
		parent, at, parentLast, h, err = syncParent(ctx, src, dst, o)
		if err != nil {
			return res, err
		}
		if at > 0 {
			adopt, horizon = true, h
			cur = SyncCursor{LastID: at}
		}
		res.Horizon = horizon
	}
	for {
		var rows []Row
		var last Row
		var epoch string
		var epochs []SyncEpoch
		read, below := 0, int64(0)
		err := src.readFinal(ctx, op, func(rd Reader, final int64) (err error) {
			// The identity in this batch's snapshot: a source that took a
			// new one meanwhile (NewSourceID) sends nothing more under the
			// old one.
			if id, err := rd.SourceID(ctx); err != nil {
				return err
			} else if id != res.Source {
				return Wrap(op, fmt.Errorf("%w: the source took a new identity (%s, was %s) while this sync ran: it stops here; a new sync pushes under the new one",
					ErrConflict, id, res.Source), nil)
			}
			read, err = changesUpTo(ctx, rd, cur.LastID, final, o.BatchRows, func(r Row) {
				last = r
				if r.ID <= horizon {
					below++
				}
				if p.Match(r.Name) {
					r.Name = o.Prefix + r.Name
					rows = append(rows, r)
				}
			})
			if err == nil && read > 0 {
				epoch, err = rd.SyncEpoch(ctx, last.ID)
			}
			if err == nil && read > 0 {
				from := cur.LastID
				if res.Cursor == 0 { // the cursor's first step: every epoch up to it
					from = 0
				}
				epochs, err = rd.SourceEpochs(ctx, from, last.ID)
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
		gone := max(0, min(last.ID, horizon)-cur.LastID) - below
		step := &SyncStep{Source: res.Source, PrevID: cur.LastID, LastID: last.ID, LastHash: Fingerprint(last), LastEpoch: epoch,
			Missed: last.ID - cur.LastID - int64(read) - gone, Gone: gone, Horizon: horizon, Pattern: o.Pattern, Prefix: o.Prefix,
			Epochs: epochs, Adopt: adopt, UpdatedMs: time.Now().UnixMilli()}
		if adopt {
			step.Parent, step.ParentLast = parent, parentLast
		}
		if err := dst.ApplySync(ctx, step, rows); err != nil {
			if errors.Is(err, ErrCopiedSource) || (adopt && errors.Is(err, ErrConflict)) {
				// Refused as continued: by this very file's new identity,
				// taken after this batch was read? Then it is no copy.
				if id, ierr := src.SourceID(ctx); ierr == nil && id != res.Source {
					return res, Wrap(op, fmt.Errorf("%w: the source took a new identity (%s, was %s) while this sync ran, and a push under it took over the history of the old one: this sync stops here; a new sync pushes under the new one (the destination said: %v)",
						ErrConflict, id, res.Source, err), nil)
				}
			}
			return res, err
		}
		if adopt { // committed: this run began the cursor from the parent's
			res.Parent, res.ParentID = parent, step.PrevID
		}
		before := cur
		if adopt {
			before = SyncCursor{}
		}
		if cur, err = step.Next(before, len(rows)); err != nil {
			return res, Wrap(op, err, nil) // cannot happen: the engine checked the same
		}
		adopt = false
		res.Copied += int64(len(rows))
		res.Skipped += int64(read - len(rows))
		res.Missed += step.Missed
		res.Gone += step.Gone
		res.Cursor, res.TotalSent, res.TotalMissed, res.TotalGone = cur.LastID, cur.Sent, cur.Missed, cur.Gone
		res.SourceLast = max(res.SourceLast, cur.LastID)
		if o.Progress != nil {
			o.Progress(res)
		}
		if read < o.BatchRows {
			return res, nil
		}
	}
}

// SyncEpochLister is implemented by a SyncTarget that can tell which
// epochs of a source's ids it received (DB does): what a source that took
// a new identity compares with its own to continue its old identity's
// history (syncParent). A target without it never lets one continue.
type SyncEpochLister interface {
	SyncEpochs(ctx context.Context, source string) ([]SyncEpoch, error)
}

// syncParent finds, for a source the destination has no cursor of, the
// newest of its earlier identities (DB.NewSourceID keeps them) whose
// history on the destination it shares, pushed with the same pattern and
// prefix, and up to which id (at; 0: none): the source then continues from
// there, sending only the rows after it. It returns that identity's
// horizon too.
//
// The histories part where their epochs do (see WritesRows): each DB
// handle that stores rows begins an epoch with a random token, so a copy
// of a file and its original, or a restored backup and the file that went
// on, agree on the epochs before the copy was made and on nothing after.
// The ids up to the first epoch where the source's and the destination's
// lists differ (or one of them ends), the parent's cursor and the
// source's high-water mark are on the destination already, as the same
// rows (forkPoint). A destination's list may begin later than the
// source's (pushes from before it kept epochs, or a push that recorded
// none: see SyncStep.EpochsFit); a list whose first epoch the source
// lacks proves nothing (nor would the epoch at the parent's cursor, which
// comes at or after that first epoch).
func syncParent(ctx context.Context, src *DB, dst SyncTarget, o SyncOptions) (parent string, at, parentLast, horizon int64, err error) {
	const op = "sync"
	lister, ok := dst.(SyncEpochLister)
	if !ok {
		return "", 0, 0, 0, nil
	}
	var parents []string
	var high int64
	if err := src.read(ctx, op, func(rd Reader) (err error) {
		if parents, err = rd.SourceParents(ctx); err != nil {
			return err
		}
		high, err = rd.IDHighWater(ctx)
		return err
	}); err != nil || len(parents) == 0 {
		return "", 0, 0, 0, err
	}
	for _, id := range parents {
		pc, err := dst.SyncStatus(ctx, id)
		if err != nil {
			return "", 0, 0, 0, err
		}
		if pc.LastID == 0 || !pc.Filtered || pc.Pattern != o.Pattern || pc.Prefix != o.Prefix {
			continue
		}
		theirs, err := lister.SyncEpochs(ctx, id)
		if err != nil {
			return "", 0, 0, 0, err
		}
		upto := min(pc.LastID, high)
		var ours []SyncEpoch
		if err := src.read(ctx, op, func(rd Reader) (err error) {
			ours, err = rd.SourceEpochs(ctx, 0, upto)
			return err
		}); err != nil {
			return "", 0, 0, 0, err
		}
		if at := min(forkPoint(ours, theirs), upto); at > 0 {
			return id, at, pc.LastID, min(pc.Horizon, at), nil
		}
	}
	return "", 0, 0, 0, nil
}

// forkPoint returns the last id the source's epochs a and a destination's
// list b agree on, from b's first epoch on (math.MaxInt64 when neither has
// an epoch the other lacks; 0 when a lacks b's first epoch). b may begin
// later than a: a source that has b's first epoch held it when the copy
// was made, so it shares every id before that epoch's start too.
func forkPoint(a, b []SyncEpoch) int64 {
	if len(b) == 0 {
		return 0
	}
	k := slices.Index(a, b[0])
	if k < 0 {
		return 0
	}
	a = a[k:]
	i := 1
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	next := int64(math.MaxInt64)
	if i < len(a) {
		next = a[i].Start
	}
	if i < len(b) {
		next = min(next, b[i].Start)
	}
	if next == math.MaxInt64 {
		return next
	}
	return next - 1
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
	if cur.ContinuedBy != "" {
		return Wrap(op, ContinuedError(id, cur), nil)
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
		return Wrap(op, fmt.Errorf("%w: %w: the destination holds rows of source %s up to id %d, but this file has only ever had ids up to %d: it is an older copy (a restored backup?) of the file that pushed them; give this file a new identity, and it goes on from where the two parted (docs/sync.md)",
			ErrConflict, ErrCopiedSource, id, cur.LastID, high), nil)
	case found && Fingerprint(row) != cur.LastHash:
		return Wrap(op, fmt.Errorf("%w: %w: row %d of source %s is not the row the destination received as row %d: another copy of this source file pushed its own rows (a copy of this file, or the file this one was copied from); give this file a new identity, and it goes on from where the two parted (docs/sync.md)",
			ErrConflict, ErrCopiedSource, cur.LastID, id, cur.LastID), nil)
	case epoch != cur.LastEpoch:
		return Wrap(op, fmt.Errorf("%w: %w: the destination holds rows of source %s up to id %d that this file did not write: another copy of this source file pushed its own rows (a copy of this file, or the file this one was copied from, or a restored backup, stored other rows after the copy was made); give this file a new identity, and it goes on from where the two parted (docs/sync.md)",
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

// SyncEpochs returns the epochs of the ids the database, as a sync
// destination, received from source, in id order (SyncEpochLister).
func (db *DB) SyncEpochs(ctx context.Context, source string) ([]SyncEpoch, error) {
	var out []SyncEpoch
	err := db.read(ctx, "sync", func(rd Reader) (err error) {
		out, err = rd.SyncSourceEpochs(ctx, source)
		return err
	})
	return out, err
}

// SyncSources returns the cursor of every source the database received
// rows from, by source id.
func (db *DB) SyncSources(ctx context.Context) ([]SyncCursor, error) {
	var out []SyncCursor
	err := db.read(ctx, "sync sources", func(rd Reader) (err error) {
		out, err = rd.SyncSources(ctx)
		return err
	})
	return out, err
}

// ForgetSyncSource deletes, through the writer, what the database as a
// sync destination remembers of source (its cursor, its counts, its
// pattern and prefix, its epochs), and returns what it remembered. The
// rows received from it stay. A source it has no cursor of is an error
// wrapping ErrNotFound. The source's next push is its first: it sends
// every row the source still holds, or continues an earlier identity's
// history the database holds under the same pattern and prefix (see Sync).
func (db *DB) ForgetSyncSource(ctx context.Context, source string) (SyncCursor, error) {
	const op = "sync forget"
	if source == "" || len(source) > maxSourceBytes {
		return SyncCursor{}, Invalidf(op, "source id must be 1 to %d bytes, got %d", maxSourceBytes, len(source))
	}
	if err := db.writable(op); err != nil {
		return SyncCursor{}, err
	}
	c, err := db.SyncStatus(ctx, source)
	if err != nil {
		return c, err
	}
	if c.LastID == 0 {
		return c, Wrap(op, fmt.Errorf("no sync source %s on this database (rechist sync sources lists them): %w", source, ErrNotFound), nil)
	}
	c.Source = source
	r := newRequest(KindSync)
	r.Sync = &SyncStep{Source: source, Forget: true}
	if _, err := db.w.submit(ctx, r); err != nil {
		return c, Wrap(op, err, db.eng.Classify)
	}
	return c, nil
}
