// Package migrations holds rechist's schema as goose SQL migrations.
//
// The files are the single source of the schema: goose applies them when a
// database is opened (through [FS]), the goose command line applies the same
// folder (goose -dir migrations sqlite3 ./data/history.db up), and sqlc reads
// them to type the generated queries in package db.
//
// 00001 is the schema of the Rust crate aimdb-persistence-sqlite, written with
// IF NOT EXISTS so it adopts files that crate created. Every later file is
// additive: an older reader, the Rust crate included, keeps working.
package migrations

import "embed"

// FS holds the migration files, named NNNNN_description.sql.
//
//go:embed *.sql
var FS embed.FS
