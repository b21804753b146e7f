package rechist

import (
	"context"
	"time"

	"github.com/seed178a96f3/rechist/internal/core"
)

// Policy says how long the history of the records a pattern matches is
// kept. Policies live in the database ([DB.SetPolicy]), so every process
// that opens it for writing applies the same ones on its retention passes
// (every [WithCleanupInterval]; see there) and [DB.ApplyRetention] (what
// `rechist cleanup` runs) applies them now.
//
// A record is governed by the most specific policy whose pattern matches
// it: a pattern without wildcards (one record) first; then the pattern
// with more literal bytes (all but its wildcards: "sensors.temp.*" beats
// "sensors.*"); then the longer literal prefix ("a.b*" beats "a*b.");
// then, for a total order, the pattern text and language. Records no
// policy matches keep their rows for [WithRetention] (forever without
// it); a record a policy matches keeps its rows for the policy's Raw,
// whatever WithRetention says.
type Policy struct {
	// Pattern selects the records, in the pattern language of the DB
	// that sets it: rechist's '*' patterns, or AimDB's topics with
	// [WithTopicPatterns]. The policy keeps its language: a DB opened in
	// the other language applies it as it was written.
	Pattern string
	// Raw is how long raw rows are kept; 0 keeps them forever. Whole
	// milliseconds, at most 200 years.
	Raw time.Duration
	// Tiers are the rollup tiers, finest first: buckets that summarise
	// the raw rows (count, first and last value, and per numeric field
	// count, exact sum, min, max, first and last) and outlive them.
	Tiers []Tier

	// Topic and SetAt are reported by [DB.Policies] and ignored by
	// SetPolicy: Topic is true when Pattern is a topic pattern, SetAt
	// when the policy was last set.
	Topic bool
	SetAt time.Time
}

// Tier is one rollup tier of a [Policy]: buckets Every wide (whole
// seconds, aligned to the Unix epoch, each tier's width a multiple of the
// one before), kept Keep after they end (0: forever; else at least Every
// and at least the policy's Raw). The tiers hold the exact summary of
// every row the records stored, late ones and other processes' too, and
// survive the raw rows; [DB.Aggregate] answers from them where they give
// the exact answer ([Series].Tier says when they did).
type Tier struct {
	Every, Keep time.Duration
}

// RetentionPlan is what a retention pass would delete now
// ([DB.PlanRetention]).
type RetentionPlan struct {
	Rows    int64 // rows it would delete
	Records int64 // records that would lose rows
}

// SetPolicy stores p for the records p.Pattern matches, replacing the
// policy of the same pattern. It deletes nothing itself: the next
// retention pass applies it (see [DB.PlanRetention] for what that will
// delete). A tier the records lack is filled before it returns: from a
// finer tier they have, with the policy, else from their raw rows, a
// record a transaction (so a large file never holds the writer for long).
// If that is cut short (ctx), the error says the policy is stored, and
// the next rollup goes on; until then Aggregate answers without that tier
// and retention keeps those records' raw rows. Bad input (a pattern that
// does not compile, a negative Raw or one with a fraction of a
// millisecond) wraps [ErrInvalidArgument].
func (db *DB) SetPolicy(ctx context.Context, p Policy) error {
	c, err := db.corePolicy("set policy", p)
	if err != nil {
		return err
	}
	return public(db.core.SetPolicy(ctx, c))
}

// RemovePolicy removes the policy of pattern (in the DB's pattern
// language); [ErrNotFound] when there is none. Its records then keep
// their rows as the next most specific policy, or [WithRetention], says.
func (db *DB) RemovePolicy(ctx context.Context, pattern string) error {
	return public(db.core.RemovePolicy(ctx, pattern, db.core.Language()))
}

// Policies lists the stored policies, by pattern (bytewise). A file that
// predates policies has none.
func (db *DB) Policies(ctx context.Context) ([]Policy, error) {
	got, err := db.core.Policies(ctx)
	if err != nil {
		return nil, public(err)
	}
	out := make([]Policy, len(got))
	for i, c := range got {
		out[i] = publicPolicy(c)
	}
	return out, nil
}

// RollUp rolls the rows stored since the last rollup into the tiers of
// their records' policies now, and returns how many rows it read. Every
// handle that may write does it in the background a second after it
// stores rows, and before retention deletes any; rows stored by other
// processes (the Rust crate included) are rolled up by the next handle
// that does. Aggregate is exact either way: it adds the rows not rolled
// up yet from the raw rows.
func (db *DB) RollUp(ctx context.Context) (int64, error) {
	n, err := db.core.RollUp(ctx)
	return n, public(err)
}

// ApplyRetention runs a retention pass now: each record loses the rows
// older than its policy's Raw, or than [WithRetention] when no policy
// matches it. It deletes in chunks, each a transaction of its own, and
// returns the rows deleted, with the error that stopped it.
func (db *DB) ApplyRetention(ctx context.Context) (int64, error) {
	n, err := db.core.ApplyRetention(ctx)
	return n, public(err)
}

// PlanRetention says what a retention pass would delete now if the
// policies in set were set and those of the patterns in remove removed,
// and changes nothing (both nil: the stored policies as they are). It
// counts the rows one by one, streaming them: the dry run of a policy
// change.
func (db *DB) PlanRetention(ctx context.Context, set []Policy, remove []string) (RetentionPlan, error) {
	const op = "retention"
	stored, err := db.core.Policies(ctx)
	if err != nil {
		return RetentionPlan{}, public(err)
	}
	lang := db.core.Language()
	type key struct {
		pattern string
		lang    core.Language
	}
	drop := map[key]bool{}
	var add []core.Policy
	for _, pattern := range remove {
		drop[key{pattern, lang}] = true
	}
	for _, p := range set {
		c, err := db.corePolicy(op, p)
		if err != nil {
			return RetentionPlan{}, err
		}
		drop[key{c.Pattern, c.Lang}] = true
		add = append(add, c)
	}
	pols := add
	for _, c := range stored {
		if !drop[key{c.Pattern, c.Lang}] {
			pols = append(pols, c)
		}
	}
	plan, err := db.core.PlanRetention(ctx, pols)
	return RetentionPlan{Rows: plan.Rows, Records: plan.Records}, public(err)
}

// PolicyFor returns the policy of policies that governs the record name
// (the most specific one whose pattern matches it: see [Policy]); false
// when none does.
func PolicyFor(policies []Policy, name string) (Policy, bool) {
	cs := make([]core.Policy, len(policies))
	for i, p := range policies {
		cs[i] = core.Policy{Pattern: p.Pattern, RawKeepMs: p.Raw.Milliseconds(), Lang: core.LangWildcard}
		for _, t := range p.Tiers {
			cs[i].Tiers = append(cs[i].Tiers, core.Tier{EveryMs: t.Every.Milliseconds(), KeepMs: t.Keep.Milliseconds()})
		}
		if p.Topic {
			cs[i].Lang = core.LangTopic
		}
	}
	c, ok := core.PolicyFor(cs, name)
	if !ok {
		return Policy{}, false
	}
	for _, p := range policies {
		if p.Pattern == c.Pattern && p.Topic == (c.Lang == core.LangTopic) {
			return p, true
		}
	}
	return Policy{}, false
}

// corePolicy checks p and turns it into the core's policy in the DB's
// language.
func (db *DB) corePolicy(op string, p Policy) (core.Policy, error) {
	if p.Raw < 0 || p.Raw%time.Millisecond != 0 {
		return core.Policy{}, public(core.Invalidf(op, "policy %q: raw keep must be whole milliseconds, 0 or more, got %v", p.Pattern, p.Raw))
	}
	c := core.Policy{Pattern: p.Pattern, Lang: db.core.Language(), RawKeepMs: p.Raw.Milliseconds()}
	for _, t := range p.Tiers {
		if t.Every%time.Millisecond != 0 || t.Keep%time.Millisecond != 0 {
			return core.Policy{}, public(core.Invalidf(op, "policy %q: a tier's width and keep must be whole milliseconds, got %v and %v", p.Pattern, t.Every, t.Keep))
		}
		c.Tiers = append(c.Tiers, core.Tier{EveryMs: t.Every.Milliseconds(), KeepMs: t.Keep.Milliseconds()})
	}
	return c, nil
}

func publicPolicy(c core.Policy) Policy {
	p := Policy{
		Pattern: c.Pattern, Raw: time.Duration(c.RawKeepMs) * time.Millisecond,
		Topic: c.Lang == core.LangTopic, SetAt: time.UnixMilli(c.SetAtMs).UTC(),
	}
	for _, t := range c.Tiers {
		p.Tiers = append(p.Tiers, Tier{Every: time.Duration(t.EveryMs) * time.Millisecond, Keep: time.Duration(t.KeepMs) * time.Millisecond})
	}
	return p
}

// TierUsage is what one record's rollup tier stores: its buckets, eight
// to a row (Blocks rows), and Bytes bytes of their data (the file holds
// somewhat more: the rows' keys and the pages' free space).
type TierUsage struct {
	Name          string
	Every         time.Duration
	Blocks, Bytes int64
}

// TierUsage lists what each record's rollup tiers store, by name and
// width: what `rechist retention` shows per tier. It reads every tier's
// row keys (not their data), so it takes longer on long histories.
func (db *DB) TierUsage(ctx context.Context) ([]TierUsage, error) {
	got, err := db.core.TierUsage(ctx)
	if err != nil {
		return nil, public(err)
	}
	out := make([]TierUsage, len(got))
	for i, g := range got {
		out[i] = TierUsage{Name: g.Name, Every: time.Duration(g.EveryMs) * time.Millisecond, Blocks: g.Blocks, Bytes: g.Bytes}
	}
	return out, nil
}
