package core

import (
	"errors"
	"math"
	"testing"
)

// forkPoint: where a source's epochs and those a
// destination recorded of an earlier identity part.
func TestSyncForkPoint(t *testing.T) {
	e := func(start int64, token string) SyncEpoch { return SyncEpoch{Start: start, Token: token} }
	for _, c := range []struct {
		name       string
		ours, dest []SyncEpoch
		want       int64
	}{
		{"the same", []SyncEpoch{e(1, "a"), e(5, "b")}, []SyncEpoch{e(1, "a"), e(5, "b")}, math.MaxInt64},
		{"a copy's own epoch", []SyncEpoch{e(1, "a"), e(5, "c")}, []SyncEpoch{e(1, "a"), e(5, "b")}, 4},
		{"the original went on in its epoch", []SyncEpoch{e(1, "a")}, []SyncEpoch{e(1, "a"), e(7, "c")}, 6},
		{"the copy went on", []SyncEpoch{e(1, "a"), e(7, "c"), e(9, "d")}, []SyncEpoch{e(1, "a")}, 6},
		{"different starts", []SyncEpoch{e(1, "a"), e(6, "c")}, []SyncEpoch{e(1, "a"), e(5, "b")}, 4},
		{"the source lacks the destination's first", []SyncEpoch{e(1, "a")}, []SyncEpoch{e(5, "b")}, 0},
		{"the destination's list begins later", []SyncEpoch{e(1, "a"), e(5, "b"), e(9, "c")}, []SyncEpoch{e(5, "b"), e(9, "d")}, 8},
		{"the destination's list begins later, the same since", []SyncEpoch{e(1, "a"), e(5, "b")}, []SyncEpoch{e(5, "b")}, math.MaxInt64},
		{"the same start, another token", []SyncEpoch{e(1, "a")}, []SyncEpoch{e(1, "b")}, 0},
		{"the destination has none", []SyncEpoch{e(1, "a")}, nil, 0},
		{"the source has none", nil, []SyncEpoch{e(1, "a")}, 0},
	} {
		if got := forkPoint(c.ours, c.dest); got != c.want {
			t.Errorf("%s: forkPoint = %d, want %d", c.name, got, c.want)
		}
	}
}

// SyncStep.EpochsFit: a step's epochs go on the destination's list when
// the list's epoch at the cursor is the cursor's and the step's first is
// it or starts after the cursor; else (a push in between recorded none)
// the list is replaced.
func TestSyncStepEpochsFit(t *testing.T) {
	e := func(start int64, token string) SyncEpoch { return SyncEpoch{Start: start, Token: token} }
	for _, c := range []struct {
		name   string
		prev   int64
		cursor string // the cursor's epoch
		at     *SyncEpoch
		epochs []SyncEpoch
		want   bool
	}{
		{"the first push", 0, "", nil, []SyncEpoch{e(1, "a")}, true},
		{"the same epoch goes on", 10, "a", &SyncEpoch{1, "a"}, []SyncEpoch{e(1, "a"), e(15, "b")}, true},
		{"a new epoch right after the cursor", 10, "a", &SyncEpoch{1, "a"}, []SyncEpoch{e(11, "b")}, true},
		{"a push recorded no epochs: the cursor's is not the list's", 20, "c", &SyncEpoch{1, "a"}, []SyncEpoch{e(12, "c")}, false},
		{"the list has none, the cursor one", 20, "c", nil, []SyncEpoch{e(12, "c")}, false},
		{"a takeover: the whole list", 10, "", nil, []SyncEpoch{e(1, "a")}, false},
		{"no epochs", 10, "a", &SyncEpoch{1, "a"}, nil, true},
	} {
		at, found := SyncEpoch{}, c.at != nil
		if found {
			at = *c.at
		}
		s := &SyncStep{PrevID: c.prev, Epochs: c.epochs}
		if got := s.EpochsFit(SyncCursor{LastID: c.prev, LastEpoch: c.cursor}, at, found); got != c.want {
			t.Errorf("%s: EpochsFit = %v, want %v", c.name, got, c.want)
		}
	}
}

// SyncStep.Next: the cursor's pattern and prefix are checked when both
// the cursor and the step know them, recorded by a step that says them,
// kept by one that does not (an older client); an adopting step needs no
// cursor; the horizon is the first step's, gone rows add up.
func TestSyncStepNext(t *testing.T) {
	known := SyncCursor{LastID: 10, Filtered: true, Pattern: "*", Prefix: "gw.", Horizon: 8, Gone: 2}
	old := SyncCursor{LastID: 10}
	step := func(pattern, prefix string) *SyncStep {
		return &SyncStep{Source: "s", PrevID: 10, LastID: 12, LastHash: "h", Pattern: pattern, Prefix: prefix, Horizon: 99, Gone: 0}
	}
	if _, err := step("*", "other.").Next(known, 2); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("another prefix: %v; want ErrInvalidArgument", err)
	}
	if _, err := step("a.*", "gw.").Next(known, 2); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("another pattern: %v; want ErrInvalidArgument", err)
	}
	if c, err := step("", "").Next(known, 2); err != nil || c.Pattern != "*" || c.Prefix != "gw." || !c.Filtered || c.Horizon != 8 || c.Gone != 2 {
		t.Errorf("a step that says no pattern: %+v, %v; want the cursor's kept", c, err)
	}
	if c, err := step("a.*", "x.").Next(old, 2); err != nil || !c.Filtered || c.Pattern != "a.*" || c.Prefix != "x." || c.Horizon != 0 {
		t.Errorf("an older cursor: %+v, %v; want the step's recorded, no horizon", c, err)
	}
	first := &SyncStep{Source: "s", PrevID: 0, LastID: 5, LastHash: "h", Pattern: "*", Horizon: 7, Gone: 3}
	if c, err := first.Next(SyncCursor{}, 2); err != nil || c.Horizon != 7 || c.Gone != 3 || c.Missed != 0 {
		t.Errorf("a first step: %+v, %v", c, err)
	}
	adopt := &SyncStep{Source: "s", PrevID: 40, LastID: 45, LastHash: "h", Pattern: "*", Horizon: 30, Adopt: true}
	if c, err := adopt.Next(SyncCursor{}, 5); err != nil || c.LastID != 45 || c.Sent != 5 || c.Horizon != 30 {
		t.Errorf("an adopting step: %+v, %v", c, err)
	}
	if _, err := adopt.Next(SyncCursor{LastID: 40}, 5); !errors.Is(err, ErrConflict) {
		t.Errorf("an adopting step over an existing cursor: %v; want ErrConflict", err)
	}
	for name, s := range map[string]*SyncStep{
		"gone too many":  {Source: "s", PrevID: 0, LastID: 5, LastHash: "h", Gone: 4, Missed: 1},
		"epoch past end": {Source: "s", PrevID: 0, LastID: 5, LastHash: "h", Epochs: []SyncEpoch{{Start: 6, Token: "t"}}},
		"epochs unsorted": {Source: "s", PrevID: 0, LastID: 5, LastHash: "h",
			Epochs: []SyncEpoch{{Start: 3, Token: "t"}, {Start: 2, Token: "u"}}},
		"epoch without token": {Source: "s", PrevID: 0, LastID: 5, LastHash: "h", Epochs: []SyncEpoch{{Start: 1}}},
		"forget":              {Source: "s", PrevID: 0, LastID: 5, LastHash: "h", Forget: true},
		"negative gone":       {Source: "s", PrevID: 0, LastID: 5, LastHash: "h", Gone: -1},
	} {
		if err := s.check("sync", 1); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: check = %v; want ErrInvalidArgument", name, err)
		}
	}
}

// Continue refuses a takeover whose epoch after the point another
// identity's recorded takeover of the same parent continued from is that
// takeover's (the same file, a second new identity): ErrConflict, no
// copy; another epoch there (a genuine copy) and the source's own record
// pass. Takeover records the step's epoch at the id after its point.
func TestSyncStepContinueTakeovers(t *testing.T) {
	parent := SyncCursor{LastID: 20, Filtered: true, Pattern: "*", Prefix: "gw."}
	parentEpochs := []SyncEpoch{{Start: 1, Token: "a"}, {Start: 11, Token: "b"}}
	step := func(source, own string) *SyncStep {
		return &SyncStep{Source: source, PrevID: 10, LastID: 15, LastHash: "h", Pattern: "*", Prefix: "gw.", Adopt: true,
			Parent: "p", ParentLast: 20, Epochs: []SyncEpoch{{Start: 1, Token: "a"}, {Start: 11, Token: own}}}
	}
	s2 := step("s2", "c")
	if got := s2.Takeover(); got != (SyncTakeover{Source: "s2", At: 10, Epoch: "c"}) {
		t.Fatalf("Takeover = %+v; want s2 at 10 with epoch c", got)
	}
	recorded := []SyncTakeover{s2.Takeover()}
	if next, mark, err := step("s1", "c").Continue(parent, parentEpochs, nil, recorded); !errors.Is(err, ErrConflict) || errors.Is(err, ErrCopiedSource) || mark || next != parent {
		t.Errorf("a second takeover with the same epoch after the point: %+v, %v, %v; want ErrConflict (not a copy), nothing marked", next, mark, err)
	}
	if _, mark, err := step("other", "d").Continue(parent, parentEpochs, nil, recorded); err != nil || mark {
		t.Errorf("a copy's takeover (another epoch after the point): %v, %v; want it taken, the parent not marked (below its cursor)", mark, err)
	}
	if _, _, err := s2.Continue(parent, parentEpochs, nil, recorded); err != nil {
		t.Errorf("the recorded source itself: %v; want it taken", err)
	}
}
