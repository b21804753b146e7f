package rechisthttp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/testutil/pgtest"
)

// The conformance cases replay upstream's own, frames in and frames out,
// from aimdb-dev/aimdb at commit 0348e9f85b1188b32a2d040c35544fa39dcec2d5:
//
//   - aimdb-client/tests/aimx_session.rs (aimx_roundtrip_over_uds_production_server,
//     wildcard_subscribe_fans_in_matching_records,
//     a_refused_subscription_is_a_terminal_error_not_a_silent_eof);
//   - aimdb-uds-connector/tests/handshake_version.rs and
//     aimdb-core/src/remote/protocol.rs (version_compatible_matches_on_major);
//   - aimdb-core/src/session/aimx/codec.rs's tests (the frames' bytes,
//     malformed_frames_are_rejected);
//   - aimdb-persistence/tests/query_handler_shape.rs and
//     aimdb-core/src/session/aimx/dispatch.rs
//     (an_omitted_query_name_spans_every_record): record.query's shape.
//
// Each case runs over the WebSocket and over a Unix socket (NDJSON) and a
// TCP socket (length-prefixed frames). A line of out prefixed "ws:" or
// "sock:" is expected on that transport only: the WebSocket acknowledges a
// subscription and sends snapshots of an exact topic, the sockets do not
// (upstream's WebSocket connector and AimxDispatch).

// aimxStep is one step of a case: a frame in, a row stored by another
// process (name=value), or a frame expected out.
type aimxStep struct{ in, store, out string }

func in(f string) aimxStep    { return aimxStep{in: f} }
func out(f string) aimxStep   { return aimxStep{out: f} }
func other(s string) aimxStep { return aimxStep{store: s} }

// aimxSeed is a row the case's file holds before it begins.
type aimxSeed struct {
	name  string
	ms    int64
	value string
}

const welcomeRO = `{"t":"reply","id":1,"ok":{"version":"3.0","server":"rechist","permissions":["read"],"writable_records":[],"max_subscriptions":32,"authenticated":false}}`

// A case whose extension is not empty checks rechist's own behaviour
// where upstream has none to replay, not conformance: it says what and
// on which transports. Upstream's WebSocket session (WsSession,
// aimdb-websocket-connector/src/server/dispatch.rs at 0348e9f) answers
// hello, record.get and record.set not_found; rechist answers them there
// as its socket transports (and upstream's) do.
var aimxCases = []struct {
	name      string
	extension string
	writable  bool
	seed      []aimxSeed
	steps     []aimxStep
}{
	{name: "hello with the current version is welcomed", extension: "rechist extension on the WebSocket (upstream's answers not_found)", steps: []aimxStep{
		in(`{"t":"req","id":1,"method":"hello","params":{"client":"test","version":"3.0"}}`),
		out(welcomeRO),
	}},
	{name: "hello with a later minor version is welcomed", extension: "rechist extension on the WebSocket", steps: []aimxStep{
		in(`{"t":"req","id":1,"method":"hello","params":{"client":"test","version":"3.7"}}`),
		out(welcomeRO),
		in(`{"t":"req","id":1,"method":"hello","params":{"client":"test","version":"3"}}`),
		out(welcomeRO),
	}},
	{name: "hello from a legacy, version-less or garbled client is refused", extension: "rechist extension on the WebSocket", steps: []aimxStep{
		in(`{"t":"req","id":1,"method":"hello","params":{"client":"test","version":"2.0"}}`),
		out(`{"t":"reply","id":1,"err":"version_mismatch"}`),
		in(`{"t":"req","id":2,"method":"hello","params":{"client":"test"}}`),
		out(`{"t":"reply","id":2,"err":"version_mismatch"}`),
		in(`{"t":"req","id":3,"method":"hello","params":{"version":".0"}}`),
		out(`{"t":"reply","id":3,"err":"version_mismatch"}`),
		in(`{"t":"req","id":4,"method":"hello","params":{"version":"garbage"}}`),
		out(`{"t":"reply","id":4,"err":"version_mismatch"}`),
		in(`{"t":"req","id":5,"method":"hello"}`),
		out(`{"t":"reply","id":5,"err":"version_mismatch"}`),
	}},
	{name: "record.get, record.set and write round-trip", writable: true,
		extension: "rechist extension on the WebSocket (upstream's answers record.get and record.set not_found)",
		seed:      []aimxSeed{{"setting", 1000, `{"level":1}`}},
		steps: []aimxStep{
			in(`{"t":"req","id":1,"method":"hello","params":{"client":"aimdb-client","version":"3.0"}}`),
			out(`{"t":"reply","id":1,"ok":{"version":"3.0","server":"rechist","permissions":["read","write"],"writable_records":[],"max_subscriptions":32,"authenticated":false}}`),
			in(`{"t":"req","id":2,"method":"record.get","params":{"name":"setting"}}`),
			out(`{"t":"reply","id":2,"ok":{"level":1}}`),
			in(`{"t":"req","id":3,"method":"record.get","params":{"name":"missing"}}`),
			out(`{"t":"reply","id":3,"err":"not_found"}`),
			in(`{"t":"req","id":4,"method":"record.set","params":{"name":"setting","value":{"level":7}}}`),
			out(`{"t":"reply","id":4,"ok":{"status":"success","value":{"level":7}}}`),
			in(`{"t":"req","id":5,"method":"record.get","params":{"name":"setting"}}`),
			out(`{"t":"reply","id":5,"ok":{"level":7}}`),
			// Fire and forget; FIFO on the connection makes the next get see it.
			in(`{"t":"write","topic":"setting","payload":{"value":{"level":9}}}`),
			in(`{"t":"req","id":6,"method":"record.get","params":{"name":"setting"}}`),
			out(`{"t":"reply","id":6,"ok":{"level":9}}`),
			in(`{"t":"req","id":7,"method":"record.set","params":{"value":1}}`),
			out(`{"t":"reply","id":7,"err":"internal"}`),
		}},
	{name: "a read-only server denies record.set and drops writes",
		seed: []aimxSeed{{"setting", 1000, `{"level":1}`}},
		steps: []aimxStep{
			in(`{"t":"req","id":1,"method":"record.set","params":{"name":"setting","value":{"level":7}}}`),
			out(`{"t":"reply","id":1,"err":"denied"}`),
			in(`{"t":"write","topic":"setting","payload":{"value":{"level":9}}}`),
			in(`{"t":"req","id":2,"method":"record.get","params":{"name":"setting"}}`),
			out(`{"t":"reply","id":2,"ok":{"level":1}}`),
		}},
	{name: "methods a history store cannot serve answer as unknown ones", steps: []aimxStep{
		in(`{"t":"req","id":1,"method":"graph.nodes","params":{}}`),
		out(`{"t":"reply","id":1,"err":"not_found"}`),
		in(`{"t":"req","id":2,"method":"graph.edges","params":{}}`),
		out(`{"t":"reply","id":2,"err":"not_found"}`),
		in(`{"t":"req","id":3,"method":"graph.topo_order","params":{}}`),
		out(`{"t":"reply","id":3,"err":"not_found"}`),
		in(`{"t":"req","id":4,"method":"record.drain","params":{"name":"events"}}`),
		out(`{"t":"reply","id":4,"err":"not_found"}`),
		in(`{"t":"req","id":5,"method":"profiling.reset","params":{}}`),
		out(`{"t":"reply","id":5,"err":"not_found"}`),
		in(`{"t":"req","id":6,"method":"buffer_metrics.reset","params":{}}`),
		out(`{"t":"reply","id":6,"err":"not_found"}`),
		in(`{"t":"req","id":7,"method":"no.such.method","params":null}`),
		out(`{"t":"reply","id":7,"err":"not_found"}`),
	}},
	{name: "malformed frames are skipped and the session goes on", steps: []aimxStep{
		in(`{not json`),
		in(`{"t":"nope"}`),
		in(`{"t":"sub","id":1}`),
		in(`{"t":"req","id":1}`),
		in(`{"t":"req","method":"record.list"}`),
		in(`{"t":"req","id":"1","method":"record.list"}`),
		in(`{"t":"unsub"}`),
		in(`{"t":"write","payload":1}`),
		// serde's derived Deserialize: exact member names, no duplicates,
		// right types for seq/last/err, borrowed (unescaped) strings.
		in(`{"T":"req","id":1,"method":"record.list"}`),
		in(`{"t":"req","ID":1,"method":"record.list"}`),
		in(`{"t":"req","id":1,"id":2,"method":"record.list"}`),
		in(`{"t":"ping","t":"ping"}`),
		in(`{"t":"ping","seq":"x"}`),
		in(`{"t":"ping","last":1}`),
		in(`{"t":"\u0070ing"}`),
		in(`{"t":"ping"} {"t":"ping"}`),
		in(`[{"t":"ping"}]`),
		in(`{"t":"ping","extra":1,"extra":2}`), // unknown members are ignored: one pong
		out(`{"t":"pong"}`),
		in(`{"t":"ping"}`),
		out(`{"t":"pong"}`),
	}},
	{name: "a wildcard subscription fans in matching records",
		seed: []aimxSeed{{"temp.vienna", 1000, `{"level":1}`}},
		steps: []aimxStep{
			in(`{"t":"sub","id":5,"topic":"temp.#"}`),
			out(`ws:{"t":"subscribed","sub":"5"}`),
			out(`{"t":"snap","seq":1,"last":true,"topic":"temp.vienna","sub":"5","data":{"level":1}}`),
			other(`humidity.london={"level":1}`),
			other(`temp.berlin={"level":2}`),
			out(`{"t":"event","seq":2,"topic":"temp.berlin","sub":"5","data":{"level":2}}`),
			other(`temp.vienna={"level":3}`),
			out(`{"t":"event","seq":3,"topic":"temp.vienna","sub":"5","data":{"level":3}}`),
		}},
	{name: "snapshots share the seq space, the last flagged",
		seed: []aimxSeed{{"temp.berlin", 1000, `{"c":18.0}`}, {"temp.vienna", 1000, `{"c":21.5}`}, {"temp.vienna", 500, `{"c":1}`}},
		steps: []aimxStep{
			in(`{"t":"sub","id":8,"topic":"temp.*"}`),
			out(`ws:{"t":"subscribed","sub":"8"}`),
			out(`{"t":"snap","seq":1,"topic":"temp.berlin","sub":"8","data":{"c":18.0}}`),
			out(`{"t":"snap","seq":2,"last":true,"topic":"temp.vienna","sub":"8","data":{"c":21.5}}`),
			other(`temp.vienna.indoor=1`), // "*" is one segment
			other(`temp.graz=42`),
			out(`{"t":"event","seq":3,"topic":"temp.graz","sub":"8","data":42}`),
		}},
	{name: "an exact topic: snapshots on the WebSocket only, events everywhere",
		seed: []aimxSeed{{"setting", 1000, `{"level":1}`}},
		steps: []aimxStep{
			in(`{"t":"sub","id":7,"topic":"setting"}`),
			out(`ws:{"t":"subscribed","sub":"7"}`),
			out(`ws:{"t":"snap","seq":1,"last":true,"topic":"setting","sub":"7","data":{"level":1}}`),
			other(`setting={"level":2}`),
			out(`ws:{"t":"event","seq":2,"topic":"setting","sub":"7","data":{"level":2}}`),
			out(`sock:{"t":"event","seq":1,"sub":"7","data":{"level":2}}`), // untagged, as upstream's SubUpdate::new
		}},
	{name: "a wildcard that matches nothing yet follows records that appear", steps: []aimxStep{
		in(`{"t":"sub","id":9,"topic":"plant.#"}`),
		out(`ws:{"t":"subscribed","sub":"9"}`),
		other(`plant={"on":true}`),
		out(`{"t":"event","seq":1,"topic":"plant","sub":"9","data":{"on":true}}`),
	}},
	{name: "after unsub nothing more comes", steps: []aimxStep{
		in(`{"t":"sub","id":3,"topic":"#"}`),
		out(`ws:{"t":"subscribed","sub":"3"}`),
		in(`{"t":"unsub","sub":"3"}`),
		other(`a.b=1`),
		in(`{"t":"sub","id":4,"topic":"a.#"}`),
		out(`ws:{"t":"subscribed","sub":"4"}`),
		out(`{"t":"snap","seq":1,"last":true,"topic":"a.b","sub":"4","data":1}`),
	}},
	{name: "a topic no record can have is not_found", steps: []aimxStep{
		in(`{"t":"sub","id":3,"topic":""}`),
		out(`{"t":"reply","id":3,"err":"not_found"}`),
	}},
	{name: "record.query answers {records,total} by ts ascending",
		seed: []aimxSeed{{"temp.berlin", 2000, `{"celsius":18.0}`}, {"temp.vienna", 1000, `{"celsius":21.5}`}},
		steps: []aimxStep{
			in(`{"t":"req","id":1,"method":"record.query","params":{}}`),
			out(`{"t":"reply","id":1,"ok":{"records":[{"topic":"temp.vienna","payload":{"celsius":21.5},"ts":1000},{"topic":"temp.berlin","payload":{"celsius":18.0},"ts":2000}],"total":2}}`),
			in(`{"t":"req","id":2,"method":"record.query","params":{"name":"temp.*"}}`),
			out(`{"t":"reply","id":2,"ok":{"records":[{"topic":"temp.vienna","payload":{"celsius":21.5},"ts":1000},{"topic":"temp.berlin","payload":{"celsius":18.0},"ts":2000}],"total":2}}`),
			in(`{"t":"req","id":3,"method":"record.query","params":{"name":"temp.vienna"}}`),
			out(`{"t":"reply","id":3,"ok":{"records":[{"topic":"temp.vienna","payload":{"celsius":21.5},"ts":1000}],"total":1}}`),
			in(`{"t":"req","id":4,"method":"record.query","params":{"name":"nothing.#"}}`),
			out(`{"t":"reply","id":4,"ok":{"records":[],"total":0}}`),
		}},
	{name: "an omitted query name spans every record, at every depth",
		seed: []aimxSeed{{"a", 1, `1`}, {"a.b", 2, `2`}, {"a.b.c", 3, `3`}},
		steps: []aimxStep{
			in(`{"t":"req","id":1,"method":"record.query"}`),
			out(`{"t":"reply","id":1,"ok":{"records":[{"topic":"a","payload":1,"ts":1},{"topic":"a.b","payload":2,"ts":2},{"topic":"a.b.c","payload":3,"ts":3}],"total":3}}`),
			// "*" is one segment, as upstream warns.
			in(`{"t":"req","id":2,"method":"record.query","params":{"name":"*"}}`),
			out(`{"t":"reply","id":2,"ok":{"records":[{"topic":"a","payload":1,"ts":1}],"total":1}}`),
		}},
	{name: "record.query: limit per record (1 when absent), start and end inclusive",
		seed: []aimxSeed{{"s.x", 10, `"x10"`}, {"s.x", 20, `"x20"`}, {"s.x", 30, `"x30"`}, {"s.y", 15, `"y15"`}, {"s.y", 25, `"y25"`}},
		steps: []aimxStep{
			in(`{"t":"req","id":1,"method":"record.query","params":{"name":"s.#"}}`),
			out(`{"t":"reply","id":1,"ok":{"records":[{"topic":"s.y","payload":"y25","ts":25},{"topic":"s.x","payload":"x30","ts":30}],"total":2}}`),
			in(`{"t":"req","id":2,"method":"record.query","params":{"name":"s.#","limit":2}}`),
			out(`{"t":"reply","id":2,"ok":{"records":[{"topic":"s.y","payload":"y15","ts":15},{"topic":"s.x","payload":"x20","ts":20},{"topic":"s.y","payload":"y25","ts":25},{"topic":"s.x","payload":"x30","ts":30}],"total":4}}`),
			in(`{"t":"req","id":3,"method":"record.query","params":{"name":"s.x","limit":10,"start":20,"end":30}}`),
			out(`{"t":"reply","id":3,"ok":{"records":[{"topic":"s.x","payload":"x20","ts":20},{"topic":"s.x","payload":"x30","ts":30}],"total":2}}`),
			in(`{"t":"req","id":4,"method":"record.query","params":{"name":"s.#","limit":5,"end":15}}`),
			out(`{"t":"reply","id":4,"ok":{"records":[{"topic":"s.x","payload":"x10","ts":10},{"topic":"s.y","payload":"y15","ts":15}],"total":2}}`),
			in(`{"t":"req","id":5,"method":"record.query","params":{"name":"s.#","limit":0}}`),
			out(`{"t":"reply","id":5,"ok":{"records":[],"total":0}}`),
			// Members of the wrong type count as absent, as upstream's as_u64 makes them.
			in(`{"t":"req","id":6,"method":"record.query","params":{"name":"s.x","limit":"all","start":-5}}`),
			out(`{"t":"reply","id":6,"ok":{"records":[{"topic":"s.x","payload":"x30","ts":30}],"total":1}}`),
		}},
	{name: "record.query: equal times by name, then insert order",
		seed: []aimxSeed{{"t.b", 5, `"b1"`}, {"t.a", 5, `"a1"`}, {"t.b", 5, `"b2"`}, {"t.a", 4, `"a0"`}},
		steps: []aimxStep{
			in(`{"t":"req","id":1,"method":"record.query","params":{"name":"t.*","limit":3}}`),
			out(`{"t":"reply","id":1,"ok":{"records":[{"topic":"t.a","payload":"a0","ts":4},{"topic":"t.a","payload":"a1","ts":5},{"topic":"t.b","payload":"b1","ts":5},{"topic":"t.b","payload":"b2","ts":5}],"total":4}}`),
		}},
	{name: "record.query replies are whole one after another, whatever their ids",
		extension: "rechist: a query's reply is built in a buffer the session keeps, its envelope written in front of it",
		seed:      []aimxSeed{{"q.a", 1, `{"v":1}`}, {"q.b", 2, `"two"`}},
		steps: []aimxStep{
			in(`{"t":"req","id":18446744073709551615,"method":"record.query","params":{"name":"q.*"}}`),
			out(`{"t":"reply","id":18446744073709551615,"ok":{"records":[{"topic":"q.a","payload":{"v":1},"ts":1},{"topic":"q.b","payload":"two","ts":2}],"total":2}}`),
			in(`{"t":"req","id":0,"method":"record.query","params":{"name":"q.b"}}`),
			out(`{"t":"reply","id":0,"ok":{"records":[{"topic":"q.b","payload":"two","ts":2}],"total":1}}`),
			in(`{"t":"req","id":77,"method":"record.get","params":{"name":"q.c"}}`),
			out(`{"t":"reply","id":77,"err":"not_found"}`),
			in(`{"t":"req","id":123456,"method":"record.query","params":{"name":"q.none"}}`),
			out(`{"t":"reply","id":123456,"ok":{"records":[],"total":0}}`),
			in(`{"t":"req","id":5,"method":"record.query","params":{"name":"q.#","limit":2}}`),
			out(`{"t":"reply","id":5,"ok":{"records":[{"topic":"q.a","payload":{"v":1},"ts":1},{"topic":"q.b","payload":"two","ts":2}],"total":2}}`),
		}},
	{name: "a pattern no record can have is an empty result, not internal",
		extension: "rechist: record.list's pattern; record.query's empty result is upstream's for a name with no rows",
		seed:      []aimxSeed{{"a", 1, `1`}},
		steps: []aimxStep{
			in(`{"t":"req","id":1,"method":"record.query","params":{"name":""}}`),
			out(`{"t":"reply","id":1,"ok":{"records":[],"total":0}}`),
			in(`{"t":"req","id":2,"method":"record.query","params":{"name":"a\u0000b"}}`),
			out(`{"t":"reply","id":2,"ok":{"records":[],"total":0}}`),
			in(`{"t":"req","id":3,"method":"record.query","params":{"name":"` + strings.Repeat("x", 100000) + `"}}`),
			out(`{"t":"reply","id":3,"ok":{"records":[],"total":0}}`),
			in(`{"t":"req","id":4,"method":"record.list","params":{"name":""}}`),
			out(`{"t":"reply","id":4,"ok":[]}`),
		}},
	{name: "record.list lists records with their newest time",
		extension: "rechist extension everywhere: params.name, rows, first_ts, last_ts (upstream's record.list takes no params)",
		seed:      []aimxSeed{{"temp.vienna", 1000, `1`}, {"temp.vienna", 3000, `2`}, {"hum/x", 2000, `3`}},
		steps: []aimxStep{
			in(`{"t":"req","id":1,"method":"record.list","params":{}}`),
			out(`{"t":"reply","id":1,"ok":[{"record_id":0,"record_key":"hum/x","name":"hum/x","type_id":"json","origin":"passive","buffer_type":"history","producer_count":0,"consumer_count":0,"writable":false,"outbound_connector_count":0,"entity":"x","rows":1,"first_ts":2000,"last_ts":2000},` +
				`{"record_id":1,"record_key":"temp.vienna","name":"temp.vienna","type_id":"json","origin":"passive","buffer_type":"history","producer_count":0,"consumer_count":0,"writable":false,"outbound_connector_count":0,"entity":"vienna","rows":2,"first_ts":1000,"last_ts":3000}]}`),
			in(`{"t":"req","id":2,"method":"record.list","params":{"name":"temp.#"}}`),
			// record_id is the place among all records: stable whatever the filter.
			out(`{"t":"reply","id":2,"ok":[{"record_id":1,"record_key":"temp.vienna","name":"temp.vienna","type_id":"json","origin":"passive","buffer_type":"history","producer_count":0,"consumer_count":0,"writable":false,"outbound_connector_count":0,"entity":"vienna","rows":2,"first_ts":1000,"last_ts":3000}]}`),
		}},
}

// aimxServer is a handler on a fresh file with its WebSocket, Unix socket
// and TCP socket.
type aimxServer struct {
	path, base, unix, tcp string
	h                     *Handler
}

func startAIMX(t *testing.T, seed []aimxSeed, dbOpts []rechist.Option, opts ...Option) aimxServer {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "history.db")
	w, err := rechist.Open(t.Context(), path, dbOpts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range seed {
		store(t, w, s.name, s.ms, s.value)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := rechist.Open(t.Context(), path, dbOpts...)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(db, append([]Option{WithPollInterval(10 * time.Millisecond)}, opts...)...)
	srv := httptest.NewServer(h)
	unixLn, err := net.Listen("unix", filepath.Join(dir, "aimx.sock"))
	if err != nil {
		t.Fatal(err)
	}
	tcpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 2)
	go func() { served <- h.ServeAIMX(ctx, unixLn) }()
	go func() { served <- h.ServeAIMX(ctx, tcpLn) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-served; err != nil {
				t.Errorf("ServeAIMX: %v", err)
			}
		}
		h.CloseStreams()
		srv.Close()
		db.Close()
	})
	return aimxServer{path: path, base: srv.URL, unix: unixLn.Addr().String(), tcp: tcpLn.Addr().String(), h: h}
}

// transports are the ways a case is run.
var transports = []struct {
	name, kind string
	dial       func(ctx context.Context, s aimxServer) (aimxWire, error)
}{
	{"websocket", "ws", func(ctx context.Context, s aimxServer) (aimxWire, error) {
		w, _, err := dialAIMXWS(ctx, s.base)
		return w, err
	}},
	{"unix-ndjson", "sock", func(ctx context.Context, s aimxServer) (aimxWire, error) {
		return dialAIMXSocket(ctx, "unix", s.unix, false)
	}},
	{"tcp-length-prefixed", "sock", func(ctx context.Context, s aimxServer) (aimxWire, error) {
		return dialAIMXSocket(ctx, "tcp", s.tcp, true)
	}},
}

// recvFrame reads the next frame within d, failing the test when none comes.
func recvFrame(t *testing.T, w aimxWire, d time.Duration, want string) string {
	t.Helper()
	type res struct {
		b   []byte
		err error
	}
	ch := make(chan res, 1)
	go func() { b, err := w.recv(); ch <- res{b, err} }()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("waiting for %s: %v", want, r.err)
		}
		return string(r.b)
	case <-time.After(d):
		w.close()
		<-ch
		t.Fatalf("waiting for %s: nothing came in %v", want, d)
	}
	return ""
}

func TestAIMXConformance(t *testing.T) {
	t.Parallel()
	for _, c := range aimxCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.extension != "" {
				t.Log("not upstream conformance:", c.extension)
			}
			for _, tr := range transports {
				t.Run(tr.name, func(t *testing.T) {
					var opts []Option
					if c.writable {
						opts = append(opts, Writable())
					}
					s := startAIMX(t, c.seed, nil, opts...)
					ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
					defer cancel()
					w, err := tr.dial(ctx, s)
					if err != nil {
						t.Fatal(err)
					}
					defer w.close()
					var early []string // frames read while waiting for a pong
					for _, st := range c.steps {
						switch {
						case st.in != "":
							if err := w.send([]byte(st.in)); err != nil {
								t.Fatal(err)
							}
						case st.store != "":
							// Every frame sent so far is handled before the
							// other process stores: a ping's pong says so.
							if err := w.send([]byte(`{"t":"ping"}`)); err != nil {
								t.Fatal(err)
							}
							for {
								f := recvFrame(t, w, 30*time.Second, "a pong")
								if f == `{"t":"pong"}` {
									break
								}
								early = append(early, f)
							}
							name, value, _ := strings.Cut(st.store, "=")
							helper(t, s.path, "store", name, value)
						default:
							want, ok := st.out, true
							if k, rest, found := strings.Cut(want, ":{"); found && (k == "ws" || k == "sock") {
								want, ok = "{"+rest, k == tr.kind
							}
							if !ok {
								continue
							}
							var got string
							if len(early) > 0 {
								got, early = early[0], early[1:]
							} else {
								got = recvFrame(t, w, 30*time.Second, want)
							}
							if got != want {
								t.Fatalf("frame out:\n got %s\nwant %s", got, want)
							}
						}
					}
					if len(early) > 0 {
						t.Fatalf("frames no step expected: %q", early)
					}
					// Nothing else came before a ping's pong.
					if err := w.send([]byte(`{"t":"ping"}`)); err != nil {
						t.Fatal(err)
					}
					if got := recvFrame(t, w, 30*time.Second, "the pong"); got != `{"t":"pong"}` {
						t.Fatalf("a frame no step expected: %s", got)
					}
				})
			}
		})
	}
}

// TestAIMXRefusedSubscription: past the subscriptions one connection may
// hold (upstream's default, 32), a subscribe is refused with a reply
// carrying its id; the others go on.
func TestAIMXRefusedSubscription(t *testing.T) {
	t.Parallel()
	s := startAIMX(t, nil, nil)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	w, _, err := dialAIMXWS(ctx, s.base)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	for i := range aimxMaxSubs + 1 {
		if err := w.send(fmt.Appendf(nil, `{"t":"sub","id":%d,"topic":"x.%d"}`, i, i)); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf(`{"t":"subscribed","sub":"%d"}`, i)
		if i == aimxMaxSubs {
			want = fmt.Sprintf(`{"t":"reply","id":%d,"err":"denied"}`, i)
		}
		if got := recvFrame(t, w, 30*time.Second, want); got != want {
			t.Fatalf("subscription %d: got %s, want %s", i, got, want)
		}
	}
	helper(t, s.path, "store", "x.3", "3")
	want := `{"t":"event","seq":1,"topic":"x.3","sub":"3","data":3}`
	if got := recvFrame(t, w, 30*time.Second, want); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// TestAIMXUpgrade: the WebSocket's gates, in upstream's order (version,
// then token), after the handler's Host and origin rules.
func TestAIMXUpgrade(t *testing.T) {
	t.Parallel()
	s := startAIMX(t, nil, nil, WithToken("sesame"), WithAllowedHosts("proxy.example"))
	ws := strings.Replace(s.base, "http", "ws", 1)
	for _, c := range []struct {
		name, url string
		hdr       []string
		code      int
		body      string
	}{
		{"no version", ws + "/aimx", nil, http.StatusUpgradeRequired, "incompatible AimX protocol version (server speaks 3.0)"},
		{"a legacy version", ws + "/aimx?v=2.0", nil, http.StatusUpgradeRequired, "server speaks 3.0"},
		{"no token", ws + "/aimx?v=3.0", nil, http.StatusUnauthorized, "a valid token is required"},
		{"a wrong token", ws + "/aimx?v=3.0&token=nope", nil, http.StatusUnauthorized, "a valid token is required"},
		{"another site's page", ws + "/aimx?v=3.0&token=sesame", []string{"Origin", "https://evil.example"}, http.StatusForbidden, "another origin"},
		{"a Host not allowed", ws + "/aimx?v=3.0&token=sesame", []string{"Host", "evil.example"}, http.StatusForbidden, "not a loopback name"},
		{"the token as a query parameter", ws + "/aimx?v=3.0&token=sesame", nil, http.StatusSwitchingProtocols, ""},
		{"the token as a Bearer header", ws + "/aimx?v=3.0", []string{"Authorization", "Bearer sesame"}, http.StatusSwitchingProtocols, ""},
		{"an allowed host's page", ws + "/aimx?v=3.0", []string{"Authorization", "Bearer sesame", "Origin", "https://proxy.example"}, http.StatusSwitchingProtocols, ""},
		{"the server's own page", ws + "/aimx?v=3.1", []string{"Authorization", "Bearer sesame", "Origin", s.base}, http.StatusSwitchingProtocols, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.Replace(c.url, "ws", "http", 1), nil)
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Sec-WebSocket-Version", "13")
			req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			for i := 0; i+1 < len(c.hdr); i += 2 {
				if c.hdr[i] == "Host" {
					req.Host = c.hdr[i+1]
				} else {
					req.Header.Set(c.hdr[i], c.hdr[i+1])
				}
			}
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != c.code {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.code)
			}
			if c.code == http.StatusSwitchingProtocols {
				return
			}
			b, _ := io.ReadAll(resp.Body)
			if !strings.Contains(string(b), c.body) {
				t.Fatalf("body %q does not say %q", b, c.body)
			}
		})
	}
}

// TestAIMXSocketToken: on a socket, hello carries the token as
// auth_token (upstream's HelloMessage); every request before is denied.
func TestAIMXSocketToken(t *testing.T) {
	t.Parallel()
	s := startAIMX(t, []aimxSeed{{"a", 1, "1"}}, nil, WithToken("sesame"))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	run := func(w aimxWire, steps []struct{ in, out string }) {
		t.Helper()
		for _, st := range steps {
			if err := w.send([]byte(st.in)); err != nil {
				t.Fatal(err)
			}
			if got := recvFrame(t, w, 30*time.Second, st.out); got != st.out {
				t.Fatalf("%s:\n got %s\nwant %s", st.in, got, st.out)
			}
		}
	}
	// A wrong auth_token is denied and ends the connection: one guess a
	// connection.
	w, err := dialAIMXSocket(ctx, "unix", s.unix, false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	run(w, []struct{ in, out string }{
		{`{"t":"req","id":1,"method":"record.get","params":{"name":"a"}}`, `{"t":"reply","id":1,"err":"denied"}`},
		{`{"t":"sub","id":2,"topic":"#"}`, `{"t":"reply","id":2,"err":"denied"}`},
		{`{"t":"req","id":3,"method":"hello","params":{"version":"3.0","auth_token":"nope"}}`, `{"t":"reply","id":3,"err":"denied"}`},
	})
	recvEnd(t, w, 30*time.Second, "the end of the connection after a wrong auth_token")

	w2, err := dialAIMXSocket(ctx, "unix", s.unix, false)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.close()
	run(w2, []struct{ in, out string }{
		{`{"t":"req","id":4,"method":"hello","params":{"version":"2.0","auth_token":"sesame"}}`, `{"t":"reply","id":4,"err":"version_mismatch"}`},
		{`{"t":"req","id":5,"method":"hello","params":{"version":"3.0","auth_token":"sesame"}}`,
			`{"t":"reply","id":5,"ok":{"version":"3.0","server":"rechist","permissions":["read"],"writable_records":[],"max_subscriptions":32,"authenticated":true}}`},
		{`{"t":"req","id":6,"method":"record.get","params":{"name":"a"}}`, `{"t":"reply","id":6,"ok":1}`},
	})
}

// TestAIMXSocketUnauthLimits: before hello's auth_token, a length prefix
// over 64 KiB (upstream TCP's DEFAULT_MAX_FRAME) ends the connection at
// once instead of making the server wait for (and allocate) the payload;
// after it, the handler's own limit applies.
func TestAIMXSocketUnauthLimits(t *testing.T) {
	t.Parallel()
	s := startAIMX(t, []aimxSeed{{"a", 1, "1"}}, nil, WithToken("sesame"))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for _, tc := range []struct {
		name, network, addr string
		prefixed            bool
		frame               []byte
	}{
		{"length-prefixed", "tcp", s.tcp, true, []byte{0, 1, 0, 1}}, // 65537 bytes announced
		{"ndjson", "unix", s.unix, false, append(bytes.Repeat([]byte{' '}, 200<<10), '{')},
	} {
		c, err := net.Dial(tc.network, tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// The server may cut the connection before all is written.
		_, _ = c.Write(tc.frame)
		w := &sockWire{c: c, r: bufio.NewReader(c), prefixed: tc.prefixed}
		recvEnd(t, w, 30*time.Second, tc.name+": the end of a connection sending an oversized frame before auth")
	}
	// An authenticated client may send a larger frame.
	w, err := dialAIMXSocket(ctx, "tcp", s.tcp, true)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	hello := `{"t":"req","id":1,"method":"hello","params":{"version":"3.0","auth_token":"sesame"}}`
	if err := w.send([]byte(hello)); err != nil {
		t.Fatal(err)
	}
	recvFrame(t, w, 30*time.Second, "hello's reply")
	big := `{"t":"req","id":2,"method":"record.get","params":{"name":"a","pad":"` + strings.Repeat("x", 100<<10) + `"}}`
	if err := w.send([]byte(big)); err != nil {
		t.Fatal(err)
	}
	if got, want := recvFrame(t, w, 30*time.Second, "record.get's reply"), `{"t":"reply","id":2,"ok":1}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// recvEnd waits within d for the server to end the connection, failing
// the test when a frame comes or nothing happens.
func recvEnd(t *testing.T, w aimxWire, d time.Duration, what string) {
	t.Helper()
	ch := make(chan error, 1)
	go func() {
		b, err := w.recv()
		if err == nil {
			err = fmt.Errorf("a frame came: %s", b)
		} else {
			err = nil
		}
		ch <- err
	}()
	select {
	case err := <-ch:
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	case <-time.After(d):
		w.close()
		<-ch
		t.Fatalf("waiting for %s: the connection stayed open %v", what, d)
	}
}

// aimxTopicCases are upstream's topic-matching cases (aimdb-core
// src/session/topic_match.rs tests, at the commit above): pattern, topic,
// whether it matches.
var aimxTopicCases = []struct {
	pattern, topic string
	want           bool
}{
	// exact_match
	{"a.b.c", "a.b.c", true}, {"a.b.c", "a.b.d", false},
	// hash_wildcard
	{"#", "anything.goes.here", true}, {"#", "a", true},
	// prefix_hash_wildcard
	{"sensors.#", "sensors.temperature.vienna", true}, {"sensors.#", "sensors.humidity.berlin", true},
	{"sensors.#", "commands.setpoint", false}, {"sensors.#", "sensors", true}, {"sensors.#", "sensors_extra.temp", false},
	// star_wildcard
	{"sensors.temperature.*", "sensors.temperature.vienna", true}, {"sensors.temperature.*", "sensors.temperature.berlin", true},
	{"sensors.temperature.*", "sensors.humidity.vienna", false}, {"sensors.temperature.*", "sensors.temperature.a.b", false},
	// star_matches_dotted_key_below_top_level
	{"temp.*", "temp.vienna", true}, {"temp.*", "temp.berlin", true}, {"temp.*", "temp", false},
	{"temp.*", "temp.vienna.indoor", false}, {"temp.*", "humidity.vienna", false},
	// mixed_wildcards
	{"a.*.c.#", "a.b.c.d.e.f", true}, {"a.*.c.#", "a.b.x.d", false},
	// non_terminal_hash_still_matches_its_suffix
	{"a.#.secret", "a.public", false}, {"a.#.secret", "a.b.c.public", false}, {"a.#.secret", "b.secret", false},
	{"a.#.secret", "a.secret.tail", false}, {"a.#.secret", "a.secret", true}, {"a.#.secret", "a.b.secret", true},
	{"a.#.secret", "a.b.c.d.secret", true},
	// hash_backtracks_to_find_a_later_suffix
	{"a.#.c", "a.c.b.c", true}, {"a.#.c", "a.c.b.d", false}, {"a.#.b.#.c", "a.x.y.b.z.c", true},
	{"a.#.b.#.c", "a.x.y.b.z.d", false}, {"a.#.b.#", "a.x.b.y.z", true}, {"a.#.b.#", "a.b", true},
	{"a.#.b.#", "a.x.y", false},
	// hash_does_not_match_a_shorter_topic_than_its_suffix
	{"a.#.b.c", "a.b", false}, {"#.a", "b", false}, {"#.a", "a", true}, {"#.a", "x.y.a", true},
	// slash_is_not_a_separator
	{"sensors.#", "sensors/temp/vienna", false}, {"sensors/temp", "sensors/temp", true},
}

func TestAIMXTopicMatches(t *testing.T) {
	t.Parallel()
	for _, c := range aimxTopicCases {
		if got := topicMatches(c.pattern, c.topic); got != c.want {
			t.Errorf("topicMatches(%q, %q) = %v, want %v", c.pattern, c.topic, got, c.want)
		}
	}
	// wildcard_detection
	for p, want := range map[string]bool{"#": true, "sensors.#": true, "a.*.c": true, "temp.vienna": false, "temp.*": true, "sensors/temp": false} {
		if got := isWildcard(p); got != want {
			t.Errorf("isWildcard(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestAIMXTopicMatchesThroughQuery runs upstream's topic cases through
// record.query on a file holding every topic of them, with the DB's own
// patterns and with topic patterns: the names the DB selects are a
// superset the matcher narrows, whatever the DB's language.
func TestAIMXTopicMatchesThroughQuery(t *testing.T) {
	t.Parallel()
	var seed []aimxSeed
	seen := map[string]bool{}
	for _, c := range aimxTopicCases {
		if !seen[c.topic] {
			seen[c.topic] = true
			seed = append(seed, aimxSeed{c.topic, 1000, "1"})
		}
	}
	for _, mode := range []struct {
		name   string
		dbOpts []rechist.Option
		opts   []Option
	}{{"wildcard patterns", nil, nil}, {"topic patterns", []rechist.Option{rechist.WithTopicPatterns()}, []Option{TopicPatterns()}}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			s := startAIMX(t, seed, mode.dbOpts, mode.opts...)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			w, _, err := dialAIMXWS(ctx, s.base)
			if err != nil {
				t.Fatal(err)
			}
			c := newAIMXClient(w)
			defer c.close()
			got := map[string][]string{}
			for _, tc := range aimxTopicCases {
				if _, ok := got[tc.pattern]; ok {
					continue
				}
				b, err := c.call(ctx, "record.query", map[string]any{"name": tc.pattern})
				if err != nil {
					t.Fatal(err)
				}
				var res struct {
					Records []row `json:"records"`
				}
				if err := json.Unmarshal(b, &res); err != nil {
					t.Fatal(err)
				}
				got[tc.pattern] = []string{}
				for _, r := range res.Records {
					got[tc.pattern] = append(got[tc.pattern], r.Topic)
				}
			}
			for _, tc := range aimxTopicCases {
				if slices.Contains(got[tc.pattern], tc.topic) != tc.want {
					t.Errorf("record.query %q: topics %v; %q in them should be %v", tc.pattern, got[tc.pattern], tc.topic, tc.want)
				}
			}
		})
	}
}

// TestAIMXQueryPastTheWindow: a query that may return more rows than the
// handler's window streams them from Timeline instead of reading them at
// once, in the same order; a reply past the window's bytes is cut and
// says so with a total larger than its rows.
func TestAIMXQueryPastTheWindow(t *testing.T) {
	t.Parallel()
	var seed []aimxSeed
	for i := range 30 {
		seed = append(seed, aimxSeed{fmt.Sprintf("w.r%d", i%5), int64(1000 + i%7), fmt.Sprintf(`{"i":%d}`, i)})
	}
	s := startAIMX(t, seed, nil)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	query := func() (records []row, total int) {
		t.Helper()
		w, _, err := dialAIMXWS(ctx, s.base)
		if err != nil {
			t.Fatal(err)
		}
		c := newAIMXClient(w)
		defer c.close()
		b, err := c.call(ctx, "record.query", map[string]any{"name": "w.#", "limit": 4})
		if err != nil {
			t.Fatal(err)
		}
		var res struct {
			Records []row `json:"records"`
			Total   int   `json:"total"`
		}
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatal(err)
		}
		return res.Records, res.Total
	}
	inMemory, total := query()
	if len(inMemory) != 20 || total != 20 {
		t.Fatalf("%d rows, total %d; want 4 of each of 5 records", len(inMemory), total)
	}
	for i := 1; i < len(inMemory); i++ {
		if a, b := inMemory[i-1], inMemory[i]; a.TS > b.TS || a.TS == b.TS && a.Topic > b.Topic {
			t.Fatalf("rows %d and %d out of order: %+v %+v", i-1, i, a, b)
		}
	}
	s.h.cfg.windowRows = 3 // no connection is open: nothing reads it now
	streamed, total := query()
	if total != 20 || fmt.Sprint(streamed) != fmt.Sprint(inMemory) {
		t.Fatalf("streamed past the window:\n%v (total %d)\nwant\n%v", streamed, total, inMemory)
	}
	s.h.cfg.windowBytes = 100
	cut, total := query()
	if total != 20 || len(cut) == 0 || len(cut) >= 20 || fmt.Sprint(cut) != fmt.Sprint(inMemory[:len(cut)]) {
		t.Fatalf("a reply past the window's bytes: %d rows %v, total %d", len(cut), cut, total)
	}
}

// TestAIMXCodecBytes replays upstream's codec tests (aimdb-core
// src/session/aimx/codec.rs at 0348e9f: event_encode_splices_data_byte_for_byte,
// snapshot_roundtrip_carries_sub_seq_and_topic, last_snapshot_of_a_burst_is_flagged,
// subscribed_ack_roundtrip, ping_pong_roundtrip, reply_*_roundtrip, the
// inbound round-trips and malformed_frames_are_rejected) on the frames
// rechist writes and reads.
func TestAIMXCodecBytes(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{string(appendEvent(nil, "5", 9, "temp.vienna", []byte(`{"c":21.5,"a":[1,2,3]}`))), `{"t":"event","seq":9,"topic":"temp.vienna","sub":"5","data":{"c":21.5,"a":[1,2,3]}}`},
		{string(appendEvent(nil, "5", 2, "", []byte(`42`))), `{"t":"event","seq":2,"sub":"5","data":42}`},
		{string(appendSnap(nil, "8", 3, false, "temp.berlin", []byte(`{"c":18.0}`))), `{"t":"snap","seq":3,"topic":"temp.berlin","sub":"8","data":{"c":18.0}}`},
		{string(appendSnap(nil, "8", 4, true, "temp.berlin", []byte(`1`))), `{"t":"snap","seq":4,"last":true,"topic":"temp.berlin","sub":"8","data":1}`},
		{string(appendSubscribed(nil, "13")), `{"t":"subscribed","sub":"13"}`},
		{string(aimxPong), `{"t":"pong"}`},
		{string(appendReplyOK(nil, 11, []byte(`{"status":"success"}`))), `{"t":"reply","id":11,"ok":{"status":"success"}}`},
		{string(appendReplyErr(nil, 1, aimxNotFound)), `{"t":"reply","id":1,"err":"not_found"}`},
		{string(appendReplyErr(nil, 1, aimxDenied)), `{"t":"reply","id":1,"err":"denied"}`},
		{string(appendReplyErr(nil, 1, aimxInternal)), `{"t":"reply","id":1,"err":"internal"}`},
		{string(appendReplyErr(nil, 1, aimxVersionMismatch)), `{"t":"reply","id":1,"err":"version_mismatch"}`},
	} {
		if c.got != c.want {
			t.Errorf("got  %s\nwant %s", c.got, c.want)
		}
	}
	// The inbound frames upstream's encode_inbound writes (serde's field
	// order, None skipped).
	if f, ok := decodeAIMX([]byte(`{"t":"req","id":7,"method":"record.get","params":{"name":"temp"}}`)); !ok || f.T != "req" || *f.ID != 7 || *f.Method != "record.get" || string(f.Params) != `{"name":"temp"}` {
		t.Errorf("request_roundtrip: %+v %v", f, ok)
	}
	if f, ok := decodeAIMX([]byte(`{"t":"sub","id":3,"topic":"sensors.#"}`)); !ok || *f.ID != 3 || *f.Topic != "sensors.#" {
		t.Errorf("subscribe: %+v %v", f, ok)
	}
	if f, ok := decodeAIMX([]byte(`{"t":"unsub","sub":"3"}`)); !ok || *f.Sub != "3" {
		t.Errorf("unsubscribe: %+v %v", f, ok)
	}
	if f, ok := decodeAIMX([]byte(`{"t":"write","topic":"cfg","payload":{"value":{"level":9}}}`)); !ok || *f.Topic != "cfg" || string(f.Payload) != `{"value":{"level":9}}` {
		t.Errorf("write_roundtrip_splices_payload_verbatim: %+v %v", f, ok)
	}
	if f, ok := decodeAIMX([]byte(`{"t":"ping"}`)); !ok || f.T != "ping" {
		t.Errorf("ping: %+v %v", f, ok)
	}
	for _, b := range []string{`{not json`, `{"t":"nope"}`, `{"t":"sub","id":1}`} {
		if _, ok := decodeAIMX([]byte(b)); ok {
			t.Errorf("malformed_frames_are_rejected: %s decoded", b)
		}
	}
}

// TestAIMXServeEnds: ServeAIMX returns nil once its ctx ends and the
// listener's error when the listener fails, in both cases after closing
// the connections it serves.
func TestAIMXServeEnds(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	h := NewHandler(db)
	for _, byCtx := range []bool{true, false} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		served := make(chan error, 1)
		go func() { served <- h.ServeAIMX(ctx, ln) }()
		w, err := dialAIMXSocket(ctx, "tcp", ln.Addr().String(), false)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.send([]byte(`{"t":"ping"}`)); err != nil {
			t.Fatal(err)
		}
		recvFrame(t, w, 30*time.Second, "the pong") // the connection is served
		if byCtx {
			cancel()
		} else {
			ln.Close()
		}
		select {
		case err := <-served:
			if byCtx != (err == nil) {
				t.Errorf("ended by ctx %v: ServeAIMX returned %v", byCtx, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("ended by ctx %v: ServeAIMX did not return", byCtx)
		}
		recvEnd(t, w, 30*time.Second, "the connection's end after ServeAIMX returned")
		w.close()
		cancel()
	}
}

// flakyListener fails its first n Accepts with EMFILE, as a process out
// of file descriptors does.
type flakyListener struct {
	net.Listener
	mu sync.Mutex
	n  int
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	fail := l.n > 0
	l.n--
	l.mu.Unlock()
	if fail {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestAIMXAcceptRetry: a temporary Accept failure (EMFILE) does not end
// ServeAIMX; it retries and serves the next connection.
func TestAIMXAcceptRetry(t *testing.T) {
	t.Parallel()
	h := NewHandler(openDB(t))
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &flakyListener{Listener: inner, n: 3}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- h.ServeAIMX(ctx, ln) }()
	w, err := dialAIMXSocket(ctx, "tcp", inner.Addr().String(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	if err := w.send([]byte(`{"t":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	recvFrame(t, w, 30*time.Second, "the pong after Accept failed with EMFILE")
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("ServeAIMX: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ServeAIMX did not return after ctx ended")
	}
}

// TestAIMXShutdown: CloseStreams ends the WebSocket sessions with a close
// frame that says why, and refuses new ones with 503.
func TestAIMXShutdown(t *testing.T) {
	t.Parallel()
	s := startAIMX(t, nil, nil)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	w, _, err := dialAIMXWS(ctx, s.base)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	if err := w.send([]byte(`{"t":"sub","id":1,"topic":"#"}`)); err != nil {
		t.Fatal(err)
	}
	recvFrame(t, w, 30*time.Second, "the acknowledgement")
	s.h.CloseStreams()
	_, err = w.recv()
	if !strings.Contains(fmt.Sprint(err), "the server is shutting down") {
		t.Errorf("after CloseStreams the session read %v, want a close frame saying why", err)
	}
	if _, resp, err := dialAIMXWS(ctx, s.base); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a new session after CloseStreams: %v %v, want 503", resp, err)
	}
}

// TestAIMXOnPostgreSQL: on the PostgreSQL engine, record.query answers
// as on SQLite and a subscription sees every row another handle on the
// schema stores, once each, in commit order, seq without gaps.
func TestAIMXOnPostgreSQL(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewSchema(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	db, err := rechist.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store(t, db, "pg.b", 2000, `{"celsius":18.0}`)
	store(t, db, "pg.a", 1000, `{"celsius":21.5}`)
	h := NewHandler(db, WithPollInterval(10*time.Millisecond))
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.CloseStreams()
	w, _, err := dialAIMXWS(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := newAIMXClient(w)
	defer c.close()
	b, err := c.call(ctx, "record.query", map[string]any{"name": "pg.#"})
	if want := `{"records":[{"topic":"pg.a","payload":{"celsius":21.5},"ts":1000},{"topic":"pg.b","payload":{"celsius":18.0},"ts":2000}],"total":2}`; err != nil || string(b) != want {
		t.Fatalf("record.query: %s %v, want %s", b, err, want)
	}
	updates, err := c.subscribe(1, "live.#")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.sync(ctx); err != nil {
		t.Fatal(err)
	}
	other, err := rechist.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	const n = 100
	done := make(chan error, 1)
	go func() {
		r := rechist.NewRepo[int](other)
		for i := range n {
			if err := r.Store(ctx, fmt.Sprintf("live.%d", i%4), i); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := range n {
		u := nextUpdate(t, ctx, updates, fmt.Sprintf("event %d", i))
		if u.Seq != uint64(i+1) || u.Skipped != 0 || u.Topic != fmt.Sprintf("live.%d", i%4) || string(u.Data) != fmt.Sprint(i) {
			t.Fatalf("event %d: %+v", i, u)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestAIMXCountRecords: record.query's count of matching records is kept
// only while no row is stored; a record another process adds is counted.
func TestAIMXCountRecords(t *testing.T) {
	t.Parallel()
	s := startAIMX(t, []aimxSeed{{"c.a", 1, "1"}, {"c.b", 1, "1"}, {"d.a", 1, "1"}}, nil)
	ctx := t.Context()
	for _, want := range []int64{2, 2, 3} {
		if want == 3 {
			helper(t, s.path, "store", "c.new", "1")
		}
		got, err := s.h.aimx.countRecords(ctx, s.h, "c.*", s.h.dbPattern("c.*"))
		if err != nil || got != want {
			t.Fatalf("countRecords: %d %v, want %d", got, err, want)
		}
	}
}

// TestAIMXSlowSteadyReader: a reply far larger than the write timeout
// lets through at the client's pace is delivered whole to a client that
// reads slowly but steadily (serve's --write-timeout: the timeout bounds
// a stall, not a frame), on a socket and on the WebSocket.
func TestAIMXSlowSteadyReader(t *testing.T) {
	t.Parallel()
	big := `"` + strings.Repeat("x", 3<<20) + `"`
	s := startAIMX(t, []aimxSeed{{"big", 1, big}}, nil, WithWriteTimeout(500*time.Millisecond))
	want := `{"t":"reply","id":1,"ok":` + big + `}`
	req := []byte(`{"t":"req","id":1,"method":"record.get","params":{"name":"big"}}`)
	// slowly reads r (16 KiB every 10 ms: 3 MiB take about 2 s, four
	// times the write timeout) until n bytes came.
	slowly := func(r io.Reader, n int) ([]byte, error) {
		var got []byte
		buf := make([]byte, 16<<10)
		for len(got) < n {
			k, err := r.Read(buf[:min(len(buf), n-len(got))])
			got = append(got, buf[:k]...)
			if err != nil {
				return got, err
			}
			time.Sleep(10 * time.Millisecond)
		}
		return got, nil
	}
	t.Run("socket", func(t *testing.T) {
		c, err := net.Dial("unix", s.unix)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Minute))
		if _, err := c.Write(append(req, '\n')); err != nil {
			t.Fatal(err)
		}
		got, err := slowly(c, len(want)+1)
		if err != nil || string(got) != want+"\n" {
			t.Fatalf("the reply: %d of %d bytes, %v", len(got), len(want)+1, err)
		}
	})
	t.Run("websocket", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		w, _, err := dialAIMXWS(ctx, s.base)
		if err != nil {
			t.Fatal(err)
		}
		defer w.close()
		ws := w.(wsWire)
		if err := w.send(req); err != nil {
			t.Fatal(err)
		}
		_, r, err := ws.c.Reader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := slowly(r, len(want))
		if err != nil && !errors.Is(err, io.EOF) || string(got) != want {
			t.Fatalf("the reply: %d of %d bytes, %v", len(got), len(want), err)
		}
	})
}
