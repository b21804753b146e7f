package core

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Chunks grow while they are quick and full, up to the configured bound,
// and shrink when one is slow, down to minChunk; a short chunk (the end
// of the rows) leaves the size alone.
func TestChunksSizedByTime(t *testing.T) {
	c := newChunkSizer(4096)
	var sizes []string
	step := func(took time.Duration, full bool) {
		r := &Request{Took: took, N: c.n}
		if !full {
			r.N = c.n / 2
		}
		c.after(r)
		sizes = append(sizes, fmt.Sprint(c.n))
	}
	for range 6 {
		step(time.Millisecond, true) // quick: doubles, then stays at the bound
	}
	step(time.Millisecond, false)   // short: the rows ran out
	step(7*time.Millisecond, true)  // between half and the target: stays
	step(30*time.Millisecond, true) // slow: halves
	for range 9 {
		step(50*time.Millisecond, true) // slower still: down to minChunk
	}
	got := strings.Join(sizes, " ")
	want := "512 1024 2048 4096 4096 4096 4096 4096 2048 1024 512 256 128 64 32 16 16 16"
	if got != want {
		t.Fatalf("sizes %s\nwant  %s", got, want)
	}
	if small := newChunkSizer(3); small.n != 3 {
		t.Fatalf("a bound of 3 starts at %d", small.n)
	}
	small := newChunkSizer(3)
	small.after(&Request{Took: time.Second, N: 3})
	if small.n != 3 {
		t.Fatalf("a bound of 3 shrank to %d, under minChunk only when the bound is", small.n)
	}
}
