package rechistmqtt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/core"
)

// maxBatch is the most messages one worker stores in one StoreMany.
const maxBatch = 1000

// lookupLimit bounds the read that looks for the row of a redelivered or
// retained message.
const lookupLimit = 30 * time.Second

// work is one worker: it takes the messages waiting (up to maxBatch),
// stores them with one StoreMany and acknowledges them, until in closes.
func (r *Recorder) work(ctx context.Context, fatal chan<- error) {
	batch := make([]delivery, 0, maxBatch)
	for d := range r.in {
		batch = append(batch[:0], d)
	more:
		for len(batch) < maxBatch {
			select {
			case d, ok := <-r.in:
				if !ok {
					break more
				}
				batch = append(batch, d)
			default:
				break more
			}
		}
		r.handle(ctx, batch, fatal)
		clear(batch) // the payloads are not kept alive by the buffer
		r.done(len(batch))
	}
}

// handle maps messages to rows, stores them and acknowledges each message
// once its row is committed. A message that is skipped or refused is
// acknowledged at once (delivering it again would not change the
// outcome). A store that fails for another reason is reported on fatal,
// and its messages are not acknowledged.
func (r *Recorder) handle(ctx context.Context, batch []delivery, fatal chan<- error) {
	recs := make([]rechist.Record[json.RawMessage], 0, len(batch))
	msgs := make([]delivery, 0, len(batch))
	for i := range batch {
		d := &batch[i]
		rec, ok, err := r.prepare(ctx, d)
		if err != nil {
			r.fail(fatal, err)
			return
		}
		if ok {
			recs = append(recs, rec)
			msgs = append(msgs, *d)
		}
	}
	if len(recs) == 0 {
		return
	}
	err := r.repo.StoreMany(ctx, recs)
	if err == nil {
		for i := range msgs {
			r.stored(msgs[i], recs[i])
		}
		return
	}
	if !errors.Is(err, rechist.ErrInvalidArgument) {
		r.fail(fatal, err)
		return
	}
	// prepare checked each row as the library does, so this should not
	// happen; if it does, a refused row fails the whole transaction: store
	// the batch row by row to keep the others and name the refused one.
	for i, rec := range recs {
		err := r.repo.StoreAt(ctx, rec.Name, rec.Value, rec.StoredAt)
		switch {
		case err == nil:
			r.stored(msgs[i], rec)
		case errors.Is(err, rechist.ErrInvalidArgument):
			r.c.refusedValue.Add(1)
			r.log.Warn("rechistmqtt: value refused", "topic", msgs[i].msg.Topic(), "err", err)
			msgs[i].ack()
		default:
			r.fail(fatal, err)
			return
		}
	}
}

// stored counts and acknowledges a message whose row is committed.
func (r *Recorder) stored(d delivery, rec rechist.Record[json.RawMessage]) {
	r.c.rows.Add(1)
	if d.msg.Duplicate() && !d.fromPayload {
		r.c.redelivered.Add(1)
	}
	d.ack()
}

// prepare maps a message to its row; ok is false (and the message
// acknowledged) when it is skipped, refused, or the redelivery of a row
// already stored. err is a failure to look that row up.
func (r *Recorder) prepare(ctx context.Context, d *delivery) (rec rechist.Record[json.RawMessage], ok bool, err error) {
	m := d.msg
	topic := m.Topic()
	if m.Retained() && !r.cfg.retained {
		r.c.skippedRetained.Add(1)
		d.ack()
		return rec, false, nil
	}
	name, err := recordName(topic, r.cfg.prefix, r.cfg.keepSlash)
	if err != nil {
		r.c.refusedName.Add(1)
		r.log.Warn("rechistmqtt: topic refused", "topic", topic, "err", err)
		d.ack()
		return rec, false, nil
	}
	value, oc := recordValue(m.Payload())
	switch oc {
	case skipEmpty:
		r.c.skippedEmpty.Add(1)
		d.ack()
		return rec, false, nil
	case skipBinary:
		r.c.skippedBinary.Add(1)
		d.ack()
		return rec, false, nil
	case refuseValue:
		r.c.refusedValue.Add(1)
		r.log.Warn("rechistmqtt: payload refused", "topic", topic)
		d.ack()
		return rec, false, nil
	}
	at := d.at
	if p := (&core.Row{Name: name, ValueJSON: string(value)}).Problem(); p != "" {
		// What Store would refuse, checked here so that one bad value
		// does not make a whole batch be stored row by row.
		r.c.refusedValue.Add(1)
		r.log.Warn("rechistmqtt: value refused", "topic", topic, "err", p)
		d.ack()
		return rec, false, nil
	}
	if r.cfg.timeField != nil {
		t, found, err := valueTime(value, r.cfg.timeField)
		if err != nil {
			r.c.refusedTime.Add(1)
			r.log.Warn("rechistmqtt: time refused", "topic", topic, "err", err)
			d.ack()
			return rec, false, nil
		}
		if found {
			at, d.fromPayload = t, true
		}
	}
	// A broker sets DUP on every delivery after the first (mosquitto:
	// eclipse/mosquitto v2.0.11, commit 3b89bb2e, src/database.c, "Any
	// retry attempts are a duplicate"). Only a time from the payload makes
	// the first delivery's row findable.
	if m.Duplicate() && d.fromPayload {
		found, err := r.identical(ctx, name, value, at)
		if err != nil {
			return rec, false, err
		}
		if found {
			r.c.duplicates.Add(1)
			d.ack()
			return rec, false, nil
		}
	}
	// With WithRetained: the broker sends a filter's retained messages on
	// every SUBSCRIBE, so on every connection (see connect). A retained
	// message is the topic's last value: when the record already holds it
	// (at the payload's time, or else as its latest row), it was stored
	// before and is skipped.
	if m.Retained() {
		var found bool
		if d.fromPayload {
			found, err = r.identical(ctx, name, value, at)
		} else {
			found, err = r.latestIs(ctx, name, value)
		}
		if err != nil {
			return rec, false, err
		}
		if found {
			r.c.skippedRetained.Add(1)
			d.ack()
			return rec, false, nil
		}
	}
	return rechist.Record[json.RawMessage]{Name: name, Value: value, StoredAt: at}, true, nil
}

// fail reports a store error that ends Run (the first one).
func (r *Recorder) fail(fatal chan<- error, err error) {
	r.c.storeErrors.Add(1)
	select {
	case fatal <- err:
	default:
	}
}

// identical says whether the record name holds a row at at whose value is
// value: the first delivery of a redelivered message.
func (r *Recorder) identical(ctx context.Context, name string, value json.RawMessage, at time.Time) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupLimit)
	defer cancel()
	for rec, err := range r.repo.All(ctx, name, rechist.QueryParams{Start: at, End: at}) {
		if err != nil {
			return false, err
		}
		if rec.Name == name && bytes.Equal(rec.Value, value) {
			return true, nil
		}
	}
	return false, nil
}

// latestIs says whether the latest row of the record name holds value.
func (r *Recorder) latestIs(ctx context.Context, name string, value json.RawMessage) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupLimit)
	defer cancel()
	rec, err := r.repo.Latest(ctx, name)
	switch {
	case errors.Is(err, rechist.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return bytes.Equal(rec.Value, value), nil
}
