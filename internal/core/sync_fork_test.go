package core

import (
	"math"
	"testing"
)

// forkPoint and cursorEpochFork: where a source's epochs and those a
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
		{"not begun alike", []SyncEpoch{e(1, "a")}, []SyncEpoch{e(5, "b")}, 0},
		{"the destination has none", []SyncEpoch{e(1, "a")}, nil, 0},
		{"the source has none", nil, []SyncEpoch{e(1, "a")}, 0},
	} {
		if got := forkPoint(c.ours, c.dest); got != c.want {
			t.Errorf("%s: forkPoint = %d, want %d", c.name, got, c.want)
		}
	}
	ours := []SyncEpoch{e(1, "a"), e(5, "b"), e(9, "c")}
	for token, want := range map[string]int64{"a": 4, "b": 8, "c": math.MaxInt64, "x": 0, "": 0} {
		if got := cursorEpochFork(ours, token); got != want {
			t.Errorf("cursorEpochFork(%q) = %d, want %d", token, got, want)
		}
	}
}
