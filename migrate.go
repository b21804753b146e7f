package rechist

import (
	"context"
	"time"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/repo"
)

// Migration is the state of one of rechist's schema migrations in a
// database.
type Migration struct {
	// Version is the migration's goose version: 1 is the Rust crate's
	// schema.
	Version int64
	// Source is the migration's file name, such as 00001_record_history.sql.
	Source string
	// Applied says whether the database has it, since AppliedAt (zero when
	// not applied, and in what MigrateUp returns).
	Applied   bool
	AppliedAt time.Time
}

// [Open] applies pending migrations by itself; these functions are for
// tools that inspect or manage the schema of a database that is not open.
// path is what Open takes: a file path or a postgres:// URL.

// MigrationStatus lists rechist's migrations and whether the database at
// path has each one. It never creates a database: a file that does not
// exist is an error that names it.
func MigrationStatus(ctx context.Context, path string) ([]Migration, error) {
	ms, err := core.MigrationStatus(ctx, path, repo.Driver)
	return migrations(ms), public(err)
}

// MigrateUp applies the pending migrations to the database at path and
// returns those it applied. It creates a database file that does not exist.
func MigrateUp(ctx context.Context, path string) ([]Migration, error) {
	ms, err := core.MigrateUp(ctx, path, repo.Driver)
	return migrations(ms), public(err)
}

// MigrateDown rolls back the newest applied migration of the database at
// path and returns it. It refuses (with [ErrInvalidArgument]) to roll back
// the base schema, which would drop the table holding the history, and
// never creates a database.
func MigrateDown(ctx context.Context, path string) (Migration, error) {
	m, err := core.MigrateDown(ctx, path, repo.Driver)
	return Migration(m), public(err)
}

func migrations(ms []core.Migration) []Migration {
	if ms == nil {
		return nil
	}
	out := make([]Migration, len(ms))
	for i, m := range ms {
		out[i] = Migration(m)
	}
	return out
}
