package core

import (
	"math"
	"time"
)

// Buckets aligned to a time zone (AggSpec.Loc): a bucket is a span of
// local wall-clock time of the bucket width, aligned to the local epoch
// (1970-01-01 00:00 local), so 1d buckets start at local midnight. Where
// clocks go back, the repeated wall time falls into the bucket it names
// (an hourly bucket of 01:00 holds both 01:00 hours, two hours of rows);
// where they go forward, the skipped wall time has no rows (a daily
// bucket of that day holds 23 hours). A bucket's start is the instant of
// its first wall-clock time.

// BucketStart is the start, in Unix ms, of the bucket of width every that
// holds ms: aligned to the epoch for a nil or UTC loc, else to loc's wall
// clock.
func BucketStart(loc *time.Location, every, ms int64) int64 {
	if loc == nil || loc == time.UTC {
		return bucketStart(ms, every)
	}
	return zoneBucket(loc, every, ms)
}

// zoneBucket is the start, in Unix ms, of the bucket of width every in
// loc that holds ms.
func zoneBucket(loc *time.Location, every, ms int64) int64 {
	_, off := time.UnixMilli(ms).In(loc).Zone()
	wall := ms + int64(off)*1000
	ws := bucketStart(wall, every)
	u := time.UnixMilli(ws).UTC() // the wall clock's fields
	return time.Date(u.Year(), u.Month(), u.Day(), u.Hour(), u.Minute(), u.Second(), u.Nanosecond(), loc).UnixMilli()
}

// isUTC says whether buckets in loc are the epoch-aligned buckets of UTC:
// loc is nil, UTC, or a zone whose offset is always zero.
func isUTC(loc *time.Location) bool {
	if loc == nil || loc == time.UTC {
		return true
	}
	return zoneAligned(loc, 0, math.MaxInt64, math.MaxInt64)
}

// zoneSpan is how far zoneAligned looks at a zone's rules: tzdata lists
// transitions up to a year and repeats a rule after it. Past the span the
// rule of its end is taken to go on.
var zoneSpan = [2]int64{0, time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()}

// zoneAligned says whether loc's offsets and its transitions within
// [fromMs, toMs] all fall on multiples of w ms: then a bucket of width w
// aligned to the epoch lies within one constant offset and within one
// local bucket of any width w divides (a rollup tier's bucket serves a
// local bucket). w math.MaxInt64 asks whether every offset is zero and
// there is no transition.
func zoneAligned(loc *time.Location, fromMs, toMs, w int64) bool {
	from, to := max(fromMs, zoneSpan[0]), min(toMs, zoneSpan[1])
	from = min(from, to)
	t := time.UnixMilli(from).In(loc)
	for {
		_, off := t.Zone()
		if int64(off)*1000%w != 0 {
			return false
		}
		_, end := t.ZoneBounds()
		if end.IsZero() || end.UnixMilli() > to {
			return true
		}
		if end.UnixMilli()%w != 0 {
			return false
		}
		t = end.In(loc)
	}
}
