package repo

import (
	"context"
	"errors"
	"io/fs"
	"os"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/repo/internal/syncdb"
)

// Summary counts rows and records, reads the time span and the file sizes,
// and lists the top records by row count: from the names table, a row a
// record; in a file that predates it, by reading every row of the index.
func (e *engine) Summary(ctx context.Context, top int) (core.Summary, error) {
	var s core.Summary
	e.readGate.RLock()
	defer e.readGate.RUnlock()
	err := e.countRecords(ctx, &s, top)
	if err != nil {
		return s, err
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

// countRecords fills in the rows, records, time span and top records of s.
func (e *engine) countRecords(ctx context.Context, s *core.Summary, top int) error {
	tx, err := e.readDB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to keep
	rd := &reader{conn: tx, q: e.readQ.WithTx(tx), gate: &e.readGate}
	sq := syncdb.New(tx)
	if t, err := sq.NamedTotals(ctx); err == nil {
		s.Rows, s.Records, s.OldestMs, s.NewestMs = t.RowCount, t.RecordCount, t.OldestMs, t.NewestMs
		if top <= 0 {
			return nil
		}
		got, err := sq.NamedTop(ctx, int64(top))
		for _, r := range got {
			s.Top = append(s.Top, core.RecordSummary{Name: r.RecordName, Rows: r.RowCount, NewestMs: r.NewestMs})
		}
		return err
	} else if !rd.missingTable(ctx, err, "rechist_record") {
		return err
	}
	counts, err := rd.q.CountRows(ctx)
	if err != nil {
		return err
	}
	s.Rows, s.OldestMs, s.NewestMs = counts.RowCount, counts.OldestMs, counts.NewestMs
	if s.Records, err = rd.q.CountRecords(ctx); err != nil || top <= 0 {
		return err
	}
	got, err := rd.q.TopRecords(ctx, int64(top))
	for _, r := range got {
		s.Top = append(s.Top, core.RecordSummary{Name: r.RecordName, Rows: r.RowCount, NewestMs: r.NewestMs})
	}
	return err
}
