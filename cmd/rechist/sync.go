package main

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/rechisthttp"
)

type syncCmd struct {
	To      string   `name:"to" env:"RECHIST_SYNC_TO" placeholder:"URL" help:"The destination: an https:// (or http://) URL of a rechist serve --writable, a postgres:// URL or a SQLite file (also set by ${env}, which keeps a password off the command line). A missing file is created, a schema migrated."`
	Token   string   `env:"RECHIST_SYNC_TOKEN" placeholder:"TOKEN" help:"With an https:// destination: the server's token (rechist serve --token). Also set by ${env}, which keeps it off the command line."`
	Pattern string   `placeholder:"PATTERN" help:"Send only the records matching PATTERN (default: all). ${patternHelp}"`
	Prefix  string   `placeholder:"STR" help:"Store every record on the destination as STR + its name (vienna-gw1.), so names from several devices do not collide."`
	Follow  bool     `help:"Keep pushing as rows arrive, until Ctrl-C; back off while the destination is unreachable or busy and resume by itself."`
	Every   duration `default:"1s" placeholder:"DURATION" help:"With --follow, how often to look for new rows (default ${default})."`
	Batch   int      `default:"10000" placeholder:"N" help:"Source rows per transaction on the destination, at most."`
	topicFlag
	NewIdentity bool `name:"new-identity" help:"Give --db a new identity as a sync source and exit, pushing nothing: for a copy of another device's file (see docs/sync.md). Its next push sends every row it holds; give it a --prefix of its own."`
}

func (c *syncCmd) Help() string {
	return `Copies every row of --db that the destination has not received from it
yet, exactly once: the destination keeps a cursor per source, written in the
transaction of the rows it covers, so a push stopped at any moment (Ctrl-C, a
kill, the server gone) and started again neither loses nor duplicates a row.
Values arrive byte for byte with their original times. --db is only read.

Rows the source deleted (its retention, a delete) before they were sent are
MISSED: a gap on the destination that no later push fills. Retention on a
device must outlast its longest time offline. A source file copied to
another device (same identity) is refused; see docs/sync.md.

One push by default, with one line at the end. --follow pushes every
--every, prints a line per push that copied rows, and a line when the
destination becomes unreachable and when it is back (retrying up to every
30s meanwhile).

To a server over HTTPS, the device needs no database port or password:
the server (rechist serve --writable --token T) commits each push with its
cursor, and a push whose answer is lost is looked up, never sent twice.

Example:
  export RECHIST_SYNC_TO='postgres://rechist:secret@server/history'
  rechist sync --db ./data/history.db --prefix vienna-gw1. --follow
  RECHIST_SYNC_TOKEN=T rechist sync --db ./data/history.db --to https://server:8080/ --follow
  rechist sync --db ./data/history.db --to central.db --pattern 'sensors.*'`
}

// maxBackoff is the longest wait between two attempts while the
// destination fails.
const maxBackoff = 30 * time.Second

// bigPush is how many source rows a push must have ahead of it for a
// progress bar on a terminal.
const bigPush = 50_000

func (c *syncCmd) Run(e *env) error {
	if c.NewIdentity {
		return c.newIdentity(e)
	}
	if c.To == "" {
		return usagef("--to (or RECHIST_SYNC_TO) is required: the destination")
	}
	if c.Token != "" && !isHTTP(c.To) {
		return usagef("--token is for an https:// destination (a rechist serve), not %s", redacted(c.To))
	}
	if c.Batch < 1 {
		return usagef("--batch must be at least 1, got %d", c.Batch)
	}
	if c.Every <= 0 {
		return usagef("--every must be positive, got %v", c.Every)
	}
	if c.Every != duration(time.Second) && !c.Follow {
		return usagef("--every needs --follow")
	}
	if samePath(e.dbPath, c.To) {
		return usagef("--to names the source itself (%s)", c.To)
	}
	src, err := e.openRead(c.options()...)
	if err != nil {
		return err
	}
	defer src.Close()
	id, err := src.SourceID(e.ctx)
	if errors.Is(err, rechist.ErrNoSourceID) {
		return fmt.Errorf("%w: %s was made by an older rechist or another program; open it writable once: rechist --db %s migrate up",
			err, src.Path(), e.dbPath)
	}
	if err != nil {
		return err
	}
	s := &syncer{c: c, e: e, src: src, id: id}
	defer s.closeDst()
	if c.Follow {
		return s.follow()
	}
	return s.once()
}

// samePath reports whether two database arguments name one SQLite file.
func samePath(a, b string) bool {
	if isURL(a) || isURL(b) {
		return a == b
	}
	abs := func(p string) string {
		p, _ = filepath.Abs(p)
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r
		}
		return p
	}
	return abs(a) == abs(b)
}

// syncer pushes one source to one destination.
type syncer struct {
	c   *syncCmd
	e   *env
	src *rechist.DB
	id  string
	// dst is the destination while it is open: dstDB when it is a
	// database, else a server's client.
	dst   rechist.SyncTarget
	dstDB *rechist.DB
	// pushes counts the pushes that copied rows (with --follow).
	pushes int
}

// openDst opens the destination if it is not open.
func (s *syncer) openDst() error {
	if s.dst != nil {
		return nil
	}
	if isHTTP(s.c.To) {
		c, err := rechisthttp.NewSyncClient(s.c.To, s.c.Token)
		if err != nil {
			return usagef("--to %s: %v", redacted(s.c.To), err)
		}
		s.dst = c
		return nil
	}
	var opts []rechist.Option
	if isURL(s.c.To) {
		// The server's own processes maintain it: a rollup pass would
		// hold the schema's writer lock alone across this device's
		// network (docs/sync.md).
		opts = append(opts, rechist.WithoutMaintenance())
	}
	dst, err := rechist.Open(s.e.ctx, s.c.To, opts...)
	if err != nil {
		return err
	}
	if id, err := dst.SourceID(s.e.ctx); err == nil && id == s.id {
		dst.Close()
		return usagef("--to is the source itself (%s has the same sync identity %s)", dst.Path(), id)
	}
	s.dst, s.dstDB = dst, dst
	return nil
}

// isHTTP says whether a destination is a server reached over HTTP(S).
func isHTTP(to string) bool {
	return strings.HasPrefix(to, "http://") || strings.HasPrefix(to, "https://")
}

// dstName is the destination for messages.
func (s *syncer) dstName() string {
	if s.dstDB != nil {
		return s.dstDB.Path()
	}
	return redacted(s.c.To)
}

func (s *syncer) closeDst() error {
	if s.dst == nil {
		return nil
	}
	var err error
	if s.dstDB != nil {
		err = s.dstDB.Close()
	}
	s.dst, s.dstDB = nil, nil
	return err
}

// push runs Sync until it ends without a conflict with another sync of
// the same source (which it restarts from the destination's cursor).
func (s *syncer) push(bar func() *progressbar.ProgressBar) (rechist.SyncResult, error) {
	opts := []rechist.SyncOption{rechist.SyncBatchRows(s.c.Batch)}
	if s.c.Pattern != "" {
		opts = append(opts, rechist.SyncPattern(s.c.Pattern))
	}
	if s.c.Prefix != "" {
		opts = append(opts, rechist.SyncPrefix(s.c.Prefix))
	}
	var total rechist.SyncResult
	var b *progressbar.ProgressBar
	var startCursor int64 = -1
	opts = append(opts, rechist.SyncProgress(func(r rechist.SyncResult) {
		if startCursor < 0 {
			startCursor = r.Cursor - (r.Copied + r.Skipped + r.Missed)
			if bar != nil && r.SourceLast-startCursor >= bigPush {
				b = bar()
				b.ChangeMax64(r.SourceLast - startCursor)
			}
		}
		if b != nil {
			_ = b.Set64(r.Cursor - startCursor)
		}
	}))
	defer func() {
		if b != nil {
			_ = b.Finish()
		}
	}()
	for conflicts := 0; ; conflicts++ {
		r, err := rechist.SyncTo(s.e.ctx, s.src, s.dst, opts...)
		total.Source = r.Source
		total.Copied += r.Copied
		total.Skipped += r.Skipped
		total.Missed += r.Missed
		total.Cursor, total.SourceLast, total.TotalSent, total.TotalMissed = r.Cursor, r.SourceLast, r.TotalSent, r.TotalMissed
		if err == nil || !errors.Is(err, rechist.ErrConflict) || copiedSource(err) || conflicts == 100 {
			return total, err
		}
		// Another sync of this source committed first: go on from where
		// it left the cursor.
	}
}

// copiedSource reports whether a conflict says that the source is a copy
// of a file that pushed other rows (or an older copy of it), which no retry
// mends, rather than another sync of the same source moving the cursor.
func copiedSource(err error) bool {
	return errors.Is(err, rechist.ErrCopiedSource)
}

// fatal reports whether err is one that trying again cannot mend.
func fatal(err error) bool {
	var u usageError
	return copiedSource(err) || errors.As(err, &u) ||
		errors.Is(err, rechist.ErrInvalidArgument) || errors.Is(err, rechist.ErrNoSourceID) ||
		errors.Is(err, rechist.ErrReadOnly) || errors.Is(err, rechist.ErrClosed)
}

// conflictError adds what to do to a copied source's conflict.
func (s *syncer) conflictError(err error) error {
	if !copiedSource(err) {
		return err
	}
	return fmt.Errorf("%w\n%s has sync identity %s, which the destination knows from other rows; nothing was sent. If this file is a copy made for another device, give it an identity of its own: rechist --db %s sync --new-identity, then push it under a --prefix of its own (docs/sync.md: a copied source)",
		err, s.src.Path(), s.id, s.src.Path())
}

// once is one push, with a line at the end.
func (s *syncer) once() error {
	start := time.Now()
	if err := s.openDst(); err != nil {
		return err
	}
	var bar func() *progressbar.ProgressBar
	if s.e.interactive {
		bar = func() *progressbar.ProgressBar { return newProgress(s.e, -1, "sync", false) }
	}
	r, err := s.push(bar)
	if err != nil {
		if s.e.ctx.Err() != nil {
			return interruption{fmt.Sprintf("interrupted after %s copied; the destination holds this source's rows up to id %d: run sync again to go on",
				plural(r.Copied, "row"), r.Cursor)}
		}
		return s.conflictError(err)
	}
	fmt.Fprintf(s.e.stdout, "synced %s to %s: %s\n", s.src.Path(), s.dstName(), s.line(r, time.Since(start)))
	return s.closeDst()
}

// line is a push's status: what it copied, skipped and missed, where the
// cursor stands, how long it took.
func (s *syncer) line(r rechist.SyncResult, elapsed time.Duration) string {
	var b strings.Builder
	if r.Missed > 0 {
		fmt.Fprintf(&b, "MISSED %s (deleted on the source before they were sent: its retention is shorter than the time it was offline), ",
			plural(r.Missed, "row"))
	}
	fmt.Fprintf(&b, "copied %s, skipped %d, missed %d; cursor %d of source last %d", plural(r.Copied, "row"), r.Skipped, r.Missed,
		r.Cursor, r.SourceLast)
	if r.TotalMissed > 0 {
		fmt.Fprintf(&b, " (%d missed in all since the first sync)", r.TotalMissed)
	}
	fmt.Fprintf(&b, "; %v (%.0f rows/s)", elapsed.Round(time.Millisecond), float64(r.Copied)/max(elapsed.Seconds(), 1e-9))
	return b.String()
}

// follow pushes every --every until Ctrl-C, backing off while pushes fail.
func (s *syncer) follow() error {
	every := time.Duration(s.c.Every)
	fmt.Fprintf(s.e.stdout, "%s following %s (source %s) to %s every %v\n", s.now(), s.src.Path(), s.id, redacted(s.c.To), every)
	var copied, missed, cursor int64
	var failing int
	var failedSince time.Time
	var lastErr string
	wait := every
	first := true
	for {
		start := time.Now()
		err := s.openDst()
		var r rechist.SyncResult
		if err == nil {
			var bar func() *progressbar.ProgressBar
			if first && s.e.interactive {
				bar = func() *progressbar.ProgressBar { return newProgress(s.e, -1, "first push", false) }
			}
			r, err = s.push(bar)
		}
		copied += r.Copied
		missed += r.Missed
		if r.Source != "" {
			cursor = r.Cursor
		}
		if s.e.ctx.Err() != nil {
			return s.stopped(copied, missed, cursor)
		}
		switch {
		case err != nil && fatal(err):
			return s.conflictError(err)
		case err != nil:
			if failing == 0 {
				failedSince = start
				wait = every
			} else {
				wait = min(2*wait, maxBackoff)
			}
			failing++
			if msg := err.Error(); failing == 1 || msg != lastErr {
				fmt.Fprintf(s.e.stdout, "%s push failed: %s; retrying, up to every %v\n", s.now(), strings.TrimPrefix(msg, "rechist: "), maxBackoff)
				lastErr = msg
			}
			if failing%3 == 0 {
				// A pool that lost its server may hold broken
				// connections; a new one starts afresh.
				s.closeDst()
			}
		default:
			if failing > 0 {
				fmt.Fprintf(s.e.stdout, "%s recovered after %s over %v\n", s.now(), plural(failing, "failed push", "failed pushes"),
					time.Since(failedSince).Round(time.Second))
				failing, lastErr = 0, ""
			}
			wait = every
			if r.Copied > 0 || r.Missed > 0 || first {
				fmt.Fprintf(s.e.stdout, "%s %s\n", s.now(), s.line(r, time.Since(start)))
			}
			first = false
		}
		t := time.NewTimer(wait)
		select {
		case <-s.e.ctx.Done():
			t.Stop()
			return s.stopped(copied, missed, cursor)
		case <-t.C:
		}
	}
}

// stopped is how follow reports Ctrl-C.
func (s *syncer) stopped(copied, missed, cursor int64) error {
	return interruption{fmt.Sprintf("interrupted after %s copied, %d missed; the destination holds this source's rows up to id %d",
		plural(copied, "row"), missed, cursor)}
}

func (s *syncer) now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

// redacted is a destination for messages: a URL without its password.
func redacted(dst string) string {
	u, err := url.Parse(dst)
	if !isURL(dst) || err != nil {
		return dst
	}
	return u.Redacted()
}

// newIdentity gives the source a new identity, the one write sync does to
// it, asked for by name.
func (c *syncCmd) newIdentity(e *env) error {
	if c.Follow || c.Pattern != "" || c.Prefix != "" {
		return usagef("--new-identity pushes nothing: it takes no --follow, --pattern or --prefix")
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	defer db.Close()
	old, err := db.SourceID(e.ctx)
	if err != nil {
		return err
	}
	id, err := db.NewSourceID(e.ctx)
	if err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: new sync identity %s (was %s); its next push sends every row it holds, so give it a --prefix of its own\n", e.dbPath, id, old)
	return nil
}
