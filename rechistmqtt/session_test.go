package rechistmqtt_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/rechistmqtt"
	"github.com/seed178a96f3/rechist/rechistmqtt/mqtttest"
)

// runFor runs rec until cond holds (failing the test after 15s), then
// stops it and waits for Run to return (at most 10s).
func runFor(t *testing.T, rec *rechistmqtt.Recorder, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rec.Run(ctx) }()
	waitFor(t, what, cond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of its ctx ending")
	}
}

// TestRecorderResubscribesResumedSession runs a client id with one filter,
// then with another: the broker resumes the session (which holds the first
// filter only) and the second run's filter must be subscribed all the same.
func TestRecorderResubscribesResumedSession(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Config{})
	db := openDB(t)
	first, err := rechistmqtt.New(db, b.URL("", ""), []string{"a/#"}, rechistmqtt.WithClientID("resub"))
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, first, "the first connection", func() bool { return first.Stats().Connects == 1 })

	var mu sync.Mutex
	var events []rechistmqtt.Event
	second, err := rechistmqtt.New(db, b.URL("", ""), []string{"b/#"}, rechistmqtt.WithClientID("resub"),
		rechistmqtt.WithConnectionEvents(func(e rechistmqtt.Event) { mu.Lock(); events = append(events, e); mu.Unlock() }))
	if err != nil {
		t.Fatal(err)
	}
	started(t, second)
	mu.Lock()
	if len(events) != 1 || !events[0].SessionPresent {
		t.Errorf("events %+v, want one Connected with the session present", events)
	}
	mu.Unlock()
	mqtttest.Publish(t, b.Addr(), mqtttest.Message{Topic: "b/1", Payload: []byte("1")})
	waitFor(t, "b/1's row", func() bool { return second.Stats().Rows == 1 })
	if got := rows(t, db)["b.1"]; len(got) != 1 {
		t.Errorf("b.1: rows %v, want [1]", got)
	}
}

// TestRecorderRetainedOncePerValue records a retained message with
// WithRetained, then runs again on the same session: the broker sends the
// retained message again on the new SUBSCRIBE, and it is not stored again.
func TestRecorderRetainedOncePerValue(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Config{})
	mqtttest.Publish(t, b.Addr(), mqtttest.Message{Topic: "r/a", Payload: []byte("1"), Retained: true})
	db := openDB(t)
	for run := 1; run <= 2; run++ {
		rec, err := rechistmqtt.New(db, b.URL("", ""), []string{"r/#"}, rechistmqtt.WithRetained())
		if err != nil {
			t.Fatal(err)
		}
		runFor(t, rec, "the retained message", func() bool { return rec.Stats().Messages == 1 && rec.Stats().Rows+rec.Stats().SkippedRetained == 1 })
		s := rec.Stats()
		if run == 1 && s.Rows != 1 || run == 2 && s.SkippedRetained != 1 {
			t.Errorf("run %d: %+v, want the retained message stored in the first run and skipped in the second", run, s)
		}
	}
	if got := rows(t, db)["r.a"]; len(got) != 1 {
		t.Errorf("r.a: rows %v, want one", got)
	}
}

// TestRecorderRedelivered makes the broker redeliver messages (DUP) whose
// rows were stored and whose acknowledgements were lost: a client of the
// recorder's id takes four messages without acknowledging them and goes
// away; two of them are in the database already. With WithTimeField those
// two are found and not stored again (Duplicates); without, every
// redelivery is stored and counted (Redelivered).
func TestRecorderRedelivered(t *testing.T) {
	for _, withTime := range []bool{true, false} {
		t.Run(fmt.Sprint("time field ", withTime), func(t *testing.T) {
			b := mqtttest.Start(t, mqtttest.Config{})
			const id = "redelivered"
			got := make(chan paho.Message, 10)
			o := paho.NewClientOptions().AddBroker("tcp://" + b.Addr()).SetClientID(id).SetCleanSession(false).
				SetAutoReconnect(false).SetAutoAckDisabled(true).SetOrderMatters(false).
				SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { got <- m })
			c := paho.NewClient(o)
			if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("connect: %v", tok.Error())
			}
			if tok := c.Subscribe("d/#", 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("subscribe: %v", tok.Error())
			}
			base := time.Now().Add(-time.Hour).UnixMilli()
			var msgs []mqtttest.Message
			for i := range 4 {
				msgs = append(msgs, mqtttest.Message{Topic: fmt.Sprintf("d/%d", i), Payload: fmt.Appendf(nil, `{"ts":%d}`, base+int64(i))})
			}
			mqtttest.Publish(t, b.Addr(), msgs...)
			for range 4 {
				select {
				case <-got:
				case <-time.After(10 * time.Second):
					t.Fatal("the first client did not receive the 4 messages within 10s")
				}
			}
			c.Disconnect(100) // without acknowledging them

			db := openDB(t)
			repo := rechist.NewRepo[json.RawMessage](db)
			for i := range 2 { // the rows of the first deliveries
				if err := repo.StoreAt(context.Background(), fmt.Sprintf("d.%d", i), json.RawMessage(fmt.Sprintf(`{"ts":%d}`, base+int64(i))), time.UnixMilli(base+int64(i))); err != nil {
					t.Fatal(err)
				}
			}
			opts := []rechistmqtt.Option{rechistmqtt.WithClientID(id)}
			if withTime {
				opts = append(opts, rechistmqtt.WithTimeField("ts"))
			}
			rec, err := rechistmqtt.New(db, b.URL("", ""), []string{"d/#"}, opts...)
			if err != nil {
				t.Fatal(err)
			}
			runFor(t, rec, "the redeliveries", func() bool { s := rec.Stats(); return s.Rows+s.Duplicates == 4 })
			s := rec.Stats()
			all := rows(t, db)
			n := 0
			for _, v := range all {
				n += len(v)
			}
			if withTime {
				if s.Duplicates != 2 || s.Rows != 2 || s.Redelivered != 0 || n != 4 {
					t.Errorf("stats %+v, %d rows; want 2 duplicates, 2 rows stored, 4 rows in all", s, n)
				}
			} else if s.Redelivered != 4 || s.Rows != 4 || s.Duplicates != 0 || n != 6 {
				t.Errorf("stats %+v, %d rows; want 4 redelivered and stored, 6 rows in all (2 extra)", s, n)
			}
		})
	}
}

// TestRecorderBacksOffWhenDropped runs two recorders with one client id:
// the broker drops each when the other connects. The wait after each loss
// must grow (250 ms, doubling), not restart at zero, so that the two do not
// take the session from each other in a tight loop.
func TestRecorderBacksOffWhenDropped(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Config{})
	lost := make(chan rechistmqtt.Event, 100)
	var recs []*rechistmqtt.Recorder
	for range 2 {
		rec, err := rechistmqtt.New(openDB(t), b.URL("", ""), []string{"x/#"}, rechistmqtt.WithClientID("shared"),
			rechistmqtt.WithMaxBackoff(time.Second),
			rechistmqtt.WithConnectionEvents(func(e rechistmqtt.Event) {
				if e.Kind == rechistmqtt.Lost {
					select {
					case lost <- e:
					default: // never block Run
					}
				}
			}))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
		started(t, rec)
	}
	var retries []time.Duration
	deadline := time.After(20 * time.Second)
	for len(retries) < 6 {
		select {
		case e := <-lost:
			retries = append(retries, e.Retry)
		case <-deadline:
			t.Fatalf("only %d losses within 20s: %v", len(retries), retries)
		}
	}
	// Each recorder's waits double: among 6 losses of the two, at least
	// one waits 1s (the limit here), none less than 250 ms.
	if !strings.Contains(fmt.Sprint(retries), "1s") {
		t.Errorf("waits after the losses %v: none reached the 1s limit", retries)
	}
	for _, r := range retries {
		if r < 250*time.Millisecond {
			t.Errorf("waits after the losses %v: one under 250ms", retries)
		}
	}
	if s := recs[0].Stats().Lost + recs[1].Stats().Lost; s > 40 {
		t.Errorf("%d losses: the recorders reconnect in a loop", s)
	}
}

func TestRecorderOptionChecks(t *testing.T) {
	db := openDB(t)
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	for what, opt := range map[string]rechistmqtt.Option{
		"prefix not UTF-8":      rechistmqtt.WithPrefix("a\xff"),
		"prefix too long":       rechistmqtt.WithPrefix(strings.Repeat("p", rechist.MaxNameBytes)),
		"TLS with mqtt://":      rechistmqtt.WithTLSConfig(cfg),
		"prefix with NUL bytes": rechistmqtt.WithPrefix("a\x00"),
	} {
		if _, err := rechistmqtt.New(db, "mqtt://h", []string{"#"}, opt); !errors.Is(err, rechist.ErrInvalidArgument) {
			t.Errorf("%s: New = %v, want ErrInvalidArgument", what, err)
		}
	}
	for _, u := range []string{"mqtts://h", "ssl://h", "tls://h"} {
		if _, err := rechistmqtt.New(db, u, []string{"#"}, rechistmqtt.WithTLSConfig(cfg)); err != nil {
			t.Errorf("TLS config with %s: %v", u, err)
		}
	}
	if _, err := rechistmqtt.New(db, "mqtt://h", []string{"#"}, rechistmqtt.WithPrefix(strings.Repeat("p", rechist.MaxNameBytes-1))); err != nil {
		t.Errorf("a prefix of MaxNameBytes-1 bytes: %v", err)
	}
}

func TestDefaultClientID(t *testing.T) {
	t.Chdir(t.TempDir())
	abs, err := filepath.Abs("h.db")
	if err != nil {
		t.Fatal(err)
	}
	id := rechistmqtt.DefaultClientID("h.db", []string{"a/#", "b/+"})
	if !strings.HasPrefix(id, "rechist-") || len(id) != len("rechist-")+12 {
		t.Errorf("id %q, want rechist- and 12 hex digits", id)
	}
	if other := rechistmqtt.DefaultClientID(abs, []string{"b/+", "a/#"}); other != id {
		t.Errorf("the absolute path and the filters in another order give %q, want %q", other, id)
	}
	if other := rechistmqtt.DefaultClientID(abs, []string{"a/#"}); other == id {
		t.Error("other filters give the same id")
	}
}

// TestRecorderBrokerDefaultQueue shows what mosquitto's default
// max_queued_messages (1000 per client) does to a recorder that is down:
// of 1,200 messages published meanwhile, the broker keeps about 1,000 and
// drops the rest before the recorder can see them. The docs tell users to
// raise the limit.
func TestRecorderBrokerDefaultQueue(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Config{MaxQueued: -1})
	db := openDB(t)
	newRec := func() *rechistmqtt.Recorder {
		rec, err := rechistmqtt.New(db, b.URL("", ""), []string{"q/#"})
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	first := newRec()
	runFor(t, first, "the session", func() bool { return first.Stats().Connects == 1 })
	const n = 1200
	msgs := make([]mqtttest.Message, n)
	for i := range msgs {
		msgs[i] = mqtttest.Message{Topic: "q/a", Payload: fmt.Appendf(nil, "%d", i)}
	}
	mqtttest.Publish(t, b.Addr(), msgs...)
	rec := newRec()
	started(t, rec)
	// Messages arrive in order: once "end" is stored, the queue was
	// delivered.
	mqtttest.Publish(t, b.Addr(), mqtttest.Message{Topic: "q/end", Payload: []byte("1")})
	waitFor(t, "the end marker", func() bool { return len(rows(t, db)["q.end"]) == 1 })
	got := len(rows(t, db)["q.a"])
	if got < 1000 || got >= n {
		t.Errorf("%d of %d messages stored, want mosquitto's default queue of 1000 (and up to its 20 in flight)", got, n)
	}
	t.Logf("mosquitto's default queue kept %d of %d messages published while the recorder was down", got, n)
}
