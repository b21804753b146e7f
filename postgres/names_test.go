package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/seed178a96f3/rechist"
)

// The names table's triggers stay exact when writers outside rechist's
// writer lock insert, delete and move rows of the same records at
// the same time, each statement its own transaction: concurrent inserts
// add up, a delete's new edges see every committed row, and inserts and
// deletes never deadlock over the names. On a table partitioned by the
// minute too, the rows spread over twenty partitions: a delete's new edges
// are found window by window.
func TestNamesTableUnderConcurrentWriters(t *testing.T) {
	serverURL(t)
	t.Run("one table", func(t *testing.T) { testNamesUnderConcurrentWriters(t, 0) })
	t.Run("partitions", func(t *testing.T) { testNamesUnderConcurrentWriters(t, time.Minute) })
}

func testNamesUnderConcurrentWriters(t *testing.T, width time.Duration) {
	ctx := t.Context()
	dsn := newSchema(t)
	var opts []rechist.Option
	span := int64(1000)
	if width > 0 {
		opts = append(opts, rechist.WithPartitions(width))
		span = 20 * width.Milliseconds()
	}
	db, err := rechist.Open(ctx, dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if width > 0 {
		execPostgres(t, dsn, `SELECT rechist_partitions_for(ARRAY(SELECT generate_series(0, $1::bigint, $2::bigint)))`, span, width.Milliseconds())
	}
	names := []string{"c::a", "c::b", "c::c", "c::d"}
	const writers, ops = 6, 150
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := pgx.Connect(ctx, dsn)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close(context.Background())
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range ops {
				n, at := names[rng.IntN(len(names))], rng.Int64N(span)
				var query string
				var args []any
				switch rng.IntN(5) {
				case 0, 1:
					k := 1 + rng.IntN(20)
					batch := make([]string, k)
					times := make([]int64, k)
					for i := range k {
						batch[i], times[i] = names[rng.IntN(len(names))], rng.Int64N(span)
					}
					query, args = `INSERT INTO record_history (record_name, value_json, stored_at)
						SELECT n, '1', t FROM unnest($1::text[], $2::bigint[]) AS u(n, t)`, []any{batch, times}
				case 2:
					query, args = `DELETE FROM record_history WHERE record_name = $1 AND stored_at < $2`, []any{n, at}
				case 3:
					query, args = `DELETE FROM record_history WHERE record_name = $1 AND stored_at > $2`, []any{n, at}
				case 4:
					query, args = `UPDATE record_history SET record_name = $1, stored_at = stored_at + 1
						WHERE record_name = $2 AND stored_at > $3`, []any{n, names[rng.IntN(len(names))], at}
				}
				err := execRetryingRowDeadlocks(ctx, c, query, args...)
				if err != nil {
					var pe *pgconn.PgError
					if errors.As(err, &pe) {
						err = fmt.Errorf("%w; %s; %s", err, pe.Detail, pe.Where)
					}
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	assertNamesExact(t, dsn)
	// Then each record's oldest and newest rows deleted, the last
	// statements on it: the new edges come from the rows left alone.
	for i, n := range names {
		execPostgres(t, dsn, `DELETE FROM record_history WHERE record_name = $1 AND stored_at < $2`, n, span/10*int64(i+1))
		execPostgres(t, dsn, `DELETE FROM record_history WHERE record_name = $1 AND stored_at > $2`, n, span-span/10*int64(i+1))
	}
	assertNamesExact(t, dsn)
}

// assertNamesExact fails t when the names table of the schema at dsn
// differs from a count of the rows (rows, first and last time per record).
func assertNamesExact(t *testing.T, dsn string) {
	t.Helper()
	ctx := t.Context()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var differ []string
	rows, err := c.Query(ctx, `
		SELECT COALESCE(n.record_name, h.record_name), n.row_count, n.first_ms, n.last_ms, h.c, h.f, h.l
		FROM rechist_record AS n
		FULL JOIN (SELECT record_name, COUNT(*) AS c, MIN(stored_at) AS f, MAX(stored_at) AS l
		           FROM record_history GROUP BY record_name) AS h ON h.record_name = n.record_name
		WHERE n.row_count IS DISTINCT FROM COALESCE(h.c, 0)
		   OR n.first_ms IS DISTINCT FROM h.f OR n.last_ms IS DISTINCT FROM h.l`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		var a, b, c2, d, e, f *int64
		if err := rows.Scan(&name, &a, &b, &c2, &d, &e, &f); err != nil {
			t.Fatal(err)
		}
		differ = append(differ, fmt.Sprintf("%s: table %v %v %v, rows %v %v %v", name, deref(a), deref(b), deref(c2), deref(d), deref(e), deref(f)))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(differ) > 0 {
		t.Fatalf("the names table differs from the rows:\n%v", differ)
	}
}

// execRetryingRowDeadlocks runs one statement, again after a deadlock in
// the statement itself, over record_history's rows: an UPDATE locks its
// rows in the order it finds them and may deadlock with a DELETE or
// another UPDATE that finds the same rows in another order, triggers or
// not; the statement is taken back whole. A deadlock in a trigger (over
// the names: Where names the PL/pgSQL function) is an error.
func execRetryingRowDeadlocks(ctx context.Context, c *pgx.Conn, query string, args ...any) error {
	for {
		_, err := c.Exec(ctx, query, args...)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "40P01" || strings.Contains(pe.Where, "PL/pgSQL") {
			return err
		}
	}
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}
