package repo

import (
	"context"
	"errors"
	"io/fs"
	"os"

	"github.com/seed178a96f3/rechist/internal/core"
)

// Summary counts rows and records, reads the time span and the file sizes,
// and lists the top records by row count. Rows and Top read every row of the
// index, so the call takes time in proportion to the history's size.
func (e *engine) Summary(ctx context.Context, top int) (core.Summary, error) {
	var s core.Summary
	e.readGate.RLock()
	defer e.readGate.RUnlock()
	counts, err := e.readQ.CountRows(ctx)
	if err != nil {
		return s, err
	}
	s.Rows, s.OldestMs, s.NewestMs = counts.RowCount, counts.OldestMs, counts.NewestMs
	if s.Records, err = e.readQ.CountRecords(ctx); err != nil {
		return s, err
	}
	if top > 0 {
		rows, err := e.readQ.TopRecords(ctx, int64(top))
		if err != nil {
			return s, err
		}
		for _, r := range rows {
			s.Top = append(s.Top, core.RecordSummary{Name: r.RecordName, Rows: r.RowCount, NewestMs: r.NewestMs})
		}
	}
	if s.FreeBytes, err = e.freeBytes(ctx); err != nil {
		return s, err
	}
	if !e.loc.memory {
		if s.FileBytes, err = fileSize(e.path); err != nil {
			return s, err
		}
		if s.WALBytes, err = fileSize(e.path + "-wal"); err != nil {
			return s, err
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
