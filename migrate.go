package rechist

import (
	"context"

	"github.com/seed178a96f3/rechist/repo"
)

// Migration is the state of one of rechist's schema migrations in a
// database file.
type Migration = repo.Migration

// [Open] applies pending migrations by itself; these functions are for
// tools that inspect or manage the schema of a file that is not open.

// MigrationStatus lists rechist's migrations and whether the database at
// path has each one.
func MigrationStatus(ctx context.Context, path string) ([]Migration, error) {
	return repo.MigrationStatus(ctx, path)
}

// MigrateUp applies the pending migrations to the database at path and
// returns those it applied.
func MigrateUp(ctx context.Context, path string) ([]Migration, error) {
	return repo.MigrateUp(ctx, path)
}

// MigrateDown rolls back the newest applied migration of the database at
// path and returns it. It refuses (with [ErrInvalidArgument]) to roll back
// the base schema, which would drop the table holding the history.
func MigrateDown(ctx context.Context, path string) (Migration, error) {
	return repo.MigrateDown(ctx, path)
}
