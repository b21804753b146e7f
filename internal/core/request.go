package core

import (
	"context"
	"sync/atomic"
	"time"
)

// Kind says what a Request asks the engine to do.
type Kind uint8

const (
	// KindInsert inserts Request.Rows.
	KindInsert Kind = iota + 1
	// KindDeleteChunk deletes at most Request.Chunk rows stored before
	// Request.CutoffMs (one chunk of a cleanup), going on from where the
	// chunk before it stopped: see Request.LastMs.
	KindDeleteChunk
	// KindDeleteRange deletes at most Request.Chunk rows of the record
	// Request.Name stored within [Request.StartMs, Request.CutoffMs] (one
	// chunk of a Delete).
	KindDeleteRange
	// KindCompact gives free space back to the file system (Compacter);
	// the writer runs it alone, between batches.
	KindCompact
	// KindSync inserts Request.Rows, received from a sync source, and moves
	// that source's cursor as Request.Sync says, in the same transaction.
	KindSync
	// KindSetSourceID sets the database's identity as a sync source to
	// Request.Name.
	KindSetSourceID
	// KindTiers runs Request.Tiers on a TierStore of the transaction: the
	// rollup tiers' work (rollup.go), all in the batch's transaction.
	KindTiers
)

func (k Kind) op() string {
	switch k {
	case KindDeleteChunk:
		return "cleanup"
	case KindCompact:
		return "compact"
	case KindDeleteRange:
		return "delete"
	case KindSync:
		return "sync"
	case KindSetSourceID:
		return "new source id"
	case KindTiers:
		return "rollup"
	}
	return "store"
}

// A request's life: queued until the writer takes it into a batch, or until
// its caller gives up on it first. Whoever moves it out of stateQueued first
// decides its fate, so a value is either written and acknowledged, or
// abandoned and never written.
const (
	stateQueued int32 = iota
	stateTaken
	stateAbandoned
)

// Request is one unit of work for the writer. A request is atomic: all of
// it commits or none does.
type Request struct {
	Kind Kind
	// Rows are what a KindInsert request inserts.
	Rows []Row
	// CutoffMs and Chunk are a KindDeleteChunk request's: delete at most
	// Chunk rows stored before CutoffMs, from StartMs and Name on (see
	// LastMs). A KindDeleteRange request deletes
	// at most Chunk rows of the record Name stored within
	// [StartMs, CutoffMs].
	CutoffMs, Chunk int64
	StartMs         int64
	Name            string
	// Sync is a KindSync request's cursor move.
	Sync *SyncStep
	// Tiers is a KindTiers request's work; the engine sets N to what it
	// returns.
	Tiers func(ctx context.Context, s TierStore) (int64, error)
	// N is set by Engine.Commit: the rows inserted or deleted.
	N int64
	// More is set by Engine.Commit for a KindDeleteChunk or
	// KindDeleteRange request: rows it would delete may remain (the
	// cleanup or delete goes on).
	More bool
	// LastMs and LastName are set by Engine.Commit for a KindDeleteChunk
	// request: where the cleanup's next chunk starts (its StartMs and
	// Name), in the engine's own walk. An engine that deletes the oldest
	// rows first (SQLite) sets LastMs, the time of the newest row it
	// deleted: the next chunk deletes from there on. One that deletes
	// record by record in name order (PostgreSQL) sets LastName, the
	// last record it deleted rows of: the next chunk starts with that
	// record. Both zero at the start, and when the chunk deleted none.
	//
	// For a KindDeleteRange request, an engine may set LastMs to the time
	// of the newest row the chunk deleted (its chunks delete the oldest
	// first): the next chunk starts there. The writer sets it to StartMs
	// beforehand, so an engine that leaves it alone (SQLite) has each
	// chunk start at the range's start.
	LastMs   int64
	LastName string
	// Took is set by the writer: how long the transaction that ran the
	// request took (chunkSizer sizes the next chunk by it).
	Took time.Duration

	ctx   context.Context // the caller's, while its request is not yet in a transaction
	state atomic.Int32
	done  chan result // buffered; the writer sends exactly once
}

type result struct {
	n   int64 // rows inserted or deleted
	err error
}

func newRequest(k Kind) *Request { return &Request{Kind: k, done: make(chan result, 1)} }
