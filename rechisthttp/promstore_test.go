package rechisthttp

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/seed178a96f3/rechist"
)

// The pattern a selector reads its names with: one record's exact name
// for an equality (an index seek), a regular expression's literal prefix
// as a pattern (an index range), else every name; in either language.
// Each name read is then tested against every matcher, so a wider pattern
// only costs, never adds a series.
func TestPromNamePattern(t *testing.T) {
	eq := func(n, v string) *labels.Matcher { return labels.MustNewMatcher(labels.MatchEqual, n, v) }
	re := func(n, v string) *labels.Matcher { return labels.MustNewMatcher(labels.MatchRegexp, n, v) }
	ne := func(n, v string) *labels.Matcher { return labels.MustNewMatcher(labels.MatchNotEqual, n, v) }
	for _, c := range []struct {
		ms               []*labels.Matcher
		wildcard, topics string
	}{
		{[]*labels.Matcher{eq(promRecord, "sensors.temp.outdoor")}, "sensors.temp.outdoor", "sensors.temp.outdoor"},
		{[]*labels.Matcher{eq(labels.MetricName, "counter"), eq(promField, "x")}, "counter", "counter"},
		{[]*labels.Matcher{re(promRecord, `sensors\.te.*`)}, "sensors.te*", "sensors.#"},
		{[]*labels.Matcher{re(promRecord, `sensors\.temp\..*`)}, "sensors.temp.*", "sensors.temp.#"},
		{[]*labels.Matcher{re(promRecord, `sen.*`)}, "sen*", "#"},
		{[]*labels.Matcher{re(promRecord, `.*door`)}, "*", "#"},
		{[]*labels.Matcher{re(promRecord, `a|b`)}, "*", "#"},
		{[]*labels.Matcher{ne(promRecord, "a")}, "*", "#"},
		{[]*labels.Matcher{eq(promField, "celsius")}, "*", "#"},
		// A name that is itself a pattern of the language: every name,
		// each tested.
		{[]*labels.Matcher{eq(promRecord, "odd*name")}, "*", "odd*name"},
		{[]*labels.Matcher{eq(promRecord, "a.*.b")}, "*", "#"},
		{[]*labels.Matcher{eq(promRecord, "a.#")}, "a.#", "#"},
		{[]*labels.Matcher{re(promRecord, `a\.\*\.b.*`)}, "*", "#"},
	} {
		if got := namePattern(c.ms, false); got != c.wildcard {
			t.Errorf("%v, wildcard patterns: %q, want %q", c.ms, got, c.wildcard)
		}
		if got := namePattern(c.ms, true); got != c.topics {
			t.Errorf("%v, topic patterns: %q, want %q", c.ms, got, c.topics)
		}
	}
}

// With the DB's patterns AimDB's topics ('*' one segment), a selector
// without a name still sees every record, those of several segments
// included, and a regular expression's prefix still finds its names.
func TestPromSelectorsWithTopicPatterns(t *testing.T) {
	db := openDB(t, rechist.WithTopicPatterns())
	now := time.Now().Truncate(time.Minute)
	for i, name := range []string{"plain", "sensors.temp.outdoor", "sensors.temp.indoor", "sensors.humidity"} {
		store(t, db, name, now.UnixMilli(), strconv.Itoa(i+1))
	}
	h := NewHandler(db, TopicPatterns())
	for query, want := range map[string][]string{
		`{record=~".+"}`:                       {"plain", "sensors.humidity", "sensors.temp.indoor", "sensors.temp.outdoor"},
		`{record=~"sensors\\.temp\\..*"}`:      {"sensors.temp.indoor", "sensors.temp.outdoor"},
		`{record=~"sensors\\.t.*"}`:            {"sensors.temp.indoor", "sensors.temp.outdoor"},
		`{record="sensors.temp.outdoor"}`:      {"sensors.temp.outdoor"},
		`{record=~".*door", record!~".*in.*"}`: {"sensors.temp.outdoor"},
	} {
		code, a := promGet(t, h, "GET", "/api/v1/query", url.Values{"query": {query}, "time": {strconv.FormatInt(now.Unix(), 10)}})
		var data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
			} `json:"result"`
		}
		if err := json.Unmarshal(a.Data, &data); code != 200 || err != nil {
			t.Fatalf("%s: %d %+v, %v", query, code, a, err)
		}
		var got []string
		for _, r := range data.Result {
			got = append(got, r.Metric[promRecord])
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: records %q, want %q", query, got, want)
		}
	}
}

// A query reading more samples than WithMaxSamples fails with
// Prometheus's cost-limit error, having stopped reading there; one within
// it answers.
func TestPromMaxSamples(t *testing.T) {
	h, now := promData(t)
	for _, c := range []struct {
		max, code int
		errType   string
	}{{50, 422, "cost_limit"}, {100, 200, ""}} {
		small := NewHandler(h.db, WithMaxSamples(c.max))
		code, a := promGet(t, small, "GET", "/api/v1/query", url.Values{"query": {"sum_over_time(counter[2h])"}, "time": {strconv.FormatInt(now.Unix(), 10)}})
		if code != c.code || a.ErrorType != c.errType || c.code == 422 && !strings.Contains(a.Error, "WithMaxSamples") {
			t.Errorf("60 samples, WithMaxSamples(%d): %d %+v; want %d %q", c.max, code, a, c.code, c.errType)
		}
	}
}
