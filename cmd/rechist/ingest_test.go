package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ingest refuses what the library would refuse or what encoding/json would
// quietly change: bytes that are not UTF-8, escaped lone surrogates, field
// names in another case, fields given twice.
func TestIngestIsStrict(t *testing.T) {
	dir := t.TempDir()
	in := strings.Join([]string{
		`{"name":"a` + "\xff" + `b","value":1}`,
		`{"name":"ok::1","value":"x` + "\xc3" + `"}`,
		`{"Name":"ok::2","value":1}`,
		`{"name":"ok::3","VALUE":1}`,
		`{"name":"ok::4","value":1,"At":5000}`,
		`{"name":"ok::5","name":"ok::6","value":1}`,
		`{"name":"x\ud800y","value":1}`,
		`{"name":"x\udc00","value":1}`,
		`{"name":"pair::\ud83d\ude00","value":1}`,
		`{"name":"esc::\u0041\\u","value":1}`,
		`{"name":5,"value":1}`,
		`[{"name":"a","value":1}]`,
		`{"name":"ok::7","value":1} {"name":"ok::8","value":1}`,
		`{"name":"ok::9","value":1`,
		`{"n\u0061me":"ok::10","value":1}`,
	}, "\n") + "\n"
	r := runCLI(t, dir, in, "ingest")
	if r.code != 1 || !strings.HasPrefix(r.stdout, "stored 3 rows from 15 lines") {
		t.Fatalf("ingest: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"line 1: not valid UTF-8 (byte 11)",
		"line 2: not valid UTF-8 (byte 27)",
		`line 3: unknown field "Name"`,
		`line 4: unknown field "VALUE"`,
		`line 5: unknown field "At"`,
		`line 6: field "name" appears twice`,
		`line 7: "name" "x\ud800y" holds an escaped lone surrogate`,
		`line 8: "name" "x\udc00" holds an escaped lone surrogate`,
		`line 11: "name" 5 is not a string`,
		"line 12: not a JSON record",
		"line 13: more than one JSON value on the line",
		"line 14: not a JSON record: the line ends inside it",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	var names []string
	for _, j := range parseJSONLines(t, ok(t, dir, "", "query", "*", "--json")) {
		names = append(names, j.Name)
	}
	if got := strings.Join(names, " "); got != `esc::A\u ok::10 pair::😀` {
		t.Errorf("stored %s", got)
	}
}

// Values the Rust crate cannot read back (a number beyond float64's range,
// an escaped lone surrogate) are refused line by line, and nothing of
// theirs is stored; the lines around them are.
func TestIngestRefusesValuesTheCrateCannotRead(t *testing.T) {
	in := strings.Join([]string{
		`{"name":"ok::1","value":{"v":1e308}}`,
		`{"name":"big","value":{"v":1e400}}`,
		`{"name":"small","value":-1e400}`,
		`{"name":"high","value":"\ud800"}`,
		`{"name":"low","value":{"k":"x\udc00"}}`,
		`{"name":"ok::2","value":["\ud83d\ude00",1e-400]}`,
	}, "\n") + "\n"
	for _, batch := range []string{"1", "100"} {
		dir := t.TempDir()
		r := runCLI(t, dir, in, "ingest", "--batch", batch)
		if r.code != 1 || !strings.HasPrefix(r.stdout, "stored 2 rows from 6 lines") || !strings.Contains(r.stdout, "; 4 lines failed") {
			t.Fatalf("--batch %s: exit %d\n%s%s", batch, r.code, r.stdout, r.stderr)
		}
		for _, want := range []string{
			"line 2: record \"big\": value holds the number 1e400, beyond float64's range",
			"line 3: record \"small\": value holds the number -1e400",
			`line 4: record "high": value holds the escaped lone surrogate \ud800`,
			`line 5: record "low": value holds the escaped lone surrogate \udc00`,
		} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("--batch %s: stderr lacks %q:\n%s", batch, want, r.stderr)
			}
		}
		var got []string
		for _, j := range parseJSONLines(t, ok(t, dir, "", "query", "*", "--json")) {
			got = append(got, j.Name+"="+string(j.Value))
		}
		if want := `ok::1={"v":1e308} ok::2=["\ud83d\ude00",1e-400]`; strings.Join(got, " ") != want {
			t.Errorf("--batch %s: stored %s, want %s", batch, got, want)
		}
	}
}

// Bad lines are reported in line order, whether ingest or the library
// finds them, and however the batches fall.
func TestIngestReportsInLineOrder(t *testing.T) {
	dir := t.TempDir()
	in := `{"name":"","value":1}
not json
{"name":"a","value":1}
{"name":"b","value":2,"at":-1}
{"name":"c"}
{"name":"d","value":4}
{"name":"","value":5}
{"value":6}
`
	for _, batch := range []string{"1", "2", "3", "100"} {
		r := runCLI(t, dir, in, "ingest", "--batch", batch)
		var nos []int
		for _, m := range regexp.MustCompile(`(?m)^line (\d+):`).FindAllStringSubmatch(r.stderr, -1) {
			n, _ := strconv.Atoi(m[1])
			nos = append(nos, n)
		}
		if r.code != 1 || len(nos) != 6 || !strings.HasPrefix(r.stdout, "stored 2 rows from 8 lines") {
			t.Fatalf("--batch %s: exit %d\n%s%s", batch, r.code, r.stdout, r.stderr)
		}
		for i := 1; i < len(nos); i++ {
			if nos[i] <= nos[i-1] {
				t.Errorf("--batch %s: lines reported in the order %v", batch, nos)
				break
			}
		}
	}
}

// Ctrl-C while ingest waits for a slow pipe: it stops at once, says how
// many rows it stored and from which line on nothing was, and exits 130.
func TestIngestInterrupted(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, "", "migrate", "up")
	cmd := command(dir, nil, "ingest")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if _, err := io.WriteString(stdin, "{\"name\":\"a\",\"value\":1}\n\n{\"name\":\"b\",\"value\":2}\n"); err != nil {
		t.Fatal(err)
	}
	// The lines a pipe has delivered are stored while ingest waits for more.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if out := ok(t, dir, "", "query", "*", "--json"); strings.Count(out, "\n") == 2 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("ingest did not store the lines it read while it waits for more")
		}
	}
	if _, err := io.WriteString(stdin, `{"name":"c","val`); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("ingest did not stop on SIGINT\nstdout: %s\nstderr: %s", &stdout, &stderr)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("ingest after SIGINT: %v, want exit status 130", err)
	}
	if want := "rechist: interrupted after 2 rows stored; nothing from line 4 of the input on was stored\n"; stderr.String() != want || stdout.Len() != 0 {
		t.Errorf("ingest after SIGINT printed\nstdout: %q\nstderr: %q\nwant stderr %q", &stdout, &stderr, want)
	}
}
