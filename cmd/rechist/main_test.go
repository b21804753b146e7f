package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/seed178a96f3/rechist/internal/testutil/pgtest"
)

// bin is the rechist binary, built once for all tests.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rechist-cli")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "rechist")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building rechist: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs the binary in dir with stdin and returns what it printed.
func runCLI(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	return runEnv(t, dir, stdin, nil, args...)
}

// command returns the binary's command for args in dir, with this
// process's environment less RECHIST_DB, plus env (KEY=VALUE).
func command(dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RECHIST_DB=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// runEnv is runCLI with more environment variables (KEY=VALUE).
func runEnv(t *testing.T, dir, stdin string, env []string, args ...string) result {
	t.Helper()
	cmd := command(dir, env, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running rechist %v: %v", args, err)
	}
	return result{out.String(), errOut.String(), code}
}

// ok runs rechist and fails the test unless it exits 0.
func ok(t *testing.T, dir, stdin string, args ...string) string {
	t.Helper()
	r := runCLI(t, dir, stdin, args...)
	if r.code != 0 {
		t.Fatalf("rechist %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

type jsonLine struct {
	Name  string          `json:"name"`
	At    string          `json:"at"`
	Value json.RawMessage `json:"value"`
}

func parseJSONLines(t *testing.T, s string) []jsonLine {
	t.Helper()
	var out []jsonLine
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		var j jsonLine
		if err := json.Unmarshal([]byte(l), &j); err != nil {
			t.Fatalf("output line %q: %v", l, err)
		}
		out = append(out, j)
	}
	return out
}

func TestDemoThenLatestAndStats(t *testing.T) {
	dir := t.TempDir()
	out := ok(t, dir, "", "demo", "--days", "1", "--cities", "3")
	if !strings.Contains(out, "stored 8640 rows") {
		t.Fatalf("demo output:\n%s", out)
	}
	for _, city := range []string{"vienna", "graz", "linz"} {
		if !regexp.MustCompile(`(?m)^` + city + `\s+-?\d+\.\d °C\s+0\.\d+`).MatchString(out) {
			t.Errorf("demo does not show the latest values of %s:\n%s", city, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "history.db")); err != nil {
		t.Fatalf("default database not created: %v", err)
	}
	// A second run tops up: nothing or almost nothing new.
	if out := ok(t, dir, "", "demo", "--days", "1", "--cities", "3"); strings.Contains(out, "stored 8640 rows") {
		t.Errorf("second demo wrote the day again:\n%s", out)
	}

	table := ok(t, dir, "", "latest", "accuracy::*", "-n", "2")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 7 || !strings.HasPrefix(lines[0], "RECORD") || !strings.HasPrefix(lines[1], "accuracy::graz ") {
		t.Fatalf("latest table:\n%s", table)
	}
	js := parseJSONLines(t, ok(t, dir, "", "latest", "temperature::*", "--json", "--utc"))
	if len(js) != 3 || js[0].Name != "temperature::graz" || !strings.HasSuffix(js[0].At, "Z") || !bytes.HasPrefix(js[0].Value, []byte(`{"celsius":`)) {
		t.Fatalf("latest --json: %+v", js)
	}

	stats := ok(t, dir, "", "stats", "--top", "2")
	for _, want := range []string{`(?m)^records\s+6$`, "top 2 records by rows:", "file size"} {
		if !regexp.MustCompile(want).MatchString(stats) {
			t.Errorf("stats lacks %q:\n%s", want, stats)
		}
	}
}

const ingestInput = `{"name":"s::a","value":1,"at":1000}
{"name":"s::a","value":{"x":[1,2]},"at":"1970-01-01T00:00:02Z"}
not json at all
{"name":"s::b","value":"three","at":3000}
{"value":4,"at":4000}
{"name":"s::b","at":5000}

{"name":"s::b","value":6,"at":"yesterday"}
{"name":"s::b","value":7,"time":7000}
{"name":"","value":8,"at":8000}
{"name":"s::c","value":9,"at":-5}
{"name":"s::c","value":10,"at":10000}
`

// A file with bad lines in the middle: every bad line is reported with its
// number, the good ones are stored, and the summary counts exactly what is
// in the database.
func TestIngestReportsBadLinesAndStoresTheRest(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.jsonl"), []byte(ingestInput), 0o644); err != nil {
		t.Fatal(err)
	}
	// --batch 3: the library's refusal (empty name) lands in a batch with
	// good lines, which must still be stored.
	r := runCLI(t, dir, "", "ingest", "in.jsonl", "--batch", "3")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "stored 4 rows from 11 lines") || !strings.Contains(r.stdout, "7 lines failed") {
		t.Errorf("summary: %s", r.stdout)
	}
	for _, want := range []string{
		"line 3: not a JSON record",
		`line 5: "name" is missing`,
		`line 6: "value" is missing`,
		`line 8: "at": bad time "yesterday": want RFC 3339`,
		`line 9: unknown field "time"`,
		"line 10: record name is empty",
		`line 11: "at" -5 is before the Unix epoch (1970-01-01T00:00:00Z), the earliest time rechist stores`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	got := parseJSONLines(t, ok(t, dir, "", "query", "s::*", "--json", "--utc"))
	var s []string
	for _, j := range got {
		s = append(s, fmt.Sprintf("%s@%s=%s", j.Name, j.At, j.Value))
	}
	want := `s::a@1970-01-01T00:00:02.000Z={"x":[1,2]} s::a@1970-01-01T00:00:01.000Z=1 s::b@1970-01-01T00:00:03.000Z="three" s::c@1970-01-01T00:00:10.000Z=10`
	if strings.Join(s, " ") != want {
		t.Fatalf("database holds\n %s\nwant\n %s", strings.Join(s, " "), want)
	}
}

func TestIngestStdinRoundTripAndFormats(t *testing.T) {
	dir := t.TempDir()
	in := `{"name":"room.kitchen","value":21.5,"at":1700000000000}
{"name":"room.kitchen","value":22,"at":1700000060000}
{"name":"room.office","value":{"on":true,"note":"a,b \"q\""},"at":1700000060000}
`
	if out := ok(t, dir, in, "ingest"); !strings.HasPrefix(out, "stored 3 rows from 3 lines") {
		t.Fatalf("ingest from stdin: %s", out)
	}
	exported := ok(t, dir, "", "query", "room.*", "--json", "--utc")
	// What --json prints, ingest reads back into another database.
	ok(t, dir, exported, "--db", "copy/other.db", "ingest", "-")
	if copied := ok(t, dir, "", "--db", "copy/other.db", "query", "room.*", "--json", "--utc"); copied != exported {
		t.Fatalf("round trip changed the data:\n%s\nvs\n%s", copied, exported)
	}

	rows, err := csv.NewReader(strings.NewReader(ok(t, dir, "", "query", "room.office", "--csv", "--utc"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// The one CSV form, /api/export's too.
	if len(rows) != 2 || strings.Join(rows[0], ",") != "record,ts,time,value" || rows[1][0] != "room.office" ||
		rows[1][1] != "1700000060000" || rows[1][2] != "2023-11-14T22:14:20.000Z" || rows[1][3] != `{"on":true,"note":"a,b \"q\""}` {
		t.Fatalf("csv: %q", rows)
	}

	// Inclusive bounds, given in three time syntaxes.
	got := parseJSONLines(t, ok(t, dir, "", "query", "room.*", "--json", "--start", "1700000060000", "--end", "2023-11-14T22:14:20Z"))
	if len(got) != 2 {
		t.Fatalf("range [60000, 60000] returned %d rows: %+v", len(got), got)
	}
	got = parseJSONLines(t, ok(t, dir, "", "query", "room.kitchen", "--json", "--limit-per-record", "1", "--end", "2023-11-15"))
	if len(got) != 1 || string(got[0].Value) != "22" {
		t.Fatalf("limit 1: %+v", got)
	}
	if out := ok(t, dir, "", "query", "room.*", "--since", "1h"); strings.Count(out, "\n") != 1 {
		t.Fatalf("--since 1h found old rows:\n%s", out)
	}
}

func TestCleanupAndMigrate(t *testing.T) {
	dir := t.TempDir()
	in := `{"name":"old","value":1,"at":1000}
{"name":"old","value":2,"at":2000}
{"name":"new","value":3}
`
	ok(t, dir, in, "ingest")
	if out := ok(t, dir, "", "cleanup", "--older-than", "7d"); !strings.HasPrefix(out, "deleted 2 rows stored before ") {
		t.Fatalf("cleanup: %s", out)
	}
	if out := ok(t, dir, "", "cleanup", "--older-than", "1d12h"); !strings.HasPrefix(out, "deleted 0 rows") {
		t.Fatalf("second cleanup: %s", out)
	}

	status := ok(t, dir, "", "migrate", "status")
	if !regexp.MustCompile(`(?m)^1\s+00001_record_history.sql\s+\d{4}-`).MatchString(status) ||
		!regexp.MustCompile(`(?m)^2\s+00002_stored_at_index.sql\s+\d{4}-`).MatchString(status) {
		t.Fatalf("migrate status:\n%s", status)
	}
	applied := []string{"00002_stored_at_index.sql", "00003_sync.sql", "00004_sync_epoch.sql",
		"00005_retention_policies.sql", "00006_rollup_blocks.sql", "00007_rollup_fill.sql", "00008_record_names.sql",
		"00009_sync_sources.sql", "00010_sync_takeovers.sql", "00011_tier_blocks_by_integer_key.sql"}
	for i := len(applied) - 1; i >= 0; i-- {
		if out := ok(t, dir, "", "migrate", "down"); out != "rolled back "+applied[i]+"\n" {
			t.Fatalf("migrate down: %q", out)
		}
	}
	if r := runCLI(t, dir, "", "migrate", "down"); r.code != 2 || !strings.Contains(r.stderr, "would drop record_history") {
		t.Fatalf("migrate down to zero: exit %d, %s", r.code, r.stderr)
	}
	if !strings.Contains(ok(t, dir, "", "migrate", "status"), "pending") {
		t.Fatal("status does not show the rolled-back migration as pending")
	}
	if out := ok(t, dir, "", "migrate", "up"); out != "applied "+strings.Join(applied, "\napplied ")+"\n" {
		t.Fatalf("migrate up: %q", out)
	}
	if out := ok(t, dir, "", "migrate", "up"); out != "no pending migrations\n" {
		t.Fatalf("second migrate up: %q", out)
	}
	if out := ok(t, dir, "", "latest", "*"); !strings.Contains(out, "new ") || strings.Contains(out, "old") {
		t.Fatalf("data after migrations:\n%s", out)
	}
}

func TestErrorExits(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "not.db")
	if err := os.WriteFile(notDB, bytes.Repeat([]byte("this is not a database\n"), 100), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"latest", "x", "--bogus"}, 2, "unknown flag --bogus"},
		{[]string{"frobnicate"}, 2, "unexpected argument frobnicate"},
		{[]string{"latest"}, 2, `expected "<pattern>"`},
		{[]string{"latest", "x", "-n", "0"}, 2, "-n must be at least 1"},
		{[]string{"latest", "x", "-n", "-1"}, 2, "-n must be at least 1, got -1"}, // was kong's "--limit-per-record: expected int value"
		{[]string{"query", "x", "-n", "-1"}, 2, "-n (--limit-per-record) must not be negative, got -1"},
		{[]string{"query", "x", "--limit-per-record", "-1"}, 2, "must not be negative, got -1"},
		{[]string{"cleanup", "--older-than", "-5m"}, 2, "must be positive"},
		{[]string{"latest", "x", "--json", "--csv"}, 2, "--json and --csv can't be used together"},
		{[]string{"latest", ""}, 2, "pattern is empty"},
		{[]string{"cleanup", "--older-than", "7x"}, 2, `bad duration "7x"`},
		{[]string{"cleanup", "--older-than=-5m"}, 2, "must be positive"},
		{[]string{"retention", "set", "x"}, 2, "missing flags: --raw"},
		{[]string{"query", "x", "--start", "yesterday"}, 2, `bad time "yesterday"`},
		{[]string{"query", "x", "--since", "1h", "--start", "2026-01-01"}, 2, "can't be used together"},
		{[]string{"query", "x", "--start", "2026-01-02", "--end", "2026-01-01"}, 2, "is after end"},
		{[]string{"agg", "x"}, 2, "missing flags: --every"},
		{[]string{"agg", "x", "--every", "500us"}, 2, "--every must be at least 1ms"},
		{[]string{"agg", "x", "--every", "1h", "--json", "--csv"}, 2, "can't be used together"},
		{[]string{"delete", "x", "--since", "1h", "--start", "2026-01-01"}, 2, "can't be used together"},
		{[]string{"delete", "x", "--start", "2026-01-02", "--end", "2026-01-01", "--yes"}, 2, "is after end"},
		{[]string{"records", ""}, 2, "pattern is empty"},
		{[]string{"ingest", "no-such-file.jsonl"}, 1, "no such file"},
		{[]string{"--db", notDB, "stats"}, 1, "not a database"},
		{[]string{"--db", dir, "stats"}, 2, "is a directory, not a database file"},
	} {
		r := runCLI(t, dir, "", tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.says) {
			t.Errorf("rechist %q: exit %d, stderr %q; want exit %d saying %q", tc.args, r.code, r.stderr, tc.code, tc.says)
		}
		if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n > 0 {
			t.Errorf("rechist %q: %d lines on stderr, want one:\n%s", tc.args, n+1, r.stderr)
		}
	}
}

func TestEveryCommandHasHelpWithAnExample(t *testing.T) {
	dir := t.TempDir()
	for _, cmd := range [][]string{{"demo"}, {"ingest"}, {"latest"}, {"query"}, {"cleanup"}, {"backup"}, {"compact"}, {"migrate"}, {"stats"}, {"records"}, {"agg"}, {"delete"}, {"record"}, {"mcp"}} {
		out := ok(t, dir, "", append(cmd, "-h")...)
		if !strings.Contains(out, "Example") || !strings.Contains(out, "--db=PATH") {
			t.Errorf("rechist %s -h:\n%s", cmd[0], out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("help created a database")
	}
}

// postgresServer returns the test server's URL (pgtest.ServerURL: it
// skips without one, fails when one is required).
func postgresServer(t *testing.T) string { return pgtest.ServerURL(t) }

// psql runs sql on the server at base.
func psql(t *testing.T, base, sql string) string {
	t.Helper()
	out, err := exec.Command("psql", base, "-qAtc", sql).CombinedOutput()
	if err != nil {
		t.Fatalf("psql %q: %v\n%s", sql, err, out)
	}
	return string(out)
}

// postgresSchema makes an empty schema, dropped after the test, and returns
// the URL of the server with it as the search path.
func postgresSchema(t *testing.T, base, schema string) string {
	t.Helper()
	psql(t, base, "DROP SCHEMA IF EXISTS "+schema+" CASCADE; CREATE SCHEMA "+schema)
	t.Cleanup(func() { psql(t, base, "DROP SCHEMA IF EXISTS "+schema+" CASCADE") })
	return base + "&search_path=" + schema
}

// With a server (RECHIST_TEST_POSTGRES_URL, as CI provides) the commands
// work on a postgres:// URL as on a file.
func TestPostgresURL(t *testing.T) {
	base := postgresServer(t)
	dir := t.TempDir()
	u := postgresSchema(t, base, fmt.Sprintf("cli_%d", os.Getpid()))

	// The server trusts local connections, so any password does; rechist
	// must print none, whether it comes from --db or RECHIST_DB.
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	const password = "s3cret-pw"
	pu.User = url.UserPassword(pu.User.Username(), password)
	withPassword := pu.String()
	r := runCLI(t, dir, "", "--db", withPassword, "demo", "--days", "1", "--cities", "2")
	if r.code != 0 || !strings.Contains(r.stdout, "stored 5760 rows") {
		t.Fatalf("demo on PostgreSQL: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	outputs := []result{r}
	for _, args := range [][]string{{"stats"}, {"latest", "*"}, {"migrate", "status"}, {"cleanup", "--older-than", "30d"}, {"demo", "--days", "1", "--cities", "2"}} {
		outputs = append(outputs, runEnv(t, dir, "", []string{"RECHIST_DB=" + withPassword}, args...))
		if r := outputs[len(outputs)-1]; r.code != 0 {
			t.Fatalf("RECHIST_DB=... rechist %q: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	for _, r := range outputs {
		if strings.Contains(r.stdout+r.stderr, password) {
			t.Errorf("the password shows:\n%s\n%s", r.stdout, r.stderr)
		}
	}
	js := parseJSONLines(t, ok(t, dir, "", "--db", u, "latest", "temperature::*", "--json"))
	if len(js) != 2 || js[0].Name != "temperature::graz" {
		t.Fatalf("latest: %+v", js)
	}
	// The second demo tops the history up to now: 4 more rows if a
	// minute began between the two runs.
	if out := ok(t, dir, "", "--db", u, "stats"); !regexp.MustCompile(`(?m)^rows\s+(5760|5764)$`).MatchString(out) || !strings.Contains(out, "table size") {
		t.Fatalf("stats:\n%s", out)
	}
	if out := ok(t, dir, "", "--db", u, "migrate", "status"); !regexp.MustCompile(`(?m)^1\s+00001_record_history.sql\s+\d{4}-`).MatchString(out) {
		t.Fatalf("migrate status:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("a postgres:// URL created a local data directory")
	}
}

// On a server the reading commands create nothing in an empty schema, and
// backup says to use pg_dump.
//
// needs the library's WithReadOnly and DB.Backup
func TestPostgresReadOnlyAndBackup(t *testing.T) {
	base := postgresServer(t)
	dir := t.TempDir()
	schema := fmt.Sprintf("cli_ro_%d", os.Getpid())
	u := postgresSchema(t, base, schema)
	tables := "SELECT count(*) FROM pg_tables WHERE schemaname = '" + schema + "'"
	for _, args := range [][]string{{"latest", "*"}, {"query", "*"}, {"stats"}, {"migrate", "status"},
		{"records"}, {"agg", "*", "--every", "1h"}, {"delete", "*"}} {
		r := runCLI(t, dir, "", append([]string{"--db", u}, args...)...)
		if args[0] == "migrate" {
			if r.code != 0 || !strings.Contains(r.stdout, "pending") {
				t.Errorf("migrate status on an empty schema: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
		} else if r.code != 2 || !strings.Contains(r.stderr, "not a rechist history: it has no tables") {
			t.Errorf("rechist %q on an empty schema: exit %d, stderr %q; want exit 2 saying it is no history", args, r.code, r.stderr)
		}
		if n := strings.TrimSpace(psql(t, base, tables)); n != "0" {
			t.Fatalf("rechist %q created %s tables", args, n)
		}
	}
	ok(t, dir, `{"name":"a","value":1}`+"\n", "--db", u, "ingest")
	r := runCLI(t, dir, "", "--db", u, "backup", "copy.db")
	if r.code != 1 || !strings.Contains(r.stderr, "pg_dump") {
		t.Errorf("backup on PostgreSQL: exit %d, stderr %q; want exit 1 pointing to pg_dump", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "copy.db")); err == nil {
		t.Error("backup on PostgreSQL wrote a file")
	}
	r = runCLI(t, dir, "", "--db", u, "compact")
	if r.code != 1 || !strings.Contains(r.stderr, "autovacuum") || !strings.Contains(r.stderr, "VACUUM FULL") {
		t.Errorf("compact on PostgreSQL: exit %d, stderr %q; want exit 1 explaining autovacuum and VACUUM FULL", r.code, r.stderr)
	}
}

// query --oldest gives each record's rows in time order, and -n then
// keeps the oldest.
func TestQueryOldest(t *testing.T) {
	dir := t.TempDir()
	in := `{"name":"o.a","value":1,"at":1700000000000}
{"name":"o.a","value":2,"at":1700000060000}
{"name":"o.a","value":3,"at":1700000120000}
{"name":"o.b","value":4,"at":1700000030000}
`
	ok(t, dir, in, "ingest")
	line := func(args ...string) string {
		var s []string
		for _, j := range parseJSONLines(t, ok(t, dir, "", append([]string{"query", "o.*", "--json", "--utc"}, args...)...)) {
			s = append(s, fmt.Sprintf("%s=%s", j.Name, j.Value))
		}
		return strings.Join(s, " ")
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "o.a=3 o.a=2 o.a=1 o.b=4"},
		{[]string{"--oldest"}, "o.a=1 o.a=2 o.a=3 o.b=4"},
		{[]string{"--oldest", "-n", "2"}, "o.a=1 o.a=2 o.b=4"},
		{[]string{"-n", "2"}, "o.a=3 o.a=2 o.b=4"},
	} {
		if got := line(c.args...); got != c.want {
			t.Errorf("query %v: %s, want %s", c.args, got, c.want)
		}
	}
}
