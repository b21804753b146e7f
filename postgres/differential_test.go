package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/testutil"
)

// Both engines must answer every query alike. Random names from an
// alphabet of the characters where text handling differs (case and
// accents, emoji, the last code points of the BMP and of Unicode, control
// characters, the wildcard characters of LIKE, GLOB and rechist) go into a
// SQLite file and a PostgreSQL schema; every query, on random patterns,
// must return the same rows in the same order. Before, names that began
// with four U+10FFFF were invisible on PostgreSQL (the open upper bound of
// a prefix range was a sentinel string).
func TestEnginesAgreeOnEveryName(t *testing.T) {
	ctx := context.Background()
	pg, err := rechist.Open(ctx, newSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	lite, err := rechist.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()

	alphabet := []string{"a", "A", "z", "é", "É", "e\u0301", "İ", "ı", "i", "I", "~", "\x7f", "\t", "\x01",
		"\uFFFF", "\U0010FFFF", "\U0001F600", "%", "_", "\\", "[", "]", "?", ":", ".", " ", "\uD7FF", "\uE000"}
	rng := rand.New(rand.NewPCG(7, 11))
	word := func(max int) string {
		var b strings.Builder
		for range 1 + rng.IntN(max) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	names := []string{"\U0010FFFF\U0010FFFF\U0010FFFF\U0010FFFF", "\U0010FFFF\U0010FFFF\U0010FFFF\U0010FFFFx",
		"\U0010FFFF\U0010FFFF\U0010FFFF\U0010FFFF\U0010FFFF", "\U0010FFFF", "\uFFFF\U0010FFFF"}
	for range 2000 {
		names = append(names, word(6))
	}
	var recs []rechist.Record[int]
	for i, n := range names {
		recs = append(recs, rechist.Record[int]{Name: n, Value: i, StoredAt: testutil.MS(int64(i % 50))})
	}
	for _, db := range []*rechist.DB{pg, lite} {
		if err := rechist.NewRepo[int](db).StoreMany(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}

	var patterns []string
	patterns = append(patterns, "*", "\U0010FFFF*", "\U0010FFFF\U0010FFFF\U0010FFFF\U0010FFFF*", "*\U0010FFFF", "\uFFFF*")
	for range 1300 {
		n := names[rng.IntN(len(names))]
		switch rng.IntN(4) {
		case 0:
			patterns = append(patterns, n)
		case 1:
			cut := rng.IntN(len([]rune(n)) + 1)
			patterns = append(patterns, string([]rune(n)[:cut])+"*")
		case 2:
			patterns = append(patterns, "*"+word(2)+"*")
		default:
			patterns = append(patterns, word(2)+"*"+word(1))
		}
	}
	differ := 0
	for _, p := range patterns {
		for _, limit := range []int{0, 1} {
			a, errA := rechist.Query[int](ctx, pg, p, rechist.QueryParams{LimitPerRecord: limit})
			b, errB := rechist.Query[int](ctx, lite, p, rechist.QueryParams{LimitPerRecord: limit})
			if (errA == nil) != (errB == nil) {
				t.Errorf("pattern %q: postgres %v, sqlite %v", p, errA, errB)
				differ++
				continue
			}
			if sa, sb := render(a), render(b); sa != sb {
				differ++
				if differ <= 5 {
					t.Errorf("pattern %q limit %d:\n postgres %d rows\n sqlite   %d rows", p, limit, len(a), len(b))
				}
			}
		}
	}
	if differ > 0 {
		t.Fatalf("%d of %d queries differ", differ, 2*len(patterns))
	}
	t.Logf("%d names, %d queries, no difference", len(names), 2*len(patterns))
}

func render(recs []rechist.Record[int]) string {
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "%q@%d=%d;", r.Name, r.StoredAt.UnixMilli(), r.Value)
	}
	return b.String()
}
