package rechisthttp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// A small AimX 3.0 client for the tests, built the way upstream's engine
// client is (aimdb-core src/session/client.rs at aimdb-dev/aimdb commit
// 0348e9f85b1188b32a2d040c35544fa39dcec2d5):
//
//   - replies are matched to calls by id; a reply carrying the id of a
//     subscription with an error ends that subscription with the error;
//   - snapshots and events go to their subscription by "sub", and the
//     wire seq is checked: skipped = seq - (last delivered + 1);
//   - after a disconnect, pending calls fail and subscription streams end:
//     nothing is resumed. A caller reconnects, says hello again and
//     subscribes again, and gets a fresh snapshot burst numbered from 1
//     ("The stream is not re-subscribed on reconnect — re-call to resume").

// aimxWire carries whole frames.
type aimxWire interface {
	send(frame []byte) error
	recv() ([]byte, error)
	close()
}

// wsWire's ctx bounds every read and write (wsWireLife past the dial,
// whatever the dial's ctx), so that no test waits for -timeout.
type wsWire struct {
	c      *websocket.Conn
	ctx    context.Context
	cancel context.CancelFunc
}

const wsWireLife = 2 * time.Minute

func (w wsWire) send(f []byte) error   { return w.c.Write(w.ctx, websocket.MessageText, f) }
func (w wsWire) recv() ([]byte, error) { _, b, err := w.c.Read(w.ctx); return b, err }
func (w wsWire) close()                { w.c.CloseNow(); w.cancel() }

// sockWire speaks NDJSON, or length-prefixed frames when prefixed.
type sockWire struct {
	c        net.Conn
	r        *bufio.Reader
	prefixed bool
}

func (s *sockWire) send(f []byte) error {
	if s.prefixed {
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(len(f)))
		_, err := s.c.Write(append(hdr[:], f...))
		return err
	}
	_, err := s.c.Write(append(append([]byte(nil), f...), '\n'))
	return err
}

func (s *sockWire) recv() ([]byte, error) {
	if s.prefixed {
		var hdr [4]byte
		if _, err := io.ReadFull(s.r, hdr[:]); err != nil {
			return nil, err
		}
		b := make([]byte, binary.BigEndian.Uint32(hdr[:]))
		_, err := io.ReadFull(s.r, b)
		return b, err
	}
	line, err := s.r.ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(line, []byte("\n")), nil
}

func (s *sockWire) close() { s.c.Close() }

// dialAIMXWS opens the WebSocket of the server at base (http://host:port)
// with ?v=3.0 and the headers hdr (pairs).
func dialAIMXWS(ctx context.Context, base string, hdr ...string) (aimxWire, *http.Response, error) {
	h := http.Header{}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	c, resp, err := websocket.Dial(ctx, strings.Replace(base, "http", "ws", 1)+"/aimx?v=3.0", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		return nil, resp, err
	}
	c.SetReadLimit(64 << 20)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wsWireLife)
	return wsWire{c, wctx, cancel}, resp, nil
}

// dialAIMXSocket connects to a ServeAIMX listener.
func dialAIMXSocket(ctx context.Context, network, addr string, prefixed bool) (aimxWire, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &sockWire{c: c, r: bufio.NewReader(c), prefixed: prefixed}, nil
}

// aimxUpdate is what a subscription delivers: a snapshot or an event, or
// the terminal error of a refused or failed subscription.
type aimxUpdate struct {
	Topic    string
	Data     json.RawMessage
	Seq      uint64
	Skipped  uint64 // frames the seq says were lost before this one
	Snapshot bool
	Last     bool // the last snapshot of the burst
	Err      string
}

type aimxReply struct {
	ok  json.RawMessage
	err string
}

// aimxClient is one connection of the test client.
type aimxClient struct {
	wire aimxWire

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan aimxReply
	subs    map[string]chan aimxUpdate
	lastSeq map[string]uint64
	acks    map[string]bool
	err     error
	done    chan struct{}
}

func newAIMXClient(w aimxWire) *aimxClient {
	c := &aimxClient{wire: w, nextID: 1000, pending: map[uint64]chan aimxReply{}, subs: map[string]chan aimxUpdate{},
		lastSeq: map[string]uint64{}, acks: map[string]bool{}, done: make(chan struct{})}
	go c.run()
	return c
}

// run demultiplexes the server's frames until the connection ends, then
// fails every pending call and ends every subscription stream.
func (c *aimxClient) run() {
	defer close(c.done)
	var err error
	for {
		var b []byte
		if b, err = c.wire.recv(); err != nil {
			break
		}
		var f struct {
			T     string          `json:"t"`
			ID    *uint64         `json:"id"`
			Seq   *uint64         `json:"seq"`
			Last  bool            `json:"last"`
			Topic string          `json:"topic"`
			Sub   string          `json:"sub"`
			Data  json.RawMessage `json:"data"`
			OK    json.RawMessage `json:"ok"`
			Err   string          `json:"err"`
		}
		if json.Unmarshal(b, &f) != nil {
			err = fmt.Errorf("malformed frame from the server: %s", b)
			break
		}
		c.mu.Lock()
		switch f.T {
		case "reply":
			if f.ID == nil {
				break
			}
			if ch, ok := c.pending[*f.ID]; ok {
				delete(c.pending, *f.ID)
				ch <- aimxReply{f.OK, f.Err}
			} else if sub := strconv.FormatUint(*f.ID, 10); f.Err != "" && c.subs[sub] != nil {
				c.subs[sub] <- aimxUpdate{Err: f.Err}
				close(c.subs[sub])
				delete(c.subs, sub)
			}
		case "subscribed":
			c.acks[f.Sub] = true
		case "snap", "event":
			ch := c.subs[f.Sub]
			if ch == nil || f.Seq == nil {
				break
			}
			prev := c.lastSeq[f.Sub]
			c.lastSeq[f.Sub] = *f.Seq
			u := aimxUpdate{Topic: f.Topic, Data: f.Data, Seq: *f.Seq, Snapshot: f.T == "snap", Last: f.Last}
			if *f.Seq > prev+1 {
				u.Skipped = *f.Seq - prev - 1
			}
			select {
			case ch <- u:
			default: // a consumer that does not keep up: the next seq shows the gap
				c.lastSeq[f.Sub] = prev
			}
		}
		c.mu.Unlock()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = err
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
	for sub, ch := range c.subs {
		close(ch)
		delete(c.subs, sub)
	}
}

// call sends a request and waits for its reply within ctx.
func (c *aimxClient) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan aimxReply, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	p, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	f, _ := json.Marshal(map[string]any{"t": "req", "id": id, "method": method, "params": json.RawMessage(p)})
	if err := c.wire.send(f); err != nil {
		return nil, err
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return nil, errors.New("aimx: disconnected")
		}
		if r.err != "" {
			return nil, fmt.Errorf("aimx: server error %s", r.err)
		}
		return r.ok, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("aimx: no reply to %s: %w", method, ctx.Err())
	}
}

// hello is upstream's handshake (aimdb-client src/engine.rs spin_up).
func (c *aimxClient) hello(ctx context.Context, extra ...string) (map[string]any, error) {
	p := map[string]any{"client": "rechisthttp-test", "version": "3.0"}
	for i := 0; i+1 < len(extra); i += 2 {
		p[extra[i]] = extra[i+1]
	}
	b, err := c.call(ctx, "hello", p)
	if err != nil {
		return nil, err
	}
	var w map[string]any
	return w, json.Unmarshal(b, &w)
}

// subscribe opens a subscription with the request id id; its updates come
// on the channel, which closes when the subscription or the connection
// ends.
func (c *aimxClient) subscribe(id uint64, topic string) (<-chan aimxUpdate, error) {
	sub := strconv.FormatUint(id, 10)
	ch := make(chan aimxUpdate, 4096)
	c.mu.Lock()
	c.subs[sub] = ch
	c.lastSeq[sub] = 0
	c.mu.Unlock()
	f, _ := json.Marshal(map[string]any{"t": "sub", "id": id, "topic": topic})
	return ch, c.wire.send(f)
}

// sync sends a ping and waits for its pong: every frame sent before it has
// been handled (the server handles a connection's frames in order).
func (c *aimxClient) sync(ctx context.Context) error {
	// The demultiplexer drops pongs; a call that fails fast proves the
	// same order: a reply to an unknown method.
	_, err := c.call(ctx, "rechist.test.sync", nil)
	if err != nil && !strings.Contains(err.Error(), "not_found") {
		return err
	}
	return nil
}

func (c *aimxClient) close() {
	c.wire.close()
	<-c.done
}

// nextUpdate waits for the next update of a subscription, failing the
// test with what it waited for when ctx ends first.
func nextUpdate(t *testing.T, ctx context.Context, ch <-chan aimxUpdate, what string) aimxUpdate {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	select {
	case u, ok := <-ch:
		if !ok {
			t.Fatalf("waiting for %s: the subscription ended", what)
		}
		return u
	case <-ctx.Done():
		t.Fatalf("waiting for %s: %v", what, ctx.Err())
	}
	return aimxUpdate{}
}

// TestAIMXClientResumeFree drives the client against a writer in another
// process, over the WebSocket and a Unix socket, through a lost
// connection, with upstream's resume-free semantics: the subscription
// ends with the connection; after reconnecting, hello and subscribing
// again give a fresh burst of snapshots numbered from 1, which carries
// each record's newest value (rows stored while away are not replayed
// as events), and events go on from there without gaps.
func TestAIMXClientResumeFree(t *testing.T) {
	t.Parallel()
	for _, tr := range []string{"websocket", "unix"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			s := startAIMX(t, []aimxSeed{{"plant.pump", 1000, `{"on":false}`}}, nil)
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			dial := func() *aimxClient {
				t.Helper()
				var w aimxWire
				var err error
				if tr == "websocket" {
					w, _, err = dialAIMXWS(ctx, s.base)
				} else {
					w, err = dialAIMXSocket(ctx, "unix", s.unix, false)
				}
				if err != nil {
					t.Fatal(err)
				}
				c := newAIMXClient(w)
				welcome, err := c.hello(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if welcome["version"] != "3.0" || welcome["server"] != "rechist" {
					t.Fatalf("welcome %v", welcome)
				}
				return c
			}
			c := dial()
			updates, err := c.subscribe(1, "plant.#")
			if err != nil {
				t.Fatal(err)
			}
			u := nextUpdate(t, ctx, updates, "the snapshot of plant.pump")
			if !u.Snapshot || !u.Last || u.Seq != 1 || u.Topic != "plant.pump" || string(u.Data) != `{"on":false}` {
				t.Fatalf("first update %+v", u)
			}
			if err := c.sync(ctx); err != nil { // the subscription follows from here on
				t.Fatal(err)
			}
			helper(t, s.path, "store", "office.lamp", `{"on":true}`) // not matched
			helper(t, s.path, "store", "plant.pump", `{"on":true}`)
			u = nextUpdate(t, ctx, updates, "the event of plant.pump")
			if u.Snapshot || u.Seq != 2 || u.Skipped != 0 || u.Topic != "plant.pump" || string(u.Data) != `{"on":true}` {
				t.Fatalf("event %+v", u)
			}

			// The connection is lost: the stream ends, nothing is resumed.
			c.close()
			if u, ok := <-updates; ok {
				t.Fatalf("after the disconnect the stream delivered %+v instead of ending", u)
			}
			helper(t, s.path, "write", "plant.valve", "3") // 0, 1, 2 while away
			helper(t, s.path, "store", "plant.pump", `{"on":false}`)

			c = dial()
			defer c.close()
			updates, err = c.subscribe(1, "plant.#")
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range []aimxUpdate{
				{Topic: "plant.pump", Data: json.RawMessage(`{"on":false}`), Seq: 1, Snapshot: true},
				{Topic: "plant.valve", Data: json.RawMessage(`2`), Seq: 2, Snapshot: true, Last: true},
			} {
				u := nextUpdate(t, ctx, updates, fmt.Sprintf("snapshot %d after reconnecting", i+1))
				if u.Topic != want.Topic || string(u.Data) != string(want.Data) || u.Seq != want.Seq || u.Snapshot != want.Snapshot || u.Last != want.Last || u.Skipped != 0 {
					t.Fatalf("after reconnecting, update %d: %+v, want %+v", i+1, u, want)
				}
			}
			if err := c.sync(ctx); err != nil {
				t.Fatal(err)
			}
			helper(t, s.path, "write", "plant.valve", "20")
			for i := range 20 {
				u := nextUpdate(t, ctx, updates, fmt.Sprintf("event %d of plant.valve", i))
				if u.Seq != uint64(3+i) || u.Skipped != 0 || u.Topic != "plant.valve" || string(u.Data) != strconv.Itoa(i) {
					t.Fatalf("event %d: %+v", i, u)
				}
			}
		})
	}
}
