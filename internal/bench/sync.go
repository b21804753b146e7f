package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed178a96f3/rechist"
	_ "github.com/seed178a96f3/rechist/postgres" // the sync destination
)

// syncScenarios measures rechist.Sync from a SQLite file into PostgreSQL
// (Config.SyncURL): the first push of the base file against the PostgreSQL
// engine's own bulk path (StoreMany, which goes through COPY) of the same
// rows in the same run, and the steady state of a follower (a Sync every
// interval, as `rechist sync --follow --every` does) while 16 writers store
// on the source: the lag from a row's store to its arrival.
func (r *runner) syncScenarios(ctx context.Context) error {
	if r.cfg.SyncURL == "" {
		r.progress("sync: skipped, no PostgreSQL server (--url or RECHIST_BENCH_POSTGRES_URL)")
		r.t.add("sync: skipped, no PostgreSQL server (--url or RECHIST_BENCH_POSTGRES_URL)", "", "", "", "")
		return nil
	}
	srcPath, err := r.fileFor(ctx, r.cfg.BaseRows)
	if err != nil {
		return err
	}
	newSchema, checkpoint, drop, err := pgSchemas(ctx, r.cfg.SyncURL)
	if err != nil {
		return err
	}
	defer drop()

	// The baseline: the same rows (read from the file beforehand, untimed)
	// stored with StoreMany, 100k rows a call: one transaction and one COPY
	// each. It runs before and after the push, each after a CHECKPOINT
	// (where the server lets the bench run one), so that neither pays for
	// the other's dirty pages; the push is compared with the faster run.
	baseline := func(name string) (float64, error) {
		r.progress("sync: StoreMany (COPY) of the %d rows of the base file", r.cfg.BaseRows)
		dsn, err := newSchema(name)
		if err != nil {
			return 0, err
		}
		checkpoint()
		return storeManyFile(ctx, srcPath, dsn)
	}
	bulk1, err := baseline("bulk1")
	if err != nil {
		return err
	}

	r.progress("sync: first push of %d rows into PostgreSQL", r.cfg.BaseRows)
	pushDSN, err := newSchema("push")
	if err != nil {
		return err
	}
	src, err := rechist.Open(ctx, srcPath, rechist.WithReadOnly())
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := rechist.Open(ctx, pushDSN)
	if err != nil {
		return err
	}
	checkpoint()
	t0 := time.Now()
	res, err := rechist.Sync(ctx, src, dst)
	elapsed := time.Since(t0)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := src.Close(); err != nil {
		return err
	}
	if res.Copied != int64(r.cfg.BaseRows) {
		return fmt.Errorf("sync copied %d rows, want %d", res.Copied, r.cfg.BaseRows)
	}
	bulk2, err := baseline("bulk2")
	if err != nil {
		return err
	}
	push, bulk := float64(res.Copied)/elapsed.Seconds(), max(bulk1, bulk2)
	r.t.add(fmt.Sprintf("Sync first push, %s SQLite -> PostgreSQL vs StoreMany (COPY)", rowsLabel(r.cfg.BaseRows)),
		rate(push), rate(bulk), ratio(push, bulk),
		fmt.Sprintf("%v; batches of 10000 source rows; baseline: StoreMany of 100k rows a call, rows read beforehand, the faster of %s before and %s after",
			elapsed.Round(time.Millisecond), rate(bulk1), rate(bulk2)))

	for _, every := range []time.Duration{time.Second, 100 * time.Millisecond} {
		r.progress("sync: follow every %v, 16 writers", every)
		dsn, err := newSchema(fmt.Sprintf("follow%d", every.Milliseconds()))
		if err != nil {
			return err
		}
		if err := r.syncFollow(ctx, dsn, every); err != nil {
			return err
		}
	}
	return nil
}

// pgSchemas returns a function that creates a schema of the bench on the
// server at serverURL and returns a URL pointing at it, one that runs a
// CHECKPOINT if the server lets it, and one that drops every schema it
// made.
func pgSchemas(ctx context.Context, serverURL string) (func(string) (string, error), func(), func(), error) {
	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return nil, nil, nil, err
	}
	checkpoint := func() { _, _ = admin.Exec(ctx, "CHECKPOINT") }
	var made []string
	create := func(name string) (string, error) {
		schema := fmt.Sprintf("rechist_bench_sync_%d_%s", os.Getpid(), name)
		if _, err := admin.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE; CREATE SCHEMA "+schema); err != nil {
			return "", err
		}
		made = append(made, schema)
		return schemaDSN(serverURL, schema)
	}
	drop := func() {
		for _, s := range made {
			_, _ = admin.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+s+" CASCADE")
		}
		admin.Close(context.Background())
	}
	return create, checkpoint, drop, nil
}

// storeManyFile stores the rows of the file at path on dsn with StoreMany,
// 100k rows a call, and returns the rate of the StoreMany calls alone.
func storeManyFile(ctx context.Context, path, dsn string) (float64, error) {
	src, err := rechist.Open(ctx, path, rechist.WithReadOnly())
	if err != nil {
		return 0, err
	}
	defer src.Close()
	dst, err := rechist.Open(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer dst.Close()
	repo := rechist.NewRepo[json.RawMessage](dst)
	var spent time.Duration
	var rows int
	var after int64
	recs := make([]rechist.Record[json.RawMessage], 0, 100_000)
	for {
		changes, next, err := src.Changes(ctx, "*", after, 100_000)
		if err != nil {
			return 0, err
		}
		if len(changes) == 0 {
			break
		}
		recs = recs[:0]
		for _, c := range changes {
			recs = append(recs, rechist.Record[json.RawMessage]{Name: c.Name, Value: c.Value, StoredAt: c.StoredAt})
		}
		t0 := time.Now()
		if err := repo.StoreMany(ctx, recs); err != nil {
			return 0, err
		}
		spent += time.Since(t0)
		rows += len(recs)
		after = next
	}
	return float64(rows) / spent.Seconds(), dst.Close()
}

// syncWriters and syncWriterRate are the steady state's load: 16 writers,
// each storing one row every 1/syncWriterRate seconds (1,600 rows/s).
const (
	syncWriters    = 16
	syncWriterRate = 100
)

// syncFollow runs the steady state: a new source file, syncWriters writers
// storing on it for twice StoreFor, a follower pushing it to dsn every
// interval; then the lag of every row from its store (its stored_at) to
// the commit of the batch that brought it to the server.
func (r *runner) syncFollow(ctx context.Context, dsn string, every time.Duration) error {
	path := r.path(fmt.Sprintf("follow-%d.db", every.Milliseconds()))
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
	src, err := rechist.Open(ctx, path)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := rechist.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer dst.Close()

	// arrivals[i] is when the cursor reached cursors[i].
	var mu sync.Mutex
	var cursors []int64
	var arrivals []time.Time
	var pushes, busy atomic.Int64
	followCtx, stopFollow := context.WithCancel(ctx)
	defer stopFollow()
	followDone := make(chan error, 1)
	go func() {
		progress := rechist.SyncProgress(func(res rechist.SyncResult) {
			now := time.Now()
			mu.Lock()
			cursors = append(cursors, res.Cursor)
			arrivals = append(arrivals, now)
			mu.Unlock()
		})
		for {
			t0 := time.Now()
			if _, err := rechist.Sync(followCtx, src, dst, progress); err != nil && followCtx.Err() == nil {
				followDone <- err
				return
			}
			pushes.Add(1)
			busy.Add(int64(time.Since(t0)))
			select {
			case <-followCtx.Done():
				followDone <- nil
				return
			case <-time.After(every):
			}
		}
	}()

	repo := rechist.NewRepo[value](src)
	d := 2 * r.cfg.StoreFor
	var stored atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, syncWriters)
	start := time.Now()
	for g := range syncWriters {
		wg.Go(func() {
			tick := time.NewTicker(time.Second / syncWriterRate)
			defer tick.Stop()
			for seq := int64(g); time.Since(start) < d; seq += syncWriters {
				if err := repo.Store(ctx, names[seq%int64(len(names))], value{V: 0.5, Seq: seq}); err != nil {
					errs <- err
					return
				}
				stored.Add(1)
				<-tick.C
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	// Wait for the follower to bring the last row over.
	last, err := src.LastID(ctx)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		done := len(cursors) > 0 && cursors[len(cursors)-1] >= last
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sync follow: the destination did not catch up within a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopFollow()
	if err := <-followDone; err != nil {
		return err
	}

	var lags latencies
	var after int64
	for {
		changes, next, err := src.Changes(ctx, "*", after, 10_000)
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			break
		}
		for _, c := range changes {
			i, _ := slices.BinarySearch(cursors, c.ID)
			lags = append(lags, arrivals[i].Sub(c.StoredAt))
		}
		after = next
	}
	slices.Sort(lags)
	writeRate := float64(stored.Load()) / d.Seconds()
	r.t.add(fmt.Sprintf("Sync follow every %v, %d writers on the source: lag p50", every, syncWriters),
		ms(lags.percentile(50)), "", "",
		fmt.Sprintf("p99 %s, max %s; %d rows at %.0f rows/s; %d pushes, %.1f%% of the time pushing",
			ms(lags.percentile(99)), ms(lags[len(lags)-1]), len(lags), writeRate, pushes.Load(),
			100*float64(busy.Load())/float64(time.Since(start))))
	return nil
}
