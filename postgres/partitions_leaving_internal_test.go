package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/internal/testutil/pgtest"
	"github.com/seed178a96f3/rechist/postgres/internal/db"
)

// A partition read as half detached ("detaching": a DETACH CONCURRENTLY
// cut short) whose detach then completed on its own, before the FINALIZE:
// the statement cut short by its deadline went on until pgx's cancel,
// sent without waiting, arrived, which under the race detector on CI came
// after the snapshot it waited for was gone (TestPartitionDetachWaitIsBounded
// failed with "is not a partition of relation"). The drop goes on.
func TestLeavingPartitionDetachedMeanwhileIsDropped(t *testing.T) {
	cfg, err := core.Config{PartitionWidth: 24 * time.Hour}.Normalized()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dsn := pgtest.NewSchema(t)
	eng, err := open(ctx, dsn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := eng.(*engine)
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var p db.PartitionsLeavingRow
	if err := c.QueryRow(ctx, `SELECT start_ms, table_name FROM rechist_partition ORDER BY start_ms LIMIT 1`).Scan(&p.StartMs, &p.TableName); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, `ALTER TABLE record_history DETACH PARTITION `+pgx.Identifier{p.TableName}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	p.State = "detaching" // as read before the detach completed
	if _, err := e.finishLeaving(ctx, p); err != nil {
		t.Fatalf("finishing the drop of a partition detached meanwhile: %v", err)
	}
	var state string
	if err := c.QueryRow(ctx, `SELECT rechist_partition_state($1)`, p.TableName).Scan(&state); err != nil || state != "gone" {
		t.Fatalf("the partition is %q, %v; want gone", state, err)
	}
}
