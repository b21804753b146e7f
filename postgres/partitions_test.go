package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/postgres"
)

// partitionsOf returns the start times of the partitions attached to
// record_history at dsn, oldest first, and checks that rechist's list of
// partitions names exactly those tables.
func partitionsOf(t *testing.T, dsn string) []time.Time {
	t.Helper()
	c, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	rows, err := c.Query(t.Context(), `
		SELECT p.start_ms, i.inhrelid IS NOT NULL
		FROM rechist_partition AS p
		LEFT JOIN pg_inherits AS i ON i.inhrelid = to_regclass(quote_ident(p.table_name))
		ORDER BY p.start_ms`)
	if err != nil {
		t.Fatal(err)
	}
	var out []time.Time
	for rows.Next() {
		var start int64
		var attached bool
		if err := rows.Scan(&start, &attached); err != nil {
			t.Fatal(err)
		}
		if !attached {
			t.Fatalf("partition at %d is listed but not attached", start)
		}
		out = append(out, time.UnixMilli(start).UTC())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var attached int
	if err := c.QueryRow(t.Context(), `SELECT COUNT(*) FROM pg_inherits WHERE inhparent = 'record_history'::regclass`).Scan(&attached); err != nil {
		t.Fatal(err)
	}
	if attached != len(out) {
		t.Fatalf("%d partitions attached, %d listed", attached, len(out))
	}
	return out
}

// openDaily opens a new schema partitioned by the day; the handle closes
// when the test ends.
func openDaily(t *testing.T) (*rechist.DB, string) {
	t.Helper()
	serverURL(t)
	dsn := newSchema(t)
	db, err := rechist.Open(t.Context(), dsn, rechist.WithPartitions(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dsn
}

// storeOldAndNow stores a row of record a three days before now and one
// at now, and returns the old row's time.
func storeOldAndNow(t *testing.T, db *rechist.DB, now time.Time) time.Time {
	t.Helper()
	old := now.Add(-3 * 24 * time.Hour)
	recs := []rechist.Record[int]{{Name: "a", Value: 1, StoredAt: old}, {Name: "a", Value: 2, StoredAt: now}}
	if err := rechist.NewRepo[int](db).StoreMany(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	return old
}

// A device that was offline for forty days pushes its backlog into a table
// partitioned by the day: every row lands (the partitions of its days made
// for it), queries answer as on one table, and the names table is exact.
func TestPartitionsTakeABacklog(t *testing.T) {
	ctx := t.Context()
	db, dsn := openDaily(t)
	made := partitionsOf(t, dsn)
	if len(made) != 3 { // today's and two ahead
		t.Fatalf("a new partitioned table has %d partitions, want 3", len(made))
	}
	repo := rechist.NewRepo[int](db)
	now := time.Now().UTC().Truncate(time.Millisecond)
	var backlog, sparse []rechist.Record[int]
	for h := 40 * 24; h > 0; h -= 5 {
		backlog = append(backlog, rechist.Record[int]{Name: "dev.dense", Value: h, StoredAt: now.Add(-time.Duration(h) * time.Hour)})
	}
	for w := 5; w >= 0; w-- { // a row a week
		sparse = append(sparse, rechist.Record[int]{Name: "dev.sparse", Value: w, StoredAt: now.Add(-time.Duration(w*7*24+2) * time.Hour)})
	}
	backlog = append(backlog, sparse...)
	if err := repo.StoreMany(ctx, backlog); err != nil {
		t.Fatal(err)
	}
	if got := len(partitionsOf(t, dsn)); got < 40 {
		t.Fatalf("%d partitions after a backlog of 40 days, want at least 40", got)
	}
	assertNamesExact(t, dsn)

	// The newest rows step back through the partitions: the sparse
	// record's five newest span five weeks.
	got, err := rechist.QueryLatest[int](ctx, db, "dev.*", 5)
	if err != nil {
		t.Fatal(err)
	}
	want := newestOf(backlog, 5)
	if !slices.EqualFunc(got, want, sameRecord) {
		t.Fatalf("QueryLatest = %v,\nwant %v", got, want)
	}
	one, err := repo.QueryLatest(ctx, "dev.sparse", 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(one, newestOf(sparse, 3), sameRecord) {
		t.Fatalf("QueryLatest(dev.sparse, 3) = %v", one)
	}
	// A range that ends before the newest rows, and one that starts
	// after the oldest.
	p := rechist.QueryParams{LimitPerRecord: 2, Start: now.Add(-30 * 24 * time.Hour), End: now.Add(-10 * 24 * time.Hour)}
	ranged, err := repo.Query(ctx, "dev.*", p)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(ranged, newestIn(backlog, p), sameRecord) {
		t.Fatalf("Query(%+v) = %v,\nwant %v", p, ranged, newestIn(backlog, p))
	}
}

// Retention empties and drops the partitions older than its cutoff, and
// deletes row by row the rows of the partition the cutoff falls in; a late
// row for a dropped day lands in a partition made again; the names table
// stays exact throughout.
func TestPartitionsDroppedByRetention(t *testing.T) {
	ctx := t.Context()
	db, dsn := openDaily(t)
	repo := rechist.NewRepo[int](db)
	now := time.Now().UTC()
	var rows []rechist.Record[int]
	for h := 10 * 24; h >= 0; h-- {
		for _, name := range []string{"a", "b"} {
			rows = append(rows, rechist.Record[int]{Name: name, Value: h, StoredAt: now.Add(-time.Duration(h) * time.Hour)})
		}
	}
	rows = append(rows, rechist.Record[int]{Name: "old.only", Value: 1, StoredAt: now.Add(-9 * 24 * time.Hour)})
	if err := repo.StoreMany(ctx, rows); err != nil {
		t.Fatal(err)
	}
	// Another process, which knows the partitions as they are now.
	other, err := rechist.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	before := partitionsOf(t, dsn)
	cutoff := now.Add(-5*24*time.Hour - 7*time.Hour)
	n, err := db.Cleanup(ctx, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, r := range rows {
		if r.StoredAt.Before(cutoff.Truncate(time.Millisecond)) {
			want++
		}
	}
	if n != want {
		t.Fatalf("Cleanup deleted %d rows, want %d", n, want)
	}
	after := partitionsOf(t, dsn)
	for _, p := range after {
		if !p.Add(24 * time.Hour).After(cutoff) {
			t.Fatalf("partition %v ends before the cutoff %v and was kept", p, cutoff)
		}
	}
	if len(before)-len(after) < 4 {
		t.Fatalf("%d partitions before the cleanup, %d after: want at least 4 dropped", len(before), len(after))
	}
	assertNamesExact(t, dsn)
	recs, err := db.Records(ctx, "*")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Name == "old.only" && r.Rows != 0 {
			t.Fatalf("Records lists old.only with %d rows after its partition was dropped", r.Rows)
		}
	}
	late := now.Add(-8 * 24 * time.Hour)
	for _, db := range []*rechist.DB{other, db} { // the other first: its partition is gone
		if err := rechist.NewRepo[int](db).StoreAt(ctx, "late", 1, late); err != nil {
			t.Fatalf("a late row for a dropped day: %v", err)
		}
		late = late.Add(-24 * time.Hour)
	}
	got, err := repo.QueryLatest(ctx, "late", 2)
	if err != nil || len(got) != 2 || !got[1].StoredAt.Equal(late.Add(24*time.Hour).Truncate(time.Millisecond)) {
		t.Fatalf("the late rows: %v, %v", got, err)
	}
	assertNamesExact(t, dsn)
}

// A reader that holds an old partition does not hold retention up: the
// partition's rows are deleted row by row, and the next pass drops it.
func TestPartitionHeldByAReader(t *testing.T) {
	ctx := t.Context()
	db, dsn := openDaily(t)
	now := time.Now().UTC()
	storeOldAndNow(t, db, now)
	reader, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close(context.Background())
	tx, err := reader.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM record_history WHERE stored_at < $1`, now.Add(-24*time.Hour).UnixMilli()).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the reader reads %d rows, %v", n, err)
	}
	parts := len(partitionsOf(t, dsn))
	if got, err := db.Cleanup(ctx, now.Add(-time.Hour)); err != nil || got != 1 {
		t.Fatalf("Cleanup with a reader on the old partition = %d, %v; want its row deleted", got, err)
	}
	if got := len(partitionsOf(t, dsn)); got != parts {
		t.Fatalf("%d partitions, was %d: the held one was dropped", got, parts)
	}
	assertNamesExact(t, dsn)
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Cleanup(ctx, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := len(partitionsOf(t, dsn)); got >= parts {
		t.Fatalf("%d partitions, was %d: the partition released was not dropped", got, parts)
	}
}

// WithPartitions converts a table with rows: every row keeps its id, the
// ids go on from where they were, and followers see no difference. A
// width cannot change, and SQLite has no partitions.
func TestPartitionsConvertATable(t *testing.T) {
	serverURL(t)
	ctx := t.Context()
	dsn := newSchema(t)
	db, err := rechist.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	repo := rechist.NewRepo[int](db)
	start := time.Now().Add(-72 * time.Hour)
	for i := range 50 {
		if err := repo.StoreAt(ctx, fmt.Sprintf("r%d", i%3), i, start.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	before, next, err := db.Changes(ctx, "*", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = rechist.Open(ctx, dsn, rechist.WithPartitions(6*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := len(partitionsOf(t, dsn)); got < 50/6 {
		t.Fatalf("%d partitions after converting 50 hours of rows into 6-hour partitions", got)
	}
	after, _, err := db.Changes(ctx, "*", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(after, before, func(a, b rechist.Change) bool {
		return a.ID == b.ID && a.Name == b.Name && string(a.Value) == string(b.Value) && a.StoredAt.Equal(b.StoredAt)
	}) {
		t.Fatalf("the rows changed in the conversion:\n%v\nwant %v", after, before)
	}
	assertNamesExact(t, dsn)
	if err := rechist.NewRepo[int](db).Store(ctx, "r0", 99); err != nil {
		t.Fatal(err)
	}
	more, _, err := db.Changes(ctx, "*", next, 10)
	if err != nil || len(more) != 1 || more[0].ID <= before[len(before)-1].ID {
		t.Fatalf("after the conversion, Changes = %v, %v; want one row with a new id", more, err)
	}
	if _, err := rechist.Open(ctx, dsn, rechist.WithPartitions(time.Hour)); !errors.Is(err, rechist.ErrInvalidArgument) {
		t.Fatalf("another width: %v, want ErrInvalidArgument", err)
	}
	again, err := rechist.Open(ctx, dsn, rechist.WithPartitions(6*time.Hour))
	if err != nil {
		t.Fatalf("the same width again: %v", err)
	}
	again.Close()
	for _, bad := range []time.Duration{0, time.Second, 90 * time.Second} {
		if _, err := rechist.Open(ctx, dsn, rechist.WithPartitions(bad)); !errors.Is(err, rechist.ErrInvalidArgument) {
			t.Fatalf("WithPartitions(%v): %v, want ErrInvalidArgument", bad, err)
		}
	}
	if _, err := rechist.Open(ctx, t.TempDir()+"/h.db", rechist.WithPartitions(time.Hour)); !errors.Is(err, rechist.ErrInvalidArgument) {
		t.Fatalf("WithPartitions on SQLite: %v, want ErrInvalidArgument", err)
	}
	if _, err := rechist.Open(ctx, dsn, rechist.WithPartitions(6*time.Hour), rechist.WithReadOnly()); !errors.Is(err, rechist.ErrInvalidArgument) {
		t.Fatalf("WithPartitions with WithReadOnly: %v, want ErrInvalidArgument", err)
	}
}

// newestOf returns the n newest rows of each record in recs, in Query's
// order (name, newest first).
func newestOf(recs []rechist.Record[int], n int) []rechist.Record[int] {
	return newestIn(recs, rechist.QueryParams{LimitPerRecord: n})
}

// newestIn is what Query returns for p over recs (stored in order, no two
// of a record at one time).
func newestIn(recs []rechist.Record[int], p rechist.QueryParams) []rechist.Record[int] {
	var in []rechist.Record[int]
	for _, r := range recs {
		at := r.StoredAt.Truncate(time.Millisecond)
		if (p.Start.IsZero() || !at.Before(p.Start.Truncate(time.Millisecond))) && (p.End.IsZero() || !at.After(p.End)) {
			in = append(in, rechist.Record[int]{Name: r.Name, Value: r.Value, StoredAt: at})
		}
	}
	slices.SortStableFunc(in, func(a, b rechist.Record[int]) int {
		if a.Name != b.Name {
			if a.Name < b.Name {
				return -1
			}
			return 1
		}
		return b.StoredAt.Compare(a.StoredAt)
	})
	var out []rechist.Record[int]
	for i, r := range in {
		k := 0
		for j := i - 1; j >= 0 && in[j].Name == r.Name; j-- {
			k++
		}
		if p.LimitPerRecord == 0 || k < p.LimitPerRecord {
			out = append(out, r)
		}
	}
	return out
}

func sameRecord(a, b rechist.Record[int]) bool {
	return a.Name == b.Name && a.Value == b.Value && a.StoredAt.Equal(b.StoredAt)
}

// A process that ended in the middle of dropping partitions leaves one
// detached and not dropped (with a row that landed in it after it was
// emptied), or half detached (a DETACH ... CONCURRENTLY cut short): the next
// cleanup drops both, whatever its cutoff, and counts the row out of the
// names table.
func TestPartitionLeftHalfDropped(t *testing.T) {
	ctx := t.Context()
	db, dsn := openDaily(t)
	now := time.Now().UTC()
	day := func(n int) time.Time { return now.Add(-time.Duration(n) * 24 * time.Hour) }
	var recs []rechist.Record[int]
	for n := 5; n >= 0; n-- {
		recs = append(recs, rechist.Record[int]{Name: "a", Value: n, StoredAt: day(n)})
	}
	if err := rechist.NewRepo[int](db).StoreMany(ctx, recs); err != nil {
		t.Fatal(err)
	}
	table := func(at time.Time) string {
		return "record_history_" + at.Truncate(24*time.Hour).Format("20060102t1504")
	}
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := c.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// Day 5: emptied, then detached, then a late row in it, not dropped.
	exec(`SELECT rechist_partition_truncate($1)`, day(5).Truncate(24*time.Hour).UnixMilli())
	exec(`ALTER TABLE record_history DETACH PARTITION ` + table(day(5)))
	exec(`INSERT INTO `+table(day(5))+` (id, record_name, value_json, stored_at)
		VALUES (nextval(pg_get_serial_sequence('record_history', 'id')), 'a', '9', $1)`, day(5).UnixMilli())
	exec(`UPDATE rechist_record SET row_count = row_count + 1, first_ms = $1 WHERE record_name = 'a'`, day(5).UnixMilli())
	// Day 4: a detach cut short while a reader held an old snapshot.
	reader, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close(context.Background())
	tx, err := reader.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM record_history`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	exec(`SET statement_timeout = '300ms'`)
	if _, err := c.Exec(ctx, `ALTER TABLE record_history DETACH PARTITION `+table(day(4))+` CONCURRENTLY`); err == nil {
		t.Fatal("DETACH CONCURRENTLY did not wait for the reader")
	}
	exec(`SET statement_timeout = 0`)
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	var states []string
	rows, err := c.Query(ctx, `SELECT rechist_partition_state(table_name) FROM rechist_partition WHERE start_ms <= $1 ORDER BY start_ms`,
		day(4).UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if states, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(states, []string{"detached", "detaching"}) {
		t.Fatalf("the partitions of days 5 and 4 are %v, want detached and detaching", states)
	}
	// A cleanup whose cutoff is older than both drops them.
	if _, err := db.Cleanup(ctx, day(10)); err != nil {
		t.Fatal(err)
	}
	for _, p := range partitionsOf(t, dsn) {
		if p.Before(day(3).Truncate(24 * time.Hour)) {
			t.Fatalf("the partition of %v is still there", p)
		}
	}
	assertNamesExact(t, dsn)
	got, err := rechist.NewRepo[int](db).Query(ctx, "a", rechist.QueryParams{})
	if err != nil || len(got) != 4 {
		t.Fatalf("after the cleanup: %v, %v; want the rows of days 3 to 0", got, err)
	}
}

// A transaction that has read record_history (here only its newest rows,
// not the old partition, which retention can therefore empty) holds a
// partition's detach up. The detach waits at most its bound: the cleanup
// returns, the emptied partition stays half detached, and the next
// cleanup drops it.
func TestPartitionDetachWaitIsBounded(t *testing.T) {
	defer postgres.SetPartitionDetachWait(300 * time.Millisecond)()
	ctx := t.Context()
	db, dsn := openDaily(t)
	now := time.Now().UTC()
	old := storeOldAndNow(t, db, now)
	reader, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close(context.Background())
	tx, err := reader.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM record_history WHERE stored_at >= $1`, now.Add(-time.Hour).UnixMilli()).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the reader reads %d rows, %v", n, err)
	}
	if got, err := db.Cleanup(ctx, now.Add(-time.Hour)); err != nil || got != 1 {
		t.Fatalf("Cleanup beside a reader of the table = %d, %v; want the old row deleted", got, err)
	}
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var state string
	if err := c.QueryRow(ctx, `SELECT rechist_partition_state(table_name) FROM rechist_partition WHERE start_ms = $1`,
		old.Truncate(24*time.Hour).UnixMilli()).Scan(&state); err != nil || state != "detaching" {
		t.Fatalf("the old partition is %q, %v; want detaching", state, err)
	}
	assertNamesExact(t, dsn)
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Cleanup(ctx, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, p := range partitionsOf(t, dsn) {
		if p.Before(now.Add(-24 * time.Hour).Truncate(24 * time.Hour)) {
			t.Fatalf("the partition of %v is still there", p)
		}
	}
}
