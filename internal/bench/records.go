package bench

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/repo"
)

// groupByRecords is the plain SQL a program without DB.Records would run:
// one pass over idx_record_time.
const groupByRecords = `SELECT record_name, COUNT(*), MIN(stored_at), MAX(stored_at)
FROM record_history GROUP BY record_name ORDER BY record_name`

// namesFirstLast is Records without the count, which the API does not
// offer: the names walked through idx_record_time (one seek each) and each
// name's first and last time (one seek each), so its cost does not depend
// on the depth of history.
const namesFirstLast = `WITH RECURSIVE names(name) AS (
    SELECT (SELECT MIN(record_name) FROM record_history)
    UNION ALL
    SELECT (SELECT MIN(record_name) FROM record_history WHERE record_name > names.name)
    FROM names WHERE names.name IS NOT NULL
)
SELECT name,
       (SELECT MIN(stored_at) FROM record_history WHERE record_name = names.name),
       (SELECT MAX(stored_at) FROM record_history WHERE record_name = names.name)
FROM names WHERE name IS NOT NULL`

// recordsScenarios times DB.Records over every record at BaseRows and, if
// set, BigRows, against a plain GROUP BY, and reports what the same list
// costs without its row counts.
func (r *runner) recordsScenarios(ctx context.Context) error {
	sizes := []int{r.cfg.BaseRows}
	if r.cfg.BigRows > r.cfg.BaseRows {
		sizes = append(sizes, r.cfg.BigRows)
	}
	runs := max(3, r.cfg.QueryRuns/10)
	for _, rows := range sizes {
		path, err := r.fileFor(ctx, rows)
		if err != nil {
			return err
		}
		if err := r.recordsAt(ctx, path, rows, runs); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) recordsAt(ctx context.Context, path string, rows, runs int) error {
	h, err := rechist.Open(ctx, path, rechist.WithReadOnly())
	if err != nil {
		return err
	}
	defer h.Close()
	raw, err := repo.Driver.OpenSQL(path, core.Config{})
	if err != nil {
		return err
	}
	defer raw.Close()
	r.progress("records: Records(*) over %d rows", rows)
	var got []rechist.RecordInfo
	ours, _, err := timeRuns(runs, func() (int, error) {
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
	if len(got) != len(names) || counted != int64(rows) {
		return fmt.Errorf("records: %d records holding %d rows, want %d holding %d", len(got), counted, len(names), rows)
	}
	groupBy, _, err := timeRuns(runs, func() (int, error) { return countRows(ctx, raw, groupByRecords) })
	if err != nil {
		return err
	}
	noCount, n, err := timeRuns(runs, func() (int, error) { return countRows(ctx, raw, namesFirstLast) })
	if err != nil {
		return err
	}
	if n != len(names) {
		return fmt.Errorf("records: the walk found %d names, want %d", n, len(names))
	}
	r.t.add(fmt.Sprintf("Records(*), %d records, %s", len(names), rowsLabel(rows)), ms(ours.median()), ms(groupBy.median()),
		ratio(float64(groupBy.median()), float64(ours.median())),
		fmt.Sprintf("speed-up over a plain GROUP BY with COUNT(*); names, first and last without the count (SQL, not in the API): %s; medians of %d",
			ms(noCount.median()), runs))
	return h.Close()
}

// countRows runs query and counts the rows it returns, reading every
// column.
func countRows(ctx context.Context, conn *sql.DB, query string) (int, error) {
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	dst := make([]any, len(cols))
	for i := range dst {
		dst[i] = new(any)
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return 0, err
		}
		n++
	}
	return n, rows.Err()
}
