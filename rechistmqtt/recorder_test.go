package rechistmqtt_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/rechistmqtt"
	"github.com/seed178a96f3/rechist/rechistmqtt/mqtttest"
)

// started runs rec until the test ends and waits for its first
// connection.
func started(t *testing.T, rec *rechistmqtt.Recorder) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rec.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10s of its ctx ending")
		}
	})
	waitFor(t, "the first connection", func() bool { return rec.Stats().Connects > 0 })
}

// waitFor polls cond until it holds, failing the test after 15 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 15s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func openDB(t *testing.T) *rechist.DB {
	t.Helper()
	db, err := rechist.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"), rechist.WithSynchronous(rechist.SyncNormal))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rows returns each record's values, oldest first.
func rows(t *testing.T, db *rechist.DB) map[string][]string {
	t.Helper()
	recs, err := rechist.Query[json.RawMessage](context.Background(), db, "*", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for i := len(recs) - 1; i >= 0; i-- {
		out[recs[i].Name] = append(out[recs[i].Name], string(recs[i].Value))
	}
	return out
}

func TestRecorderMapsTopicsAndPayloads(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Config{})
	db := openDB(t)
	rec, err := rechistmqtt.New(db, b.URL("", ""), []string{"#"}, rechistmqtt.WithClientID("map-test"))
	if err != nil {
		t.Fatal(err)
	}
	started(t, rec)
	cases := []struct {
		topic, payload string
		name, value    string // value "" expects no row
	}{
		{"zigbee2mqtt/kitchen/temperature", "21.5", "zigbee2mqtt.kitchen.temperature", "21.5"},
		{"tasmota/stat/POWER", "ON", "tasmota.stat.POWER", `"ON"`},
		{"zigbee2mqtt/kitchen/sensor", `{ "temperature": 21.5, "humidity": 40 }`, "zigbee2mqtt.kitchen.sensor", `{"temperature":21.5,"humidity":40}`},
		{"ha/switch", "true", "ha.switch", "true"},
		{"ha/text", "a <b> & c", "ha.text", `"a <b> & c"`},
		{"ha/quoted", `"quoted"`, "ha.quoted", `"quoted"`},
		{"ha/spaced", " 42 \n", "ha.spaced", "42"},
		{"ha/comma", "21,5", "ha.comma", `"21,5"`},
		{"ha/null", "null", "ha.null", "null"},
		{"ha/empty", "", "ha.empty", ""},
		{"ha/binary", "\xff\xfe\x00", "ha.binary", ""},
		{"ha/huge", "1e400", "ha.huge", ""},
		{"ha//level", "1", "ha..level", ""},
		{"ha/trailing/", "1", "ha.trailing.", ""},
	}
	var msgs []mqtttest.Message
	for _, c := range cases {
		msgs = append(msgs, mqtttest.Message{Topic: c.topic, Payload: []byte(c.payload)})
	}
	mqtttest.Publish(t, b.Addr(), msgs...)
	waitFor(t, "every message", func() bool {
		s := rec.Stats()
		return s.Rows+s.Skipped()+s.Refused() == int64(len(cases))
	})
	got := rows(t, db)
	for _, c := range cases {
		switch {
		case c.value == "" && got[c.name] != nil:
			t.Errorf("%s %q: stored %v, want no row", c.topic, c.payload, got[c.name])
		case c.value != "" && (len(got[c.name]) != 1 || got[c.name][0] != c.value):
			t.Errorf("%s %q: stored %v, want [%s]", c.topic, c.payload, got[c.name], c.value)
		}
	}
	s := rec.Stats()
	want := rechistmqtt.Stats{Messages: 14, Rows: 9, SkippedEmpty: 1, SkippedBinary: 1, RefusedValue: 1, RefusedName: 2, Connects: 1, Connected: true}
	if s != want {
		t.Errorf("stats %+v, want %+v", s, want)
	}
}

func TestRecorderRetainedAndTimeField(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Config{})
	mqtttest.Publish(t, b.Addr(),
		mqtttest.Message{Topic: "old/a", Payload: []byte(`{"v":1,"ts":1795593600000}`), Retained: true},
		mqtttest.Message{Topic: "old/b", Payload: []byte(`{"v":2}`), Retained: true})
	for _, retained := range []bool{false, true} {
		db := openDB(t)
		opts := []rechistmqtt.Option{rechistmqtt.WithTimeField("ts"), rechistmqtt.WithPrefix("p.")}
		if retained {
			opts = append(opts, rechistmqtt.WithRetained())
		}
		rec, err := rechistmqtt.New(db, b.URL("", ""), []string{"old/+", "new/#"}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		started(t, rec)
		mqtttest.Publish(t, b.Addr(),
			mqtttest.Message{Topic: "new/x", Payload: []byte(`{"v":3,"ts":"2026-11-25T08:00:00Z"}`)},
			mqtttest.Message{Topic: "new/y", Payload: []byte(`{"v":4,"ts":1795593600}`)}, // seconds: refused
			mqtttest.Message{Topic: "other/z", Payload: []byte(`5`)})                     // not subscribed
		waitFor(t, "the messages", func() bool { s := rec.Stats(); return s.Messages == 4 && s.Rows+s.Skipped()+s.Refused() == 4 })
		s := rec.Stats()
		if s.RefusedTime != 1 {
			t.Errorf("retained=%v: RefusedTime %d, want 1", retained, s.RefusedTime)
		}
		got, err := rechist.Query[json.RawMessage](context.Background(), db, "*", rechist.QueryParams{})
		if err != nil {
			t.Fatal(err)
		}
		at := map[string]time.Time{}
		for _, r := range got {
			at[r.Name] = r.StoredAt
		}
		if want := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC); !at["p.new.x"].Equal(want) {
			t.Errorf("p.new.x at %v, want %v", at["p.new.x"], want)
		}
		if retained {
			if len(got) != 3 || !at["p.old.a"].Equal(time.UnixMilli(1795593600000)) || time.Since(at["p.old.b"]) > time.Minute {
				t.Errorf("with retained: rows %v", at)
			}
			if s.SkippedRetained != 0 {
				t.Errorf("with retained: SkippedRetained %d", s.SkippedRetained)
			}
		} else if len(got) != 1 || s.SkippedRetained != 2 {
			t.Errorf("without retained: rows %v, SkippedRetained %d, want p.new.x and 2", at, s.SkippedRetained)
		}
	}
}

func TestRecorderRefusals(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Config{Users: map[string]string{"alice": "secret"}})
	db := openDB(t)
	rec, err := rechistmqtt.New(db, b.URL("alice", "wrong"), []string{"#"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := rec.Run(ctx); !errors.Is(err, rechistmqtt.ErrRefused) {
		t.Errorf("wrong password: Run = %v, want ErrRefused", err)
	}
	for _, bad := range []struct {
		url     string
		filters []string
	}{
		{"http://127.0.0.1", []string{"#"}},
		{"mqtt://", []string{"#"}},
		{"mqtt://h/path", []string{"#"}},
		{"mqtt://h", nil},
		{"mqtt://h", []string{"a/#/b"}},
		{"mqtt://h", []string{"a/b+"}},
		{"mqtt://h", []string{"a", "a"}},
		{"mqtt://h", []string{""}},
	} {
		if _, err := rechistmqtt.New(db, bad.url, bad.filters); !errors.Is(err, rechist.ErrInvalidArgument) {
			t.Errorf("New(%q, %q) = %v, want ErrInvalidArgument", bad.url, bad.filters, err)
		}
	}
	if _, err := rechistmqtt.New(db, "mqtt://h", []string{"#"}, rechistmqtt.WithPrefix("a"), rechistmqtt.WithPrefix("b")); !errors.Is(err, rechist.ErrInvalidArgument) {
		t.Errorf("an option twice: %v", err)
	}
}

func TestRecorderTLS(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Config{TLS: true})
	db := openDB(t)
	cfg, err := rechistmqtt.TLSConfig(b.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	// Without the test CA the system's pool does not trust the broker.
	events := make(chan rechistmqtt.Event, 10)
	untrusted, err := rechistmqtt.New(db, b.TLSURL("", ""), []string{"#"},
		rechistmqtt.WithConnectionEvents(func(e rechistmqtt.Event) {
			select {
			case events <- e:
			default: // the callback must not block Run
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- untrusted.Run(ctx) }()
	select {
	case e := <-events:
		if e.Kind != rechistmqtt.Failed || e.Err == nil {
			t.Errorf("without the CA: event %+v, want a failure", e)
		}
	case <-time.After(15 * time.Second):
		t.Error("without the CA: no event within 15s")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of its ctx ending")
	}

	rec, err := rechistmqtt.New(db, b.TLSURL("", ""), []string{"s/#"}, rechistmqtt.WithTLSConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	started(t, rec)
	mqtttest.Publish(t, b.Addr(), mqtttest.Message{Topic: "s/t", Payload: []byte("1")})
	waitFor(t, "the row", func() bool { return rec.Stats().Rows == 1 })
}
