package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// partition converts a PostgreSQL history once, after a dry run that
// changes nothing; stats shows the partitions; a SQLite file and another
// width are refused.
func TestPartitionCommand(t *testing.T) {
	base := postgresServer(t)
	dir := t.TempDir()
	u := postgresSchema(t, base, fmt.Sprintf("cli_part_%d", os.Getpid()))
	ok(t, dir, "", "--db", u, "demo", "--days", "3", "--cities", "2")
	if out := ok(t, dir, "", "--db", u, "partition", "--every", "1d"); !strings.Contains(out, "would copy 17280 rows") || strings.Contains(out, "(0 B)") {
		t.Fatalf("dry run:\n%s", out)
	}
	if out := ok(t, dir, "", "--db", u, "stats"); strings.Contains(out, "partitions") {
		t.Fatalf("the dry run partitioned the table:\n%s", out)
	}
	if out := ok(t, dir, "", "--db", u, "partition", "--every", "1d", "--yes"); !strings.Contains(out, "17280 rows in") {
		t.Fatalf("partition --yes:\n%s", out)
	}
	if out := ok(t, dir, "", "--db", u, "stats"); !strings.Contains(out, "rows        17280") || !strings.Contains(out, " of 1d") || strings.Contains(out, "table size  0 B") {
		t.Fatalf("stats after partitioning:\n%s", out)
	}
	if out := ok(t, dir, "", "--db", u, "partition", "--every", "1d"); !strings.Contains(out, "nothing to do") {
		t.Fatalf("partition again:\n%s", out)
	}
	for _, args := range [][]string{
		{"--db", u, "partition", "--every", "2h"},
		{"--db", u, "partition", "--every", "2h", "--yes"},
		{"--db", filepath.Join(dir, "h.db"), "partition", "--every", "1d", "--yes"},
		{"--db", u, "partition", "--every", "90s", "--yes"},
	} {
		if r := runCLI(t, dir, "", args...); r.code == 0 {
			t.Fatalf("rechist %q: exit 0\n%s", args, r.stdout)
		}
	}
	if out := ok(t, dir, "", "--db", u, "latest", "temperature::*"); !strings.Contains(out, "temperature::graz") {
		t.Fatalf("latest after partitioning:\n%s", out)
	}
}
