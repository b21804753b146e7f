package core

import (
	"cmp"
	"context"
	"fmt"
	"slices"
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
	SetAtMs   int64 // when it was last set
}

// PolicyChange is a KindPolicy request's payload: set Policy, or remove
// the policy of (Policy.Pattern, Policy.Lang) when Remove is set (the
// engine sets N to the policies removed: 0 or 1).
type PolicyChange struct {
	Policy Policy
	Remove bool
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
// language. It deletes nothing by itself: the next retention pass
// (ApplyRetention) applies it.
func (db *DB) SetPolicy(ctx context.Context, pol Policy) error {
	const op = "set policy"
	if _, err := compilePolicy(op, pol); err != nil {
		return err
	}
	if pol.RawKeepMs < 0 || pol.RawKeepMs > MaxRawKeep.Milliseconds() {
		return Invalidf(op, "policy %q: raw keep must be between 0 (forever) and %v, got %v",
			pol.Pattern, MaxRawKeep, time.Duration(pol.RawKeepMs)*time.Millisecond)
	}
	if err := db.writable(op); err != nil {
		return err
	}
	pol.SetAtMs = db.cfg.Now().UnixMilli()
	r := newRequest(KindPolicy)
	r.Policy = &PolicyChange{Policy: pol}
	_, err := db.w.submit(ctx, r)
	return Wrap(op, err, db.eng.Classify)
}

// RemovePolicy removes the policy of pattern in lang; ErrNotFound when
// there is none.
func (db *DB) RemovePolicy(ctx context.Context, pattern string, lang Language) error {
	const op = "remove policy"
	if _, err := compilePolicy(op, Policy{Pattern: pattern, Lang: lang}); err != nil {
		return err
	}
	if err := db.writable(op); err != nil {
		return err
	}
	r := newRequest(KindPolicy)
	r.Policy = &PolicyChange{Policy: Policy{Pattern: pattern, Lang: lang}, Remove: true}
	n, err := db.w.submit(ctx, r)
	if err == nil && n == 0 {
		err = fmt.Errorf("no %s policy for %q: %w", lang, pattern, ErrNotFound)
	}
	return Wrap(op, err, db.eng.Classify)
}
