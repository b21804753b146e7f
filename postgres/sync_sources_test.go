package postgres_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed178a96f3/rechist"
)

// A destination schema from before migration 00011, opened read-only (no
// migration runs), lists its sources from the cursors alone, pattern and
// prefix unknown, as a SQLite file from before its 00009 does; it listed
// none.
func TestSyncSourcesOfASchemaBefore00011(t *testing.T) {
	ctx := t.Context()
	dsn := newSchema(t)
	src, err := rechist.Open(ctx, filepath.Join(t.TempDir(), "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := rechist.NewRepo[json.RawMessage](src).StoreAt(ctx, "s", json.RawMessage("1"), time.UnixMilli(1000)); err != nil {
		t.Fatal(err)
	}
	dst, err := rechist.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	res, err := rechist.Sync(ctx, src, dst)
	if err != nil || res.Copied != 1 {
		t.Fatalf("Sync = %+v, %v", res, err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TABLE rechist_sync_source, rechist_sync_source_epoch`, `DELETE FROM goose_db_version WHERE version_id >= 11`} {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	c.Close(context.Background())
	ro, err := rechist.Open(ctx, dsn, rechist.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	got, err := ro.SyncSources(ctx)
	if err != nil || len(got) != 1 || got[0].Source != res.Source || got[0].Cursor != 1 || got[0].Sent != 1 || got[0].Filtered {
		t.Fatalf("SyncSources = %+v, %v; want the cursor of %s at 1, pattern and prefix unknown", got, err, res.Source)
	}
}
