package rechistmqtt

import "sync/atomic"

// Stats counts what a Recorder did since New, for metrics (Prometheus
// counters and a gauge): every message received is either stored
// (Rows, Duplicates), skipped, refused, or, after a store error or a stop,
// left unacknowledged for the broker to deliver again.
type Stats struct {
	// Messages is the number of messages received.
	Messages int64
	// Rows is the number of rows stored (committed and acknowledged).
	Rows int64
	// SkippedRetained counts retained messages not stored: all of them
	// without WithRetained; with it, those the record already holds (the
	// broker sends them again on every connection's SUBSCRIBE).
	// SkippedEmpty counts empty payloads (a retained message being
	// cleared), SkippedBinary payloads that are not UTF-8.
	SkippedRetained, SkippedEmpty, SkippedBinary int64
	// RefusedName counts topics that make no valid record name (an empty
	// level, a NUL byte, too long), RefusedValue values Store refuses
	// (such as a number beyond float64's range), RefusedTime payloads
	// whose time field is not a time (WithTimeField). Each is logged
	// with its topic.
	RefusedName, RefusedValue, RefusedTime int64
	// Duplicates counts redelivered messages (the DUP flag) not stored
	// because the record already holds an identical row at the same time:
	// their first delivery was stored and the acknowledgement lost. Only a
	// time from the payload (WithTimeField, and a JSON object payload
	// holding the field) makes this check possible.
	Duplicates int64
	// Redelivered counts redelivered messages stored with their time of
	// arrival (no time from the payload): each may be a second row of a
	// message stored before.
	Redelivered int64
	// StoreErrors counts stores that failed for a reason other than the
	// value (the database); their messages were not acknowledged.
	StoreErrors int64
	// Connects counts connections made, Lost connections lost.
	Connects, Lost int64
	// Connected says the Recorder is connected now.
	Connected bool
}

// Skipped is the sum of the skipped counts.
func (s Stats) Skipped() int64 { return s.SkippedRetained + s.SkippedEmpty + s.SkippedBinary }

// Refused is the sum of the refused counts.
func (s Stats) Refused() int64 { return s.RefusedName + s.RefusedValue + s.RefusedTime }

type counters struct {
	messages, rows                               atomic.Int64
	skippedRetained, skippedEmpty, skippedBinary atomic.Int64
	refusedName, refusedValue, refusedTime       atomic.Int64
	duplicates, redelivered, storeErrors         atomic.Int64
	connects, lost                               atomic.Int64
	connected                                    atomic.Bool
}

// Stats returns the Recorder's counters; safe to call at any time, from
// any goroutine.
func (r *Recorder) Stats() Stats {
	c := &r.c
	return Stats{
		Messages: c.messages.Load(), Rows: c.rows.Load(),
		SkippedRetained: c.skippedRetained.Load(), SkippedEmpty: c.skippedEmpty.Load(), SkippedBinary: c.skippedBinary.Load(),
		RefusedName: c.refusedName.Load(), RefusedValue: c.refusedValue.Load(), RefusedTime: c.refusedTime.Load(),
		Duplicates: c.duplicates.Load(), Redelivered: c.redelivered.Load(), StoreErrors: c.storeErrors.Load(),
		Connects: c.connects.Load(), Lost: c.lost.Load(), Connected: c.connected.Load(),
	}
}
