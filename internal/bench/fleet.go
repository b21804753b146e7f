package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/bench/pgbenchdb"
)

// pgCommits measures one-row commits from separate handles, as separate
// processes would make them (one goroutine and one DB handle each, every
// Store its own transaction), against the same number of connections
// making plain autocommit INSERTs, in the same run: what a schema-wide
// write queue costs.
func (r *runner) pgCommits(ctx context.Context, dsn string) error {
	for _, g := range r.cfg.Writers {
		r.progress("commits: %d plain INSERT connections", g)
		pcfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			return err
		}
		pcfg.MaxConns = int32(g)
		pool, err := pgxpool.NewWithConfig(ctx, pcfg)
		if err != nil {
			return err
		}
		raw := pgbenchdb.New(pool)
		plain, err := runWorkers(g, r.cfg.StoreFor, func(_ int, seq int64) error {
			return raw.InsertRecord(ctx, pgbenchdb.InsertRecordParams{RecordName: names[seq%int64(len(names))], ValueJson: valueJSON(seq), StoredAt: time.Now().UnixMilli()})
		})
		pool.Close()
		if err != nil {
			return err
		}
		r.progress("commits: %d handles", g)
		handles, repos, err := openHandles(ctx, dsn, g)
		if err != nil {
			return err
		}
		rh, err := runWorkers(g, r.cfg.StoreFor, func(w int, seq int64) error {
			return repos[w].Store(ctx, names[seq%int64(len(names))], value{V: 0.5, Seq: seq})
		})
		if cerr := closeAll(handles); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		r.t.add(fmt.Sprintf("Store, %d handles of one goroutine vs plain INSERTs", g), rate(rh.rate()), rate(plain.rate()),
			ratio(rh.rate(), plain.rate()), fmt.Sprintf("one row a commit; %s; plain: %s", rh.detail(), plain.detail()))
	}
	return nil
}

// pgFleet measures sync pushes from devices into one server: each device
// a SQLite file of its own with a DB handle on the server of its own (as
// a device's rechist sync would have), storing one row and pushing it
// (rechist.Sync) in a loop. With Config.RTT, the devices reach the server
// through a proxy that delays each direction by half of it.
func (r *runner) pgFleet(ctx context.Context, dsn string) error {
	target, link := dsn, "on this host"
	if r.cfg.RTT > 0 {
		proxy, via, err := startDelayProxy(dsn, r.cfg.RTT)
		if err != nil {
			return err
		}
		defer proxy.Close()
		target, link = via, fmt.Sprintf("through a %v RTT proxy", r.cfg.RTT)
	}
	dir, err := os.MkdirTemp("", "rechist-bench-fleet-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, n := range r.cfg.Writers {
		r.progress("fleet: %d devices %s", n, link)
		srcs := make([]*rechist.DB, n)
		srcRepos := make([]*rechist.Repo[value], n)
		for i := range srcs {
			src, err := rechist.Open(ctx, filepath.Join(dir, fmt.Sprintf("device-%d-%d.db", n, i)), rechist.WithSynchronous(rechist.SyncNormal))
			if err != nil {
				return err
			}
			defer src.Close()
			srcs[i], srcRepos[i] = src, rechist.NewRepo[value](src)
		}
		dsts, _, err := openHandles(ctx, target, n)
		if err != nil {
			return err
		}
		res, err := runWorkers(n, r.cfg.StoreFor, func(w int, seq int64) error {
			if err := srcRepos[w].Store(ctx, fmt.Sprintf("device%d::rec", w), value{V: 0.5, Seq: seq}); err != nil {
				return err
			}
			_, err := rechist.Sync(ctx, srcs[w], dsts[w])
			return err
		})
		if cerr := closeAll(dsts); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		per := res.rate()
		r.t.add(fmt.Sprintf("Sync pushes of one row, %d devices %s", n, link), fmt.Sprintf("%.0f pushes/s", per), "", "",
			fmt.Sprintf("a push: %s", res.detail()))
	}
	return nil
}

// openHandles opens n DB handles on dsn, each with a Repo.
func openHandles(ctx context.Context, dsn string, n int) ([]*rechist.DB, []*rechist.Repo[value], error) {
	dbs := make([]*rechist.DB, 0, n)
	repos := make([]*rechist.Repo[value], 0, n)
	for range n {
		h, err := rechist.Open(ctx, dsn)
		if err != nil {
			closeAll(dbs) //nolint:errcheck // the open error says more
			return nil, nil, err
		}
		dbs, repos = append(dbs, h), append(repos, rechist.NewRepo[value](h))
	}
	return dbs, repos, nil
}

// closeAll closes every handle and returns the first error.
func closeAll(dbs []*rechist.DB) error {
	var first error
	for _, h := range dbs {
		if err := h.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
