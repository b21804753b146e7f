package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// retentionDB is the file the commands run in dir use.
func retentionDB(dir string) string { return filepath.Join(dir, "data", "history.db") }

// seedRetention stores 7 rows in the database dsn, at times before now:
// sensors::a at 10 days, 2 hours and 1 minute ago (values 1, 2, 3),
// sensors::b and other at 10 days and 1 minute ago (1, 2). Then it sets
// pols, after the retention pass every writing handle runs at open, so
// nothing is deleted before the test runs a command.
func seedRetention(t *testing.T, dsn string, pols ...rechist.Policy) {
	t.Helper()
	ctx := t.Context()
	db, err := rechist.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := rechist.NewRepo[int](db)
	now := time.Now()
	for _, s := range []struct {
		name string
		ages []time.Duration
	}{
		{"sensors::a", []time.Duration{10 * 24 * time.Hour, 2 * time.Hour, time.Minute}},
		{"sensors::b", []time.Duration{10 * 24 * time.Hour, time.Minute}},
		{"other", []time.Duration{10 * 24 * time.Hour, time.Minute}},
	} {
		for i, age := range s.ages {
			if err := r.StoreAt(ctx, s.name, i+1, now.Add(-age)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, p := range pols {
		if err := db.SetPolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// retentionState reads the database dsn read-only: its policies as
// "pattern=raw;" and each record's row count as "name=rows;".
func retentionState(t *testing.T, dsn string) (pols, rows string) {
	t.Helper()
	db, err := rechist.Open(t.Context(), dsn, rechist.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ps, err := db.Policies(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		pols += fmt.Sprintf("%s=%v;", p.Pattern, p.Raw)
	}
	recs, err := db.Records(t.Context(), "*")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		rows += fmt.Sprintf("%s=%d;", r.Name, r.Rows)
	}
	return pols, rows
}

// policyLines returns retention list's table without its BYTES column
// (an estimate that depends on the file's layout), fields one space
// apart.
func policyLines(t *testing.T, out string) string {
	t.Helper()
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		f := strings.Fields(l)
		if len(f) < 5 {
			t.Fatalf("retention list line %q: want 5 columns", l)
		}
		if f[0] != "PATTERN" && f[3] != "0" && !strings.HasPrefix(f[4], "≈") {
			t.Errorf("retention list line %q: BYTES is not an estimate", l)
		}
		b.WriteString(strings.Join(f[:4], " ") + "\n")
	}
	return b.String()
}

const seededRows = "other=2;sensors::a=3;sensors::b=2;"

// retention set counts without --yes and changes nothing; with --yes it
// stores the policy; cleanup then applies it to the records it governs
// and leaves the others alone. On SQLite and, with a server, PostgreSQL.
func TestRetentionSetThenCleanup(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		testRetentionSetThenCleanup(t, dir, retentionDB(dir))
	})
	t.Run("postgres", func(t *testing.T) {
		base := postgresServer(t)
		testRetentionSetThenCleanup(t, t.TempDir(), postgresSchema(t, base, fmt.Sprintf("cli_retention_%d", os.Getpid())))
	})
}

func testRetentionSetThenCleanup(t *testing.T, dir, dsn string) {
	seedRetention(t, dsn)
	cli := func(args ...string) result { return runCLI(t, dir, "", append([]string{"--db", dsn}, args...)...) }
	ok := func(args ...string) string {
		t.Helper()
		r := cli(args...)
		if r.code != 0 {
			t.Fatalf("rechist %q: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		return r.stdout
	}

	r := cli("retention")
	if r.code != 0 || policyLines(t, r.stdout) != "PATTERN RAW RECORDS ROWS\n(default) forever 3 7\n" ||
		!strings.Contains(r.stderr, "no retention policies") {
		t.Fatalf("retention without policies: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	out := ok("retention", "set", "sensors::*", "--raw", "1d")
	if want := "with sensors::* keeping raw rows 1d, a retention pass would delete 2 rows of 2 records now; run again with --yes to set it\n"; out != want {
		t.Fatalf("set dry run: %q, want %q", out, want)
	}
	if pols, rows := retentionState(t, dsn); pols != "" || rows != seededRows {
		t.Fatalf("after the dry run: policies %q, rows %q; want none and %q", pols, rows, seededRows)
	}

	out = ok("retention", "set", "sensors::*", "--raw", "1d", "--yes")
	if want := "set sensors::* keeping raw rows 1d; the next retention pass deletes 2 rows of 2 records (rechist cleanup runs it now)\n"; out != want {
		t.Fatalf("set --yes: %q, want %q", out, want)
	}
	if pols, _ := retentionState(t, dsn); pols != "sensors::*=24h0m0s;" {
		t.Fatalf("after set --yes: policies %q", pols)
	}

	out = ok("cleanup")
	if want := "deleted 2 rows (retention policies)\n"; out != want {
		t.Fatalf("cleanup: %q, want %q", out, want)
	}
	if _, rows := retentionState(t, dsn); rows != "other=2;sensors::a=2;sensors::b=1;" {
		t.Fatalf("after cleanup: rows %q; want the 10-day-old rows of sensors::* gone, other's kept", rows)
	}
	if got := policyLines(t, ok("retention", "list")); got != "PATTERN RAW RECORDS ROWS\nsensors::* 1d 2 3\n(default) forever 1 2\n" {
		t.Fatalf("retention list after cleanup:\n%s", got)
	}
}

// retention list counts what each policy governs: the most specific
// matching one, topic policies in their own language.
func TestRetentionList(t *testing.T) {
	dir := t.TempDir()
	seedRetention(t, retentionDB(dir),
		rechist.Policy{Pattern: "sensors::*", Raw: 24 * time.Hour},
		rechist.Policy{Pattern: "sensors::a", Raw: 0},
		rechist.Policy{Pattern: "nothing::*", Raw: 90 * time.Minute})
	want := "PATTERN RAW RECORDS ROWS\n" +
		"nothing::* 1h30m0s 0 0\n" +
		"sensors::* 1d 1 2\n" +
		"sensors::a forever 1 3\n" +
		"(default) forever 1 2\n"
	if got := policyLines(t, ok(t, dir, "", "retention")); got != want {
		t.Fatalf("retention:\n%s\nwant\n%s", got, want)
	}
	// A topic policy (other is one segment: # matches it).
	ok(t, dir, "", "retention", "set", "--topics", "#", "--raw", "30d", "--yes")
	out := ok(t, dir, "", "retention", "list")
	if !strings.Contains(out, "# (topic)") || !strings.Contains(policyLines(t, strings.ReplaceAll(out, "# (topic)", "#")), "\n# 30d 1 2\n") {
		t.Fatalf("retention list with a topic policy:\n%s", out)
	}
	if r := runCLI(t, dir, "", "retention", "remove", "#"); r.code != 1 || !strings.Contains(r.stderr, "add --topics") {
		t.Fatalf("remove of a topic policy without --topics: exit %d, stderr %q", r.code, r.stderr)
	}
}

// retention remove counts without --yes and changes nothing, removes with
// --yes, and fails with exit status 1 for a pattern without a policy.
func TestRetentionRemove(t *testing.T) {
	dir := t.TempDir()
	seedRetention(t, retentionDB(dir),
		rechist.Policy{Pattern: "sensors::*", Raw: 24 * time.Hour},
		rechist.Policy{Pattern: "sensors::a", Raw: 0})
	// Nothing is due but sensors::b's old row.
	if out := ok(t, dir, "", "cleanup"); out != "deleted 1 row (retention policies)\n" {
		t.Fatalf("cleanup: %q", out)
	}
	out := ok(t, dir, "", "retention", "remove", "sensors::a")
	if want := "without the policy of sensors::a, a retention pass would delete 1 row of 1 record now; run again with --yes to remove it\n"; out != want {
		t.Fatalf("remove dry run: %q, want %q", out, want)
	}
	if pols, rows := retentionState(t, retentionDB(dir)); pols != "sensors::*=24h0m0s;sensors::a=0s;" || rows != "other=2;sensors::a=3;sensors::b=1;" {
		t.Fatalf("after the dry run: policies %q, rows %q", pols, rows)
	}
	out = ok(t, dir, "", "retention", "remove", "sensors::a", "--yes")
	if want := "removed the policy of sensors::a; the next retention pass deletes 1 row of 1 record (rechist cleanup runs it now)\n"; out != want {
		t.Fatalf("remove --yes: %q, want %q", out, want)
	}
	if pols, _ := retentionState(t, retentionDB(dir)); pols != "sensors::*=24h0m0s;" {
		t.Fatalf("after remove --yes: policies %q", pols)
	}
	for _, args := range [][]string{
		{"retention", "remove", "sensors::a"},
		{"retention", "remove", "sensors::a", "--yes"},
	} {
		r := runCLI(t, dir, "", args...)
		if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, `no policy for "sensors::a"`) {
			t.Errorf("%v of a missing policy: exit %d, stdout %q, stderr %q; want exit 1 saying so", args, r.code, r.stdout, r.stderr)
		}
	}
	if pols, _ := retentionState(t, retentionDB(dir)); pols != "sensors::*=24h0m0s;" {
		t.Fatalf("after the failed removes: policies %q", pols)
	}
}

// Bad --raw values and patterns are usage errors (exit status 2) that
// touch no database.
func TestRetentionBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"set", "a", "--raw", "soon"},
		{"set", "a", "--raw", "-1h"},
		{"set", "a", "--raw", "1.5ms", "--yes"},
		{"set", "a", "--raw", "80000d", "--yes"},
		{"set", "a"},
		{"set", "", "--raw", "1d", "--yes"},
		{"remove", "", "--yes"},
	} {
		r := runCLI(t, dir, "", append([]string{"retention"}, args...)...)
		if r.code != 2 || r.stdout != "" {
			t.Errorf("retention %q: exit %d, stdout %q, stderr %q; want exit 2", args, r.code, r.stdout, r.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Fatal("bad input opened the database")
	}
}

// retention and each of its subcommands have help with examples.
func TestRetentionHelp(t *testing.T) {
	dir := t.TempDir()
	for _, cmd := range [][]string{{"retention"}, {"retention", "list"}, {"retention", "set"}, {"retention", "remove"}} {
		if out := ok(t, dir, "", append(cmd, "-h")...); !strings.Contains(out, "Example") || !strings.Contains(out, "--db=PATH") {
			t.Errorf("rechist %s -h:\n%s", strings.Join(cmd, " "), out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("help created a database")
	}
}
