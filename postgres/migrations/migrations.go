// Package migrations holds rechist's PostgreSQL schema as goose SQL
// migrations: applied by the postgres engine when it opens a database (under
// goose's session lock, so instances starting together migrate once), read
// by sqlc to type the generated queries in postgres/internal/db (and the
// benchmarks' in internal/bench/pgbenchdb), and usable with the goose
// command line: goose -dir postgres/migrations postgres "$URL" up.
package migrations

import "embed"

// FS holds the migration files, named NNNNN_description.sql.
//
//go:embed *.sql
var FS embed.FS
