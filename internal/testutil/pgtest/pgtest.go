// Package pgtest gives tests a PostgreSQL schema of their own on the
// server named by RECHIST_TEST_POSTGRES_URL (.ci/postgres.sh starts one).
// Without that variable the tests skip, unless
// RECHIST_TEST_POSTGRES_REQUIRED is set, as in CI, when they fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// ServerURL returns the server's URL, or skips (fails when required).
func ServerURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("RECHIST_TEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("RECHIST_TEST_POSTGRES_REQUIRED") != "" {
			t.Fatal("RECHIST_TEST_POSTGRES_URL is not set but RECHIST_TEST_POSTGRES_REQUIRED is")
		}
		t.Skip("PostgreSQL not tested: set RECHIST_TEST_POSTGRES_URL (bash .ci/postgres.sh starts a server and prints it)")
	}
	return u
}

// NewSchema creates an empty schema for one test and returns a URL whose
// search_path points at it; the schema is dropped when the test ends.
func NewSchema(t testing.TB) string {
	t.Helper()
	base := ServerURL(t)
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
