package postgres

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/seed178a96f3/rechist/internal/core"
)

func TestClassify(t *testing.T) {
	e := &engine{}
	for code, want := range map[string]error{"55P03": core.ErrBusy, "53100": core.ErrDiskFull, "23505": nil} {
		if got := e.Classify(&pgconn.PgError{Code: code}); got != want {
			t.Errorf("%s: got %v, want %v", code, got, want)
		}
	}
	if got := e.Classify(errors.New("other")); got != nil {
		t.Errorf("a plain error classified as %v", got)
	}
}

// A pool_max_conns in the URL is the user's choice and is kept; it may not
// be combined with WithReadConns, which would set the same thing.
func TestPoolMaxConnsInTheURLIsKept(t *testing.T) {
	base := os.Getenv("RECHIST_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("set RECHIST_TEST_POSTGRES_URL (see engine_test.go)")
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	dsn := base + sep + "pool_max_conns=2"
	cfg, err := core.Config{}.Normalized()
	if err != nil {
		t.Fatal(err)
	}
	eng, err := open(context.Background(), dsn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(context.Background())
	if got := eng.(*engine).pool.Config().MaxConns; got != 2 {
		t.Fatalf("pool holds %d connections, want the URL's 2", got)
	}
	cfg.Given = []string{"WithReadConns"}
	if _, err := open(context.Background(), dsn, cfg); !errors.Is(err, core.ErrInvalidArgument) || !strings.Contains(err.Error(), "WithReadConns") {
		t.Fatalf("WithReadConns with pool_max_conns: %v, want ErrInvalidArgument naming the option", err)
	}
}

// Close bounds its wait for the pool: a connection still in use when its
// deadline passes is reported, where Close used to return nil always (and
// pgxpool's Close waits for every connection to come back).
func TestCloseReportsConnectionsStillInUse(t *testing.T) {
	base := os.Getenv("RECHIST_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("set RECHIST_TEST_POSTGRES_URL (see engine_test.go)")
	}
	cfg, err := core.Config{}.Normalized()
	if err != nil {
		t.Fatal(err)
	}
	eng, err := open(context.Background(), base, cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := eng.(*engine).pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := eng.Close(ctx); err == nil || !strings.Contains(err.Error(), "still in use") {
		t.Fatalf("Close with a connection in use: %v, want an error saying so", err)
	}
	conn.Release() // the pool's Close finishes now
}
