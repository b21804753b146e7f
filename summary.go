package rechist

import (
	"context"
	"time"
)

// Summary describes what a database holds; see [DB.Summary].
type Summary struct {
	// Rows is the number of stored rows; Records the number of distinct
	// record names.
	Rows, Records int64
	// Oldest and Newest are the times of the oldest and newest rows (zero
	// when there are none).
	Oldest, Newest time.Time
	// FileBytes and WALBytes are the sizes of the database file and of its
	// write-ahead log; on PostgreSQL, FileBytes is the table's size on disk
	// with its indexes and WALBytes is zero.
	FileBytes, WALBytes int64
	// FreeBytes is the space inside the database file that deleted rows
	// left free: [DB.Compact] gives it back to the file system. Zero on
	// PostgreSQL.
	FreeBytes int64
	// Partitions is the number of time partitions of the history and
	// PartitionWidth their width ([WithPartitions]); both zero when it is
	// not partitioned (always on SQLite).
	Partitions     int
	PartitionWidth time.Duration
	// Top lists the records with the most rows, most first.
	Top []RecordSummary
}

// RecordSummary is one record's share of the history.
type RecordSummary struct {
	Name   string
	Rows   int64
	Newest time.Time
}

// Summary counts the rows and records, reads the time span and file sizes,
// and lists the top records by row count (none when top is 0), from the
// names table: a row a record. On a file opened read-only that predates
// the table it reads the whole index instead, in time proportional to the
// history's size.
func (db *DB) Summary(ctx context.Context, top int) (Summary, error) {
	s, err := db.core.Summary(ctx, top)
	if err != nil {
		return Summary{}, public(err)
	}
	out := Summary{Rows: s.Rows, Records: s.Records, FileBytes: s.FileBytes, WALBytes: s.WALBytes, FreeBytes: s.FreeBytes,
		Partitions: s.Partitions, PartitionWidth: time.Duration(s.PartitionWidthMs) * time.Millisecond}
	if s.Rows > 0 {
		out.Oldest, out.Newest = fromMillis(s.OldestMs), fromMillis(s.NewestMs)
	}
	for _, r := range s.Top {
		out.Top = append(out.Top, RecordSummary{Name: r.Name, Rows: r.Rows, Newest: fromMillis(r.NewestMs)})
	}
	return out, nil
}
