package core

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Policy is a retention policy as the database keeps it (the table
// rechist_policy): the records Pattern matches, read in Lang, keep their
// raw rows RawKeepMs (0: forever). Every handle on the database sees and
// applies the same policies.
type Policy struct {
	Pattern   string
	Lang      Language // LangWildcard or LangTopic
	RawKeepMs int64
	// Tiers are the rollup tiers, finest first (see CheckTiers); stored
	// as FormatTiers writes them.
	Tiers   []Tier
	SetAtMs int64 // when it was last set
}

// Tier is one rollup tier of a policy: buckets EveryMs wide, aligned to
// the Unix epoch, kept KeepMs after they end (0: forever).
type Tier struct {
	EveryMs, KeepMs int64
}

// FormatTiers writes tiers as the policies table keeps them:
// "EVERY:KEEP,..." in milliseconds ("" for none).
func FormatTiers(tiers []Tier) string {
	var b []byte
	for i, t := range tiers {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, t.EveryMs, 10)
		b = append(b, ':')
		b = strconv.AppendInt(b, t.KeepMs, 10)
	}
	return string(b)
}

// ParseTiers reads what FormatTiers writes.
func ParseTiers(s string) ([]Tier, error) {
	if s == "" {
		return nil, nil
	}
	var out []Tier
	for part := range strings.SplitSeq(s, ",") {
		every, keep, ok := strings.Cut(part, ":")
		e, err1 := strconv.ParseInt(every, 10, 64)
		k, err2 := strconv.ParseInt(keep, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("rechist: bad tiers %q in the policies table", s)
		}
		out = append(out, Tier{EveryMs: e, KeepMs: k})
	}
	return out, nil
}

// MaxRawKeep is the longest raw keep a policy may have (two hundred
// years): cutoffs stay far from int64's range.
const MaxRawKeep = 200 * 365 * 24 * time.Hour

// languageName is how a policy's language is stored.
func (l Language) String() string {
	switch l {
	case LangWildcard:
		return "wildcard"
	case LangTopic:
		return "topic"
	case LangName:
		return "name"
	}
	return "unknown"
}

// ParseLanguage reads a Language as String writes it.
func ParseLanguage(s string) (Language, bool) {
	for _, l := range []Language{LangWildcard, LangTopic} {
		if l.String() == s {
			return l, true
		}
	}
	return 0, false
}

// compiledPolicy is a Policy with its pattern compiled.
type compiledPolicy struct {
	Policy
	p Pattern
}

// compilePolicy compiles pol's pattern in its own language.
func compilePolicy(op string, pol Policy) (compiledPolicy, error) {
	var p Pattern
	var err error
	switch pol.Lang {
	case LangWildcard:
		p, err = CompilePattern(op, pol.Pattern)
	case LangTopic:
		p, err = CompileTopicPattern(op, pol.Pattern)
	default:
		err = Invalidf(op, "policy %q: unknown pattern language %d", pol.Pattern, pol.Lang)
	}
	return compiledPolicy{Policy: pol, p: p}, err
}

// literalBytes counts the bytes of the pattern that stand for themselves:
// all but the '*' of a wildcard pattern; the literal segments and the dots
// of a topic pattern.
func (p Pattern) literalBytes() int {
	switch p.Lang {
	case LangWildcard:
		return len(p.src) - strings.Count(p.src, "*")
	case LangTopic:
		n := 0
		for s := range strings.SplitSeq(p.src, ".") {
			if s != "*" && s != "#" {
				n += len(s)
			}
		}
		return n + strings.Count(p.src, ".")
	}
	return len(p.src)
}

// moreSpecific orders policies from the most specific: a pattern that
// names one record first; then the one with more literal bytes; then the
// longer literal prefix; then by pattern text and language, so the order
// is total and the same in every process.
func moreSpecific(a, b compiledPolicy) int {
	if a.p.Exact != b.p.Exact {
		if a.p.Exact {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(b.p.literalBytes(), a.p.literalBytes()); c != 0 {
		return c
	}
	if c := cmp.Compare(len(b.p.Prefix), len(a.p.Prefix)); c != 0 {
		return c
	}
	if c := strings.Compare(a.Pattern, b.Pattern); c != 0 {
		return c
	}
	return cmp.Compare(a.Lang, b.Lang)
}

// policySet answers which policy governs a record name.
type policySet struct {
	byOrder []compiledPolicy // most specific first
}

// newPolicySet compiles the policies; one whose pattern does not compile
// any more (stored by a newer rechist, or by hand) is left out and
// reported in skipped.
func newPolicySet(pols []Policy) (set policySet, skipped []Policy) {
	for _, pol := range pols {
		c, err := compilePolicy("retention", pol)
		if err != nil {
			skipped = append(skipped, pol)
			continue
		}
		set.byOrder = append(set.byOrder, c)
	}
	slices.SortFunc(set.byOrder, moreSpecific)
	return set, skipped
}

// forName returns the most specific policy whose pattern matches name.
func (s policySet) forName(name string) (Policy, bool) {
	for _, c := range s.byOrder {
		if c.p.Match(name) {
			return c.Policy, true
		}
	}
	return Policy{}, false
}

// PolicyFor returns the policy of pols that governs the record name: the
// most specific one whose pattern matches it (see moreSpecific); false
// when none matches (the record keeps Config.Retention).
func PolicyFor(pols []Policy, name string) (Policy, bool) {
	set, _ := newPolicySet(pols)
	return set.forName(name)
}

// rawKeepText is a raw keep for messages.
func rawKeepText(ms int64) string {
	if ms == 0 {
		return "forever"
	}
	return (time.Duration(ms) * time.Millisecond).String()
}

// Language is the pattern language of the DB's patterns, and of the
// policies SetPolicy stores: LangTopic with Config.TopicPatterns, else
// LangWildcard.
func (db *DB) Language() Language {
	if db.cfg.TopicPatterns {
		return LangTopic
	}
	return LangWildcard
}

// Policies lists the stored retention policies, by pattern. A database
// whose schema predates them has none.
func (db *DB) Policies(ctx context.Context) ([]Policy, error) {
	const op = "policies"
	var pols []Policy
	err := db.readOne(op, func(rd Reader) (err error) {
		pols, err = rd.Policies(ctx)
		return err
	})
	return pols, err
}

// SetPolicy stores pol, replacing the policy of the same pattern and
// language, and in the same transaction gives the records it governs the
// tiers it has and they lack and drops those it has not. A tier is filled
// from a finer tier the record has in that transaction; else it is marked
// there and filled from the record's raw rows afterwards, one record and
// tier a transaction (so a big file's fill never holds the writer for
// long), before SetPolicy returns. If that is cut short (ctx), the error
// says the policy is stored, and the next rollup (any writing handle's,
// in the background, or RollUp) goes on; until a tier is filled,
// Aggregate does not use it and retention keeps the record's raw rows.
// It deletes no raw row: the next retention pass (ApplyRetention) does.
func (db *DB) SetPolicy(ctx context.Context, pol Policy) error {
	const op = "set policy"
	if _, err := compilePolicy(op, pol); err != nil {
		return err
	}
	if pol.RawKeepMs < 0 || pol.RawKeepMs > MaxRawKeep.Milliseconds() {
		return Invalidf(op, "policy %q: raw keep must be between 0 (forever) and %v, got %v",
			pol.Pattern, MaxRawKeep, time.Duration(pol.RawKeepMs)*time.Millisecond)
	}
	if err := checkTiers(op, pol.Pattern, pol.Tiers); err != nil {
		return err
	}
	for _, t := range pol.Tiers {
		// A tier kept shorter than the raw rows would lose rows to late
		// stores that raw rows still answer for.
		if t.KeepMs != 0 && (pol.RawKeepMs == 0 || t.KeepMs < pol.RawKeepMs) {
			return Invalidf(op, "policy %q: a tier must be kept at least as long as the raw rows (%v), or forever; the %v tier is kept %v",
				pol.Pattern, rawKeepText(pol.RawKeepMs), time.Duration(t.EveryMs)*time.Millisecond, time.Duration(t.KeepMs)*time.Millisecond)
		}
	}
	if err := db.writable(op); err != nil {
		return err
	}
	now := db.cfg.Now().UnixMilli()
	pol.SetAtMs = now
	_, err := db.submitTiers(ctx, func(ctx context.Context, s TierStore) (int64, error) {
		return changePolicy(ctx, s, pol, false, now)
	})
	if err == nil {
		if err = db.fillTiers(ctx); err != nil {
			err = fmt.Errorf("policy %q stored; filling its tiers from raw rows stopped, the next rollup goes on: %w", pol.Pattern, err)
		}
	}
	return Wrap(op, err, db.eng.Classify)
}

// RemovePolicy removes the policy of pattern in lang, and the tiers of
// the records it governed that their next policy has not; ErrNotFound
// when there is none.
func (db *DB) RemovePolicy(ctx context.Context, pattern string, lang Language) error {
	const op = "remove policy"
	if _, err := compilePolicy(op, Policy{Pattern: pattern, Lang: lang}); err != nil {
		return err
	}
	if err := db.writable(op); err != nil {
		return err
	}
	now := db.cfg.Now().UnixMilli()
	n, err := db.submitTiers(ctx, func(ctx context.Context, s TierStore) (int64, error) {
		return changePolicy(ctx, s, Policy{Pattern: pattern, Lang: lang}, true, now)
	})
	if err == nil && n == 0 {
		err = fmt.Errorf("no %s policy for %q: %w", lang, pattern, ErrNotFound)
	}
	return Wrap(op, err, db.eng.Classify)
}
