package robustness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/testutil/pgtest"
	_ "github.com/seed178a96f3/rechist/postgres"
)

const (
	partsEnvDSN  = "RECHIST_PARTS_CHILD_DSN"
	partsEnvRun  = "RECHIST_PARTS_CHILD_RUN"
	partsEnvBase = "RECHIST_PARTS_CHILD_BASE"
)

// TestHelperProcessPartitions is the body of the child the partitions kill
// test starts and kills: on a table in partitions of a minute it stores
// batches of rows (half at or after base, which no cleanup reaches, half
// late rows for the half hour before it, whose partitions cleanups drop),
// and after each batch cleans up to a random time before base, dropping
// partitions; it writes "ack N" after each cleanup, N the rows at or after
// base it has stored.
func TestHelperProcessPartitions(t *testing.T) {
	dsn := os.Getenv(partsEnvDSN)
	if dsn == "" {
		return
	}
	run, _ := strconv.Atoi(os.Getenv(partsEnvRun))
	baseMs, _ := strconv.ParseInt(os.Getenv(partsEnvBase), 10, 64)
	if err := partitionsChild(dsn, run, time.UnixMilli(baseMs)); err != nil {
		fmt.Fprintln(os.Stderr, "partitions child:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

func partitionsChild(dsn string, run int, base time.Time) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db, err := rechist.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	r := rechist.NewRepo[int](db)
	rng := rand.New(rand.NewPCG(uint64(run), 17))
	kept := 0
	for seq := 0; ctx.Err() == nil; {
		recs := make([]rechist.Record[int], 40)
		for i := range recs {
			at := base.Add(time.Duration(seq*64+run) * time.Millisecond) // unique: run r at offsets r (mod 64)
			if i%2 == 1 {
				at = base.Add(-time.Duration(1+rng.IntN(30*60_000)) * time.Millisecond)
			}
			recs[i] = rechist.Record[int]{Name: fmt.Sprintf("p::%d", seq%4), Value: seq, StoredAt: at}
			seq++
		}
		if err := r.StoreMany(ctx, recs); err != nil {
			return err
		}
		kept += len(recs) / 2
		cutoff := base.Add(-time.Duration(60+rng.IntN(25*60)) * time.Second)
		if _, err := db.Cleanup(ctx, cutoff); err != nil {
			return err
		}
		fmt.Printf("ack %d\n", kept)
	}
	return nil
}

// Time partitions survive SIGKILL at any moment: a child stores rows and
// drops partitions (empty, detach, drop: three transactions) until it is
// killed. After every kill, the names table matches the rows exactly, no
// acknowledged row at or after base is lost, and once a new handle's
// cleanup has run, every partition rechist lists is attached and no table
// of a partition is left behind.
func TestPartitionsSurviveSIGKILL(t *testing.T) {
	dsn := pgtest.NewSchema(t)
	ctx := t.Context()
	db, err := rechist.Open(ctx, dsn, rechist.WithPartitions(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Truncate(time.Minute)
	kills := 10
	if testing.Short() {
		kills = 4
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	acked := 0
	for run := range kills {
		acked += partitionsKill(t, dsn, run, base, 1+rng.IntN(8))
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		if d := namesDiffer(t, c); d != "" {
			t.Fatalf("after kill %d the names table differs from the rows:\n%s", run, d)
		}
		var kept int
		if err := c.QueryRow(ctx, `SELECT COUNT(*) FROM record_history WHERE stored_at >= $1`, base.UnixMilli()).Scan(&kept); err != nil {
			t.Fatal(err)
		}
		if kept < acked {
			t.Fatalf("after kill %d: %d rows at or after base, %d acknowledged", run, kept, acked)
		}
		db, err := rechist.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Cleanup(ctx, base.Add(-20*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		var listedNotAttached, attachedNotListed, orphans int
		err = c.QueryRow(ctx, `SELECT
			(SELECT COUNT(*) FROM rechist_partition AS p WHERE rechist_partition_state(p.table_name) <> 'attached'),
			(SELECT COUNT(*) FROM pg_inherits AS i JOIN pg_class AS k ON k.oid = i.inhrelid
			 WHERE i.inhparent = 'record_history'::regclass
			   AND k.relname NOT IN (SELECT table_name FROM rechist_partition)),
			(SELECT COUNT(*) FROM pg_class AS k
			 WHERE k.relnamespace = to_regnamespace(current_schema()) AND k.relkind = 'r'
			   AND k.relname LIKE 'record\_history\_%'
			   AND k.relname NOT IN (SELECT table_name FROM rechist_partition))`).Scan(&listedNotAttached, &attachedNotListed, &orphans)
		if err != nil {
			t.Fatal(err)
		}
		if listedNotAttached+attachedNotListed+orphans > 0 {
			t.Fatalf("after kill %d and a cleanup: %d partitions listed and not attached, %d attached and not listed, %d tables left",
				run, listedNotAttached, attachedNotListed, orphans)
		}
		if d := namesDiffer(t, c); d != "" {
			t.Fatalf("after kill %d and a cleanup the names table differs from the rows:\n%s", run, d)
		}
		c.Close(context.Background())
	}
}

// namesDiffer describes each record whose row in the names table differs
// from a count of its rows ("" when none does).
func namesDiffer(t *testing.T, c *pgx.Conn) string {
	t.Helper()
	rows, err := c.Query(t.Context(), `
		SELECT format('%s: table %s %s %s, rows %s %s %s', COALESCE(n.record_name, h.record_name),
		              n.row_count, n.first_ms, n.last_ms, h.c, h.f, h.l)
		FROM rechist_record AS n
		FULL JOIN (SELECT record_name, COUNT(*) AS c, MIN(stored_at) AS f, MAX(stored_at) AS l
		           FROM record_history GROUP BY record_name) AS h ON h.record_name = n.record_name
		WHERE n.row_count IS DISTINCT FROM COALESCE(h.c, 0)
		   OR n.first_ms IS DISTINCT FROM h.f OR n.last_ms IS DISTINCT FROM h.l`)
	if err != nil {
		t.Fatal(err)
	}
	differ, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(differ, "\n")
}

// partitionsKill starts a child on dsn and kills it with SIGKILL a little
// after its target-th acknowledgement; it returns the rows at or after
// base the child acknowledged.
func partitionsKill(t *testing.T, dsn string, run int, base time.Time, target int) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcessPartitions$", "-test.count=1")
	cmd.Env = append(os.Environ(), partsEnvDSN+"="+dsn, partsEnvRun+"="+strconv.Itoa(run),
		partsEnvBase+"="+strconv.FormatInt(base.UnixMilli(), 10))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acks, kept, killed := 0, 0, false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "ack "); ok && !killed {
			kept, _ = strconv.Atoi(n)
			if acks++; acks == target {
				// A little later, so the kill falls anywhere: in a store,
				// or in a partition's truncation, detach or drop.
				time.Sleep(time.Duration(run%5) * 4 * time.Millisecond)
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !killed || !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child run %d: killed %v after %d acks, ended %v\n%s", run, killed, acks, err, stderr.String())
	}
	return kept
}
