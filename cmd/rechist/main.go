// Command rechist looks into and fills a rechist history file from the
// shell: ingest JSON Lines, query the latest values or a time range, list
// records, summarize a field in time buckets, delete a range, run
// retention, back up and compact the file, manage the schema, fill a demo
// database, serve it over HTTP (a dashboard, a JSON API, a live stream,
// metrics; read-only unless --writable), and sync its rows to a server
// exactly once.
//
//	go run ./cmd/rechist demo
//	go run ./cmd/rechist latest 'accuracy::*' -n 3
//
// Every command takes --db PATH (default ./data/history.db, or the
// RECHIST_DB environment variable, which keeps a password in a postgres://
// URL off the command line; rechist prints URLs without it). The commands
// that only read (latest, query, records, agg, delete and retention
// without --yes, stats, migrate status, serve without --writable, and
// backup and sync for their source) open the database read-only: they
// never create, migrate or change it. query and latest print rows as they stream from the
// database, so their memory does not grow with the result. Every command
// that takes a pattern reads it as an AimDB topic pattern with --topics.
// Exit status: 0 on success, 2 for bad usage
// (unknown flags, bad durations, times or patterns), 1 for failures at run
// time, 130 after Ctrl-C.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata" // agg --tz's zones on a machine without a zone database

	"github.com/alecthomas/kong"
	"golang.org/x/term"

	"github.com/seed178a96f3/rechist"
	_ "github.com/seed178a96f3/rechist/postgres" // --db postgres://...
)

// defaultDB is the database when neither --db nor RECHIST_DB names one.
const defaultDB = "./data/history.db"

// cli is the command line's grammar.
type cli struct {
	DB      string           `name:"db" env:"RECHIST_DB" default:"${defaultDB}" placeholder:"PATH" help:"Database file or postgres:// URL (default: ${default}; also set by ${env}, which keeps a password off the command line). Commands that write create a missing file and its directory; commands that read never do."`
	Version kong.VersionFlag `help:"Print the version and the source revision, then exit."`
	Init    bool             `help:"Let a command that writes add rechist's tables to a database that holds other tables but no history (another program's file); without it, such a file is refused."`

	Demo      demoCmd      `cmd:"" help:"Fill the database with a week of demo history and show the latest values."`
	Ingest    ingestCmd    `cmd:"" help:"Store JSON Lines records from a file or standard input."`
	Latest    latestCmd    `cmd:"" help:"Show the newest values of the records matching a pattern."`
	Query     queryCmd     `cmd:"" help:"Show the values of matching records within a time range."`
	Records   recordsCmd   `cmd:"" help:"List the records matching a pattern with their row counts and time spans."`
	Agg       aggCmd       `cmd:"" help:"Summarize a numeric field of matching records in time buckets."`
	Delete    deleteCmd    `cmd:"" help:"Delete the rows of matching records within a time range (with --yes; without, count them)."`
	Cleanup   cleanupCmd   `cmd:"" help:"Apply the retention policies now, or delete every record's rows older than a duration."`
	Retention retentionCmd `cmd:"" help:"List, set and remove the retention policies: how long matching records keep their raw rows."`
	Backup    backupCmd    `cmd:"" help:"Copy the database to a new file while it is in use."`
	Compact   compactCmd   `cmd:"" help:"Give the space of deleted rows back to the file system."`
	Partition partitionCmd `cmd:"" help:"Keep a PostgreSQL history in partitions of time (with --yes; without, say what it would do)."`
	Migrate   migrateCmd   `cmd:"" help:"Manage the schema migrations."`
	Stats     statsCmd     `cmd:"" help:"Summarize what the database holds."`
	Bench     benchCmd     `cmd:"" help:"Measure rechist against in-run baselines (builds its own files)."`
	Serve     serveCmd     `cmd:"" help:"Serve the dashboard, the JSON API, a live stream and metrics over HTTP."`
	Sync      syncCmd      `cmd:"" help:"Push the rows the destination has not received yet to a server or another file, exactly once (--follow: as they arrive)."`
	Record    recordCmd    `cmd:"" help:"Record what an MQTT broker publishes: each message on the subscribed topics becomes a row."`
	MCP       mcpCmd       `cmd:"" name:"mcp" help:"Give an assistant the history: a Model Context Protocol server over standard input and output."`
}

// env is what every command runs with.
type env struct {
	ctx    context.Context
	dbPath string
	// dbFlag is true when --db was given on the command line (not the
	// default, not RECHIST_DB).
	dbFlag bool
	// init lets a writing command adopt another program's database (--init).
	init           bool
	stdin          io.Reader
	stdout, stderr io.Writer
	// interactive is true when stderr is a terminal: progress bars show.
	interactive bool
}

// open opens the database for a command that writes: a missing file is
// created and the schema migrated, as the library does by default.
func (e *env) open(opts ...rechist.Option) (*rechist.DB, error) {
	if !e.init {
		opts = append(opts, rechist.WithHistoryOnly())
	}
	return rechist.Open(e.ctx, e.dbPath, opts...)
}

// openRead opens the database for a command that only reads: nothing is
// created, migrated or changed, and a missing file is an error that names
// it.
func (e *env) openRead(opts ...rechist.Option) (*rechist.DB, error) {
	opts = append(opts, rechist.WithReadOnly())
	if !isURL(e.dbPath) {
		opts = append(opts, rechist.WithCacheSize(readCache))
	}
	return rechist.Open(e.ctx, e.dbPath, opts...)
}

// readCache is the SQLite page cache of each connection of a reading
// command. The library's default (64 MiB) pays off in a long-running
// process; a command reads each page about once, so a small cache keeps
// its memory flat: a full scan of a 1M-row file stays under 64 MiB of RSS.
const readCache = 4 << 20

// usageError marks an error in what the user typed: exit status 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitRequest is how kong's --help asks to exit, caught in run.
type exitRequest int

// interrupted is the cause of the run's context when a signal ended it.
type interrupted struct{ sig syscall.Signal }

func (i interrupted) Error() string { return "interrupted by " + i.sig.String() }

// interruption is a command's own account of what it did before a signal
// stopped it ("interrupted after 3 rows stored; ...").
type interruption struct{ msg string }

func (i interruption) Error() string { return i.msg }
func (i interruption) Unwrap() error { return context.Canceled }

func main() {
	// The first SIGINT or SIGTERM cancels the commands' context; they stop,
	// say how far they got, and exit with 128+signal (130 for Ctrl-C). A
	// second one ends the process at once.
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		signal.Stop(sigs)
		cancel(interrupted{s.(syscall.Signal)})
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, term.IsTerminal(int(os.Stderr.Fd())))
	os.Exit(code)
}

// run parses args, runs the command and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, interactive bool) (code int) {
	var c cli
	parser, err := kong.New(&c,
		kong.Name("rechist"),
		kong.Description("Keep and query the long-term history of named records in a SQLite file or on a PostgreSQL server."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exitRequest(code)) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Help(printHelp),
		kong.Vars{"version": version(), "defaultDB": defaultDB, "patternHelp": patternHelp},
	)
	if err != nil {
		fmt.Fprintf(stderr, "rechist: %v\n", err)
		return 1
	}
	defer func() {
		if r := recover(); r != nil {
			ex, ok := r.(exitRequest)
			if !ok {
				panic(r)
			}
			code = int(ex)
		}
	}()
	kctx, err := parser.Parse(negativeValues(args))
	if err != nil {
		fmt.Fprintf(stderr, "rechist: %v (see rechist --help)\n", err)
		return 2
	}
	e := &env{ctx: ctx, dbPath: c.DB, init: c.Init, dbFlag: c.DB != defaultDB && c.DB != os.Getenv("RECHIST_DB"),
		stdin: stdin, stdout: stdout, stderr: stderr, interactive: interactive}
	err = kctx.Run(e)
	if err == nil {
		return 0
	}
	var sig interrupted
	stopped := ctx.Err() != nil && errors.As(context.Cause(ctx), &sig)
	// Library errors already start with "rechist: OP:"; the CLI's own
	// errors put a library error they wrap first, so none is printed with
	// the prefix twice.
	msg := strings.TrimPrefix(err.Error(), "rechist: ")
	if stopped && !errors.As(err, new(interruption)) {
		if errors.Is(err, context.Canceled) {
			msg = "interrupted"
		} else {
			msg = "interrupted: " + msg
		}
	}
	if errors.Is(err, rechist.ErrDiskFull) && !stopped {
		msg += diskFullHint(kctx.Command())
	}
	fmt.Fprintln(stderr, "rechist: "+msg)
	var u usageError
	switch {
	case stopped:
		return 128 + int(sig.sig)
	case errors.As(err, &u) || errors.Is(err, rechist.ErrInvalidArgument):
		return 2
	}
	return 1
}

// printHelp is kong's help, except that bench, which builds its own files,
// does not list --db.
func printHelp(options kong.HelpOptions, ctx *kong.Context) error {
	if node := ctx.Selected(); node != nil && node.Name == "bench" {
		for _, f := range ctx.Model.Flags {
			if f.Name == "db" && !f.Hidden {
				f.Hidden = true
				defer func() { f.Hidden = false }()
			}
		}
	}
	return kong.DefaultHelpPrinter(options, ctx)
}

// diskFullHint is what to do about a full disk, for the command kong
// names ("cleanup", "ingest <file>").
func diskFullHint(command string) string {
	name, _, _ := strings.Cut(command, " ")
	switch name {
	case "cleanup":
		return "; the disk is full: deleting writes to the database's WAL first, so free some disk space (a few MB) and run cleanup again, then rechist compact to give the deleted rows' space back to the disk"
	case "compact":
		return "; the disk is full: compact writes the database anew beside it and needs about the file's size free while it runs (rechist stats shows the file): free that much, or move the file to a larger disk"
	}
	return "; the disk is full: free some disk space and run it again (what was stored before is intact; rechist cleanup and compact give space back)"
}

// negativeValues joins a flag and a negative number or duration after it
// ("-n", "-1") into one argument ("-n-1", "--top=-1"): kong reads "-1" as a flag and its error
// named the flag's long form, not the -n typed; the command's own check
// then says what is wrong with the value.
func negativeValues(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if i+1 < len(args) && strings.HasPrefix(a, "-") && a != "-" && a != "--" && !strings.Contains(a, "=") && isNegativeNumber(args[i+1]) {
			if strings.HasPrefix(a, "--") {
				out = append(out, a+"="+args[i+1])
			} else {
				out = append(out, a+args[i+1]) // -n-1: a short flag's value follows it
			}
			i++
			continue
		}
		if a == "--" {
			return append(out, args[i:]...)
		}
		out = append(out, a)
	}
	return out
}

// isNegativeNumber says whether s is a minus sign and a number or a
// duration ("-1", "-5m", "-1.5h").
func isNegativeNumber(s string) bool {
	if len(s) < 2 || s[0] != '-' || s[1] < '0' || s[1] > '9' {
		return false
	}
	for _, r := range s[2:] {
		if !(r >= '0' && r <= '9' || r == '.' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return true
}
