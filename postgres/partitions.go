package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/postgres/internal/db"
)

// Time partitioning (migration 00010): record_history partitioned by
// stored_at in partitions of one width, aligned to the Unix epoch, opted
// into with rechist.WithPartitions. Whether a schema is partitioned is
// stored in it (rechist_meta), so every process sees the same.
//
// Partitions are made on demand: before a batch inserts rows, the writer
// makes the partitions of their times that it does not know of
// (partitions.ensure), in a transaction of its own, before the batch's;
// a row whose partition another process dropped in between fails the
// batch's INSERT before anything is written, and the batch runs again
// once the partition is made. Retention empties and drops whole
// partitions (DropPartitions); queries step back through the partitions
// (reader.latestStepped) so that they plan the few partitions that hold
// what they return, not every partition.

// partitionAhead is how many partitions after the current one the
// engine makes at Open and at every retention pass, for rows other
// programs write at the current time.
const partitionAhead = 2

// partitionLockTimeout bounds each lock retention takes on a partition it
// empties: a reader holding the partition longer makes that partition's
// rows go the chunked way.
const partitionLockTimeout = 250 * time.Millisecond

// partitions is the engine's view of the schema's partitioning.
type partitions struct {
	mu      sync.Mutex
	widthMs int64          // 0: not partitioned
	known   map[int64]bool // starts of partitions known to exist
}

// width returns the partitions' width in ms, 0 when not partitioned.
func (p *partitions) width() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.widthMs
}

// load reads the width and the partitions from the schema.
func (p *partitions) load(ctx context.Context, q *db.Queries) error {
	w, err := q.PartitionWidth(ctx)
	if err != nil {
		return err
	}
	known := map[int64]bool{}
	if w > 0 {
		starts, err := q.PartitionStarts(ctx)
		if err != nil {
			return err
		}
		for _, s := range starts {
			known[s] = true
		}
	}
	p.mu.Lock()
	p.widthMs, p.known = w, known
	p.mu.Unlock()
	return nil
}

// ensure makes the partitions for the times that have none the engine
// knows of.
func (p *partitions) ensure(ctx context.Context, q *db.Queries, times iter.Seq[int64]) error {
	p.mu.Lock()
	w := p.widthMs
	var missing []int64
	seen := map[int64]bool{}
	if w > 0 {
		for t := range times {
			if s := t - t%w; !p.known[s] && !seen[s] {
				seen[s] = true
				missing = append(missing, s)
			}
		}
	}
	p.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	if _, err := q.PartitionsFor(ctx, missing); err != nil {
		return fmt.Errorf("partitions: %w", err)
	}
	p.mu.Lock()
	for _, s := range missing {
		p.known[s] = true
	}
	p.mu.Unlock()
	return nil
}

// ahead makes the current partition and partitionAhead after it.
func (p *partitions) ahead(ctx context.Context, q *db.Queries, now time.Time) error {
	w := p.width()
	if w == 0 {
		return nil
	}
	times := make([]int64, 0, partitionAhead+1)
	for i := range int64(partitionAhead + 1) {
		times = append(times, now.UnixMilli()+i*w)
	}
	return p.ensure(ctx, q, slices.Values(times))
}

// batchTimes yields the times of the rows the batch inserts.
func batchTimes(batch []*core.Request) iter.Seq[int64] {
	return func(yield func(int64) bool) {
		for _, r := range batch {
			for _, row := range r.Rows {
				if !yield(row.StoredAt) {
					return
				}
			}
		}
	}
}

// noPartition says whether err is PostgreSQL's refusal of a row that no
// partition takes (23514, "no partition of relation ... found for row").
func noPartition(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23514" && pe.TableName == "record_history"
}

// partitionHistory converts record_history to partitions of width (Open
// with WithPartitions), then makes the partitions ahead.
func (e *engine) partitionHistory(ctx context.Context, width time.Duration) error {
	if _, err := e.q.PartitionHistory(ctx, width.Milliseconds()); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "22023" {
			return core.Invalidf("open", "WithPartitions: %s", pe.Message)
		}
		return fmt.Errorf("partitions: %w", err)
	}
	if err := e.parts.load(ctx, e.q); err != nil {
		return err
	}
	return e.parts.ahead(ctx, e.q, e.cfg.Now())
}

var _ core.PartitionDropper = (*engine)(nil)

// Partitioned is core.PartitionDropper's: whether the engine knows the
// table partitioned (since Open, or since a batch found it so).
func (e *engine) Partitioned() bool { return e.parts.width() > 0 }

// DropPartitions is core.PartitionDropper's: every partition that ends at
// or before cutoffMs is emptied (rechist_partition_truncate: its rows
// counted out of the names table in the same transaction), detached
// CONCURRENTLY (no lock that stops readers or writers of other
// partitions) and dropped (rechist_partition_drop). Oldest first; a
// partition a reader holds past partitionLockTimeout stops it without an
// error, leaving the rest to the chunked cleanup. It also makes the
// partitions ahead, and first drops the partitions a process ended in the
// middle of dropping, whatever their time (a detach cut short is
// completed with FINALIZE).
func (e *engine) DropPartitions(ctx context.Context, cutoffMs int64) (int64, error) {
	if e.parts.width() == 0 {
		return 0, nil
	}
	if err := e.parts.ahead(ctx, e.q, e.cfg.Now()); err != nil {
		return 0, err
	}
	// First the partitions a process ended in the middle of dropping.
	leaving, err := e.q.PartitionsLeaving(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, p := range leaving {
		n, err := e.finishLeaving(ctx, p)
		total += n
		if err != nil {
			return total, fmt.Errorf("partition %s: %w", p.TableName, err)
		}
		e.parts.forget(p.StartMs)
	}
	parts, err := e.q.PartitionsBefore(ctx, cutoffMs)
	if err != nil {
		return total, err
	}
	for _, p := range parts {
		n, err := e.truncatePartition(ctx, p.StartMs)
		total += max(n, 0)
		if errors.Is(err, errPartitionBusy) {
			e.cfg.Logger.Debug("rechist: partition busy: its rows go the chunked way", "partition", p.TableName)
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("partition %s: %w", p.TableName, err)
		}
		if n >= 0 {
			attached, err := e.q.PartitionAttached(ctx, p.TableName)
			if err == nil && attached {
				err = e.detachConcurrently(ctx, p.TableName)
			}
			if errors.Is(err, errPartitionBusy) {
				e.cfg.Logger.Debug("rechist: partition detach waits for old snapshots: the next pass finishes it", "partition", p.TableName)
				return total, nil
			}
			if err != nil {
				return total, fmt.Errorf("partition %s: %w", p.TableName, err)
			}
		}
		dropped, err := e.q.PartitionDrop(ctx, p.StartMs)
		total += dropped
		if err != nil {
			return total, fmt.Errorf("partition %s: %w", p.TableName, err)
		}
		e.parts.forget(p.StartMs)
	}
	return total, nil
}

// finishLeaving completes the drop of a partition a process ended in the
// middle of dropping (PartitionsLeaving's p): a detach cut short is
// completed with FINALIZE, then the table dropped. The DETACH CONCURRENTLY
// that was cut short may still complete on its own meanwhile (its cancel,
// which pgx sends without waiting when a deadline ends the statement, came
// after what it waited for): a FINALIZE that finds the table no longer a
// partition then goes on to the drop.
func (e *engine) finishLeaving(ctx context.Context, p db.PartitionsLeavingRow) (int64, error) {
	if p.State == "detaching" {
		if err := e.detach(ctx, p.TableName, "FINALIZE"); err != nil {
			state, serr := e.q.PartitionState(ctx, p.TableName)
			if serr != nil || state != "detached" {
				return 0, err
			}
		}
	}
	return e.q.PartitionDrop(ctx, p.StartMs)
}

// forget takes a dropped partition out of the known ones.
func (p *partitions) forget(start int64) {
	p.mu.Lock()
	delete(p.known, start)
	p.mu.Unlock()
}

// truncatePartition empties the partition at start in one transaction
// with the names table's update, each lock waited for at most
// partitionLockTimeout (then errPartitionBusy). It returns the rows
// removed, -1 when there is no such partition.
func (e *engine) truncatePartition(ctx context.Context, start int64) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		q := e.q.WithTx(tx)
		if err := q.SetLockTimeout(ctx, fmt.Sprintf("%dms", partitionLockTimeout.Milliseconds())); err != nil {
			return err
		}
		var err error
		n, err = q.PartitionTruncate(ctx, start)
		return err
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "55P03" {
		return 0, fmt.Errorf("%w: %w", errPartitionBusy, err)
	}
	return n, err
}

// errPartitionBusy is truncatePartition's error when a lock on the
// partition was not granted within partitionLockTimeout, and
// detachConcurrently's past partitionDetachWait.
var errPartitionBusy = errors.New("partition busy")

// partitionDetachWait bounds how long a DETACH ... CONCURRENTLY waits.
// PostgreSQL makes it wait for every transaction that has read or written
// record_history since before it began (a long export, a pg_dump of the
// table); meanwhile it holds record_history in SHARE UPDATE EXCLUSIVE
// mode, which making a new partition also needs. Past the wait the
// partition stays half detached (empty: it was truncated first) and the
// next pass finishes it.
var partitionDetachWait = time.Minute

// detachConcurrently detaches table CONCURRENTLY within
// partitionDetachWait (then errPartitionBusy).
func (e *engine) detachConcurrently(ctx context.Context, table string) error {
	wctx, cancel := context.WithTimeout(ctx, partitionDetachWait)
	defer cancel()
	err := e.detach(wctx, table, "CONCURRENTLY")
	if err != nil && ctx.Err() == nil && wctx.Err() != nil {
		return fmt.Errorf("%w: %w", errPartitionBusy, err)
	}
	return err
}

// detach runs ALTER TABLE ... DETACH PARTITION with mode (CONCURRENTLY or
// FINALIZE), which PostgreSQL runs only outside a transaction block, so
// not from a function: the one statement rechist builds from a name
// (quoted as an identifier; the names are rechist's own, from
// rechist_partition).
func (e *engine) detach(ctx context.Context, table, mode string) error {
	sql := fmt.Sprintf("ALTER TABLE record_history DETACH PARTITION %s %s", pgx.Identifier{table}.Sanitize(), mode)
	_, err := e.pool.Exec(ctx, sql)
	return err
}
