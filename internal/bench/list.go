package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/repo"
)

// listScenarios times the dashboard's record list, the newest value of
// every record (Timeline with a limit of 1, what /api/query's default
// limit answers), on a copy of the base file (and of the big one, if set)
// with one more record whose only row is five years old, against
// QueryLatest(*, 1), the index lookup a record that `rechist latest`
// runs: the list must cost the same, whatever the records' ages.
func (r *runner) listScenarios(ctx context.Context) error {
	sizes := []int{r.cfg.BaseRows}
	if r.cfg.BigRows > r.cfg.BaseRows {
		sizes = append(sizes, r.cfg.BigRows)
	}
	for _, rows := range sizes {
		src, err := r.fileFor(ctx, rows)
		if err != nil {
			return err
		}
		if err := r.listAt(ctx, src, rows); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) listAt(ctx context.Context, src string, rows int) error {
	path := r.path("list.db")
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
	}()
	if err := copyFile(src, path); err != nil {
		return err
	}
	raw, err := repo.Driver.OpenSQL(path, core.Config{})
	if err != nil {
		return err
	}
	stale := time.Now().AddDate(-5, 0, 0).UnixMilli()
	_, err = raw.ExecContext(ctx, `INSERT INTO record_history (record_name, value_json, stored_at) VALUES ('bench::stale', '{"v":1}', ?)`, stale)
	if cerr := raw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	h, err := rechist.Open(ctx, path, rechist.WithReadOnly())
	if err != nil {
		return err
	}
	defer h.Close()
	rp := rechist.NewRepo[json.RawMessage](h)
	r.progress("list: the newest value of every record, %s", rowsLabel(rows))
	ours, n, err := timeRuns(r.cfg.QueryRuns, func() (int, error) {
		c := 0
		for _, err := range rp.Timeline(ctx, "*", rechist.QueryParams{LimitPerRecord: 1}) {
			if err != nil {
				return 0, err
			}
			c++
		}
		return c, nil
	})
	if err != nil {
		return err
	}
	base, _, err := timeRuns(r.cfg.QueryRuns, func() (int, error) {
		got, err := rp.QueryLatest(ctx, "*", 1)
		return len(got), err
	})
	if err != nil {
		return err
	}
	r.t.add("dashboard list: Timeline(*, newest 1), a record 5 years old, "+rowsLabel(rows), ms(ours.median()), ms(base.median()),
		ratio(float64(ours.median()), float64(base.median())),
		fmt.Sprintf("time vs QueryLatest(*, 1), the index lookup a record (lower is better); %d rows, p99 %s (target <= 100 ms at 10M)", n, ms(ours.percentile(99))))
	return h.Close()
}
