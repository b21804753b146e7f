package repo

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed178a96f3/rechist/internal/core"
)

// checkpointer keeps the WAL short without stalling the writer.
//
// SQLite's automatic checkpoint runs inside the commit that crosses the
// threshold, so every thousandth page or so one caller waits for the whole
// copy and two fsyncs; the profile put more than half of the writer's time
// there. Instead the writer connection has wal_autocheckpoint=0, and this
// goroutine, on a connection of its own, copies the WAL into the database
// (PRAGMA wal_checkpoint(PASSIVE)) while the writer goes on appending.
//
// A passive checkpoint alone never lets the WAL start over: SQLite rewinds
// the WAL only when a write transaction begins with every frame already
// copied, and a busy writer always adds frames while a pass runs. So once
// the WAL is longer than its rewind threshold and the last pass left little
// behind it, the writer is asked to run one more pass itself between two
// batches (copying the few frames left and syncing); its next transaction
// then rewinds the WAL. That stall is short and rare.
//
// The threshold follows the write rate: the WAL may hold what the writer
// appends in rewindEvery, at least restartFrames/16 (1024 frames by
// default: 4 MiB with 4 KiB pages, 1 MiB with 1 KiB ones) and at most
// restartFrames (16384 frames: 64 MiB, or 16 MiB). The bounds are in
// frames, not bytes: the work of a pass, and so the stall of a rewind,
// grows with the frames it copies. A WAL that starts over is written in
// place, in blocks the file already has; one that grows makes every sync
// commit the file system's journal too (the file's size changed), which
// doubled the time of a one-row commit at synchronous=FULL (0.15 ms
// against 0.35 ms, ext4). A slow writer (one caller storing in sequence)
// thus rewinds at a few MiB, after a fraction of a second, and reuses the
// WAL from then on; a busy one rewinds at most about every rewindEvery,
// since each rewind stalls it for one pass.
type checkpointer struct {
	db            *sql.DB
	mu            sync.Mutex // held by whoever checkpoints
	poke          chan struct{}
	done          chan struct{}
	passInterval  time.Duration // the least time between two background passes
	needAssist    atomic.Bool
	rewinds       atomic.Int64 // writer passes that let the WAL start over
	readerWait    atomic.Int64 // ns the writer's passes waited for readers
	restartFrames int64
	logger        *slog.Logger

	// waitingForReader is set while the writer's last pass met a reader on
	// the WAL it could not wait out: the background passes then go on
	// copying what they can, and set readerMoved once they copy past
	// stuckAt (the frames copied when the writer gave up; or the WAL
	// started over): the readers that held the old frames have left.
	waitingForReader atomic.Bool
	readerMoved      atomic.Bool
	stuckAt          atomic.Int64

	// Guarded by mu: the writer's time budget for waiting for readers
	// (budget, as of budgetAt), the passes in a row that readers kept from
	// finishing, and the earliest time of the next one.
	budget   time.Duration
	budgetAt time.Time
	failed   int
	retryAt  time.Time
}

const (
	// closeEnough is how many frames a pass may copy for the writer's own
	// pass after it to be short.
	closeEnough = 512
	// maxConverging bounds the back-to-back passes before the writer helps.
	maxConverging = 4
	// rewindEvery is about the least time between two rewinds of a busy
	// writer's WAL: the threshold is what the writer appends in that time.
	rewindEvery = 250 * time.Millisecond
	// minRewindShare: the threshold is at least restartFrames/minRewindShare.
	minRewindShare = 16
)

// rewindThreshold is the WAL length (in frames) from which the writer helps
// the WAL start over, when it appends rate frames a second: what it appends
// in rewindEvery, within [restartFrames/minRewindShare, restartFrames].
func (c *checkpointer) rewindThreshold(rate float64) int64 {
	return min(c.restartFrames, max(c.restartFrames/minRewindShare, int64(rate*rewindEvery.Seconds())))
}

func newCheckpointer(db *sql.DB, restartFrames int64, passInterval time.Duration, logger *slog.Logger) *checkpointer {
	return &checkpointer{
		db:            db,
		passInterval:  passInterval,
		poke:          make(chan struct{}, 1),
		done:          make(chan struct{}),
		restartFrames: restartFrames,
		logger:        logger,
		budget:        restartWait,
		budgetAt:      time.Now(),
	}
}

// committed tells the checkpointer that the WAL grew; it never blocks.
func (c *checkpointer) committed() {
	select {
	case c.poke <- struct{}{}:
	default:
	}
}

// run copies the WAL after commits until stop is closed. Passes are at
// least passInterval apart, so that a page the writer changes again and
// again is copied once per pass rather than once per commit. Once the WAL
// is longer than restartFrames, passes run back to back until one copies
// little, and then the writer is asked to finish.
func (c *checkpointer) run(stop <-chan struct{}) {
	defer close(c.done)
	ctx := context.Background()
	var prevCopied int64
	var prevPass time.Time
	converging := 0
	pace := time.NewTimer(0)
	defer pace.Stop()
	for {
		select {
		case <-stop:
			return
		case <-c.poke:
		}
		waiting := c.waitingForReader.Load()
		if c.needAssist.Load() && !waiting {
			continue // the writer's turn: its pass rewinds the WAL
		}
		if converging == 0 {
			select {
			case <-stop:
				return
			case <-pace.C:
			}
		}
		c.mu.Lock()
		log, copied, err := walCheckpoint(ctx, c.db)
		c.mu.Unlock()
		pace.Reset(c.passInterval)
		if err != nil {
			c.logger.Warn("rechist: background checkpoint failed", slog.Any(core.LogKeyError, err))
			continue
		}
		if log < 0 {
			continue // another connection was checkpointing: nothing ran
		}
		if waiting && copied != c.stuckAt.Load() {
			// Frames past where the writer's pass stopped are copied (or,
			// fewer, the WAL started over): the readers it met have left.
			c.readerMoved.Store(true)
		}
		// copied counts from the start of the WAL; what this pass copied is
		// what the writer appended during the previous one. (If another
		// process's writer rewound the WAL meanwhile, it is all new.)
		delta := copied - prevCopied
		if delta < 0 {
			delta = copied
		}
		prevCopied = copied
		now := time.Now()
		var rate float64 // frames a second since the previous pass
		if !prevPass.IsZero() {
			rate = float64(delta) / max(now.Sub(prevPass).Seconds(), 1e-3)
		}
		prevPass = now
		switch {
		case log < c.rewindThreshold(rate):
			converging = 0
		case delta <= closeEnough || converging >= maxConverging:
			c.needAssist.Store(true)
			converging, prevCopied = 0, 0
		default:
			converging++
			c.committed() // no need to wait for the next commit
		}
	}
}

// assist is called by the writer between batches: when the WAL is due to
// start over and no background pass is running, it checkpoints the last
// frames on the writer's own connection, so the next write transaction
// rewinds the WAL.
//
// SQLite rewinds only if no reader is still using the WAL, and with queries
// running back to back there always is one. In this process, the pass runs
// with the engine's read gate held: it waits for the queries in flight and
// holds new ones back for the pass's few milliseconds. Other readers (other
// processes', and this one's snapshots, which last as long as their
// consumer wants) the gate cannot see, so the pass is
// wal_checkpoint(RESTART): once every frame is copied, a new reader reads
// the database file alone, and RESTART waits for the readers still on the
// WAL to finish; the next write transaction then starts the WAL over
// whoever reads. Writers (this one and other processes') wait for the pass.
//
// A reader can stay for as long as it likes (an export whose client
// stopped reading, a paused iteration), so the writer does not wait for
// the same readers twice: after a pass that readers kept from finishing,
// the next one comes only once the background passes have copied past
// where it stopped (the readers it met have left; a reader that stays
// never lets them), and waits twice as long (from restartWait up to
// restartMaxWait). Meanwhile the WAL grows by what is written. All waiting
// comes out of a budget (see available): readers that come and go but
// each take long cost the writers at most 1/readerWaitShare of their
// time, and a reader that stays costs them one restartWait.
func (c *checkpointer) assist(ctx context.Context, writer *sql.DB, readGate *sync.RWMutex) {
	if !c.needAssist.Load() || !c.mu.TryLock() {
		return
	}
	defer c.mu.Unlock()
	t0 := time.Now()
	wait := min(restartWait<<min(c.failed, 8), restartMaxWait)
	if t0.Before(c.retryAt) || c.available(t0) < wait ||
		(c.waitingForReader.Load() && !c.readerMoved.Load()) {
		return
	}
	c.needAssist.Store(false)
	readGate.Lock()
	busy, log, copied, waited, err := restartCheckpoint(ctx, writer, wait)
	readGate.Unlock()
	c.spend(waited)
	if err != nil {
		c.logger.Warn("rechist: checkpoint failed", slog.Any(core.LogKeyError, err))
		return
	}
	if busy {
		c.failed++
		c.retryAt = time.Now().Add(restartRetryEvery)
		c.stuckAt.Store(copied)
		c.readerMoved.Store(false)
		c.waitingForReader.Store(true)
		c.needAssist.Store(true)
		if c.failed == 1 {
			c.logger.Debug("rechist: WAL not rewound yet: another connection still reads it", slog.Int64(core.LogKeyFrames, log))
		}
		return
	}
	c.failed = 0
	c.waitingForReader.Store(false)
	c.rewinds.Add(1)
	c.logger.Debug("rechist: WAL rewound", slog.Int64(core.LogKeyFrames, log), slog.Duration(core.LogKeyStall, time.Since(t0)))
}

// available is the writer's budget for waiting for readers at now: it
// grows by 1/readerWaitShare of the time that passed, up to
// restartMaxWait. Called with mu held.
func (c *checkpointer) available(now time.Time) time.Duration {
	c.budget = min(restartMaxWait, c.budget+now.Sub(c.budgetAt)/readerWaitShare)
	c.budgetAt = now
	return c.budget
}

// spend takes what a pass waited for readers from the budget. Called with
// mu held.
func (c *checkpointer) spend(waited time.Duration) {
	c.budget -= waited
	c.readerWait.Add(int64(waited))
}

// restartWait bounds how long the writer's RESTART pass waits for readers
// (of any process) to leave the WAL; a pass that follows one that gave up
// comes at least restartRetryEvery later and waits twice as long, up to
// restartMaxWait. Writers (this one and other processes') wait for the
// pass, so all of it comes out of a budget that starts at restartWait and
// grows by 1/readerWaitShare of the time (a fifth); a reader that stays is
// waited for once (before, the writers waited for it 95% of the time:
// TestAReaderThatStaysDoesNotStallTheWriter).
const (
	restartWait       = 200 * time.Millisecond
	restartMaxWait    = 2 * time.Second
	restartRetryEvery = 50 * time.Millisecond
	readerWaitShare   = 5
)

// restartCheckpoint runs wal_checkpoint(RESTART) on the writer's
// connection until readers (of any process) no longer keep it from
// finishing, for at most wait, and reports whether they still did
// and how many frames the WAL held. It tries every half millisecond rather
// than through SQLite's busy handler, whose sleeps grow to 100 ms: a reader
// on the WAL usually leaves it within a few milliseconds.
func restartCheckpoint(ctx context.Context, db *sql.DB, wait time.Duration) (busy bool, log, copied int64, waited time.Duration, err error) {
	return checkpointMode(ctx, db, "RESTART", wait)
}

// checkpointMode is restartCheckpoint with another mode (RESTART, TRUNCATE).
// copied is how many of the WAL's log frames are in the database file;
// waited is how long it tried again after the first attempt met readers.
func checkpointMode(ctx context.Context, db *sql.DB, mode string, wait time.Duration) (busy bool, log, copied int64, waited time.Duration, err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return false, 0, 0, 0, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = 0"); err != nil {
		return false, 0, 0, 0, err
	}
	defer conn.ExecContext(context.Background(), fmt.Sprintf("PRAGMA busy_timeout = %d", writerBusyTimeout.Milliseconds())) //nolint:errcheck // the next BEGIN reports a broken connection
	var first time.Time
	for {
		var b int64
		err = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&b, &log, &copied)
		now := time.Now()
		if first.IsZero() {
			first = now
		}
		if err != nil || b == 0 || now.Sub(first) >= wait {
			return b != 0, log, copied, now.Sub(first), err
		}
		time.Sleep(500 * time.Microsecond)
	}
}

// walCheckpoint runs a passive checkpoint and returns the frames in the WAL
// and how many of them are now copied into the database.
func walCheckpoint(ctx context.Context, db *sql.DB) (log, copied int64, err error) {
	var busy int64
	err = db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &copied)
	return log, copied, err
}
