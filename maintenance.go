package rechist

import (
	"context"
	"errors"
)

// Backup writes a consistent copy of the database to the new file dst
// while writers go on: every row committed before Backup began is in the
// copy. On SQLite the copy is compacted (VACUUM INTO) and opens as a
// rechist database of its own; an existing dst is refused. On PostgreSQL
// it returns an error wrapping errors.ErrUnsupported: use pg_dump.
func (db *DB) Backup(ctx context.Context, dst string) error {
	return errors.ErrUnsupported // implemented in the next commit
}

// Compact gives the space of deleted rows back to the file system.
func (db *DB) Compact(ctx context.Context) error {
	return errors.ErrUnsupported // implemented in the next commit
}
