package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed178a96f3/rechist"
)

// Policies set through the public API are read back bytewise by pattern,
// as on SQLite, whatever the server's collation (the columns are COLLATE
// "C"), replaced by pattern and removed.
func TestPoliciesRoundTripBytewise(t *testing.T) {
	ctx := t.Context()
	dsn := newSchema(t)
	db, err := rechist.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, p := range []rechist.Policy{
		{Pattern: "b*", Raw: time.Hour}, {Pattern: "é*", Raw: time.Hour}, {Pattern: "a*", Raw: time.Hour},
		{Pattern: "_x", Raw: time.Hour}, {Pattern: "B*", Raw: time.Hour}, {Pattern: "Z", Raw: time.Hour},
		{Pattern: "a*", Raw: 3 * time.Hour}, // replaces the first a*
	} {
		if err := db.SetPolicy(ctx, p); err != nil {
			t.Fatalf("SetPolicy(%+v): %v", p, err)
		}
	}
	list := func() string {
		t.Helper()
		got, err := db.Policies(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, p := range got {
			s = append(s, p.Pattern+"="+p.Raw.String())
		}
		return strings.Join(s, " ")
	}
	if got, want := list(), "B*=1h0m0s Z=1h0m0s _x=1h0m0s a*=3h0m0s b*=1h0m0s é*=1h0m0s"; got != want {
		t.Fatalf("Policies = %s, want %s", got, want)
	}
	if err := db.RemovePolicy(ctx, "a*"); err != nil {
		t.Fatal(err)
	}
	if err := db.RemovePolicy(ctx, "a*"); !errors.Is(err, rechist.ErrNotFound) {
		t.Fatalf("removing a removed policy: %v, want ErrNotFound", err)
	}
	if got, want := list(), "B*=1h0m0s Z=1h0m0s _x=1h0m0s b*=1h0m0s é*=1h0m0s"; got != want {
		t.Fatalf("after remove: %s, want %s", got, want)
	}

	// The order holds on a server whose default collation is not bytewise.
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var collations string
	if err := c.QueryRow(ctx, `SELECT string_agg(column_name || ':' || COALESCE(collation_name, 'default'), ' ' ORDER BY column_name)
		FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'rechist_policy' AND data_type = 'text'`).Scan(&collations); err != nil {
		t.Fatal(err)
	}
	if collations != "language:C pattern:C tiers:C" {
		t.Fatalf("rechist_policy's text columns: %s, want all COLLATE \"C\"", collations)
	}
}
