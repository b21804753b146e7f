package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seed178a96f3/rechist"
)

type demoCmd struct {
	Days      int           `default:"7" help:"Days of history to write."`
	Cities    int           `default:"12" help:"Number of cities (at most 12)."`
	Interval  time.Duration `default:"1m" help:"Time between simulated measurements."`
	timeFlags `embed:""`
}

func (c *demoCmd) Help() string {
	return `Writes accuracy::CITY and temperature::CITY for each city, one value per
simulated minute, ending now. Run again later to top the history up to now.

Example:
  rechist demo
  rechist latest 'temperature::*'`
}

// Accuracy is the demo's accuracy value, as in the Rust crate's README.
type Accuracy struct {
	Value float64 `json:"value"`
	City  string  `json:"city"`
}

// Temperature is the demo's temperature value.
type Temperature struct {
	Celsius float64 `json:"celsius"`
}

var demoCities = []struct {
	name string
	mean float64 // mean temperature in °C
}{
	{"vienna", 4}, {"graz", 3}, {"linz", 2.5}, {"salzburg", 1.5}, {"innsbruck", 0.5}, {"klagenfurt", 1},
	{"bregenz", 3.5}, {"eisenstadt", 4.5}, {"st-poelten", 3}, {"villach", 1.5}, {"wels", 2.5}, {"dornbirn", 3},
}

const demoChunk = 10_000

func (c *demoCmd) Run(e *env) error {
	switch {
	case c.Days < 1:
		return usagef("--days must be at least 1, got %d", c.Days)
	case c.Cities < 1 || c.Cities > len(demoCities):
		return usagef("--cities must be between 1 and %d, got %d", len(demoCities), c.Cities)
	case c.Interval < time.Millisecond:
		return usagef("--interval must be at least 1ms, got %v", c.Interval)
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	defer db.Close()
	acc := rechist.NewRepo[Accuracy](db)
	temp := rechist.NewRepo[Temperature](db)

	now := time.Now().Truncate(c.Interval)
	from := now.Add(-time.Duration(c.Days) * 24 * time.Hour).Add(c.Interval)
	// Top up instead of writing the same history twice: each city gets
	// the steps of the last --days its history does not cover yet, before
	// its oldest row or after its newest (a new city all of them).
	have := make([]rechist.RecordInfo, c.Cities)
	infos, err := db.Records(e.ctx, "temperature::*")
	if err != nil {
		return err
	}
	for i, city := range demoCities[:c.Cities] {
		for _, info := range infos {
			if info.Name == "temperature::"+city.name {
				have[i] = info
			}
		}
	}
	missing := func(i int, at time.Time) bool {
		return have[i].Rows == 0 || at.Before(have[i].First) || at.After(have[i].Last)
	}
	steps := int64(0)
	if !from.After(now) {
		steps = int64(now.Sub(from)/c.Interval) + 1
	}
	total := int64(0)
	for s := int64(0); s < steps; s++ {
		for i := range have {
			if missing(i, from.Add(time.Duration(s)*c.Interval)) {
				total++
			}
		}
	}
	total *= 2
	fmt.Fprintf(e.stdout, "writing %s: %s × 2 records, %s of %v over the last %s, those not yet in %s\n",
		plural(total, "row"), plural(c.Cities, "city", "cities"), plural(steps, "step"), c.Interval, plural(c.Days, "day"), db.Path())

	bar := newProgress(e, total, "demo", false)
	start := time.Now()
	rng := rand.New(rand.NewPCG(uint64(from.UnixMilli()), 42))
	accBuf := make([]rechist.Record[Accuracy], 0, demoChunk)
	tempBuf := make([]rechist.Record[Temperature], 0, demoChunk)
	stored := int64(0)
	flush := func() error {
		if err := acc.StoreMany(e.ctx, accBuf); err != nil {
			return err
		}
		stored += int64(len(accBuf))
		if err := temp.StoreMany(e.ctx, tempBuf); err != nil {
			return err
		}
		stored += int64(len(tempBuf))
		_ = bar.Add(len(accBuf) + len(tempBuf))
		accBuf, tempBuf = accBuf[:0], tempBuf[:0]
		return nil
	}
	accuracy := make([]float64, c.Cities)
	for i := range accuracy {
		accuracy[i] = 0.9
	}
	stopped := func(err error) error {
		if e.ctx.Err() != nil {
			_ = bar.Exit()
			_ = bar.Clear()
			return interruption{fmt.Sprintf("interrupted after %s stored; run demo again to top up the rest", plural(stored, "row"))}
		}
		return err
	}
	for s := int64(0); s < steps; s++ {
		at := from.Add(time.Duration(s) * c.Interval)
		day := float64(at.Unix()%86400) / 86400
		for i, city := range demoCities[:c.Cities] {
			if !missing(i, at) {
				continue
			}
			// A daily cycle peaking mid-afternoon, plus noise.
			celsius := city.mean + 5*math.Sin(2*math.Pi*(day-0.375)) + rng.NormFloat64()*0.3
			accuracy[i] = min(0.999, max(0.5, accuracy[i]+rng.NormFloat64()*0.005+(0.92-accuracy[i])*0.01))
			accBuf = append(accBuf, rechist.Record[Accuracy]{Name: "accuracy::" + city.name,
				Value: Accuracy{Value: round(accuracy[i], 3), City: city.name}, StoredAt: at})
			tempBuf = append(tempBuf, rechist.Record[Temperature]{Name: "temperature::" + city.name,
				Value: Temperature{Celsius: round(celsius, 1)}, StoredAt: at})
		}
		if len(accBuf) >= demoChunk/2 {
			if err := flush(); err != nil {
				return stopped(err)
			}
		}
	}
	if err := flush(); err != nil {
		return stopped(err)
	}
	_ = bar.Finish()
	elapsed := time.Since(start)
	fmt.Fprintf(e.stdout, "stored %s in %v (%.0f rows/s)\n\n", plural(total, "row"), elapsed.Round(time.Millisecond),
		float64(total)/max(elapsed.Seconds(), 1e-9))

	if err := printLatestPerCity(e, acc, temp, c.timeFlags); err != nil {
		return err
	}
	me := invocation(db.Path(), e.dbFlag)
	fmt.Fprintf(e.stdout, "\nnext: %s latest 'accuracy::*' -n 3   or   %s stats\n", me, me)
	return db.Close()
}

// printLatestPerCity shows the newest temperature and accuracy per city.
func printLatestPerCity(e *env, acc *rechist.Repo[Accuracy], temp *rechist.Repo[Temperature], tf timeFlags) error {
	accs, err := acc.QueryLatest(e.ctx, "accuracy::*", 1)
	if err != nil {
		return err
	}
	temps, err := temp.QueryLatest(e.ctx, "temperature::*", 1)
	if err != nil {
		return err
	}
	byCity := map[string]float64{}
	for _, a := range accs {
		byCity[a.Value.City] = a.Value.Value
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CITY\tTEMPERATURE\tACCURACY\tAT")
	for _, t := range temps {
		city := t.Name[len("temperature::"):]
		fmt.Fprintf(tw, "%s\t%.1f °C\t%.3f\t%s\n", city, t.Value.Celsius, byCity[city], tf.format(t.StoredAt))
	}
	return tw.Flush()
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// invocation is how the user runs rechist again the way they ran it: "go
// run ./cmd/rechist" when go run built it (into a go-build temporary
// directory), else the program as they typed it ("rechist" when the shell
// found it in PATH, "./rechist", "/tmp/rechist"), with --db when they gave
// one on the command line (a URL without its password).
func invocation(db string, dbFlag bool) string {
	me := "rechist"
	if len(os.Args) > 0 && os.Args[0] != "" {
		me = shellQuote(os.Args[0])
	}
	if exe, err := os.Executable(); err == nil {
		for _, dir := range strings.Split(filepath.Dir(exe), string(filepath.Separator)) {
			if strings.HasPrefix(dir, "go-build") {
				me = "go run ./cmd/rechist"
			}
		}
	}
	if dbFlag {
		me += " --db " + shellQuote(db)
	}
	return me
}

// shellQuote quotes s for a POSIX shell, if it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@%+=,-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
