package rechisttest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// policyList prints policies as "pattern=raw" lines, for comparisons.
func policyList(pols []rechist.Policy) string {
	s := ""
	for _, p := range pols {
		s += fmt.Sprintf("%s=%v;", p.Pattern, p.Raw)
	}
	return s
}

// Policies are stored in the database: set, replaced, listed by pattern,
// seen by a second handle, removed; removing one that is not there is
// ErrNotFound.
func testPolicyRoundTrip(t *testing.T, h Harness) {
	ctx := t.Context()
	db, dsn := h.openDB(t)
	before := time.Now().Add(-time.Second)
	for _, p := range []rechist.Policy{
		{Pattern: "sensors::*", Raw: 7 * 24 * time.Hour},
		{Pattern: "a", Raw: time.Hour},
		{Pattern: "sensors::*", Raw: 2 * time.Hour}, // replaces the first
		{Pattern: "z*", Raw: 0},                     // forever
	} {
		if err := db.SetPolicy(ctx, p); err != nil {
			t.Fatalf("SetPolicy(%+v): %v", p, err)
		}
	}
	got, err := db.Policies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := "a=1h0m0s;sensors::*=2h0m0s;z*=0s;"; policyList(got) != want {
		t.Fatalf("Policies = %s, want %s", policyList(got), want)
	}
	for _, p := range got {
		if p.Topic || p.SetAt.Before(before) || p.SetAt.After(time.Now().Add(time.Second)) {
			t.Errorf("policy %+v: want Topic false and SetAt about now", p)
		}
	}
	other, err := open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if seen, err := other.Policies(ctx); err != nil || policyList(seen) != policyList(got) {
		t.Fatalf("a second handle sees %s, %v", policyList(seen), err)
	}
	if err := other.RemovePolicy(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := db.RemovePolicy(ctx, "a"); !errors.Is(err, rechist.ErrNotFound) {
		t.Fatalf("removing a removed policy: %v, want ErrNotFound", err)
	}
	if got, _ := db.Policies(ctx); policyList(got) != "sensors::*=2h0m0s;z*=0s;" {
		t.Fatalf("after remove: %s", policyList(got))
	}
}

// Bad policies are refused with ErrInvalidArgument and store nothing.
func testPolicyBadInput(t *testing.T, h Harness) {
	ctx := t.Context()
	db, _ := h.openDB(t)
	for _, p := range []rechist.Policy{
		{Pattern: "", Raw: time.Hour},
		{Pattern: "bad\x00name", Raw: time.Hour},
		{Pattern: "ok", Raw: -time.Hour},
		{Pattern: "ok", Raw: time.Hour + time.Microsecond},
		{Pattern: "ok", Raw: 201 * 365 * 24 * time.Hour},
	} {
		if err := db.SetPolicy(ctx, p); !errors.Is(err, rechist.ErrInvalidArgument) {
			t.Errorf("SetPolicy(%q, %v): %v, want ErrInvalidArgument", p.Pattern, p.Raw, err)
		}
	}
	if err := db.RemovePolicy(ctx, ""); !errors.Is(err, rechist.ErrInvalidArgument) {
		t.Errorf("RemovePolicy(\"\"): %v, want ErrInvalidArgument", err)
	}
	if got, err := db.Policies(ctx); err != nil || len(got) != 0 {
		t.Fatalf("after bad input: %s, %v; want none", policyList(got), err)
	}
}

// Each record keeps its rows as its most specific policy says; records no
// policy matches keep WithRetention's; PlanRetention counts beforehand
// exactly what ApplyRetention then deletes.
func testPolicyMostSpecificApplies(t *testing.T, h Harness) {
	ctx := t.Context()
	db, _ := h.openDB(t, rechist.WithRetention(30*time.Minute))
	// The pass at Open (nothing stored yet) is over before the rows come.
	waitFor(t, "the retention pass after Open", func() bool { return db.Stats().RetentionPasses > 0 })
	r := rechist.NewRepo[int](db)
	now := time.Now()
	ages := []time.Duration{10 * time.Minute, 2 * time.Hour, 4 * time.Hour, 10 * 24 * time.Hour}
	recs := []string{"s::abc", "s::abd", "s::b", "s::bcd", "other", "t.x"}
	for _, name := range recs {
		for i, age := range ages {
			storeAt(t, r, name, i, now.Add(-age))
		}
	}
	for _, p := range []rechist.Policy{
		{Pattern: "s::*", Raw: time.Hour},          // s::b
		{Pattern: "s::a*", Raw: 3 * time.Hour},     // s::abd: more literal bytes
		{Pattern: "s::*d", Raw: 5 * time.Hour},     // s::bcd; ties with s::a* on s::abd, longer prefix wins
		{Pattern: "s::abc", Raw: 0},                // exact: forever
		{Pattern: "t*", Raw: 100 * 24 * time.Hour}, // t.x keeps all, though WithRetention says 30m
	} {
		if err := db.SetPolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	// Kept rows per record, by age index.
	want := map[string]int{"s::abc": 4, "s::abd": 2, "s::b": 1, "s::bcd": 3, "other": 1, "t.x": 4}
	wantRows := int64(0)
	for _, name := range recs {
		wantRows += int64(len(ages) - want[name])
	}
	plan, err := db.PlanRetention(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Rows != wantRows || plan.Records != 4 {
		t.Errorf("PlanRetention = %+v, want %d rows of 4 records", plan, wantRows)
	}
	n, err := db.ApplyRetention(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != wantRows {
		t.Errorf("ApplyRetention deleted %d rows, want %d", n, wantRows)
	}
	for _, name := range recs {
		got, err := r.Query(ctx, name, rechist.QueryParams{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != want[name] {
			t.Errorf("%s keeps %d rows, want %d", name, len(got), want[name])
		}
	}
	if plan, err := db.PlanRetention(ctx, nil, nil); err != nil || plan.Rows != 0 {
		t.Errorf("PlanRetention after the pass = %+v, %v; want nothing", plan, err)
	}
	// A change planned but not made: removing s::abc's policy puts it
	// under s::a* (3h); setting other's keeps it all.
	plan, err = db.PlanRetention(ctx, []rechist.Policy{{Pattern: "oth*", Raw: 0}}, []string{"s::abc"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Rows != 2 || plan.Records != 1 {
		t.Errorf("PlanRetention of a change = %+v, want 2 rows of 1 record", plan)
	}
	if got, _ := db.Policies(ctx); len(got) != 5 {
		t.Errorf("PlanRetention changed the policies: %s", policyList(got))
	}
}

// A policy set through one handle is applied by another handle's
// retention job (with WithRetention it runs once right after Open), and
// WithRetention to the records no policy matches.
func testPolicyAppliedByRetentionJob(t *testing.T, h Harness) {
	ctx := t.Context()
	setter, dsn := h.openDB(t)
	r := rechist.NewRepo[int](setter)
	storeAt(t, r, "job::a", 1, time.Now().Add(-48*time.Hour))
	storeAt(t, r, "job::a", 2, time.Now())
	storeAt(t, r, "keep::a", 1, time.Now().Add(-48*time.Hour))
	storeAt(t, r, "plain", 1, time.Now().Add(-48*time.Hour))
	for _, p := range []rechist.Policy{{Pattern: "job::*", Raw: 24 * time.Hour}, {Pattern: "keep::*"}} {
		if err := setter.SetPolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	// A handle opened without WithRetention runs no pass at Open: a
	// short-lived program that stores a row deletes nothing.
	quiet, err := open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	storeAt(t, rechist.NewRepo[int](quiet), "plain", 2, time.Now())
	// Reads that a pass at Open would have had the time to run beside.
	for range 20 {
		if _, err := quiet.Records(ctx, "*"); err != nil {
			t.Fatal(err)
		}
	}
	if err := quiet.Close(); err != nil {
		t.Fatal(err)
	}
	if n := quiet.Stats().RetentionPasses; n != 0 {
		t.Errorf("a handle without WithRetention ran %d retention passes", n)
	}
	if got, err := r.Query(ctx, "*", rechist.QueryParams{}); err != nil || len(got) != 5 {
		t.Fatalf("before the job: %s, %v; want all 5 rows", summary(got), err)
	}
	db, err := open(ctx, dsn, rechist.WithRetention(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	waitFor(t, "the retention pass after Open", func() bool { return db.Stats().RetentionPasses > 0 })
	got, err := r.Query(ctx, "*", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	if names(got) != "job::a keep::a plain" || got[0].Value != 2 || got[2].Value != 2 {
		t.Fatalf("after the job: %s, want job::a's and plain's new rows and keep::a's", summary(got))
	}
}

// A read-only handle lists the policies and refuses to change them or to
// apply them.
func testPolicyReadOnly(t *testing.T, h Harness) {
	ctx := t.Context()
	db, dsn := h.openDB(t)
	if err := db.SetPolicy(ctx, rechist.Policy{Pattern: "ro*", Raw: time.Hour}); err != nil {
		t.Fatal(err)
	}
	ro, err := open(ctx, dsn, rechist.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if got, err := ro.Policies(ctx); err != nil || policyList(got) != "ro*=1h0m0s;" {
		t.Fatalf("read-only Policies: %s, %v", policyList(got), err)
	}
	if err := ro.SetPolicy(ctx, rechist.Policy{Pattern: "x", Raw: time.Hour}); !errors.Is(err, rechist.ErrReadOnly) {
		t.Errorf("read-only SetPolicy: %v, want ErrReadOnly", err)
	}
	if err := ro.RemovePolicy(ctx, "ro*"); !errors.Is(err, rechist.ErrReadOnly) {
		t.Errorf("read-only RemovePolicy: %v, want ErrReadOnly", err)
	}
	if _, err := ro.ApplyRetention(ctx); !errors.Is(err, rechist.ErrReadOnly) {
		t.Errorf("read-only ApplyRetention: %v, want ErrReadOnly", err)
	}
}

// A topic policy keeps its language: a handle opened without topic
// patterns lists it as a topic policy and applies it as one.
func testPolicyKeepsItsLanguage(t *testing.T, h Harness) {
	ctx := t.Context()
	topics, dsn := h.openDB(t, rechist.WithTopicPatterns())
	r := rechist.NewRepo[int](topics)
	for _, name := range []string{"sensors.temp", "sensors.temp.outdoor", "sensorsX"} {
		storeAt(t, r, name, 1, time.Now().Add(-2*time.Hour))
	}
	if err := topics.SetPolicy(ctx, rechist.Policy{Pattern: "sensors.#", Raw: time.Hour}); err != nil {
		t.Fatal(err)
	}
	plain, err := open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	got, err := plain.Policies(ctx)
	if err != nil || len(got) != 1 || !got[0].Topic {
		t.Fatalf("Policies through a wildcard handle: %+v, %v; want one topic policy", got, err)
	}
	if p, ok := rechist.PolicyFor(got, "sensors.temp.outdoor"); !ok || p.Pattern != "sensors.#" {
		t.Errorf("PolicyFor(sensors.temp.outdoor) = %+v, %v", p, ok)
	}
	if _, ok := rechist.PolicyFor(got, "sensorsX"); ok {
		t.Error("PolicyFor(sensorsX) matched sensors.#")
	}
	if _, err := plain.ApplyRetention(ctx); err != nil {
		t.Fatal(err)
	}
	left, err := rechist.NewRepo[int](plain).Query(ctx, "*", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	if names(left) != "sensorsX" {
		t.Fatalf("left after the topic policy: %s, want sensorsX", names(left))
	}
	// The wildcard handle removes a policy of its own language only.
	if err := plain.RemovePolicy(ctx, "sensors.#"); !errors.Is(err, rechist.ErrNotFound) {
		t.Errorf("wildcard RemovePolicy of a topic policy: %v, want ErrNotFound", err)
	}
	if err := topics.RemovePolicy(ctx, "sensors.#"); err != nil {
		t.Errorf("topic RemovePolicy: %v", err)
	}
}
