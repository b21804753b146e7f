package rechist_test

import (
	"database/sql"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/testutil"
	"github.com/seed178a96f3/rechist/migrations"
)

// Migration 00011 moves the rollup blocks to integer keys and back
// (Down), losing none, a block of a second era (a 1 s tier past 2514)
// included; a file opened read-only before 00011 reads its blocks where
// 00006 kept them, without changing the file.
func TestTierBlocksMoveToIntegerKeysAndBack(t *testing.T) {
	ctx := t.Context()
	db, path := testutil.OpenDB(t, "")
	if err := db.SetPolicy(ctx, rechist.Policy{Pattern: "*", Raw: time.Hour,
		Tiers: []rechist.Tier{{Every: time.Second}, {Every: time.Hour}}}); err != nil {
		t.Fatal(err)
	}
	r := rechist.NewRepo[float64](db)
	old := time.Now().Add(-48 * time.Hour).Truncate(time.Hour)
	far := time.Date(2600, 1, 1, 0, 0, 0, 0, time.UTC) // era 1 of a 1 s tier
	for i := range 50 {
		for _, name := range []string{"a", "b"} {
			if err := r.StoreAt(ctx, name, float64(i)+0.25, old.Add(time.Duration(i)*7*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.StoreAt(ctx, "far", float64(i), far.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ApplyRetention(ctx); err != nil { // rolls up, then deletes a's and b's rows
		t.Fatal(err)
	}
	type answer struct {
		Series []rechist.Series
		Usage  []rechist.TierUsage
		Infos  []rechist.RecordInfo
	}
	read := func(h *rechist.DB) answer {
		t.Helper()
		var a answer
		var err error
		for _, p := range []rechist.AggregateParams{{Every: time.Hour}, {Every: 2 * time.Second}} {
			s, err := h.Aggregate(ctx, "*", p)
			if err != nil {
				t.Fatalf("Aggregate every %v: %v", p.Every, err)
			}
			a.Series = append(a.Series, s...)
		}
		if a.Usage, err = h.TierUsage(ctx); err != nil {
			t.Fatal(err)
		}
		if a.Infos, err = h.Records(ctx, "*"); err != nil {
			t.Fatal(err)
		}
		return a
	}
	want := read(db)
	if got := fmt.Sprint(want.Usage); len(want.Usage) != 6 {
		t.Fatalf("TierUsage: %s, want two tiers of three records", got)
	}
	for _, s := range want.Series {
		if s.Name != "far" && s.Tier == 0 {
			t.Fatalf("%s: served by raw rows, want a tier (retention deleted them)", s.Name)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	conn, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	p, err := goose.NewProvider(goose.DialectSQLite3, conn, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	count := func(table string) (n int) {
		t.Helper()
		if err := conn.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	blocks := count("rechist_tier_block")
	if n := count("rechist_tier_series WHERE era = 1 AND record_name = 'far' AND every_ms = 1000"); n != 1 {
		t.Fatalf("far's 1 s tier: %d series in era 1, want 1", n)
	}
	if _, err := p.DownTo(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if n := count("rechist_rollup_block"); n != blocks || blocks == 0 {
		t.Fatalf("after Down: %d blocks in rechist_rollup_block, want %d", n, blocks)
	}

	ro, err := rechist.Open(ctx, path, rechist.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	if got := read(ro); !reflect.DeepEqual(got, want) {
		t.Errorf("read-only before 00011:\n got %+v\nwant %+v", got, want)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if v, err := p.GetDBVersion(ctx); err != nil || v != 10 {
		t.Fatalf("the read-only open changed the file: version %d, %v", v, err)
	}

	again, _ := testutil.OpenDB(t, path) // writable: migrates up
	if got := read(again); !reflect.DeepEqual(got, want) {
		t.Errorf("after 00011 again:\n got %+v\nwant %+v", got, want)
	}
	if n := count("rechist_tier_block"); n != blocks {
		t.Errorf("after Up: %d blocks, want %d", n, blocks)
	}
}
