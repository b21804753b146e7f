package repo

import (
	"context"
	"fmt"
	"math"

	"github.com/seed178a96f3/rechist/repo/internal/syncdb"
)

// Block keys (migration 00011). A block is stored under one integer, so
// finding, inserting or replacing it is one seek of the table's own
// B-tree: block_key = series_id << eraBits | the block's number within
// its era. A block's number is block_ms / (8 * every_ms) (blocks are
// aligned to eight widths from the epoch); its era is that number >>
// eraBits, and a series is one record's tier of one width in one era
// (rechist_tier_series). An era of a 1 s tier spans 544 years, so every
// real tier has one series; a row at any int64 time still has a key.

// eraBits is how many low bits of a block key number the block within
// its era.
const eraBits = 31

// eraMask keeps a block key's number within its era.
const eraMask = 1<<eraBits - 1

// blockSpan is how many milliseconds a block of width everyMs covers:
// eight buckets.
func blockSpan(everyMs int64) int64 { return 8 * everyMs }

// blockNumber is the number of the block starting at blockMs (a
// multiple of blockSpan(everyMs)).
func blockNumber(blockMs, everyMs int64) int64 { return blockMs / blockSpan(everyMs) }

// blockNumberAtOrAfter is the number of the first block starting at or
// after ms, and blockNumberAtOrBefore that of the last starting at or
// before it: the bounds of a range of block starts.
func blockNumberAtOrAfter(ms, everyMs int64) int64 {
	span := blockSpan(everyMs)
	n := ms / span
	if ms > 0 && ms%span != 0 {
		n++
	}
	return n
}

func blockNumberAtOrBefore(ms, everyMs int64) int64 {
	span := blockSpan(everyMs)
	n := ms / span
	if ms < 0 && ms%span != 0 {
		n--
	}
	return n
}

// blockKey is the key of block number n in series id, and keyRange the
// keys of the whole series.
func blockKey(id, n int64) int64 { return id<<eraBits | n&eraMask }

func keyRange(id int64) (lo, hi int64) { return id << eraBits, id<<eraBits | eraMask }

// blockMsOf is the start of the block stored under key in the series of
// era era.
func blockMsOf(key, era, everyMs int64) int64 {
	return (era<<eraBits | key&eraMask) * blockSpan(everyMs)
}

// maxSeriesID is the largest series id a key holds.
const maxSeriesID = math.MaxInt64 >> eraBits

// seriesKey names one series.
type seriesKey struct {
	name       string
	every, era int64
}

// series looks series ids up and makes them, on one transaction: ids
// found (or made) stay known for the transaction's life, absent ones
// until made.
type series struct {
	sq  *syncdb.Queries
	ids map[seriesKey]int64 // 0: known to be absent
}

// id returns the id of series k, ok false when it does not exist (and
// create is false).
func (s *series) id(ctx context.Context, k seriesKey, create bool) (int64, bool, error) {
	if id, ok := s.ids[k]; ok && (id != 0 || !create) {
		return id, id != 0, nil
	}
	if s.ids == nil {
		s.ids = map[seriesKey]int64{}
	}
	got, err := s.sq.TierSeries(ctx, syncdb.TierSeriesParams{Name: k.name, EveryMs: k.every, FromEra: k.era, ToEra: k.era})
	if err != nil {
		return 0, false, err
	}
	if len(got) == 1 {
		s.ids[k] = got[0].SeriesID
		return got[0].SeriesID, true, nil
	}
	if !create {
		s.ids[k] = 0
		return 0, false, nil
	}
	id, err := s.sq.AddTierSeries(ctx, syncdb.AddTierSeriesParams{Name: k.name, EveryMs: k.every, Era: k.era})
	if err != nil {
		return 0, false, err
	}
	if id > maxSeriesID {
		return 0, false, fmt.Errorf("tier series id %d is past the largest a block key holds (%d)", id, maxSeriesID)
	}
	s.ids[k] = id
	return id, true, nil
}

// forget drops what s knows of (name, every)'s series: they were deleted.
func (s *series) forget(name string, every int64) {
	for k := range s.ids {
		if k.name == name && k.every == every {
			delete(s.ids, k)
		}
	}
}

// eraSeries is one era's series of a tier, and the block numbers of a
// range within it.
type eraSeries struct {
	id, era  int64
	from, to int64 // block keys
}

// seriesIn lists the series of (name, everyMs) holding blocks that start
// within [fromMs, toMs], by era, each with its range of keys.
func seriesIn(ctx context.Context, sq *syncdb.Queries, name string, everyMs, fromMs, toMs int64) ([]eraSeries, error) {
	nFrom, nTo := blockNumberAtOrAfter(fromMs, everyMs), blockNumberAtOrBefore(toMs, everyMs)
	if nFrom > nTo {
		return nil, nil
	}
	got, err := sq.TierSeries(ctx, syncdb.TierSeriesParams{Name: name, EveryMs: everyMs, FromEra: nFrom >> eraBits, ToEra: nTo >> eraBits})
	if err != nil {
		return nil, err
	}
	out := make([]eraSeries, len(got))
	for i, g := range got {
		lo, hi := keyRange(g.SeriesID)
		if g.Era == nFrom>>eraBits {
			lo = blockKey(g.SeriesID, nFrom)
		}
		if g.Era == nTo>>eraBits {
			hi = blockKey(g.SeriesID, nTo)
		}
		out[i] = eraSeries{id: g.SeriesID, era: g.Era, from: lo, to: hi}
	}
	return out, nil
}
