package rechist_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/testutil"
)

// rustQuery is the Rust crate's query: LIKE with its escaping, the window
// function, a per-record limit.
const rustQuery = `
WITH ranked AS (
    SELECT record_name, value_json, stored_at,
           ROW_NUMBER() OVER (PARTITION BY record_name ORDER BY stored_at DESC) AS rn
    FROM record_history
    WHERE (record_name LIKE ?1 ESCAPE '\')
)
SELECT record_name, value_json, stored_at FROM ranked WHERE rn <= ?2
ORDER BY record_name, stored_at DESC`

// A file made by the Rust crate (its schema, no goose table, rows in it)
// opens, migrates and reads; what rechist writes, the Rust query reads.
func TestRustCrateFileOpensMigratesAndReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(testutil.RustSchema); err != nil {
		t.Fatal(err)
	}
	for _, row := range []struct {
		name, json string
		at         int64
	}{
		{"accuracy::vienna", `{"value":0.5,"city":"vienna"}`, 1_000},
		{"accuracy::vienna", `{"value":0.75,"city":"vienna"}`, 2_000},
		{"accuracy::graz", `{"value":0.25,"city":"graz"}`, 1_500},
	} {
		if _, err := raw.Exec(`INSERT INTO record_history (record_name, value_json, stored_at) VALUES (?, ?, ?)`, row.name, row.json, row.at); err != nil {
			t.Fatal(err)
		}
	}

	db, err := rechist.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open of a Rust-made file: %v", err)
	}
	acc := rechist.NewRepo[Accuracy](db)
	got, err := acc.QueryLatest(t.Context(), "accuracy::*", 5)
	if err != nil {
		t.Fatal(err)
	}
	if s := testutil.Summary(got); s != "accuracy::graz@-1699999998500={0.25 graz} accuracy::vienna@-1699999998000={0.75 vienna} accuracy::vienna@-1699999999000={0.5 vienna}" {
		t.Fatalf("rows of the Rust file: %s", s)
	}
	// The names table was filled from the rows the crate wrote, and keeps
	// up with rows it writes into the migrated file.
	if got := recordList(t, db); got != "accuracy::graz:1:1500-1500 accuracy::vienna:2:1000-2000" {
		t.Fatalf("Records of the migrated Rust file: %s", got)
	}
	if _, err := raw.Exec(`INSERT INTO record_history (record_name, value_json, stored_at) VALUES (?, ?, ?)`,
		"accuracy::graz", `{"value":0.5,"city":"graz"}`, 500); err != nil {
		t.Fatal(err)
	}
	if got := recordList(t, db); got != "accuracy::graz:2:500-1500 accuracy::vienna:2:1000-2000" {
		t.Fatalf("Records after the crate wrote into the migrated file: %s", got)
	}
	testutil.StoreAt(t, acc, "accuracy::linz", Accuracy{Value: 1, City: "linz"}, testutil.MS(0))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// The migrations were recorded and only added things.
	var version int64
	if err := raw.QueryRow(`SELECT MAX(version_id) FROM goose_db_version`).Scan(&version); err != nil || version < 1 {
		t.Fatalf("goose version %d, %v", version, err)
	}
	// (The Rust crate aligns its columns: compare word by word.)
	var ddl string
	if err := raw.QueryRow(`SELECT sql FROM sqlite_master WHERE name = 'record_history'`).Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	if words := strings.Join(strings.Fields(ddl), " "); !strings.Contains(words, "id INTEGER PRIMARY KEY AUTOINCREMENT") ||
		!strings.Contains(words, "stored_at INTEGER NOT NULL") {
		t.Fatalf("table definition changed: %s", ddl)
	}

	// The Rust crate's own query reads what rechist wrote.
	rows, err := raw.Query(rustQuery, "accuracy::%", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var seen []string
	for rows.Next() {
		var name, js string
		var at int64
		if err := rows.Scan(&name, &js, &at); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, name+"="+js)
	}
	if want := `accuracy::graz={"value":0.25,"city":"graz"} accuracy::linz={"value":1,"city":"linz"} accuracy::vienna={"value":0.75,"city":"vienna"}`; strings.Join(seen, " ") != want {
		t.Fatalf("Rust query read:\n %s\nwant\n %s", strings.Join(seen, " "), want)
	}
}

// recordList is Records("*") as name:rows:first-last (Unix ms), in order.
func recordList(t *testing.T, db *rechist.DB) string {
	t.Helper()
	infos, err := db.Records(t.Context(), "*")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, i := range infos {
		out = append(out, fmt.Sprintf("%s:%d:%d-%d", i.Name, i.Rows, i.First.UnixMilli(), i.Last.UnixMilli()))
	}
	return strings.Join(out, " ")
}
