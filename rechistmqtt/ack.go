package rechistmqtt

import (
	"sync"
	"sync/atomic"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// acker sends a connection's acknowledgements in the order its messages
// arrived, although the workers finish them in any order: "it MUST send
// PUBACK packets in the order in which the corresponding PUBLISH packets
// were received" (MQTT 3.1.1, section 4.6, Message ordering). A message
// finished before an earlier one waits for it. A message never finished
// (its store failed, which ends Run) holds back the acknowledgements of
// the later ones, which the broker then delivers again.
type acker struct {
	taken atomic.Uint64 // the number of arrivals, the next one's sequence number

	mu    sync.Mutex
	next  uint64                  // the sequence number to acknowledge next
	ready map[uint64]paho.Message // finished, waiting for an earlier one
}

func newAcker() *acker { return &acker{ready: map[uint64]paho.Message{}} }

// take numbers an arriving message (paho's handler calls it, one message
// at a time).
func (a *acker) take() uint64 { return a.taken.Add(1) - 1 }

// done acknowledges the message seq, and every later one finished, once
// all earlier ones are acknowledged. Message.Ack only queues the PUBACK
// on the client.
func (a *acker) done(seq uint64, m paho.Message) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if seq != a.next {
		a.ready[seq] = m
		return
	}
	m.Ack()
	for a.next++; ; a.next++ {
		m, ok := a.ready[a.next]
		if !ok {
			return
		}
		delete(a.ready, a.next)
		m.Ack()
	}
}

// ack acknowledges d in its connection's arrival order.
func (d *delivery) ack() { d.acks.done(d.seq, d.msg) }
