package postgres_test

import (
	"context"
	"fmt"
	"io/fs"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/testutil/pgtest"
	_ "github.com/seed178a96f3/rechist/postgres"
	"github.com/seed178a96f3/rechist/postgres/migrations"
	"github.com/seed178a96f3/rechist/rechisttest"
)

// The tests need a server (package pgtest says which and how).
func serverURL(t *testing.T) string { return pgtest.ServerURL(t) }

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newSchema creates an empty schema for one test (pgtest.NewSchema).
func newSchema(t *testing.T) string { return pgtest.NewSchema(t) }

func TestConformance(t *testing.T) {
	serverURL(t)
	rechisttest.Run(t, harness(newSchema, false))
}

// The whole suite again on a table partitioned by the hour: every read,
// write and cleanup must answer as on one table.
func TestConformancePartitioned(t *testing.T) {
	serverURL(t)
	rechisttest.Run(t, harness(newPartitionedSchema, true))
}

// newPartitionedSchema is newSchema with record_history partitioned by the
// hour.
func newPartitionedSchema(t *testing.T) string {
	dsn := newSchema(t)
	db, err := rechist.Open(t.Context(), dsn, rechist.WithPartitions(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return dsn
}

// harness is the conformance suite's harness on the schemas newDSN makes,
// partitioned ones when partitioned is true.
func harness(newDSN func(*testing.T) string, partitioned bool) rechisttest.Harness {
	return rechisttest.Harness{
		Server:     true,
		NewDSN:     newDSN,
		Prepared:   partitioned,
		HoldWrites: holdWrites,
		InsertRaw: func(t *testing.T, dsn, name, valueJSON string, storedAt int64) {
			t.Helper()
			if partitioned {
				// Another program's row needs its partition made first
				// (docs/postgres.md, "Time partitions").
				execPostgres(t, dsn, `SELECT rechist_partitions_for(ARRAY[$1::bigint])`, storedAt)
			}
			execPostgres(t, dsn, `INSERT INTO record_history (record_name, value_json, stored_at) VALUES ($1, $2, $3)`,
				name, valueJSON, storedAt)
		},
		ExecRaw: func(t *testing.T, dsn, query string) {
			t.Helper()
			execPostgres(t, dsn, query)
		},
		DelayCommits: func(t *testing.T, dsn string, max time.Duration) {
			t.Helper()
			execPostgres(t, dsn, fmt.Sprintf(`CREATE FUNCTION rechist_test_delay() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN PERFORM pg_sleep(random() * %f); RETURN NULL; END $$`, max.Seconds()))
			execPostgres(t, dsn, `CREATE TRIGGER rechist_test_delay AFTER INSERT ON record_history
				FOR EACH STATEMENT EXECUTE FUNCTION rechist_test_delay()`)
		},
	}
}

// execPostgres runs one statement in the schema of dsn on a connection of
// its own, as another program would.
func execPostgres(t *testing.T, dsn, query string, args ...any) {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(context.Background(), query, args...); err != nil {
		t.Fatal(err)
	}
}

// Instances that start together migrate one after the other under goose's
// session lock: all open, and the migrations are recorded once.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	dsn := newSchema(t)
	const n = 4
	errs := make(chan error, n)
	for range n {
		go func() {
			db, err := rechist.Open(context.Background(), dsn)
			if err == nil {
				err = db.Close()
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var applied int
	if err := c.QueryRow(context.Background(), `SELECT COUNT(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if applied != len(files) {
		t.Fatalf("%d migrations recorded, want %d (each once)", applied, len(files))
	}
}
