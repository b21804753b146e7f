package robustness

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

const (
	tiersEnvPath = "RECHIST_TIERS_CHILD_PATH"
	tiersEnvRun  = "RECHIST_TIERS_CHILD_RUN"
)

// tiersBase is the time the kill test's rows are stored around: three
// hours back, whole hour.
func tiersBase() time.Time { return time.Now().Add(-3 * time.Hour).Truncate(time.Hour) }

// TestHelperProcessTiers is the body of the child the tiers kill test
// starts and kills: it stores batches of rows into four records, each
// run's rows falling between the earlier runs' (late rows for buckets long
// rolled up), rolls up now and then besides the background rollups, and
// writes "ack" after each batch.
func TestHelperProcessTiers(t *testing.T) {
	path := os.Getenv(tiersEnvPath)
	if path == "" {
		return
	}
	run, _ := strconv.Atoi(os.Getenv(tiersEnvRun))
	if err := tiersChild(path, run); err != nil {
		fmt.Fprintln(os.Stderr, "tiers child:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

func tiersChild(path string, run int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	db, err := rechist.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	r := rechist.NewRepo[float64](db)
	base := tiersBase().Add(-time.Hour) // the base of the first run, an hour older at most
	rng := rand.New(rand.NewPCG(uint64(run), 99))
	for seq := 0; ctx.Err() == nil; {
		recs := make([]rechist.Record[float64], 40)
		for i := range recs {
			// Unique times: run r writes at offsets r (mod 32).
			at := base.Add(time.Duration(seq*32+run) * 41 * time.Millisecond)
			recs[i] = rechist.Record[float64]{Name: fmt.Sprintf("k::%d", seq%4), Value: float64(rng.IntN(100000)) / 100, StoredAt: at}
			seq++
		}
		if err := r.StoreMany(ctx, recs); err != nil {
			return err
		}
		if rng.IntN(3) == 0 {
			if _, err := db.RollUp(ctx); err != nil {
				return err
			}
		}
		os.Stdout.Write([]byte("ack\n"))
		if rng.IntN(4) == 0 {
			// A 30 s tier comes or goes: it comes filled from the raw
			// rows, a record a transaction (the kill may fall there).
			if err := toggleHalfMinute(ctx, db); err != nil {
				return err
			}
		}
	}
	return nil
}

// killTiers are the kill test's tiers; toggleHalfMinute adds a 30 s tier
// before them, or takes it away.
var killTiers = []rechist.Tier{{Every: time.Minute}, {Every: 10 * time.Minute}, {Every: time.Hour}}

func toggleHalfMinute(ctx context.Context, db *rechist.DB) error {
	pols, err := db.Policies(ctx)
	if err != nil {
		return err
	}
	tiers := killTiers
	if len(pols) == 1 && len(pols[0].Tiers) == len(killTiers) {
		tiers = append([]rechist.Tier{{Every: 30 * time.Second}}, killTiers...)
	}
	return db.SetPolicy(ctx, rechist.Policy{Pattern: "k::*", Tiers: tiers})
}

// tiersRef aggregates the raw rows as Aggregate must: exact sums of the
// shortest decimals, rounded once.
func tiersRef(recs []rechist.Record[json.RawMessage], every time.Duration) string {
	type acc struct {
		n                   int64
		lo, hi, first, last float64
		firstAt, lastAt     time.Time
		sum                 *big.Rat
	}
	by := map[int64]*acc{}
	var keys []int64
	for _, r := range recs {
		v, _ := strconv.ParseFloat(string(r.Value), 64)
		b := r.StoredAt.UnixMilli() / every.Milliseconds() * every.Milliseconds()
		a := by[b]
		if a == nil {
			a = &acc{lo: v, hi: v, first: v, last: v, firstAt: r.StoredAt, lastAt: r.StoredAt, sum: new(big.Rat)}
			by[b] = a
			keys = append(keys, b)
		}
		a.n++
		a.lo, a.hi = min(a.lo, v), max(a.hi, v)
		d, _ := new(big.Rat).SetString(strconv.FormatFloat(v, 'g', -1, 64))
		a.sum.Add(a.sum, d)
		if r.StoredAt.Before(a.firstAt) {
			a.first, a.firstAt = v, r.StoredAt
		}
		if r.StoredAt.After(a.lastAt) {
			a.last, a.lastAt = v, r.StoredAt
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		a := by[k]
		sum, _ := a.sum.Float64()
		mean, _ := new(big.Rat).Quo(a.sum, new(big.Rat).SetInt64(a.n)).Float64()
		fmt.Fprintf(&b, "[%d n%d %v..%v sum%v mean%v %v>%v]", k, a.n, a.lo, a.hi, sum, mean, a.first, a.last)
	}
	return b.String()
}

func tiersGot(bs []rechist.Bucket) string {
	var b strings.Builder
	for _, k := range bs {
		fmt.Fprintf(&b, "[%d n%d %v..%v sum%v mean%v %v>%v]", k.Start.UnixMilli(), k.Count, k.Min, k.Max, k.Sum, k.Mean, k.First, k.Last)
	}
	return b.String()
}

// The rollup tiers survive SIGKILL at any moment: a child stores late
// rows and rolls up (also in the background) until it is killed; after
// every kill the tiers, read through Aggregate (which answers from them),
// equal the aggregate of the raw rows the file holds (kept forever here),
// to the bit. A rollup that moved its cursor apart from its buckets would
// count rows twice or never.
func TestTiersSurviveSIGKILL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiers.db")
	ctx := t.Context()
	db, err := rechist.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetPolicy(ctx, rechist.Policy{Pattern: "k::*", Tiers: killTiers}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	kills := 12
	if testing.Short() {
		kills = 4
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
	for run := range kills {
		tiersKill(t, path, run, 2+rng.IntN(30))
		db, err := rechist.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.RollUp(ctx); err != nil {
			t.Fatal(err)
		}
		raw := rechist.NewRepo[json.RawMessage](db)
		served := false
		for rec := range 4 {
			name := fmt.Sprintf("k::%d", rec)
			recs, err := raw.Query(ctx, name, rechist.QueryParams{})
			if err != nil {
				t.Fatal(err)
			}
			for _, every := range []time.Duration{30 * time.Second, time.Minute, 10 * time.Minute, time.Hour, 2 * time.Hour} {
				got, err := db.Aggregate(ctx, name, rechist.AggregateParams{Every: every})
				if err != nil {
					t.Fatal(err)
				}
				var g rechist.Series
				if len(got) == 1 {
					g = got[0]
				}
				served = served || g.Tier != 0
				if want := tiersRef(recs, every); tiersGot(g.Buckets) != want {
					t.Fatalf("after kill %d: Aggregate(%s, every %v) from the %v tier =\n%s\nwant, from the raw rows,\n%s",
						run, name, every, g.Tier, tiersGot(g.Buckets), want)
				}
			}
		}
		if !served {
			t.Fatalf("after kill %d: no answer came from the tiers", run)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// tiersKill starts a child on path and kills it with SIGKILL after its
// target-th acknowledged batch.
func tiersKill(t *testing.T, path string, run, target int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcessTiers$", "-test.count=1")
	cmd.Env = append(os.Environ(), tiersEnvPath+"="+path, tiersEnvRun+"="+strconv.Itoa(run))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acks, killed := 0, false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if acks++; acks == target && !killed {
			// A little later, so the kill falls anywhere: in a store, a
			// rollup, a policy change or a tier's fill.
			time.Sleep(time.Duration(run%7) * 3 * time.Millisecond)
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !killed || !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child run %d: killed %v after %d acks, ended %v\n%s", run, killed, acks, err, stderr.String())
	}
}
