package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/internal/timeparse"
)

type retentionCmd struct {
	List   retentionListCmd   `cmd:"" default:"1" help:"List the policies with the records, rows and bytes each governs (the default)."`
	Set    retentionSetCmd    `cmd:"" help:"Set how long the records a pattern matches keep their raw rows (with --yes; without, count what it would delete)."`
	Remove retentionRemoveCmd `cmd:"" help:"Remove the policy of a pattern (with --yes; without, count what it would delete)."`
}

func (c *retentionCmd) Help() string {
	return `Retention policies live in the database: every program that keeps it open
for writing applies them every cleanup interval (default 1h), and rechist
cleanup applies them now. A record is governed by the most specific
policy whose pattern matches it (a pattern naming one record first, then
the one with more literal characters); records no policy matches keep
their rows forever.

Example:
  rechist retention
  rechist retention set 'sensors::*' --raw 7d
  rechist retention set 'sensors::*' --raw 7d --yes
  rechist retention remove 'sensors::*' --yes`
}

// retentionListCmd lists the stored policies.
type retentionListCmd struct{}

func (c *retentionListCmd) Help() string {
	return `Opens the database read-only. RECORDS and ROWS are what each policy governs
now: the records for which it is the most specific matching policy (ROWS:
their raw rows). BYTES estimates the raw rows' share of the file (rows
times the file's bytes per raw row); TIERS lists each rollup tier with the
bytes its buckets hold.
Topic policies (set with --topics) are marked. Counting reads the whole
index, so it takes longer on deep histories.

Example:
  rechist retention
  rechist retention list`
}

// governed is what one policy (or none: the default) governs: records,
// raw rows, and the bytes of each tier (by width).
type governed struct {
	records, rows int64
	tierBytes     map[time.Duration]int64
}

func (c *retentionListCmd) Run(e *env) error {
	db, err := e.openRead()
	if err != nil {
		return err
	}
	defer db.Close()
	pols, err := db.Policies(e.ctx)
	if err != nil {
		return err
	}
	// Every record, whatever the language of the policies: each policy
	// matches in its own language (PolicyFor).
	recs, err := db.Records(e.ctx, "*")
	if err != nil {
		return err
	}
	s, err := db.Summary(e.ctx, 0)
	if err != nil {
		return err
	}
	type key struct {
		pattern string
		topic   bool
	}
	usage, err := db.TierUsage(e.ctx)
	if err != nil {
		return err
	}
	by := map[key]*governed{}
	var def governed
	governing := func(name string) *governed {
		p, ok := rechist.PolicyFor(pols, name)
		if !ok {
			return &def
		}
		k := key{p.Pattern, p.Topic}
		if by[k] == nil {
			by[k] = &governed{tierBytes: map[time.Duration]int64{}}
		}
		return by[k]
	}
	for _, r := range recs {
		g := governing(r.Name)
		g.records++
		g.rows += r.Rows
	}
	var tierBytes int64
	for _, u := range usage {
		if g := governing(u.Name); g.tierBytes != nil {
			g.tierBytes[u.Every] += u.Bytes
		}
		tierBytes += u.Bytes
	}
	perRow := 0.0
	if s.Rows > 0 {
		perRow = float64(max(0, s.FileBytes-s.FreeBytes-tierBytes)) / float64(s.Rows)
	}
	bw := bufio.NewWriter(e.stdout)
	t := newTable(bw, "PATTERN", "RAW", "RECORDS", "ROWS", "BYTES", "TIERS")
	line := func(pattern string, raw time.Duration, tiers []rechist.Tier, g governed) {
		var ts []string
		for _, tier := range tiers {
			ts = append(ts, shortKeep(tier.Every)+":"+shortKeep(tier.Keep)+" "+bytesString(g.tierBytes[tier.Every]))
		}
		if len(ts) == 0 {
			ts = []string{"-"}
		}
		t.add(pattern, keep(raw).String(), strconv.FormatInt(g.records, 10), strconv.FormatInt(g.rows, 10),
			approxBytes(g.rows, perRow), strings.Join(ts, ", "))
	}
	for _, p := range pols {
		g := by[key{p.Pattern, p.Topic}]
		if g == nil {
			g = &governed{}
		}
		name := p.Pattern
		if p.Topic {
			name += " (topic)"
		}
		line(name, p.Raw, p.Tiers, *g)
	}
	line("(default)", 0, nil, def)
	if err := t.flush(); err != nil {
		return err
	}
	if len(pols) == 0 {
		fmt.Fprintln(e.stderr, "no retention policies: every record keeps its rows forever (rechist retention set adds one)")
	}
	return db.Close()
}

// approxBytes estimates the bytes of rows rows at perRow bytes each.
func approxBytes(rows int64, perRow float64) string {
	if rows == 0 {
		return "0 B"
	}
	return "≈" + bytesString(int64(float64(rows)*perRow))
}

// retentionSetCmd stores a policy.
type retentionSetCmd struct {
	Pattern   string     `arg:"" help:"${patternHelp}"`
	Raw       keep       `name:"raw" required:"" placeholder:"DURATION" help:"How long the matching records keep their raw rows: 90m, 36h, 7d; forever (or 0) keeps them all."`
	Tier      []tierSpec `name:"tier" placeholder:"EVERY:KEEP" help:"A rollup tier, finest first (repeat the flag): buckets EVERY wide kept KEEP (or forever) after the raw rows are gone, e.g. 1m:90d, 1h:forever."`
	Yes       bool       `name:"yes" help:"Set the policy. Without it, set only counts what a retention pass would delete with it, and changes nothing."`
	topicFlag `embed:""`
}

func (c *retentionSetCmd) Help() string {
	return `Replaces the policy of the same pattern. Without --yes, set opens the
database read-only and counts the rows a retention pass would delete now
with the policy in place (under every policy, not only this one). With
--yes it stores the policy and deletes nothing itself: the next retention
pass does (rechist cleanup runs one now; a program that keeps the
database open for writing runs one every cleanup interval).

Example:
  rechist retention set 'sensors::*' --raw 7d
  rechist retention set 'sensors::*' --raw 7d --yes
  rechist retention set 'sensors::*' --raw 7d --tier 1m:90d --tier 1h:forever --yes
  rechist retention set sensors::vienna --raw forever --yes
  rechist retention set --topics 'sensors.#' --raw 36h --yes`
}

func (c *retentionSetCmd) Run(e *env) error {
	if err := checkPattern(c.Pattern); err != nil {
		return err
	}
	p := rechist.Policy{Pattern: c.Pattern, Raw: time.Duration(c.Raw)}
	what := fmt.Sprintf("%s keeping raw rows %v", c.Pattern, c.Raw)
	for _, t := range c.Tier {
		p.Tiers = append(p.Tiers, rechist.Tier(t))
		what += fmt.Sprintf(", %v buckets %v", duration(t.Every), keep(t.Keep))
	}
	if !c.Yes {
		db, err := e.openRead(c.options()...)
		if err != nil {
			return err
		}
		defer db.Close()
		return planChange(e, db, []rechist.Policy{p}, nil, "with "+what, "set it")
	}
	db, err := e.open(c.options()...)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.SetPolicy(e.ctx, p); err != nil {
		return err
	}
	return afterChange(e, db, c.options(), "set "+what)
}

// retentionRemoveCmd removes a policy.
type retentionRemoveCmd struct {
	Pattern   string `arg:"" help:"The pattern of the policy, as it was set (with --topics for a topic policy)."`
	Yes       bool   `name:"yes" help:"Remove the policy. Without it, remove only counts what a retention pass would delete without it, and changes nothing."`
	topicFlag `embed:""`
}

func (c *retentionRemoveCmd) Help() string {
	return `Its records then keep their rows as the next most specific policy says, or
forever. Without --yes, remove opens the database read-only and counts the
rows a retention pass would delete now without the policy. A pattern
without a policy is an error (exit status 1).

Example:
  rechist retention remove 'sensors::*'
  rechist retention remove 'sensors::*' --yes
  rechist retention remove --topics 'sensors.#' --yes`
}

func (c *retentionRemoveCmd) Run(e *env) error {
	if err := checkPattern(c.Pattern); err != nil {
		return err
	}
	if !c.Yes {
		db, err := e.openRead(c.options()...)
		if err != nil {
			return err
		}
		defer db.Close()
		pols, err := db.Policies(e.ctx)
		if err != nil {
			return err
		}
		if err := c.has(pols); err != nil {
			return err
		}
		return planChange(e, db, nil, []string{c.Pattern}, "without the policy of "+c.Pattern, "remove it")
	}
	if !isURL(e.dbPath) {
		// Removing from a file that is not there creates nothing.
		if _, err := os.Stat(e.dbPath); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("retention remove: %s does not exist", e.dbPath)
		}
	}
	db, err := e.open(c.options()...)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.RemovePolicy(e.ctx, c.Pattern); err != nil {
		if errors.Is(err, rechist.ErrNotFound) {
			pols, _ := db.Policies(e.ctx) // for the hint only
			if herr := c.has(pols); herr != nil {
				return herr
			}
		}
		return err
	}
	return afterChange(e, db, c.options(), "removed the policy of "+c.Pattern)
}

// has returns nil when pols hold the policy to remove, else the error
// that says there is none, with a hint when the pattern has a policy in
// the other pattern language.
func (c *retentionRemoveCmd) has(pols []rechist.Policy) error {
	other := false
	for _, p := range pols {
		if p.Pattern == c.Pattern {
			if p.Topic == c.Topics {
				return nil
			}
			other = true
		}
	}
	hint := ""
	switch {
	case other && c.Topics:
		hint = " (its policy is not a topic policy: leave out --topics)"
	case other:
		hint = " (its policy is a topic policy: add --topics)"
	}
	return fmt.Errorf("retention remove: no policy for %q%s", c.Pattern, hint)
}

// planChange prints what a retention pass would delete now with the
// policies in set stored and those of remove removed, and closes db (a
// read-only handle).
func planChange(e *env, db *rechist.DB, set []rechist.Policy, remove []string, what, action string) error {
	plan, err := db.PlanRetention(e.ctx, set, remove)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s, a retention pass would delete %s now; run again with --yes to %s\n",
		what, planString(plan), action)
	return db.Close()
}

// afterChange closes db, on which the policies were just changed, and
// prints done with what the next retention pass deletes, counted on a
// read-only handle.
func afterChange(e *env, db *rechist.DB, opts []rechist.Option, done string) error {
	if err := db.Close(); err != nil {
		return err
	}
	ro, err := e.openRead(opts...)
	if err != nil {
		return err
	}
	defer ro.Close()
	plan, err := ro.PlanRetention(e.ctx, nil, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s; the next retention pass deletes %s (rechist cleanup runs it now)\n", done, planString(plan))
	return ro.Close()
}

// planString says what plan deletes: "nothing", "3 rows of 1 record".
func planString(plan rechist.RetentionPlan) string {
	if plan.Rows == 0 {
		return "nothing"
	}
	return plural(plan.Rows, "row") + " of " + plural(plan.Records, "record")
}

// keep is the --raw flag: how long raw rows are kept, as a duration flag
// takes it, or forever (also 0). It holds what a policy may hold: whole
// milliseconds, at most core.MaxRawKeep.
type keep time.Duration

// tierSpec is a --tier flag: EVERY:KEEP.
type tierSpec rechist.Tier

func (t *tierSpec) Decode(ctx *kong.DecodeContext) error {
	var s string
	if err := ctx.Scan.PopValueInto("tier", &s); err != nil {
		return err
	}
	every, k, ok := strings.Cut(s, ":")
	if !ok {
		return fmt.Errorf("bad tier %q: want EVERY:KEEP, e.g. 1h:forever", s)
	}
	e, err := timeparse.Duration(every)
	if err != nil {
		return fmt.Errorf("bad tier %q: %w", s, err)
	}
	t.Every = e
	if k == "forever" || k == "0" {
		return nil
	}
	kv, err := timeparse.Duration(k)
	if err != nil {
		return fmt.Errorf("bad tier %q: %w (or forever)", s, err)
	}
	t.Keep = kv
	return nil
}

func (k *keep) Decode(ctx *kong.DecodeContext) error {
	var s string
	if err := ctx.Scan.PopValueInto("duration", &s); err != nil {
		return err
	}
	if s == "forever" || s == "0" {
		*k = 0
		return nil
	}
	v, err := timeparse.Duration(s)
	if err != nil {
		return fmt.Errorf("%w (or forever)", err)
	}
	switch {
	case v%time.Millisecond != 0:
		return fmt.Errorf("bad duration %q: whole milliseconds only", s)
	case v > core.MaxRawKeep:
		return fmt.Errorf("bad duration %q: at most %v", s, duration(core.MaxRawKeep))
	}
	*k = keep(v)
	return nil
}

// String prints k as the flag takes it: forever, or a duration (7d).
// shortKeep is keep's String without zero minutes and seconds: 1h, 90m,
// 1d12h, forever, as --tier takes them.
func shortKeep(d time.Duration) string {
	s := keep(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func (k keep) String() string {
	if k == 0 {
		return "forever"
	}
	return duration(k).String()
}
