package rechist

import "context"

// Backup writes a consistent copy of the database to the new file dst
// while writers go on: the copy holds every row committed before Backup
// began. It only reads, so it works on a DB opened [WithReadOnly] too.
//
// On SQLite the copy is made with VACUUM INTO: compacted, in one file (no
// WAL), ready for [Open]; dst's directory is created if needed, and an
// existing dst is refused with [ErrInvalidArgument]. While it runs the WAL
// cannot start over, so it grows by what is written meanwhile. On
// PostgreSQL it returns an error wrapping [errors.ErrUnsupported]: use
// pg_dump (pg_dump -t record_history), which makes consistent copies of a
// live database.
func (db *DB) Backup(ctx context.Context, dst string) error {
	return public(db.core.Backup(ctx, dst))
}

// Compact gives the space of deleted rows back to the file system
// ([Summary].FreeBytes says how much there is). The writer runs it alone,
// between two batches of stores.
//
// On a file rechist created (incremental auto-vacuum), it moves the last
// pages into the free ones and truncates the file: no extra disk space
// needed, and stores wait only while it runs. On an older file (one the
// Rust crate made) the first Compact rebuilds it with VACUUM, which needs
// free disk space of about the database's size and holds every writer
// until it is done; it also switches the file to incremental auto-vacuum,
// so later ones are cheap. Run it after a large cleanup, not after every
// one. On PostgreSQL it returns an error wrapping [errors.ErrUnsupported]
// (the server's autovacuum reuses the space). A DB opened [WithReadOnly]
// returns [ErrReadOnly].
func (db *DB) Compact(ctx context.Context) error {
	return public(db.core.Compact(ctx))
}
