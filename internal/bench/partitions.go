package bench

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/bench/pgbenchdb"
)

// partitionLayouts are the tables the partitions step compares: one
// table, then partitions of a day (about 33 over 30 days of rows) and of
// two hours (about 365).
var partitionLayouts = []struct {
	label string
	width time.Duration
}{
	{"one table", 0},
	{"partitions of 1d", 24 * time.Hour},
	{"partitions of 2h", 2 * time.Hour},
}

// partitionDays is the span of the partitions step's rows, ending now.
const partitionDays = 30

// pgPartitions compares time partitioning with one table: for each layout
// a schema of its own holding BaseRows rows of the records spread evenly
// over partitionDays days up to now; then the reads, the layouts taking
// turns run after run (each read timed on one table, then on each layout
// of partitions, QueryRuns times: the machine's drift over the minutes a
// layout takes to build moved one table's figures by half between runs);
// then, layout by layout, retention while 16 goroutines store: the oldest
// three days (whole partitions), then the hour after them (a pass of an
// hourly job, within a partition).
func (r *runner) pgPartitions(ctx context.Context, admin *pgx.Conn, serverURL, schema string) error {
	type layout struct {
		schema, label string
		h             *rechist.DB
		start         int64
		reads         map[string]latencies
	}
	var built []*layout
	defer func() {
		for _, l := range built {
			_ = l.h.Close()
			_, _ = admin.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+l.schema+" CASCADE")
		}
	}()
	for i, pl := range partitionLayouts {
		s := fmt.Sprintf("%s_p%d", schema, i)
		if _, err := admin.Exec(ctx, "DROP SCHEMA IF EXISTS "+s+" CASCADE; CREATE SCHEMA "+s); err != nil {
			return err
		}
		dsn, err := schemaDSN(serverURL, s)
		if err != nil {
			return err
		}
		start, parts, err := r.pgPartitionedBuild(ctx, dsn, pl.width)
		if err != nil {
			return err
		}
		h, err := rechist.Open(ctx, dsn)
		if err != nil {
			return err
		}
		label := fmt.Sprintf(", %s (%d partitions)", pl.label, parts)
		if pl.width == 0 {
			label = ", one table"
		}
		built = append(built, &layout{schema: s, label: label, h: h, start: start, reads: map[string]latencies{}})
	}
	for run := range r.cfg.QueryRuns {
		for i, name := range partitionReadNames {
			if run == 0 {
				r.progress("partitions: %s, the layouts in turn", name)
			}
			for _, l := range built {
				lat, _, err := timeRuns(1, partitionReads(ctx, l.h, l.start, int64(r.cfg.BaseRows/2))[i])
				if err != nil {
					return fmt.Errorf("%s%s: %w", name, l.label, err)
				}
				l.reads[name] = append(l.reads[name], lat...)
			}
		}
	}
	flat := built[0].reads
	for _, l := range built {
		for _, name := range partitionReadNames {
			r.t.add(name+l.label, ms(l.reads[name].median()), ms(flat[name].median()),
				ratio(float64(l.reads[name].median()), float64(flat[name].median())),
				fmt.Sprintf("vs one table, in turns; medians of %d", r.cfg.QueryRuns))
		}
	}
	for _, l := range built {
		days := time.UnixMilli(l.start).Add(3 * 24 * time.Hour)
		if err := r.cleanupUnderWriters(ctx, l.h, ": the oldest 3 days"+l.label, days); err != nil {
			return err
		}
		if err := r.cleanupUnderWriters(ctx, l.h, ": the hour after them"+l.label, days.Add(time.Hour)); err != nil {
			return err
		}
	}
	return nil
}

// partitionReadNames are the reads partitionReads returns, in table order.
var partitionReadNames = []string{
	"QueryLatest('*', 5)",
	"QueryLatest(one record, 5)",
	"Query(one record, one day)",
	"Records('*')",
	"Changes: a page of 1,000 from the middle",
}

// partitionReads returns the reads of partitionReadNames on h, whose rows
// start at startMs; Changes reads from the id after.
func partitionReads(ctx context.Context, h *rechist.DB, startMs, after int64) []func() (int, error) {
	one := names[len(names)/2]
	day := time.UnixMilli(startMs).Add(10 * 24 * time.Hour)
	return []func() (int, error){
		func() (int, error) {
			got, err := rechist.QueryLatest[value](ctx, h, "*", 5)
			return len(got), err
		},
		func() (int, error) {
			got, err := rechist.QueryLatest[value](ctx, h, one, 5)
			return len(got), err
		},
		func() (int, error) {
			got, err := rechist.Query[value](ctx, h, one, rechist.QueryParams{Start: day, End: day.Add(24 * time.Hour)})
			return len(got), err
		},
		func() (int, error) {
			got, err := h.Records(ctx, "*")
			return len(got), err
		},
		func() (int, error) {
			got, _, err := h.Changes(ctx, "*", after, 1000)
			return len(got), err
		},
	}
}

// pgPartitionedBuild makes rechist's schema at dsn, partitioned by width
// unless it is zero, and fills it with COPY: BaseRows rows, the records
// round-robin, spread evenly over partitionDays days up to now, from a
// start aligned to a day. The partitions are made first, as another
// program writing the table must (rechist_partitions_for). It returns the
// rows' start and the number of partitions.
func (r *runner) pgPartitionedBuild(ctx context.Context, dsn string, width time.Duration) (int64, int, error) {
	var opts []rechist.Option
	if width > 0 {
		opts = append(opts, rechist.WithPartitions(width))
	}
	h, err := rechist.Open(ctx, dsn, opts...)
	if err != nil {
		return 0, 0, err
	}
	if err := h.Close(); err != nil {
		return 0, 0, err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close(context.Background())
	end := time.Now().Add(-time.Minute).UnixMilli()
	start := time.UnixMilli(end).Add(-partitionDays * 24 * time.Hour).Truncate(24 * time.Hour).UnixMilli()
	if width > 0 {
		if _, err := conn.Exec(ctx, `SELECT rechist_partitions_for(ARRAY(SELECT generate_series($1::bigint, $2::bigint, $3::bigint)))`,
			start, end, width.Milliseconds()); err != nil {
			return 0, 0, err
		}
	}
	rows := r.cfg.BaseRows
	r.progress("partitions: building %d rows over %d days, partitions of %v", rows, partitionDays, width)
	step := float64(end-start) / float64(rows)
	const chunk = 100_000
	for done := 0; done < rows; done += chunk {
		params := make([]pgbenchdb.CopyRecordsParams, min(chunk, rows-done))
		for i := range params {
			seq := done + i
			params[i] = pgbenchdb.CopyRecordsParams{RecordName: names[seq%len(names)], ValueJson: valueJSON(int64(seq)),
				StoredAt: start + int64(float64(seq)*step)}
		}
		if _, err := pgbenchdb.New(conn).CopyRecords(ctx, params); err != nil {
			return 0, 0, err
		}
	}
	if _, err := conn.Exec(ctx, "ANALYZE record_history"); err != nil {
		return 0, 0, err
	}
	var parts int
	err = conn.QueryRow(ctx, `SELECT COUNT(*) FROM pg_inherits WHERE inhparent = 'record_history'::regclass`).Scan(&parts)
	return start, parts, err
}

// schemaDSN is serverURL with its search path set to schema.
func schemaDSN(serverURL, schema string) (string, error) {
	return withURLParam(serverURL, "search_path", schema)
}

// withURLParam is serverURL with its query parameter key set to value.
func withURLParam(serverURL, key, value string) (string, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
