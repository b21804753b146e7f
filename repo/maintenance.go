package repo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/seed178a96f3/rechist/internal/core"
)

var (
	_ core.Compacter = (*engine)(nil)
	_ core.Backuper  = (*engine)(nil)
)

// Backup writes a consistent copy of the database to the new file dst with
// VACUUM INTO, on a connection of its own that only reads the database
// (VACUUM INTO needs a connection that may write, for the copy): the copy
// holds what was committed when it began, compacted, and writers go on
// meanwhile (the WAL cannot start over while it runs). An existing dst is
// refused.
func (e *engine) Backup(ctx context.Context, dst string) error {
	switch _, err := os.Stat(dst); {
	case err == nil:
		return core.Invalidf("backup", "%s exists; rechist does not overwrite it", dst)
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if dir := filepath.Dir(dst); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	src := e.readDB
	if !e.loc.memory {
		conn, err := sql.Open("sqlite", e.loc.dsn(backupParams(e.cfg)))
		if err != nil {
			return err
		}
		defer conn.Close()
		conn.SetMaxOpenConns(1)
		src = conn
	}
	if _, err := src.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		_ = os.Remove(dst) // a partial copy is no backup
		return fmt.Errorf("VACUUM INTO %s: %w", dst, err)
	}
	return nil
}

// Compact gives the pages deleted rows left free back to the file system.
// The writer goroutine runs it alone, on its connection, between batches.
// A file with incremental auto-vacuum (every file rechist created) frees
// its pages in place, compactPages at a time: PRAGMA incremental_vacuum(N)
// moves the last pages into the free ones, then a checkpoint copies them
// back and truncates the file (keeping the WAL to one step's pages); no
// extra space is needed, and more says free pages are left for the next
// call, so a large cleanup's space comes back in steps that each fit the
// batch timeout, with stores going between them. An older file
// (auto_vacuum NONE, as the Rust crate makes them) is rebuilt once by
// VACUUM, which switches it to incremental auto-vacuum: that needs free
// space about the size of the database, for the copy and for the WAL, and
// holds other writers for its duration.
func (e *engine) Compact(ctx context.Context) (more bool, err error) {
	var mode int
	if err := e.writeDB.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&mode); err != nil {
		return false, err
	}
	if mode == 2 {
		if _, err := e.writeDB.ExecContext(ctx, fmt.Sprintf("PRAGMA incremental_vacuum(%d)", compactPages)); err != nil {
			return false, fmt.Errorf("incremental_vacuum: %w", err)
		}
		var free int64
		if err := e.writeDB.QueryRowContext(ctx, "PRAGMA freelist_count").Scan(&free); err != nil {
			return false, err
		}
		more = free > 0
	} else {
		if _, err := e.writeDB.ExecContext(ctx, "PRAGMA auto_vacuum = 2"); err != nil {
			return false, err
		}
		if err := vacuumOnDisk(ctx, e.writeDB); err != nil {
			return false, err
		}
	}
	if e.loc.memory {
		return more, nil
	}
	// The freed pages leave the file only when the WAL is copied back and
	// the file truncated: a TRUNCATE checkpoint, behind the read gate.
	e.readGate.Lock()
	busy, _, _, _, err := checkpointMode(ctx, e.writeDB, "TRUNCATE", restartWait)
	e.readGate.Unlock()
	if err != nil {
		return false, fmt.Errorf("checkpoint: %w", err)
	}
	if busy && !more {
		e.cfg.Logger.Info("rechist: compacted; the file shrinks at the next checkpoint: another connection still reads the WAL")
	}
	return more, nil
}

// vacuumOnDisk runs VACUUM on the writer's connection with its temporary
// copy of the database in a file (temp_store FILE), then puts the
// connection's temp_store(memory) back (withMemoryJournals): in memory,
// the copy would take as much memory as the database is large.
func vacuumOnDisk(ctx context.Context, conn *sql.DB) (err error) {
	if _, err := conn.ExecContext(ctx, "PRAGMA temp_store = FILE"); err != nil {
		return err
	}
	defer func() {
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA temp_store = MEMORY"); err == nil {
			err = rerr
		}
	}()
	if _, err := conn.ExecContext(ctx, "VACUUM"); err != nil {
		return fmt.Errorf("VACUUM: %w", err)
	}
	return nil
}

// compactPages is how many free pages one Compact step gives back: 8 MiB
// of the default 1 KiB pages, a fraction of a second's work.
const compactPages = 8192

// freeBytes is the size of the free pages inside the file.
func (e *engine) freeBytes(ctx context.Context) (int64, error) {
	var pages, size int64
	if err := e.readDB.QueryRowContext(ctx, "PRAGMA freelist_count").Scan(&pages); err != nil {
		return 0, err
	}
	if err := e.readDB.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size); err != nil {
		return 0, err
	}
	return pages * size, nil
}

// backupParams are the pragmas of Backup's connection: a reader's, but
// not query_only (VACUUM INTO writes its copy) and without any journal-mode
// change.
func backupParams(cfg core.Config) url.Values {
	v := readerParams(cfg)
	v.Del("_query_only")
	return v
}
