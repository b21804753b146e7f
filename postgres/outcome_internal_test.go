package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed178a96f3/rechist/internal/core"
)

// A transaction whose client is gone while its session still runs it (a
// half-open connection: the client lost it, the server has not noticed)
// stays "in progress", so learnOutcome could only give up with
// ErrOutcomeUnknown. Knowing the session, learnOutcomeOf terminates it and
// learns that the transaction rolled back: the caller gets its own error,
// not "unknown".
func TestLearnOutcomeEndsTheSessionStillRunningIt(t *testing.T) {
	defer func(d time.Duration) { outcomeWait = d }(outcomeWait)
	outcomeWait = 2 * time.Second
	e := openEngine(t)
	ctx := context.Background()
	open := func() (*pgx.Conn, string) {
		c, err := pgx.ConnectConfig(ctx, e.pool.Config().ConnConfig.Copy())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close(ctx) })
		var xid string
		if _, err := c.Exec(ctx, "BEGIN"); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRow(ctx, "SELECT pg_current_xact_id()::text").Scan(&xid); err != nil {
			t.Fatal(err)
		}
		return c, xid // left idle in the transaction, as a lost client leaves it
	}
	lostErr := errors.New("commit: connection lost")

	_, xid := open()
	if err := e.learnOutcome(xid, lostErr); !errors.Is(err, core.ErrOutcomeUnknown) {
		t.Fatalf("without the session: %v, want ErrOutcomeUnknown", err)
	}
	c, xid := open()
	if err := e.learnOutcomeOf(xid, c.PgConn().PID(), lostErr); err != lostErr { //nolint:errorlint // the error itself: rolled back
		t.Fatalf("with the session: %v, want the commit's own error (rolled back)", err)
	}
}
