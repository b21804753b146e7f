package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/rechisthttp"
)

// syncCmd is sync's commands: a push (the default), and, run against a
// destination, the sources it knows and forgetting one.
type syncCmd struct {
	Push    syncPushCmd    `cmd:"" default:"withargs" help:"Push the rows the destination has not received yet (the default: rechist sync --to DST is rechist sync push --to DST)."`
	Sources syncSourcesCmd `cmd:"" help:"List the sync sources this database (--db, a destination) received rows from, with their cursors, patterns and prefixes."`
	Forget  syncForgetCmd  `cmd:"" help:"Make this database (--db, a destination) forget a sync source (with --yes; without, say what it would do). The rows received from it stay."`
}

func (c *syncCmd) Help() string {
	return `rechist sync --to DST (the default command, push) copies the rows DST has
not received from --db yet, exactly once; rechist sync push --help lists its
flags. Run against a destination (--db DST), sync sources lists the sources
it received rows from and sync forget makes it forget one. See
docs/sync.md.

Example:
  rechist sync --db ./data/history.db --to central.db --prefix vienna-gw1. --follow
  rechist sync --db central.db sources
  rechist sync --db central.db forget 9f0c2a1b4d5e6f708192a3b4c5d6e7f8 --yes`
}

type syncPushCmd struct {
	To      string   `name:"to" env:"RECHIST_SYNC_TO" placeholder:"URL" help:"The destination: an https:// (or http://) URL of a rechist serve --writable, a postgres:// URL or a SQLite file (also set by ${env}, which keeps a password off the command line). A missing file is created, a schema migrated."`
	Token   string   `env:"RECHIST_SYNC_TOKEN" placeholder:"TOKEN" help:"With an https:// destination: the server's token (rechist serve --token). Also set by ${env}, which keeps it off the command line."`
	Pattern string   `placeholder:"PATTERN" help:"Send only the records matching PATTERN (default: all). ${patternHelp}"`
	Prefix  string   `placeholder:"STR" help:"Store every record on the destination as STR + its name (vienna-gw1.), so names from several devices do not collide."`
	Follow  bool     `help:"Keep pushing as rows arrive, until Ctrl-C; back off while the destination is unreachable or busy and resume by itself."`
	Every   duration `default:"1s" placeholder:"DURATION" help:"With --follow, how often to look for new rows (default ${default})."`
	Batch   int      `default:"10000" placeholder:"N" help:"Source rows per transaction on the destination, at most."`
	topicFlag
	NewIdentity bool `name:"new-identity" help:"Give --db a new identity as a sync source and exit, pushing nothing: for a file a destination refused as a copy (see docs/sync.md). Its next push with the same --prefix and --pattern goes on from where it and the other file parted."`
}

func (c *syncPushCmd) Help() string {
	return `Copies every row of --db that the destination has not received from it
yet, exactly once: the destination keeps a cursor per source, written in the
transaction of the rows it covers, so a push stopped at any moment (Ctrl-C, a
kill, the server gone) and started again neither loses nor duplicates a row.
Values arrive byte for byte with their original times. --db is only read.

Rows the source deleted (its retention, a delete) before they were sent are
MISSED: a gap on the destination that no later push fills. Retention on a
device must outlast its longest time offline. Rows it no longer had when a
destination first received it are not missed: the first push says how many.
The destination remembers --pattern and --prefix: a push with others is
refused (rechist sync forget). Of two files with one identity (a copied
file, a restored backup) that both pushed rows of their own, the second is
refused and told to take a new identity (--new-identity), which goes on
from where the two parted; see docs/sync.md.

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

func (c *syncPushCmd) Run(e *env) error {
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
	c   *syncPushCmd
	e   *env
	src *rechist.DB
	id  string
	// dst is the destination while it is open: dstDB when it is a
	// database, else a server's client.
	dst   rechist.SyncTarget
	dstDB *rechist.DB
	// pushes counts the pushes that copied rows (with --follow).
	pushes int
	// seen is, by source id, the highest cursor of that source this
	// process saw on the destination while pushing it (see guardedTarget).
	seen map[string]int64
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
		s.dst = s.guard(c)
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
	s.dst, s.dstDB = s.guard(dst), dst
	return nil
}

// guard is t behind a guardedTarget that keeps its cursors in s.seen.
func (s *syncer) guard(t rechist.SyncTarget) *guardedTarget {
	if s.seen == nil {
		s.seen = map[string]int64{}
	}
	return &guardedTarget{SyncTarget: t, src: s.src, seen: s.seen}
}

// guardedTarget is the destination as a push sees it: one that forgot
// this source while this process pushed to it (rechist sync forget, run
// without stopping this sync first) is an error, not a first push that
// sends every row again.
//
// It watches only the source being pushed, the one whose identity src has
// when its status is asked: a push also asks for the cursors of the
// source's earlier identities (to continue one's history, see
// rechist.SyncTo), which are neither guarded nor remembered, and a new
// identity's cursor is not its old one's.
type guardedTarget struct {
	rechist.SyncTarget
	src  *rechist.DB
	seen map[string]int64 // by source id
}

// errForgotten is a destination that forgot this source during the run.
var errForgotten = errors.New("the destination forgot this source while this sync ran")

func (g *guardedTarget) SyncStatus(ctx context.Context, source string) (rechist.SyncStatus, error) {
	st, err := g.SyncTarget.SyncStatus(ctx, source)
	switch {
	case err != nil:
		return st, err
	}
	if id, err := g.src.SourceID(ctx); err != nil || id != source {
		return st, nil // an earlier identity's cursor (or the source's identity unknown: guard nothing)
	}
	if seen := g.seen[source]; st.Cursor == 0 && seen > 0 {
		return st, fmt.Errorf("%w (rechist sync forget: its cursor was at id %d); this sync does not push every row again by itself: run it again to push them (under the same prefix, the rows already there would be stored twice)",
			errForgotten, seen)
	}
	g.seen[source] = max(g.seen[source], st.Cursor)
	return st, nil
}

func (g *guardedTarget) ApplySync(ctx context.Context, p rechist.SyncPush) error {
	err := g.SyncTarget.ApplySync(ctx, p)
	if err == nil {
		g.seen[p.Source] = max(g.seen[p.Source], p.Last)
	}
	return err
}

// SyncEpochs lets a new identity continue its old one's history (see
// rechist.SyncTo) through the guard.
func (g *guardedTarget) SyncEpochs(ctx context.Context, source string) ([]rechist.SyncEpoch, error) {
	if l, ok := g.SyncTarget.(interface {
		SyncEpochs(context.Context, string) ([]rechist.SyncEpoch, error)
	}); ok {
		return l.SyncEpochs(ctx, source)
	}
	return nil, nil
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
			startCursor = r.Cursor - (r.Copied + r.Skipped + r.Missed + r.Gone)
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
		total.Gone += r.Gone
		total.Reached = total.Reached || r.Reached
		if r.Parent != "" {
			total.Parent, total.ParentID = r.Parent, r.ParentID
		}
		if r.Reached {
			total.Cursor, total.SourceLast, total.TotalSent, total.TotalMissed = r.Cursor, r.SourceLast, r.TotalSent, r.TotalMissed
			total.Horizon, total.TotalGone = r.Horizon, r.TotalGone
		}
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
	return copiedSource(err) || errors.As(err, &u) || errors.Is(err, errForgotten) ||
		errors.Is(err, rechist.ErrInvalidArgument) || errors.Is(err, rechist.ErrNoSourceID) ||
		errors.Is(err, rechist.ErrReadOnly) || errors.Is(err, rechist.ErrClosed)
}

// conflictError adds what to do to a copied source's conflict, and to a
// push whose pattern or prefix the destination's cursor does not know.
func (s *syncer) conflictError(err error) error {
	if errors.Is(err, rechist.ErrInvalidArgument) && strings.Contains(err.Error(), "the cursor covers every row") {
		where := "rechist --db " + redacted(s.c.To)
		if isHTTP(s.c.To) {
			where = "on the server: rechist --db ITS-DATABASE"
		}
		return fmt.Errorf("%w\nNothing was sent. Push with the --pattern and --prefix the destination knows; or, to send this source again under the new ones, forget it there first (%s sync forget %s --yes; the rows it received stay)",
			err, where, s.id)
	}
	if !copiedSource(err) {
		return err
	}
	return fmt.Errorf("%w\n%s has sync identity %s, and another file with the same identity (a copy of this one, the file this one was copied from, or a backup) pushed rows of its own to this destination first; nothing was sent. "+
		"The destination keeps the history it received. Give this file an identity of its own: rechist --db %s sync --new-identity, "+
		"then push it as before (same --prefix and --pattern): it goes on from where the two files parted, sending only its own rows (docs/sync.md: a copied source)",
		err, s.src.Path(), s.id, s.e.dbPath)
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
			return interruption{fmt.Sprintf("interrupted after %s copied; %s: run sync again to go on", plural(r.Copied, "row"), holds(r.Reached, r.Cursor))}
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
		if isURL(s.e.dbPath) {
			fmt.Fprintf(&b, "MISSED %s (ids the source no longer had when they were pushed, after this destination first received it: rows its retention or a delete removed before they were sent, or ids of its failed writes), ",
				plural(r.Missed, "row"))
		} else {
			fmt.Fprintf(&b, "MISSED %s (deleted on the source after this destination first received it and before they were sent: by its retention, when it was offline longer than it keeps rows, or by a delete), ",
				plural(r.Missed, "row"))
		}
	}
	if r.Parent != "" {
		fmt.Fprintf(&b, "continued the history of its earlier identity %s here after id %d, ", r.Parent, r.ParentID)
	}
	if r.Gone > 0 {
		fmt.Fprintf(&b, "the source no longer had %s of its ids up to %d when this destination first received it (deleted before then: not missed), ",
			plural(r.Gone, "row"), r.Horizon)
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
	reached := false
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
		if r.Reached {
			cursor, reached = r.Cursor, true
		}
		if s.e.ctx.Err() != nil {
			return s.stopped(copied, missed, reached, cursor)
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
			return s.stopped(copied, missed, reached, cursor)
		case <-t.C:
		}
	}
}

// stopped is how follow reports Ctrl-C.
func (s *syncer) stopped(copied, missed int64, reached bool, cursor int64) error {
	return interruption{fmt.Sprintf("interrupted after %s copied, %d missed; %s", plural(copied, "row"), missed, holds(reached, cursor))}
}

// holds says how far the destination holds the source's rows, as far as
// this process knows: unknown when it never reached it.
func holds(reached bool, cursor int64) string {
	if !reached {
		return "the destination was never reached, so what it holds of this source is unknown"
	}
	return fmt.Sprintf("the destination holds this source's rows up to id %d", cursor)
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
func (c *syncPushCmd) newIdentity(e *env) error {
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
	fmt.Fprintf(e.stdout, "%s: new sync identity %s (was %s); its next push to a destination that holds rows of %s, with the same --prefix and --pattern, goes on from where this file and that history part; elsewhere, or under another prefix, it sends every row it holds\n",
		e.dbPath, id, old, old)
	return nil
}

// syncSourcesCmd lists the sources a destination knows.
type syncSourcesCmd struct{}

func (c *syncSourcesCmd) Help() string {
	return `Run against a destination (--db): lists every sync source it received rows
from, by id, with its cursor (the id of the last source row it holds), the
rows received, missed and gone (no longer on the source when it first
pushed), the pattern and prefix its pushes use ("?" for a cursor an older
rechist wrote: the next push records them) and when it last pushed. Opens
the database read-only. The id is what rechist sync forget takes; a
source's own id is in the first line of rechist sync --follow.

Example:
  rechist --db postgres://rechist@server/history sync sources`
}

func (c *syncSourcesCmd) Run(e *env) error {
	db, err := e.openRead()
	if err != nil {
		return err
	}
	defer db.Close()
	srcs, err := db.SyncSources(e.ctx)
	if err != nil {
		return err
	}
	if len(srcs) == 0 {
		fmt.Fprintf(e.stdout, "%s has received rows from no sync source\n", db.Path())
		return db.Close()
	}
	w := bufio.NewWriter(e.stdout)
	t := newTable(w, "SOURCE", "CURSOR", "SENT", "MISSED", "GONE", "PATTERN", "PREFIX", "LAST PUSH")
	for _, st := range srcs {
		pattern, prefix := "?", "?"
		if st.Filtered {
			pattern, prefix = strconv.Quote(st.Pattern), strconv.Quote(st.Prefix)
		}
		updated := "-"
		if !st.Updated.IsZero() {
			updated = st.Updated.UTC().Format("2006-01-02T15:04:05.000Z")
		}
		if err := t.add(st.Source, strconv.FormatInt(st.Cursor, 10), strconv.FormatInt(st.Sent, 10), strconv.FormatInt(st.Missed, 10),
			strconv.FormatInt(st.Gone, 10), pattern, prefix, updated); err != nil {
			return err
		}
	}
	if err := t.flush(); err != nil {
		return err
	}
	for _, st := range srcs {
		if st.ContinuedBy != "" {
			fmt.Fprintf(e.stdout, "%s: continued by its new identity %s after id %d (takes no more pushes)\n", st.Source, st.ContinuedBy, st.ContinuedAt)
		}
	}
	return db.Close()
}

// syncForgetCmd makes a destination forget a source.
type syncForgetCmd struct {
	Source string `arg:"" name:"SOURCE" help:"The source's id (rechist sync sources lists them)."`
	Yes    bool   `name:"yes" help:"Forget it. Without --yes, say what it would do and change nothing."`
}

func (c *syncForgetCmd) Help() string {
	return `Run against a destination (--db): deletes its cursor for SOURCE, with the
counts, the pattern and prefix and the epochs it keeps of it. The rows it
received from SOURCE stay. SOURCE's next push is then its first: it sends
every row it still holds, with any --pattern and --prefix; or, under the
pattern and prefix of an earlier identity of the file that this destination
holds (sync --new-identity keeps them), it takes over that identity's history
and sends the rows after it. Under the same prefix the rows received before
would be there twice, so push it under a new one, or delete those rows first. Stop SOURCE's sync --follow first: a push
under way when the cursor goes is refused, and the next starts from nothing.
Without --yes, opens the database read-only and says what it would do.

Example:
  rechist --db central.db sync sources
  rechist --db central.db sync forget 9f0c2a1b4d5e6f708192a3b4c5d6e7f8 --yes`
}

func (c *syncForgetCmd) Run(e *env) error {
	if c.Source == "" {
		return usagef("SOURCE must not be empty: rechist sync sources lists them")
	}
	var db *rechist.DB
	var err error
	if c.Yes {
		db, err = e.open()
	} else {
		db, err = e.openRead()
	}
	if err != nil {
		return err
	}
	defer db.Close()
	var st rechist.SyncStatus
	if c.Yes {
		st, err = db.ForgetSyncSource(e.ctx, c.Source)
	} else {
		st, err = db.SyncStatus(e.ctx, c.Source)
		if err == nil && st.Cursor == 0 {
			err = fmt.Errorf("no sync source %s on %s (rechist --db %s sync sources lists them)", c.Source, db.Path(), e.dbPath)
		}
	}
	if err != nil {
		return err
	}
	filter := "pattern and prefix unknown (an older rechist's cursor)"
	if st.Filtered {
		filter = fmt.Sprintf("pattern %q, prefix %q", st.Pattern, st.Prefix)
	}
	what := fmt.Sprintf("source %s on %s: cursor at id %d, %s received, %d missed, %d gone; %s", c.Source, db.Path(), st.Cursor,
		plural(st.Sent, "row"), st.Missed, st.Gone, filter)
	if !c.Yes {
		fmt.Fprintf(e.stdout, "would forget %s. The %s it received stay. Its next push here is then its first: it sends every row it still holds, "+
			"or, under the prefix of an earlier identity of the file that is here, the rows after that identity's history "+
			"(under the same prefix, rows already here would be stored twice: push it under a new --prefix, or delete them first). "+
			"Run again with --yes to forget it\n", what, plural(st.Sent, "row"))
		return db.Close()
	}
	if err := db.Close(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "forgot %s. The %s it received stay; its next push here is its first: every row it still holds, "+
		"or, under the prefix of an earlier identity of the file that is here, the rows after that identity's history\n", what, plural(st.Sent, "row"))
	return nil
}
