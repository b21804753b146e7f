package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/bench/pgbenchdb"
	"github.com/seed178a96f3/rechist/rechisthttp"
)

// pgCommits measures one-row commits from separate handles, as separate
// processes would make them (one goroutine and one DB handle each, every
// Store its own transaction), against the same number of connections
// making plain autocommit INSERTs, in the same run: what a schema-wide
// write queue costs. The two take turns in slices of commitSlice (plain,
// rechist, rechist, plain, ...) for StoreFor each in all: this VM's
// capacity drifts by a third within a minute, which made the ratio of two
// phases run one after the other anything from 0.51x to 0.79x for one
// build.
func (r *runner) pgCommits(ctx context.Context, dsn string, conn *pgx.Conn) error {
	var maxConns int
	if err := conn.QueryRow(ctx, "SELECT current_setting('max_connections')::int").Scan(&maxConns); err != nil {
		return err
	}
	for _, g := range r.cfg.Writers {
		label := fmt.Sprintf("Store, %d handles of one goroutine vs plain INSERTs", g)
		if need := 3*g + 10; need > maxConns {
			r.t.add(label, "", "", "", fmt.Sprintf("skipped: needs about %d connections, the server allows %d (max_connections)", need, maxConns))
			continue
		}
		r.progress("commits: %d plain INSERT connections and %d handles, taking turns", g, g)
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
		// Two connections a handle: the writer keeps one (its transaction
		// open ahead, commit_ahead.go), the background rollup pass reads
		// the policies on the other; a process storing from one goroutine
		// needs no more.
		two, err := withURLParam(dsn, "pool_max_conns", "2")
		if err != nil {
			pool.Close()
			return err
		}
		handles, repos, err := openHandles(ctx, two, g)
		if err != nil {
			pool.Close()
			return err
		}
		plainStore := func(_ int, seq int64) error {
			return raw.InsertRecord(ctx, pgbenchdb.InsertRecordParams{RecordName: names[seq%int64(len(names))], ValueJson: valueJSON(seq), StoredAt: time.Now().UnixMilli()})
		}
		rechistStore := func(w int, seq int64) error {
			return repos[w].Store(ctx, names[seq%int64(len(names))], value{V: 0.5, Seq: seq})
		}
		var plain, rh storeResult
		turns := max(1, int(r.cfg.StoreFor/commitSlice))
		for i := range turns {
			first, second := &plain, &rh
			fa, fb := plainStore, rechistStore
			if i%2 == 1 {
				first, second, fa, fb = second, first, fb, fa
			}
			if err = addSlice(first, g, fa); err == nil {
				err = addSlice(second, g, fb)
			}
			if err != nil {
				break
			}
		}
		pool.Close()
		if cerr := closeAll(handles); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		r.t.add(label, rate(rh.rate()), rate(plain.rate()),
			ratio(rh.rate(), plain.rate()), fmt.Sprintf("one row a commit, in turns of %v; %s; plain: %s", commitSlice, rh.detail(), plain.detail()))
	}
	return nil
}

// commitSlice is how long each side of pgCommits runs in a turn.
const commitSlice = 500 * time.Millisecond

// addSlice runs store from g goroutines for commitSlice and adds what it
// did to res.
func addSlice(res *storeResult, g int, store func(worker int, seq int64) error) error {
	got, err := runWorkers(g, commitSlice, store)
	res.rows += got.rows
	res.elapsed += got.elapsed
	res.lat = append(res.lat, got.lat...)
	return err
}

// pgFleet measures sync pushes from devices into one server: each device
// a SQLite file of its own storing one row and pushing it (rechist.SyncTo)
// in a loop, first with a DB handle on the database server of its own (as
// a device's `rechist sync --to postgres://` has), then over HTTP to one
// rechisthttp handler in this process on the database (as `rechist sync
// --to http://` to a `rechist serve --writable`). With Config.RTT, the
// devices reach the database server, or the HTTP server, through a proxy
// that delays each direction by half of it.
func (r *runner) pgFleet(ctx context.Context, dsn string) error {
	dir, err := os.MkdirTemp("", "rechist-bench-fleet-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	link := "on this host"
	if r.cfg.RTT > 0 {
		link = fmt.Sprintf("through a %v RTT proxy", r.cfg.RTT)
	}
	direct, err := r.delayed(dsn)
	if err != nil {
		return err
	}
	defer direct.close()
	for _, n := range r.cfg.Writers {
		r.progress("fleet: %d devices %s, to PostgreSQL", n, link)
		dsts, _, err := openHandles(ctx, direct.url, n)
		if err != nil {
			return err
		}
		targets := make([]rechist.SyncTarget, n)
		for i, d := range dsts {
			targets[i] = d
		}
		err = r.fleetRun(ctx, dir, fmt.Sprintf("%d devices %s, to PostgreSQL", n, link), targets)
		if cerr := closeAll(dsts); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}

	server, err := rechist.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer server.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: rechisthttp.NewHandler(server, rechisthttp.Writable()), ReadHeaderTimeout: time.Minute}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	defer srv.Close()
	viaHTTP, err := r.delayed("http://" + ln.Addr().String())
	if err != nil {
		return err
	}
	defer viaHTTP.close()
	for _, n := range r.cfg.Writers {
		r.progress("fleet: %d devices %s, over HTTP", n, link)
		targets := make([]rechist.SyncTarget, n)
		for i := range targets {
			if targets[i], err = rechisthttp.NewSyncClient(viaHTTP.url, ""); err != nil {
				return err
			}
		}
		if err := r.fleetRun(ctx, dir, fmt.Sprintf("%d devices %s, over HTTP to rechist serve", n, link), targets); err != nil {
			return err
		}
	}
	return nil
}

// delayedURL is a URL to use, through the RTT proxy when there is one.
type delayedURL struct {
	url   string
	close func()
}

func (r *runner) delayed(u string) (delayedURL, error) {
	if r.cfg.RTT <= 0 {
		return delayedURL{url: u, close: func() {}}, nil
	}
	proxy, via, err := startDelayProxy(u, r.cfg.RTT)
	if err != nil {
		return delayedURL{}, err
	}
	return delayedURL{url: via, close: func() { proxy.Close() }}, nil
}

// fleetRun runs one device a target, each a new SQLite file in dir, for
// StoreFor, and adds the line.
func (r *runner) fleetRun(ctx context.Context, dir, label string, targets []rechist.SyncTarget) error {
	n := len(targets)
	srcs := make([]*rechist.DB, n)
	repos := make([]*rechist.Repo[value], n)
	defer func() {
		for _, s := range srcs {
			if s != nil {
				s.Close()
			}
		}
	}()
	for i := range srcs {
		f, err := os.CreateTemp(dir, "device-*.db")
		if err != nil {
			return err
		}
		f.Close()
		os.Remove(f.Name())
		if srcs[i], err = rechist.Open(ctx, f.Name(), rechist.WithSynchronous(rechist.SyncNormal)); err != nil {
			return err
		}
		repos[i] = rechist.NewRepo[value](srcs[i])
	}
	res, err := runWorkers(n, r.cfg.StoreFor, func(w int, seq int64) error {
		if err := repos[w].Store(ctx, fmt.Sprintf("device%d::rec", w), value{V: 0.5, Seq: seq}); err != nil {
			return err
		}
		_, err := rechist.SyncTo(ctx, srcs[w], targets[w])
		return err
	})
	if err != nil {
		return err
	}
	r.t.add("Sync pushes of one row, "+label, fmt.Sprintf("%.0f pushes/s", res.rate()), "", "", "a push: "+res.detail())
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
