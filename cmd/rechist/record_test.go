package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/rechistmqtt/mqtttest"
)

// recorder is a running `rechist record`.
type recorder struct {
	cmd    *exec.Cmd
	lines  chan string // its stdout, line by line
	stderr *syncBuffer
	done   chan struct{}
	code   int
	out    strings.Builder // every stdout line seen by waitLine
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startRecorder starts rechist with args in dir; the test's end kills it
// if it still runs.
func startRecorder(t *testing.T, dir string, env []string, args ...string) *recorder {
	t.Helper()
	r := &recorder{cmd: command(dir, env, args...), lines: make(chan string, 1000), stderr: &syncBuffer{}, done: make(chan struct{})}
	r.cmd.Stderr = r.stderr
	mqtttest.DieWithParent(r.cmd) // killed with the test process
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case r.lines <- sc.Text():
			default: // nobody reads: drop
			}
		}
		err := r.cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		}
		close(r.lines)
		close(r.done)
	}()
	t.Cleanup(func() { r.kill(t) })
	return r
}

// kill SIGKILLs the recorder and waits for it to exit, at most 10 seconds.
func (r *recorder) kill(t *testing.T) {
	t.Helper()
	_ = r.cmd.Process.Kill()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Errorf("rechist record (pid %d) did not exit within 10s of SIGKILL", r.cmd.Process.Pid)
	}
}

// waitLine waits for a stdout line holding s, at most 15 seconds.
func (r *recorder) waitLine(t *testing.T, s string) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case l, ok := <-r.lines:
			if !ok {
				t.Fatalf("rechist record exited (%d) before printing %q; stdout:\n%s\nstderr:\n%s", r.code, s, r.out.String(), r.stderr.String())
			}
			r.out.WriteString(l + "\n")
			if strings.Contains(l, s) {
				return
			}
		case <-timeout:
			t.Fatalf("no line with %q within 15s; stdout:\n%s\nstderr:\n%s", s, r.out.String(), r.stderr.String())
		}
	}
}

// stop sends SIGINT and waits for the exit (at most 15 seconds), which
// must be 130.
func (r *recorder) stop(t *testing.T) {
	t.Helper()
	_ = r.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-r.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("rechist record did not stop within 15s of SIGINT; stderr:\n%s", r.stderr.String())
	}
	for l := range r.lines {
		r.out.WriteString(l + "\n")
	}
	if r.code != 130 {
		t.Errorf("exit %d after SIGINT, want 130; stderr:\n%s", r.code, r.stderr.String())
	}
}

// storedRows reads every row of the file at path (nil, nil when the file
// does not exist yet).
func storedRows(t *testing.T, path string) []rechist.Record[json.RawMessage] {
	t.Helper()
	db, err := rechist.Open(context.Background(), path, rechist.WithReadOnly())
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	recs, err := rechist.Query[json.RawMessage](context.Background(), db, "*", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// waitRows polls the file until it holds n rows, at most 30 seconds.
func waitRows(t *testing.T, path string, n int) []rechist.Record[json.RawMessage] {
	t.Helper()
	return waitRowsWithin(t, path, n, 30*time.Second)
}

// waitRowsWithin polls the file until it holds n rows, at most limit.
func waitRowsWithin(t *testing.T, path string, n int, limit time.Duration) []rechist.Record[json.RawMessage] {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		recs := storedRows(t, path)
		if len(recs) >= n {
			return recs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d rows after %v, want %d", path, len(recs), limit, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRecordMapsTopicsWithFilters(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Config{})
	for _, keep := range []bool{false, true} {
		dir := t.TempDir()
		args := []string{"--db", "h.db", "record", b.URL("", ""), "--topic", "zigbee2mqtt/+/temperature", "-t", "tasmota/#", "--prefix", "home."}
		if keep {
			args = append(args, "--keep-slashes")
		}
		r := startRecorder(t, dir, nil, args...)
		r.waitLine(t, "connected to")
		mqtttest.Publish(t, b.Addr(),
			mqtttest.Message{Topic: "zigbee2mqtt/kitchen/temperature", Payload: []byte("21.5")},
			mqtttest.Message{Topic: "zigbee2mqtt/kitchen/humidity", Payload: []byte("40")}, // not subscribed
			mqtttest.Message{Topic: "zigbee2mqtt/kitchen/x/temperature", Payload: []byte("1")},
			mqtttest.Message{Topic: "tasmota/stat/POWER", Payload: []byte("ON")},
			mqtttest.Message{Topic: "tasmota", Payload: []byte(`{"a": [1, 2]}`)}, // '#' matches its parent level too
			mqtttest.Message{Topic: "tasmota/x", Payload: []byte("1e999")},       // refused
			mqtttest.Message{Topic: "tasmota/y", Payload: []byte("")},            // skipped
			mqtttest.Message{Topic: "tasmota/last", Payload: []byte("done")})
		recs := waitRows(t, filepath.Join(dir, "h.db"), 4)
		r.stop(t)
		got := map[string]string{}
		for _, rec := range recs {
			got[rec.Name] = string(rec.Value)
		}
		sep := "."
		if keep {
			sep = "/"
		}
		want := map[string]string{
			"home.zigbee2mqtt" + sep + "kitchen" + sep + "temperature": "21.5",
			"home.tasmota" + sep + "stat" + sep + "POWER":              `"ON"`,
			"home.tasmota":                `{"a":[1,2]}`,
			"home.tasmota" + sep + "last": `"done"`,
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("keep slashes %v: rows %v, want %v", keep, got, want)
		}
		errOut := r.stderr.String()
		if !strings.Contains(errOut, "topic=tasmota/x") || !strings.Contains(errOut, "4 rows stored") ||
			!strings.Contains(errOut, "refused 1 (0 topics, 1 values, 0 times)") || !strings.Contains(errOut, "1 empty") {
			t.Errorf("keep slashes %v: stderr does not report the refusal, the skip and the rows:\n%s", keep, errOut)
		}
	}
}

func TestRecordRetained(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Config{})
	mqtttest.Publish(t, b.Addr(), mqtttest.Message{Topic: "r/old", Payload: []byte("1"), Retained: true})
	for _, retained := range []bool{false, true} {
		dir := t.TempDir()
		args := []string{"--db", "h.db", "record", b.URL("", ""), "-t", "r/#"}
		if retained {
			args = append(args, "--retained")
		}
		r := startRecorder(t, dir, nil, args...)
		r.waitLine(t, "connected to")
		mqtttest.Publish(t, b.Addr(), mqtttest.Message{Topic: "r/new", Payload: []byte("2")})
		want := map[bool]int{false: 1, true: 2}[retained]
		recs := waitRows(t, filepath.Join(dir, "h.db"), want)
		r.stop(t)
		names := []string{}
		for _, rec := range recs {
			names = append(names, rec.Name)
		}
		if len(recs) != want {
			t.Errorf("--retained %v: rows %v, want %d", retained, names, want)
		}
		if !retained && !strings.Contains(r.stderr.String(), "1 retained") {
			t.Errorf("without --retained, the skipped retained message is not reported:\n%s", r.stderr.String())
		}
	}
}

func TestRecordWrongPasswordAndUsage(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Config{Users: map[string]string{"alice": "secret"}})
	dir := t.TempDir()
	res := runEnv(t, dir, "", []string{"RECHIST_MQTT_URL=" + b.URL("alice", "wrong-pw")}, "--db", "h.db", "record", "-t", "#")
	if res.code != 1 || !strings.Contains(res.stderr, "wrong user name or password") || strings.Contains(res.stderr+res.stdout, "wrong-pw") {
		t.Errorf("wrong password: exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit 1, the broker's refusal, no password", res.code, res.stdout, res.stderr)
	}
	usage := t.TempDir()
	for _, args := range [][]string{
		{"record", "-t", "#"},                             // no URL
		{"record", b.URL("", "")},                         // no topic
		{"record", "http://x", "-t", "#"},                 // not mqtt
		{"record", b.URL("", ""), "-t", "a/#/b"},          // bad filter
		{"record", b.URL("", ""), "-t", "#", "--ca", "x"}, // --ca without mqtts
		{"record", b.URL("", ""), "-t", "#", "--time-field", "a..b"},
	} {
		if res := runCLI(t, usage, "", append([]string{"--db", "h.db"}, args...)...); res.code != 2 {
			t.Errorf("rechist %v: exit %d, want 2\nstderr:\n%s", args, res.code, res.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(usage, "h.db")); err == nil {
		t.Error("a usage error created the database")
	}
	// The right password records.
	r := startRecorder(t, dir, []string{"RECHIST_MQTT_URL=" + b.URL("alice", "secret")}, "--db", "h.db", "record", "-t", "#")
	r.waitLine(t, "connected to")
	r.stop(t)
}

func TestRecordTLS(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Config{TLS: true})
	dir := t.TempDir()
	r := startRecorder(t, dir, nil, "--db", "h.db", "record", b.TLSURL("", ""), "-t", "s/#", "--ca", b.CAFile)
	r.waitLine(t, "connected to mqtts://")
	mqtttest.Publish(t, b.Addr(), mqtttest.Message{Topic: "s/1", Payload: []byte("1")})
	waitRows(t, filepath.Join(dir, "h.db"), 1)
	r.stop(t)
	// ssl:// is mqtts:// too, and takes --ca.
	ssl := strings.Replace(b.TLSURL("", ""), "mqtts://", "ssl://", 1)
	r = startRecorder(t, dir, nil, "--db", "h.db", "record", ssl, "-t", "s/#", "--ca", b.CAFile)
	r.waitLine(t, "connected to")
	r.stop(t)
	// Without --ca, the system's pool does not know the test CA: a line
	// says so and it retries until stopped.
	r = startRecorder(t, dir, nil, "--db", "h.db", "record", b.TLSURL("", ""), "-t", "s/#")
	r.waitLine(t, "certificate")
	r.stop(t)
}

// TestRecordSurvivesKillsAndBrokerRestart SIGKILLs the recorder 20 times
// and restarts the broker while a publisher sends QoS 1 messages with
// sequence numbers and times: every message is stored exactly once (each
// carries its time, so a message redelivered after a kill between commit
// and acknowledgement finds its row; TestRecorderRedelivered in
// rechistmqtt shows that this lookup runs and skips such a message).
// It sends 10,000 messages, or RECHIST_TEST_MQTT_KILL_MESSAGES (the issue
// asks for 50,000; killTest spreads the kills over the longer stream).
func TestRecordSurvivesKillsAndBrokerRestart(t *testing.T) {
	n := 10_000
	if v := os.Getenv("RECHIST_TEST_MQTT_KILL_MESSAGES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			t.Fatalf("RECHIST_TEST_MQTT_KILL_MESSAGES=%q: want a number of messages, at least 1000", v)
		}
	}
	extra := killTest(t, n, 20, true)
	if extra != 0 {
		t.Errorf("%d extra rows with --time-field, want none", extra)
	}
}

// TestRecordKillsWithoutTimeField is the kill test without --time-field:
// every message is stored, and a redelivered one is stored again, so a
// message may have more than one row. Each extra row is the redelivery of
// a message that was in flight (delivered, not yet acknowledged) when a
// connection ended (a kill, the broker's restart, the final stop), or a
// message the publisher sent again after the broker's restart (its own
// QoS 1 retry, a new message to the broker). No bound on them is asserted:
// the publisher's retries have none (a CI run made 614 over 5,000
// messages, where a bound of 20 in flight per connection end had held in
// every run before).
func TestRecordKillsWithoutTimeField(t *testing.T) {
	const kills = 10
	extra := killTest(t, 5000, kills, false)
	t.Logf("%d extra rows (redeliveries) over %d kills", extra, kills)
}

// killTest publishes n messages while the recorder is killed kills times
// and the broker restarted halfway, then checks that every message has a
// row, at its time with withTime, and returns the number of extra rows.
// The publisher's pace is fixed (publishSeq: about 2,500 messages/s), so
// above 10,000 messages the time between kills, and the limits of the
// waits on the publisher and the rows, grow by n/10,000: the kills still
// span the stream.
func killTest(t *testing.T, n, kills int, withTime bool) (extra int) {
	scale := max(1, float64(n)/10_000)
	scaled := func(d time.Duration) time.Duration { return time.Duration(float64(d) * scale) }
	began := time.Now()
	b := mqtttest.Start(t, mqtttest.Config{})
	dir := t.TempDir()
	path := filepath.Join(dir, "h.db")
	args := []string{"--db", "h.db", "record", b.URL("", ""), "-t", "dev/#", "--client-id", "kill-test"}
	if withTime {
		args = append(args, "--time-field", "ts")
	}
	// The first run makes the session; from then on the broker queues.
	r := startRecorder(t, dir, nil, args...)
	r.waitLine(t, "connected to")
	r.kill(t)

	pubErr := make(chan error, 1)
	half, restarted := make(chan struct{}), make(chan struct{})
	base := time.Now().Add(-time.Hour).UnixMilli()
	go func() { pubErr <- publishSeq(b, n, base, half, restarted) }()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < kills; i++ {
		r := startRecorder(t, dir, nil, args...)
		time.Sleep(scaled(time.Duration(150+rng.IntN(250)) * time.Millisecond))
		r.kill(t)
		if i == kills/2 {
			select {
			case <-half:
			case err := <-pubErr:
				t.Fatalf("publisher: %v", err)
			case <-time.After(scaled(20 * time.Second)):
				t.Fatalf("the publisher did not send half of its messages within %v", scaled(20*time.Second))
			}
			b.Restart(t) // while the recorder is down, with messages queued
			close(restarted)
		}
	}
	select {
	case err := <-pubErr:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(scaled(30 * time.Second)):
		t.Fatalf("the publisher did not finish within %v", scaled(30*time.Second))
	}
	published := time.Since(began)
	r = startRecorder(t, dir, nil, args...)
	r.waitLine(t, "connected to")
	recs := waitRowsWithin(t, path, n, scaled(30*time.Second))
	r.stop(t)
	t.Logf("%d messages published, %d kills and a broker restart, in %v; then the last run stored the rest in %v; its summary:\n%s",
		n, kills, published.Round(time.Millisecond), (time.Since(began) - published).Round(time.Millisecond), strings.TrimSpace(r.stderr.String()))
	recs = storedRows(t, path)
	seen := make([]int, n)
	for _, rec := range recs {
		var v struct {
			Seq int   `json:"seq"`
			TS  int64 `json:"ts"`
		}
		if err := json.Unmarshal(rec.Value, &v); err != nil || v.Seq < 0 || v.Seq >= n {
			t.Fatalf("row %s %s", rec.Name, rec.Value)
		}
		if withTime && rec.StoredAt.UnixMilli() != v.TS {
			t.Errorf("seq %d stored at %d, want its ts %d", v.Seq, rec.StoredAt.UnixMilli(), v.TS)
		}
		seen[v.Seq]++
	}
	var missing []int
	for i, c := range seen {
		if c == 0 {
			missing = append(missing, i)
		}
		extra += max(c-1, 0)
	}
	if len(missing) > 0 {
		t.Errorf("%d rows for %d messages: %d missing (%v...)", len(recs), n, len(missing), missing[:min(10, len(missing))])
	}
	t.Logf("%d rows for %d messages: %d missing, %d extra", len(recs), n, len(missing), extra)
	return extra
}

// publishSeq publishes n QoS 1 messages {"seq":i,"ts":base+i} over 8
// topics, paced (batches of 100, 40 ms apart: about four seconds for
// 10,000), each acknowledged by the broker before the next batch. Half of them go out before the broker restarts:
// it closes half then and waits for restarted.
func publishSeq(b *mqtttest.Broker, n int, base int64, half chan<- struct{}, restarted <-chan struct{}) error {
	connect := func() (paho.Client, error) {
		c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + b.Addr()).SetClientID("seq-pub").SetAutoReconnect(false))
		tok := c.Connect()
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			return nil, fmt.Errorf("publisher: connect: %v", tok.Error())
		}
		return c, nil
	}
	c, err := connect()
	if err != nil {
		return err
	}
	const batch = 100
	for i := 0; i < n; i += batch {
		if i == n/2 {
			c.Disconnect(100)
			close(half)
			select {
			case <-restarted:
			case <-time.After(20 * time.Second):
				return fmt.Errorf("publisher: the broker did not restart within 20s")
			}
			if c, err = connect(); err != nil {
				return err
			}
		}
		var toks []paho.Token
		for j := i; j < min(i+batch, n); j++ {
			toks = append(toks, c.Publish(fmt.Sprintf("dev/%d/seq", j%8), 1, false, fmt.Sprintf(`{"seq":%d,"ts":%d}`, j, base+int64(j))))
		}
		for _, tok := range toks {
			if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				return fmt.Errorf("publisher: message of batch %d not acknowledged: %v", i, tok.Error())
			}
		}
		time.Sleep(40 * time.Millisecond)
	}
	c.Disconnect(100)
	return nil
}

// TestRecordStopsGracefully stops the recorder with SIGINT while messages
// arrive: it exits 130 saying what it stored, and the next run stores the
// rest, each message once.
func TestRecordStopsGracefully(t *testing.T) {
	const n = 3000
	b := mqtttest.Start(t, mqtttest.Config{})
	dir := t.TempDir()
	path := filepath.Join(dir, "h.db")
	args := []string{"--db", "h.db", "record", b.URL("", ""), "-t", "g/#", "--time-field", "ts"}
	r := startRecorder(t, dir, nil, args...)
	r.waitLine(t, "connected to")
	base := time.Now().Add(-time.Hour).UnixMilli()
	msgs := make([]mqtttest.Message, n)
	for i := range msgs {
		msgs[i] = mqtttest.Message{Topic: "g/x", Payload: fmt.Appendf(nil, `{"seq":%d,"ts":%d}`, i, base+int64(i))}
	}
	mqtttest.Publish(t, b.Addr(), msgs...)
	r.stop(t)
	if !strings.Contains(r.stderr.String(), "stopped: ") || !strings.Contains(r.stderr.String(), "rows stored") {
		t.Errorf("no summary after SIGINT:\n%s", r.stderr.String())
	}
	r = startRecorder(t, dir, nil, args...)
	r.waitLine(t, "session resumed")
	recs := waitRows(t, path, n)
	r.stop(t)
	recs = storedRows(t, path)
	seen := map[int64]int{}
	for _, rec := range recs {
		seen[rec.StoredAt.UnixMilli()-base]++
	}
	if len(recs) != n || len(seen) != n {
		t.Errorf("%d rows for %d distinct of %d messages", len(recs), len(seen), n)
	}
}

// TestRecordBrokerRestartWhileRecording restarts the broker while the
// recorder works through a backlog: lines say the connection was lost and
// regained, and every message is stored once.
func TestRecordBrokerRestartWhileRecording(t *testing.T) {
	const n = 3000
	b := mqtttest.Start(t, mqtttest.Config{})
	dir := t.TempDir()
	path := filepath.Join(dir, "h.db")
	r := startRecorder(t, dir, nil, "--db", "h.db", "record", b.URL("", ""), "-t", "m/#", "--time-field", "ts")
	r.waitLine(t, "connected to")
	base := time.Now().Add(-time.Hour).UnixMilli()
	msgs := make([]mqtttest.Message, n)
	for i := range msgs {
		msgs[i] = mqtttest.Message{Topic: fmt.Sprintf("m/%d", i%5), Payload: fmt.Appendf(nil, `{"seq":%d,"ts":%d}`, i, base+int64(i))}
	}
	mqtttest.Publish(t, b.Addr(), msgs...)
	b.Restart(t)
	r.waitLine(t, "connection lost")
	r.waitLine(t, "connection regained")
	waitRows(t, path, n)
	r.stop(t)
	recs := storedRows(t, path)
	seen := map[int64]int{}
	for _, rec := range recs {
		seen[rec.StoredAt.UnixMilli()-base]++
	}
	if len(recs) != n || len(seen) != n {
		t.Errorf("%d rows for %d distinct of %d messages", len(recs), len(seen), n)
	}
}
