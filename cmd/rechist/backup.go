package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

type backupCmd struct {
	File string `arg:"" placeholder:"FILE" help:"The new file to write the copy to (its directory is created if needed); an existing file is never overwritten."`
}

func (c *backupCmd) Help() string {
	return `Copies every row committed before the backup began while other programs go
on writing. The copy is compacted and opens as a database of its own; the
database itself is opened read-only. SQLite files only: back up a PostgreSQL
database with pg_dump.

Example:
  rechist backup backups/history-2026-11-26.db
  rechist --db backups/history-2026-11-26.db stats`
}

func (c *backupCmd) Run(e *env) error {
	if _, err := os.Lstat(c.File); err == nil {
		return usagef("%s already exists; backup writes a new file and never overwrites one", c.File)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	db, err := e.openRead()
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	if err := db.Backup(e.ctx, c.File); err != nil {
		return err
	}
	elapsed := time.Since(start)
	fi, err := os.Stat(c.File)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backed up %s to %s (%s) in %v\n", db.Path(), c.File, bytesString(fi.Size()), elapsed.Round(time.Millisecond))
	return db.Close()
}
