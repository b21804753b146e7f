package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/seed178a96f3/rechist"
)

type ingestCmd struct {
	File  string `arg:"" optional:"" default:"-" help:"JSON Lines file to read; - (the default) reads standard input."`
	Batch int    `default:"5000" help:"Records stored per transaction."`
}

func (c *ingestCmd) Help() string {
	return `One record per line:
  {"name": "accuracy::vienna", "value": {"value": 0.93}, "at": 1764060000000}
"value" is any JSON; "at" defaults to now, and is Unix milliseconds (a number,
1795593600000 or 1.7955936e12) or a string: RFC 3339 (2026-11-25T08:00:00Z),
a local date and time (2026-11-25 08:00) or date (2026-11-25), or Unix ms.
A number that reads as a date in 2000-2099 when taken as seconds is refused.
A malformed line is reported with its number and skipped; the summary says
exactly how many rows were stored. Exit status 1 if any line failed.

Example:
  rechist ingest history.jsonl
  rechist latest 'accuracy::*' --json | rechist --db copy.db ingest`
}

// line is one parsed input line waiting to be stored.
type line struct {
	no  int
	rec rechist.Record[json.RawMessage]
}

// ingestion counts what happened to the input.
type ingestion struct {
	lines, stored, failed int
}

func (c *ingestCmd) Run(e *env) error {
	if c.Batch < 1 {
		return usagef("--batch must be at least 1, got %d", c.Batch)
	}
	in, size, err := c.open(e)
	if err != nil {
		return err
	}
	defer in.Close()
	db, err := e.open()
	if err != nil {
		return err
	}
	defer db.Close()
	repo := rechist.NewRepo[json.RawMessage](db)

	bar := newProgress(e, size, "ingest", true)
	start := time.Now()
	var st ingestion
	pending := make([]line, 0, c.Batch)
	flush := func() error {
		err := storeLines(e, repo, pending, &st)
		pending = pending[:0]
		return err
	}

	r := bufio.NewReaderSize(io.TeeReader(in, bar), 1<<20)
	var runErr error
	for no := 1; ; no++ {
		if err := e.ctx.Err(); err != nil {
			runErr = err
			break
		}
		text, readErr := r.ReadBytes('\n')
		if len(bytes.TrimSpace(text)) > 0 {
			st.lines++
			rec, err := parseLine(text)
			if err != nil {
				st.failed++
				fmt.Fprintf(e.stderr, "line %d: %v\n", no, err)
			} else {
				pending = append(pending, line{no: no, rec: rec})
				if len(pending) == c.Batch {
					if runErr = flush(); runErr != nil {
						break
					}
				}
			}
		}
		if readErr == io.EOF {
			break
		}
		if readErr != nil {
			runErr = fmt.Errorf("read %s: %w", c.File, readErr)
			break
		}
	}
	if runErr == nil {
		runErr = flush()
	}
	_ = bar.Finish()
	if err := db.Close(); err != nil && runErr == nil {
		runErr = err
	}

	elapsed := time.Since(start)
	fmt.Fprintf(e.stdout, "stored %d rows from %d lines in %v (%.0f rows/s)", st.stored, st.lines,
		elapsed.Round(time.Millisecond), float64(st.stored)/max(elapsed.Seconds(), 1e-9))
	if st.failed > 0 {
		fmt.Fprintf(e.stdout, "; %d lines failed", st.failed)
	}
	fmt.Fprintln(e.stdout)
	switch {
	case runErr != nil:
		return runErr
	case st.failed > 0:
		return fmt.Errorf("%d of %d lines failed", st.failed, st.lines)
	}
	return nil
}

// open returns the input and its size (-1 when unknown).
func (c *ingestCmd) open(e *env) (io.ReadCloser, int64, error) {
	if c.File == "-" {
		return io.NopCloser(e.stdin), -1, nil
	}
	f, err := os.Open(c.File)
	if err != nil {
		return nil, 0, err
	}
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	return f, size, nil
}

// storeLines stores a batch in one transaction. If the library refuses a
// record in it, the batch is stored record by record instead, so the good
// lines are kept and each refused one is reported with its line number.
func storeLines(e *env, repo *rechist.Repo[json.RawMessage], batch []line, st *ingestion) error {
	if len(batch) == 0 {
		return nil
	}
	recs := make([]rechist.Record[json.RawMessage], len(batch))
	for i, l := range batch {
		recs[i] = l.rec
	}
	err := repo.StoreMany(e.ctx, recs)
	if err == nil {
		st.stored += len(batch)
		return nil
	}
	if !errors.Is(err, rechist.ErrInvalidArgument) {
		return fmt.Errorf("lines %d-%d not stored: %w", batch[0].no, batch[len(batch)-1].no, err)
	}
	for _, l := range batch {
		err := repo.StoreAt(e.ctx, l.rec.Name, l.rec.Value, l.rec.StoredAt)
		switch {
		case err == nil:
			st.stored++
		case errors.Is(err, rechist.ErrInvalidArgument):
			st.failed++
			fmt.Fprintf(e.stderr, "line %d: %v\n", l.no, err)
		default:
			return fmt.Errorf("line %d not stored: %w", l.no, err)
		}
	}
	return nil
}

// parseLine reads one JSON Lines record.
func parseLine(text []byte) (rechist.Record[json.RawMessage], error) {
	var in struct {
		Name  *string         `json:"name"`
		Value json.RawMessage `json:"value"`
		At    json.RawMessage `json:"at"`
	}
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return rechist.Record[json.RawMessage]{}, fmt.Errorf("not a JSON record: %v", err)
	}
	if dec.More() {
		return rechist.Record[json.RawMessage]{}, errors.New("more than one JSON value on the line")
	}
	switch {
	case in.Name == nil:
		return rechist.Record[json.RawMessage]{}, errors.New(`"name" is missing`)
	case in.Value == nil:
		return rechist.Record[json.RawMessage]{}, errors.New(`"value" is missing`)
	}
	at, err := parseAt(in.At)
	if err != nil {
		return rechist.Record[json.RawMessage]{}, err
	}
	if at.IsZero() {
		at = time.Now()
	}
	return rechist.Record[json.RawMessage]{Name: *in.Name, Value: in.Value, StoredAt: at}, nil
}

// parseAt reads "at": Unix milliseconds as a JSON number, or a string in
// any form parseTime reads; absent or null is the zero time (now).
func parseAt(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, fmt.Errorf(`"at": %v`, err)
		}
		t, err := parseTime(s)
		if err != nil {
			return time.Time{}, fmt.Errorf(`"at": %v`, err)
		}
		return t, nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		t, err := parseMillis(string(raw))
		if err != nil {
			return time.Time{}, fmt.Errorf(`"at" %s: %v`, raw, err)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf(`"at" %s is neither Unix milliseconds nor a time string`, raw)
}
