package main

import (
	"errors"
	"fmt"
	"os"
)

type compactCmd struct{}

func (c *compactCmd) Help() string {
	return `Rows that cleanup or retention delete leave free space inside the file
(stats shows how much); compact gives it back to the file system. It rewrites
the whole database, needs about that much free disk space while it runs, and
other programs' writes wait for it. On PostgreSQL it explains autovacuum and
VACUUM FULL instead.

Example:
  rechist cleanup --older-than 30d
  rechist compact`
}

func (c *compactCmd) Run(e *env) error {
	db, err := e.open()
	if err != nil {
		return err
	}
	defer db.Close()
	before, err := db.Summary(e.ctx, 0)
	if err != nil {
		return err
	}
	if err := db.Compact(e.ctx); err != nil {
		if errors.Is(err, errors.ErrUnsupported) && isURL(e.dbPath) {
			return fmt.Errorf("%w: on PostgreSQL, autovacuum makes the space of deleted rows reusable by new ones (the table does not shrink); "+
				"VACUUM FULL record_history gives it back to the disk but locks the table while it rewrites it, and with time partitions "+
				"(rechist partition) retention drops whole partitions and their files", err)
		}
		return err
	}
	onServer := isURL(e.dbPath)
	var after int64
	if onServer {
		s, err := db.Summary(e.ctx, 0)
		if err != nil {
			return err
		}
		after = s.FileBytes
	}
	// A SQLite file shrinks when Close has checkpointed the WAL.
	if err := db.Close(); err != nil {
		return err
	}
	what := "table size"
	if !onServer {
		what = "file size"
		fi, err := os.Stat(e.dbPath)
		if err != nil {
			return err
		}
		after = fi.Size()
	}
	fmt.Fprintf(e.stdout, "compacted %s: %s %s before (%s of it free), %s after\n", db.Path(), what,
		bytesString(before.FileBytes), bytesString(before.FreeBytes), bytesString(after))
	return nil
}
