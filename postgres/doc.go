// Package postgres is rechist's PostgreSQL engine: the same Repo[T], the
// same semantics, on a server shared by many writers and readers.
//
// Importing it registers the postgres:// and postgresql:// schemes, so
// moving from the embedded default to a server is one line and an import:
//
//	import _ "github.com/seed178a96f3/rechist/postgres"
//
//	db, err := rechist.Open(ctx, "postgres://user@host/db", rechist.WithRetention(7*24*time.Hour))
//
// The engine migrates the database with goose under PostgreSQL's session
// lock (so instances starting together migrate once), writes through the
// same single writer goroutine and group commit as the SQLite engine (one
// INSERT of unnested arrays per batch, COPY for large requests), and reads
// straight from the connection pool. See migrations/00001 for the schema:
// the same table and index names, record_name in the "C" collation so order
// and prefix ranges are bytewise as in SQLite, value_json as TEXT. The SQL
// lives in postgres/queries and reaches this package through the
// sqlc-generated postgres/internal/db, internal to it.
//
// Options that only make sense for a SQLite file (synchronous mode, page
// cache, busy timeout) are refused with an error naming them. Programs
// use this package only through its registration; it exports nothing else.
package postgres
