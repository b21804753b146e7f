package repo

import (
	"context"
	"errors"
	"io/fs"
	"os"
)

// Summary describes what a database holds.
type Summary struct {
	Rows, Records      int64
	OldestMs, NewestMs int64 // zero when Rows is zero
	FileBytes          int64 // the database file
	WALBytes           int64 // its write-ahead log
	Top                []RecordSummary
}

// RecordSummary is one record's share of the history.
type RecordSummary struct {
	Name     string
	Rows     int64
	NewestMs int64
}

// Summary counts rows and records, reads the time span and the file sizes,
// and lists the top records by row count. Rows and Top read every row of the
// index, so the call takes time in proportion to the history's size.
func (e *Engine) Summary(ctx context.Context, top int) (Summary, error) {
	const op = "summary"
	if top < 0 {
		return Summary{}, Invalidf(op, "top must not be negative, got %d", top)
	}
	if e.w.Closed() {
		return Summary{}, ErrClosed
	}
	var s Summary
	e.readGate.RLock()
	defer e.readGate.RUnlock()
	counts, err := e.readQ.CountRows(ctx)
	if err != nil {
		return s, opError(op, err)
	}
	s.Rows, s.OldestMs, s.NewestMs = counts.RowCount, counts.OldestMs, counts.NewestMs
	if s.Records, err = e.readQ.CountRecords(ctx); err != nil {
		return s, opError(op, err)
	}
	if top > 0 {
		rows, err := e.readQ.TopRecords(ctx, int64(top))
		if err != nil {
			return s, opError(op, err)
		}
		for _, r := range rows {
			s.Top = append(s.Top, RecordSummary{Name: r.RecordName, Rows: r.RowCount, NewestMs: r.NewestMs})
		}
	}
	if !e.loc.memory {
		if s.FileBytes, err = fileSize(e.path); err != nil {
			return s, opError(op, err)
		}
		if s.WALBytes, err = fileSize(e.path + "-wal"); err != nil {
			return s, opError(op, err)
		}
	}
	return s, nil
}

// fileSize returns the size of the file at path, 0 if there is none.
func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
