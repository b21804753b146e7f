package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/jsonl"
)

type ingestCmd struct {
	File  string `arg:"" optional:"" default:"-" help:"JSON Lines file to read; - (the default) reads standard input."`
	Batch int    `default:"5000" help:"Lines stored per transaction, at most."`
}

func (c *ingestCmd) Help() string {
	return `One record per line, with these fields (exactly these names, in lower case,
each at most once); rechist serve's POST /api/ingest reads the same lines:
  {"name": "accuracy::vienna", "value": {"value": 0.93}, "at": 1764060000000}
"value" is any JSON; "at" is now when absent or null, else Unix milliseconds
(a number, 1795593600000 or 1.7955936e12) or a string: RFC 3339
(2026-11-25T08:00:00Z), a local date and time (2026-11-25 08:00) or date
(2026-11-25), or Unix ms. A time before 1970 is refused, and so is a number
that reads as a date in 2000-2099 when taken as seconds. Lines must be UTF-8.
A bad line is reported with its number and skipped; the summary says exactly
how many rows were stored. Exit status 1 if any line failed. From a pipe, the
lines are stored as they come; Ctrl-C stops and says how far the input was
stored.

Example:
  rechist ingest history.jsonl
  rechist latest 'accuracy::*' --json | rechist --db copy.db ingest`
}

// item is one input line: the record to store, or what is wrong with it.
type item struct {
	no  int
	rec rechist.Record[json.RawMessage]
	err error
}

// ingestion counts what happened to the input.
type ingestion struct {
	lines, stored, failed int
	// through is the last line whose outcome is final (stored or failed).
	through int
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
	st := &ingestion{}
	pending := make([]item, 0, c.Batch)
	flush := func() error {
		err := storeItems(e, bar, repo, pending, st)
		pending = pending[:0]
		return err
	}

	chunks, stop := readLines(io.TeeReader(in, bar))
	defer stop()
	var runErr error
	no := 0
read:
	for e.ctx.Err() == nil {
		var ch chunk
		select {
		case <-e.ctx.Done():
			break read
		case ch = <-chunks:
		}
		for _, text := range ch.lines {
			no++
			if len(bytes.TrimSpace(text)) == 0 {
				continue
			}
			st.lines++
			rec, err := jsonl.ParseLine(text, time.Now())
			pending = append(pending, item{no: no, rec: rec, err: err})
			if len(pending) == c.Batch {
				if runErr = flush(); runErr != nil {
					break read
				}
			}
		}
		switch {
		case ch.err == io.EOF:
			break read
		case ch.err != nil:
			runErr = readError(c.File, ch.err)
			break read
		case ch.idle && size < 0 && len(pending) > 0:
			// Input from a pipe waits for its writer: store what came.
			if runErr = flush(); runErr != nil {
				break read
			}
		}
	}
	stopped := e.ctx.Err() != nil
	if runErr == nil && !stopped {
		runErr = flush()
	}
	if stopped {
		_ = bar.Exit()
		_ = bar.Clear()
	} else {
		_ = bar.Finish()
	}
	if err := db.Close(); err != nil && runErr == nil {
		runErr = err
	}
	if stopped {
		return interruption{fmt.Sprintf("interrupted after %s stored; nothing from line %d of the input on was stored",
			plural(st.stored, "row"), st.through+1)}
	}

	elapsed := time.Since(start)
	fmt.Fprintf(e.stdout, "stored %s from %s in %v (%.0f rows/s)", plural(st.stored, "row"), plural(st.lines, "line"),
		elapsed.Round(time.Millisecond), float64(st.stored)/max(elapsed.Seconds(), 1e-9))
	if st.failed > 0 {
		fmt.Fprintf(e.stdout, "; %s failed", plural(st.failed, "line"))
	}
	fmt.Fprintln(e.stdout)
	switch {
	case runErr != nil:
		return runErr
	case st.failed > 0:
		return fmt.Errorf("%d of %s failed", st.failed, plural(st.lines, "line"))
	}
	return nil
}

// open returns the input and its size (-1 when unknown: not a regular
// file).
func (c *ingestCmd) open(e *env) (io.ReadCloser, int64, error) {
	if c.File == "-" {
		return io.NopCloser(e.stdin), -1, nil
	}
	f, err := os.Open(c.File)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if fi.IsDir() {
		f.Close()
		return nil, 0, fmt.Errorf("%s is a directory, not a JSON Lines file", c.File)
	}
	size := int64(-1)
	if fi.Mode().IsRegular() {
		size = fi.Size()
	}
	return f, size, nil
}

// readError says what went wrong reading the input, naming it once.
func readError(name string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return err // "read NAME: ..."
	}
	return fmt.Errorf("read %s: %w", name, err)
}

// chunk is some lines of input, each with its '\n' if it has one.
type chunk struct {
	lines [][]byte
	// idle says nothing more was buffered: the next read may wait for the
	// writer of a pipe.
	idle bool
	// err is io.EOF after the last line, or why reading failed.
	err error
}

// readLines reads r on a goroutine of its own, so that Ctrl-C is seen while
// a read waits for its writer. stop ends the goroutine unless it is in a
// read, where it stays until the process exits.
func readLines(r io.Reader) (<-chan chunk, func()) {
	const most = 1024 // lines per chunk
	out := make(chan chunk)
	ctx, stop := context.WithCancel(context.Background())
	go func() {
		br := bufio.NewReaderSize(r, 1<<20)
		for {
			var c chunk
			for len(c.lines) < most {
				text, err := br.ReadBytes('\n')
				if len(text) > 0 {
					c.lines = append(c.lines, text)
				}
				if err != nil {
					c.err = err
					break
				}
				if br.Buffered() == 0 {
					c.idle = true
					break
				}
			}
			select {
			case out <- c:
			case <-ctx.Done():
				return
			}
			if c.err != nil {
				return
			}
		}
	}()
	return out, stop
}

// storeItems stores the records of batch in one transaction and reports its
// bad lines, in line order. If the library refuses a record, the batch is
// stored record by record instead, so the good lines are kept and each
// refused one is reported with its line number.
func storeItems(e *env, bar *progressbar.ProgressBar, repo *rechist.Repo[json.RawMessage], batch []item, st *ingestion) error {
	if len(batch) == 0 {
		return nil
	}
	report := func(it item, err error) {
		if e.interactive {
			_ = bar.Clear()
		}
		st.failed++
		fmt.Fprintf(e.stderr, "line %d: %v\n", it.no, err)
	}
	var recs []rechist.Record[json.RawMessage]
	var first, last int
	for _, it := range batch {
		if it.err == nil {
			if recs == nil {
				first = it.no
			}
			recs = append(recs, it.rec)
			last = it.no
		}
	}
	var err error
	if len(recs) > 0 {
		err = repo.StoreMany(e.ctx, recs)
	}
	if err == nil {
		st.stored += len(recs)
		for _, it := range batch {
			if it.err != nil {
				report(it, it.err)
			}
		}
		st.through = batch[len(batch)-1].no
		return nil
	}
	if !errors.Is(err, rechist.ErrInvalidArgument) {
		if first == last {
			return fmt.Errorf("%w (line %d not stored)", err, first)
		}
		return fmt.Errorf("%w (lines %d-%d not stored)", err, first, last)
	}
	for _, it := range batch {
		if it.err != nil {
			report(it, it.err)
			st.through = it.no
			continue
		}
		err := repo.StoreAt(e.ctx, it.rec.Name, it.rec.Value, it.rec.StoredAt)
		switch {
		case err == nil:
			st.stored++
		case errors.Is(err, rechist.ErrInvalidArgument):
			report(it, err)
		default:
			return fmt.Errorf("%w (line %d not stored)", err, it.no)
		}
		st.through = it.no
	}
	return nil
}
