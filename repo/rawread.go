package repo

import (
	"context"
	"fmt"
	"sync"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/seed178a96f3/rechist/db"
	"github.com/seed178a96f3/rechist/internal/core"
)

// The engine streams one record's (time, value) pairs (core.ValueStreamer,
// what the Prometheus API reads samples through) by SQLite's C API, as
// modernc.org/sqlite/lib exports it, on read-only connections of its own.
// Through database/sql a row costs a driver value for each column (boxed
// integers, the value copied out of SQLite into a new string), a scan that
// converts them again, and for each column a call that takes the
// connection's mutex: modernc opens every connection SQLITE_OPEN_FULLMUTEX
// and has no parameter against it. Here a row is one sqlite3_step and
// three column calls with no allocation, on connections opened
// SQLITE_OPEN_NOMUTEX, each used by one goroutine at a time: 86,400 rows
// of one record in 38 ms against 64 ms through modernc's driver rows and 78
// ms through database/sql (docs/performance.md, "The Prometheus API").

var _ core.ValueStreamer = (*engine)(nil)

// rawPool holds the engine's C-API connections: at most max, opened when
// a read finds none idle. A read that finds max in use does not wait: it
// reads through the read pool instead (StreamValues says it did not).
type rawPool struct {
	uri      string // the read pool's file, read-only (and immutable when it is)
	busyMs   int32
	cacheKiB int
	max      int

	mu     sync.Mutex
	idle   []*rawConn
	open   int
	closed bool
}

// rawConn is one connection and its two statements (newest and oldest
// first), prepared when first used.
type rawConn struct {
	tls  *libc.TLS
	db   uintptr // sqlite3*
	stmt [2]uintptr
}

// rawError is an error SQLite returned on a C-API connection.
type rawError struct {
	code int
	msg  string
}

func (e *rawError) Error() string { return fmt.Sprintf("%s (%d)", e.msg, e.code) }

// newRawPool returns the pool for the file at loc, or nil where there is
// none: an in-memory database (its memdb is this process's alone, and the
// read pool reads it as cheaply).
func newRawPool(loc location, cfg core.Config, immutable bool, conns int) *rawPool {
	if loc.memory {
		return nil
	}
	uri := loc.uri + "?mode=ro"
	if immutable {
		uri += "&immutable=1"
	}
	return &rawPool{uri: uri, busyMs: int32(cfg.BusyTimeout.Milliseconds()), cacheKiB: cfg.CacheSizeKiB, max: max(conns, 1)}
}

// get returns an idle connection or a new one; nil when max are in use,
// the pool is closed, or a connection cannot be opened (the read pool's
// read then says why, if the reason is the file's).
func (p *rawPool) get() *rawConn {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	if p.closed || len(p.idle) == 0 && p.open >= p.max {
		p.mu.Unlock()
		return nil
	}
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c
	}
	p.open++
	p.mu.Unlock()
	c, err := openRaw(p.uri, p.busyMs, p.cacheKiB)
	if err != nil {
		p.mu.Lock()
		p.open--
		p.mu.Unlock()
		return nil
	}
	return c
}

// put returns c to the pool, or closes it when the pool is closed.
func (p *rawPool) put(c *rawConn) {
	p.mu.Lock()
	if !p.closed {
		p.idle = append(p.idle, c)
		p.mu.Unlock()
		return
	}
	p.open--
	p.mu.Unlock()
	c.close()
}

// close closes the idle connections and those in use as they come back.
// It is idempotent.
func (p *rawPool) close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.open -= len(idle)
	p.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}

// openRaw opens a connection on uri, read-only and without SQLite's
// connection mutex, with the read pool's busy timeout and page cache.
func openRaw(uri string, busyMs int32, cacheKiB int) (*rawConn, error) {
	c := &rawConn{tls: libc.NewTLS()}
	zName, err := libc.CString(uri)
	if err != nil {
		c.tls.Close()
		return nil, err
	}
	defer libc.Xfree(c.tls, zName)
	pp := libc.Xmalloc(c.tls, 8)
	if pp == 0 {
		c.tls.Close()
		return nil, fmt.Errorf("open %s: out of memory", uri)
	}
	defer libc.Xfree(c.tls, pp)
	*(*uintptr)(cmem(pp)) = 0
	rc := sqlite3.Xsqlite3_open_v2(c.tls, zName, pp, sqlite3.SQLITE_OPEN_READONLY|sqlite3.SQLITE_OPEN_NOMUTEX|sqlite3.SQLITE_OPEN_URI, 0)
	c.db = *(*uintptr)(cmem(pp))
	if rc == sqlite3.SQLITE_OK {
		sqlite3.Xsqlite3_busy_timeout(c.tls, c.db, busyMs)
		rc = c.exec(fmt.Sprintf("PRAGMA cache_size = %d; PRAGMA query_only = 1", -cacheKiB))
	}
	if rc != sqlite3.SQLITE_OK {
		err := c.err(rc)
		c.close()
		return nil, err
	}
	return c, nil
}

// exec runs sql, which returns no rows.
func (c *rawConn) exec(sql string) int32 {
	z, err := libc.CString(sql)
	if err != nil {
		return sqlite3.SQLITE_NOMEM
	}
	defer libc.Xfree(c.tls, z)
	return sqlite3.Xsqlite3_exec(c.tls, c.db, z, 0, 0, 0)
}

// err describes rc with the connection's message.
func (c *rawConn) err(rc int32) error {
	msg := libc.GoString(sqlite3.Xsqlite3_errstr(c.tls, rc))
	if c.db != 0 {
		msg = libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db))
	}
	return &rawError{code: int(rc), msg: msg}
}

// close finalizes the statements and closes the connection.
func (c *rawConn) close() {
	for _, st := range c.stmt {
		if st != 0 {
			sqlite3.Xsqlite3_finalize(c.tls, st)
		}
	}
	if c.db != 0 {
		sqlite3.Xsqlite3_close_v2(c.tls, c.db)
	}
	c.tls.Close()
}

// statement returns the prepared statement of the rows of one record,
// oldest first or newest first: the read pool's own queries.
func (c *rawConn) statement(oldestFirst bool) (uintptr, error) {
	i, query := 0, db.RecordRows
	if oldestFirst {
		i, query = 1, db.RecordRowsOldest
	}
	if c.stmt[i] != 0 {
		return c.stmt[i], nil
	}
	z, err := libc.CString(query)
	if err != nil {
		return 0, err
	}
	defer libc.Xfree(c.tls, z)
	pp := libc.Xmalloc(c.tls, 8)
	if pp == 0 {
		return 0, &rawError{code: sqlite3.SQLITE_NOMEM, msg: "out of memory"}
	}
	defer libc.Xfree(c.tls, pp)
	*(*uintptr)(cmem(pp)) = 0
	if rc := sqlite3.Xsqlite3_prepare_v3(c.tls, c.db, z, -1, sqlite3.SQLITE_PREPARE_PERSISTENT, pp, 0); rc != sqlite3.SQLITE_OK {
		return 0, c.err(rc)
	}
	c.stmt[i] = *(*uintptr)(cmem(pp))
	return c.stmt[i], nil
}

// StreamValues is core.ValueStreamer: Rows's statement, on a connection of
// the raw pool. It does not take the read gate, as Rows does not: its
// yield runs for as long as its caller likes.
func (e *engine) StreamValues(ctx context.Context, name string, rg core.Range, yield func(id, ms int64, value []byte) bool) (bool, error) {
	c := e.raw.get()
	if c == nil {
		return false, nil
	}
	defer e.raw.put(c)
	return true, c.stream(ctx, name, rg, yield)
}

// rawCheckEvery is how many rows stream between two looks at ctx.
const rawCheckEvery = 256

// stream runs the rows statement for name within rg and yields each row.
func (c *rawConn) stream(ctx context.Context, name string, rg core.Range, yield func(id, ms int64, value []byte) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	st, err := c.statement(rg.OldestFirst)
	if err != nil {
		return err
	}
	lim := rg.LimitPerRecord
	if lim <= 0 {
		lim = -1
	}
	zName, err := libc.CString(name)
	if err != nil {
		return err
	}
	defer libc.Xfree(c.tls, zName)
	// SQLITE_STATIC (0): zName outlives the binding, which the reset
	// below clears before zName is freed.
	defer sqlite3.Xsqlite3_clear_bindings(c.tls, st)
	defer sqlite3.Xsqlite3_reset(c.tls, st)
	if rc := sqlite3.Xsqlite3_bind_text(c.tls, st, 1, zName, int32(len(name)), 0); rc != sqlite3.SQLITE_OK {
		return c.err(rc)
	}
	for i, v := range []int64{rg.StartMs, rg.EndMs, lim} {
		if rc := sqlite3.Xsqlite3_bind_int64(c.tls, st, int32(i+2), v); rc != sqlite3.SQLITE_OK {
			return c.err(rc)
		}
	}
	for n := 1; ; n++ {
		if n%rawCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		switch rc := sqlite3.Xsqlite3_step(c.tls, st); rc {
		case sqlite3.SQLITE_ROW:
		case sqlite3.SQLITE_DONE:
			return nil
		default:
			return c.err(rc)
		}
		id := sqlite3.Xsqlite3_column_int64(c.tls, st, 0)
		p := sqlite3.Xsqlite3_column_text(c.tls, st, 1)
		size := sqlite3.Xsqlite3_column_bytes(c.tls, st, 1)
		ms := sqlite3.Xsqlite3_column_int64(c.tls, st, 2)
		var value []byte
		if p != 0 && size > 0 {
			value = unsafe.Slice((*byte)(cmem(p)), size)
		}
		if !yield(id, ms, value) {
			return nil
		}
	}
}

// cmem is the address p of memory that modernc's libc allocated (outside
// the Go heap, never moved or collected) as an unsafe.Pointer. Converting
// a uintptr with unsafe.Pointer(p) is what go vet's unsafeptr check
// rightly warns of for Go memory; for C memory it is the only way in, and
// reading the bits through &p says so without the warning.
func cmem(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }
