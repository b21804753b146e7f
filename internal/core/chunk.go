package core

import "time"

// How cleanups and deletes size their chunks: by time, not by a fixed
// count. A chunk is one write transaction; while it runs, stores of this
// DB wait behind it (the writer commits one transaction at a time) and,
// on a server, writers of the same records wait for its locks. The first
// chunk has firstChunk rows (at most Config.CleanupChunk); a chunk that
// deleted all it was allowed in under half of chunkTime doubles the next
// one, up to Config.CleanupChunk; one that took longer than chunkTime
// halves it, down to minChunk. Fixed chunks of 256 rows spent most of a
// large cleanup's time per chunk, not per row (on PostgreSQL, 1,024-row
// chunks deleted 1.8x as many rows a second).
const (
	firstChunk = 256
	minChunk   = 16
	chunkTime  = 10 * time.Millisecond
)

// chunkSizer is the size of a cleanup's or a delete's next chunk.
type chunkSizer struct{ n, max int64 }

func newChunkSizer(maxRows int) chunkSizer {
	return chunkSizer{n: min(firstChunk, int64(maxRows)), max: int64(maxRows)}
}

// after adjusts the size to the chunk r that just committed.
func (c *chunkSizer) after(r *Request) {
	switch {
	case r.Took > chunkTime:
		c.n = max(c.n/2, min(minChunk, c.max))
	case r.Took < chunkTime/2 && r.N >= c.n:
		c.n = min(2*c.n, c.max)
	}
}
