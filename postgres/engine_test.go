package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/seed178a96f3/rechist"
	_ "github.com/seed178a96f3/rechist/postgres"
	"github.com/seed178a96f3/rechist/rechisttest"
)

// The tests need a server: RECHIST_TEST_POSTGRES_URL names a database they
// may create schemas in (.ci/postgres.sh starts one). Without it they skip,
// unless RECHIST_TEST_POSTGRES_REQUIRED is set, as in CI.
func serverURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("RECHIST_TEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("RECHIST_TEST_POSTGRES_REQUIRED") != "" {
			t.Fatal("RECHIST_TEST_POSTGRES_URL is not set but RECHIST_TEST_POSTGRES_REQUIRED is")
		}
		t.Skip("PostgreSQL engine not tested: set RECHIST_TEST_POSTGRES_URL (bash .ci/postgres.sh starts a server and prints it)")
	}
	return u
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newSchema creates an empty schema for one test and returns a URL whose
// search_path points at it; the schema is dropped when the test ends.
func newSchema(t *testing.T) string {
	t.Helper()
	base := serverURL(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	admin, err := pgx.Connect(context.Background(), base)
	if err != nil {
		t.Fatalf("connect to %s: %v", base, err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Error(err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestConformance(t *testing.T) {
	serverURL(t)
	rechisttest.Run(t, rechisttest.Harness{
		Server: true,
		NewDSN: newSchema,
		InsertRaw: func(t *testing.T, dsn, name, valueJSON string, storedAt int64) {
			t.Helper()
			c, err := pgx.Connect(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(context.Background())
			if _, err := c.Exec(context.Background(),
				`INSERT INTO record_history (record_name, value_json, stored_at) VALUES ($1, $2, $3)`,
				name, valueJSON, storedAt); err != nil {
				t.Fatal(err)
			}
		},
	})
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
	if applied != 2 {
		t.Fatalf("%d migrations recorded, want 2 (each once)", applied)
	}
}
