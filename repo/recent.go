package repo

import (
	"sync"
	"unsafe"

	"github.com/seed178a96f3/rechist/internal/core"
)

// recentRows keeps the rows the writer connection has just committed, in
// id order, so that the rollup (tierStore.RowsAfter) takes them from
// memory rather than reading back rows it has just written: half of the
// rollup's time when rows come in batches (docs/performance.md).
//
// It answers only for ids it knows to be exactly the table's:
//   - a segment is one write transaction's inserts, whose ids are
//     consecutive (AUTOINCREMENT: max + 1 each, inside the write lock), the
//     last being last_insert_rowid(); it is added only after its COMMIT
//     succeeded;
//   - a one-row autocommit insert is a segment of its own when
//     data_version, read after its commit, is still the segments' (no
//     other connection has committed since), else it drops every segment;
//   - any other write of ours (a delete, a sync, a policy, the rollup,
//     retention) drops every segment;
//   - another connection's commit (a second process, the Rust crate, an
//     operator's delete) shows in PRAGMA data_version, which the writer
//     connection reads inside each insert transaction and in the rollup's:
//     a changed value drops every segment (a checkpoint that restarts the
//     WAL may change it too, which only costs a read);
//   - rows are served from the id right after the rollup's cursor only, up
//     to the first gap.
//
// It holds at most recentCap bytes of rows, and nothing until a rollup has asked
// (a file without tiers keeps nothing).
type recentRows struct {
	mu      sync.Mutex
	on      bool  // a rollup has asked: tiers exist
	version int64 // the writer connection's data_version the segments are valid at
	segs    []recentSeg
	n       int   // rows in segs
	bytes   int   // their size, about (rowBytes)
	served  int64 // rows after has returned, for tests
}

type recentSeg struct {
	first int64 // id of rows[0]
	rows  []core.Row
	bytes int
}

// recentCap bounds the bytes kept (rowBytes): 16 MiB, about 190,000 rows
// of a short name and value, more than a rollup step reads (8 pages of
// 16,384 rows) and than 3 s of the fastest stores between two background
// rollups.
const recentCap = 16 << 20

// rowBytes is about what keeping r costs: the Row and its strings.
func rowBytes(r *core.Row) int {
	return int(unsafe.Sizeof(*r)) + len(r.Name) + len(r.ValueJSON)
}

// wanted reports whether an insert transaction should read its ids and
// data_version for add: only once a rollup has asked.
func (c *recentRows) wanted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.on
}

// add records a committed insert transaction's rows, ids last-len+1 to
// last, read at data_version version.
func (c *recentRows) add(version, last int64, batch []*core.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addLocked(version, last, batch)
}

func (c *recentRows) addLocked(version, last int64, batch []*core.Request) {
	if version != c.version {
		c.dropLocked()
		c.version = version
	}
	var n, size int
	for _, r := range batch {
		n += len(r.Rows)
		for i := range r.Rows {
			size += rowBytes(&r.Rows[i])
		}
	}
	if n == 0 || c.bytes+size > recentCap {
		return
	}
	rows := make([]core.Row, 0, n)
	for _, r := range batch {
		rows = append(rows, r.Rows...)
	}
	first := last - int64(n) + 1
	for i := range rows {
		rows[i].ID = first + int64(i)
	}
	c.segs = append(c.segs, recentSeg{first: first, rows: rows, bytes: size})
	c.n += n
	c.bytes += size
}

// addIfVersion records the row of an autocommit insert, id id, when
// data_version read after its commit is the segments' (no other
// connection has committed since): false, recording nothing, otherwise.
func (c *recentRows) addIfVersion(version, id int64, r *core.Request) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if version != c.version {
		return false
	}
	c.addLocked(version, id, []*core.Request{r})
	return true
}

// drop forgets every segment: the writer changed rows in another way, or
// its transaction's outcome is unknown.
func (c *recentRows) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked()
}

func (c *recentRows) dropLocked() {
	clear(c.segs)
	c.segs = c.segs[:0]
	c.n, c.bytes = 0, 0
}

// after returns up to limit rows with ids after+1, after+2, ... from
// memory, if data_version is still version and they are known (ok false:
// read them from the table). It forgets the segments at or below after,
// which the rollup has passed.
func (c *recentRows) after(version, after int64, limit int) (rows []core.Row, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = true
	if version != c.version {
		c.dropLocked()
		c.version = version
		return nil, false
	}
	for len(c.segs) > 0 && c.segs[0].first+int64(len(c.segs[0].rows)) <= after+1 {
		c.n -= len(c.segs[0].rows)
		c.bytes -= c.segs[0].bytes
		c.segs[0] = recentSeg{}
		c.segs = c.segs[1:]
	}
	next := after + 1
	if len(c.segs) > 0 {
		// Within one segment (a StoreMany's rows, say), the rows are
		// handed out as they are kept, not copied: a segment never
		// changes, and the three-index slice keeps appends off it.
		s := c.segs[0]
		if i := next - s.first; i >= 0 && i < int64(len(s.rows)) && (int64(len(s.rows))-i >= int64(limit) || len(c.segs) == 1) {
			end := min(int64(len(s.rows)), i+int64(limit))
			rows = s.rows[i:end:end]
			c.served += int64(len(rows))
			return rows, true
		}
	}
	for _, s := range c.segs {
		if len(rows) == limit || s.first > next {
			break
		}
		if s.first+int64(len(s.rows)) <= next { // passed
			continue
		}
		for _, r := range s.rows[next-s.first:] {
			if len(rows) == limit {
				break
			}
			rows = append(rows, r)
			next++
		}
	}
	if len(rows) == 0 {
		// Nothing in memory from after+1 on: the table may have rows
		// there (another connection's, or one this cache dropped).
		return nil, false
	}
	c.served += int64(len(rows))
	return rows, true
}
