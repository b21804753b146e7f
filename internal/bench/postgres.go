package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/bench/pgbenchdb"
)

// RunPostgres measures the PostgreSQL engine on the server at serverURL,
// in a schema of its own that it drops afterwards: Store from each number
// of goroutines against the limit and the seed design, StoreMany against
// the limit, and the queries against the seed query and a plain scan.
func RunPostgres(ctx context.Context, cfg Config, serverURL string, out io.Writer) error {
	setNames(cfg.Records)
	schema := fmt.Sprintf("rechist_bench_%d", os.Getpid())
	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return err
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE; CREATE SCHEMA "+schema); err != nil {
		return err
	}
	defer admin.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE") //nolint:errcheck
	dsn, err := schemaDSN(serverURL, schema)
	if err != nil {
		return err
	}

	var version string
	_ = admin.QueryRow(ctx, "SHOW server_version").Scan(&version)
	fmt.Fprintf(out, "rechist bench --engine postgres: PostgreSQL %s, %d records, %d base rows, schema %s\n\n", version, cfg.Records, cfg.BaseRows, schema)
	r := &runner{cfg: cfg, t: &table{}}
	start := time.Now()
	if !slices.Equal(cfg.Only, []string{"partitions"}) { // the only step that builds its own tables
		if err := r.pgBuild(ctx, dsn, cfg.BaseRows); err != nil {
			return err
		}
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	raw := pgbenchdb.New(conn)
	if r.wants("store") {
		if err := r.pgStore(ctx, dsn, raw, conn); err != nil {
			return err
		}
	}
	if r.wants("commits") {
		if err := r.pgCommits(ctx, dsn, conn); err != nil {
			return err
		}
	}
	if r.wants("fleet") {
		if err := r.pgFleet(ctx, dsn); err != nil {
			return err
		}
	}
	if r.wants("query") || r.wants("records") {
		if err := r.pgQueries(ctx, dsn, raw); err != nil {
			return err
		}
	}
	if r.wants("partitions") {
		if err := r.pgPartitions(ctx, admin, serverURL, schema); err != nil {
			return err
		}
	}
	if r.wants("cleanup") {
		h, err := rechist.Open(ctx, dsn)
		if err != nil {
			return err
		}
		err = r.cleanupUnderWriters(ctx, h, ", PostgreSQL", r.baseTenth())
		if cerr := h.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	r.t.print(out)
	fmt.Fprintf(out, "\npeak memory (VmHWM): %s; total time %v\n", peakRSS(), time.Since(start).Round(time.Second))
	return nil
}

// pgBuild creates the schema through rechist and fills it with COPY.
func (r *runner) pgBuild(ctx context.Context, dsn string, rows int) error {
	r.progress("building %d rows on PostgreSQL", rows)
	h, err := rechist.Open(ctx, dsn)
	if err != nil {
		return err
	}
	if err := h.Close(); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	const chunk = 100_000
	for done := 0; done < rows; done += chunk {
		n := min(chunk, rows-done)
		params := make([]pgbenchdb.CopyRecordsParams, n)
		for i := range params {
			seq := done + i
			params[i] = pgbenchdb.CopyRecordsParams{RecordName: names[seq%len(names)], ValueJson: valueJSON(int64(seq)), StoredAt: baseStart + int64(seq)}
		}
		if _, err := pgbenchdb.New(conn).CopyRecords(ctx, params); err != nil {
			return err
		}
	}
	_, err = conn.Exec(ctx, "ANALYZE record_history")
	return err
}

func (r *runner) pgStore(ctx context.Context, dsn string, raw *pgbenchdb.Queries, conn *pgx.Conn) error {
	r.progress("store: limit")
	limit, err := pgLimit(ctx, conn, raw, r.cfg.StoreFor)
	if err != nil {
		return err
	}
	r.t.add("limit (one tx, one INSERT a row)", rate(limit.rate()), "", "", "")
	for _, g := range r.cfg.Writers {
		r.progress("store: %d goroutines", g)
		seed, err := pgSeed(ctx, raw, g, r.cfg.StoreFor)
		if err != nil {
			return err
		}
		h, err := rechist.Open(ctx, dsn)
		if err != nil {
			return err
		}
		rp := rechist.NewRepo[value](h)
		before := h.Stats()
		rh, err := runCallers(g, r.cfg.StoreFor, func(seq int64) error {
			return rp.Store(ctx, names[seq%int64(len(names))], value{V: 0.5, Seq: seq})
		})
		after := h.Stats()
		if b := after.Batches - before.Batches; b > 0 {
			rh.batchAvg = float64(after.RowsWritten-before.RowsWritten) / float64(b)
		}
		if cerr := h.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		name := fmt.Sprintf("Store, %d goroutines", g)
		r.t.add(name+" vs limit", rate(rh.rate()), rate(limit.rate()), ratio(rh.rate(), limit.rate()), rh.detail())
		r.t.add(name+" vs seed design", rate(rh.rate()), rate(seed.rate()), ratio(rh.rate(), seed.rate()), "seed: "+seed.detail())
	}

	r.progress("bulk: %d rows", r.cfg.BulkRows)
	n := r.cfg.BulkRows
	t0 := time.Now()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	for i := range n {
		if err := raw.WithTx(tx).InsertRecord(ctx, pgbenchdb.InsertRecordParams{RecordName: names[i%len(names)], ValueJson: valueJSON(int64(i)), StoredAt: time.Now().UnixMilli()}); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	limitBulk := time.Since(t0)
	h, err := rechist.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer h.Close()
	recs := make([]rechist.Record[value], n)
	for i := range recs {
		recs[i] = rechist.Record[value]{Name: names[i%len(names)], Value: value{V: 0.5, Seq: int64(i)}}
	}
	t0 = time.Now()
	if err := rechist.NewRepo[value](h).StoreMany(ctx, recs); err != nil {
		return err
	}
	rhBulk := time.Since(t0)
	lr, rr := float64(n)/limitBulk.Seconds(), float64(n)/rhBulk.Seconds()
	r.t.add(fmt.Sprintf("StoreMany %d rows vs limit", n), rate(rr), rate(lr), ratio(rr, lr), "COPY inside the batch's transaction")
	return h.Close()
}

// pgLimit inserts for d in one transaction, one INSERT a row.
func pgLimit(ctx context.Context, conn *pgx.Conn, raw *pgbenchdb.Queries, d time.Duration) (storeResult, error) {
	start := time.Now()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return storeResult{}, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	q := raw.WithTx(tx)
	var n int64
	for ; n%256 != 0 || time.Since(start) < d; n++ {
		if err := q.InsertRecord(ctx, pgbenchdb.InsertRecordParams{RecordName: names[n%int64(len(names))], ValueJson: valueJSON(n), StoredAt: time.Now().UnixMilli()}); err != nil {
			return storeResult{}, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return storeResult{}, err
	}
	return storeResult{rows: n, elapsed: time.Since(start)}, nil
}

// pgSeed is the seed design: one writer goroutine, one autocommit INSERT a
// store, g callers waiting for replies.
func pgSeed(ctx context.Context, raw *pgbenchdb.Queries, g int, d time.Duration) (storeResult, error) {
	type cmd struct {
		p     pgbenchdb.InsertRecordParams
		reply chan error
	}
	cmds := make(chan cmd, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range cmds {
			c.reply <- raw.InsertRecord(ctx, c.p)
		}
	}()
	res, err := runCallers(g, d, func(seq int64) error {
		reply := make(chan error, 1)
		cmds <- cmd{pgbenchdb.InsertRecordParams{RecordName: names[seq%int64(len(names))], ValueJson: valueJSON(seq), StoredAt: time.Now().UnixMilli()}, reply}
		return <-reply
	})
	close(cmds)
	<-done
	return res, err
}

func (r *runner) pgQueries(ctx context.Context, dsn string, raw *pgbenchdb.Queries) error {
	h, err := rechist.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer h.Close()
	if err := r.pgRecords(ctx, h, raw); err != nil {
		return err
	}
	return r.readScenarios(ctx, "PostgreSQL", h, r.cfg.BaseRows, baselines{
		seed: func(like string) (int, error) {
			got, err := raw.SeedQueryLike(ctx, pgbenchdb.SeedQueryLikeParams{LikePattern: like, LimitPerRecord: 5, StartMs: 0, EndMs: 1 << 62})
			return len(got), err
		},
		scan: func(start, end int64) (int, error) {
			got, err := raw.ScanRange(ctx, pgbenchdb.ScanRangeParams{StartMs: start, EndMs: end})
			return len(got), err
		},
	})
}

// pgRecords times DB.Records over every record against a plain GROUP BY
// with COUNT(*), as recordsAt does on SQLite.
func (r *runner) pgRecords(ctx context.Context, h *rechist.DB, raw *pgbenchdb.Queries) error {
	runs := max(3, r.cfg.QueryRuns/10)
	r.progress("records: Records(*) on PostgreSQL")
	var got []rechist.RecordInfo
	ours, _, err := timeRuns(runs, func() (int, error) {
		var err error
		got, err = h.Records(ctx, "*")
		return len(got), err
	})
	if err != nil {
		return err
	}
	var counted int64
	for _, g := range got {
		counted += g.Rows
	}
	sum, err := h.Summary(ctx, 0)
	if err != nil {
		return err
	}
	if len(got) != len(names) || counted != sum.Rows {
		return fmt.Errorf("records: %d records holding %d rows, want %d holding %d", len(got), counted, len(names), sum.Rows)
	}
	groupBy, _, err := timeRuns(runs, func() (int, error) {
		got, err := raw.GroupByRecords(ctx)
		return len(got), err
	})
	if err != nil {
		return err
	}
	r.t.add(fmt.Sprintf("Records(*), %d records, PostgreSQL", len(names)), ms(ours.median()), ms(groupBy.median()),
		ratio(float64(groupBy.median()), float64(ours.median())),
		fmt.Sprintf("speed-up over a plain GROUP BY with COUNT(*), %d rows; medians of %d", sum.Rows, runs))
	return nil
}

// wants says whether Config.Only (none: every step) names step.
func (r *runner) wants(step string) bool {
	return len(r.cfg.Only) == 0 || slices.Contains(r.cfg.Only, step)
}
