package rechistmqtt

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/seed178a96f3/rechist"
)

// ErrRefused is what Run returns when the broker refuses the connection
// (bad user name or password, not authorized, client id rejected) or a
// subscription: trying again would not help.
var ErrRefused = errors.New("refused by the MQTT broker")

// ErrRunning is what Run returns while another Run of the same Recorder is
// under way.
var ErrRunning = errors.New("recorder already running")

// Recorder subscribes to topic filters on an MQTT broker and stores each
// message it receives as a row. Create it with New, run it with Run.
type Recorder struct {
	db      *rechist.DB
	repo    *rechist.Repo[json.RawMessage]
	server  *url.URL // for paho: tcp:// or ssl://, without user info
	user    string
	pass    string
	hasPass bool
	shown   string // the URL without its password
	filters []string
	cfg     config
	log     *slog.Logger

	running atomic.Bool
	c       counters

	// mu guards stopping and the send to in (a receive never sends on a
	// closed channel).
	mu       sync.RWMutex
	stopping bool
	in       chan delivery
	acks     *acker        // the connection's acknowledgements, in order
	pending  atomic.Int64  // messages received and not yet handled
	idle     chan struct{} // a send when pending falls to 0
}

// delivery is a message and its time of arrival.
type delivery struct {
	msg paho.Message
	at  time.Time
	// seq is the message's place in its connection's arrival order, acks
	// the connection's acknowledgement sequencer.
	seq  uint64
	acks *acker
	// fromPayload says the row's time came from the payload
	// (WithTimeField), not from at.
	fromPayload bool
}

// New returns a Recorder of the broker at rawURL
// (mqtt://[user[:password]@]host[:port], port 1883 by default, or
// mqtts://, port 8883) that stores what is published on filters into db.
// filters are MQTT topic filters ('+' one level, '#' the rest). db must be
// open for writing; the Recorder does not close it.
func New(db *rechist.DB, rawURL string, filters []string, opts ...Option) (*Recorder, error) {
	const op = "rechistmqtt.New"
	if db == nil {
		return nil, fmt.Errorf("%s: nil database: %w", op, rechist.ErrInvalidArgument)
	}
	r, err := configure(rawURL, filters, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	r.db, r.repo = db, rechist.NewRepo[json.RawMessage](db)
	// The public API does not say at which synchronous level db was opened
	// (SyncFull, the default, or SyncNormal): Run's doc says what
	// SyncNormal costs.
	if r.cfg.clientID == "" {
		r.cfg.clientID = DefaultClientID(db.Path(), filters)
	}
	return r, nil
}

// Check says what New would refuse in rawURL, filters and opts, without a
// database: for a program that checks its input before it opens one.
func Check(rawURL string, filters []string, opts ...Option) error {
	if _, err := configure(rawURL, filters, opts); err != nil {
		return fmt.Errorf("rechistmqtt.Check: %w", err)
	}
	return nil
}

// configure is New without the database.
func configure(rawURL string, filters []string, opts []Option) (*Recorder, error) {
	r := &Recorder{}
	if err := r.parseURL(rawURL); err != nil {
		return nil, err
	}
	if len(filters) == 0 {
		return nil, fmt.Errorf("no topic filter: %w", rechist.ErrInvalidArgument)
	}
	for i, f := range filters {
		if err := checkFilter(f); err != nil {
			return nil, fmt.Errorf("topic filter %q: %v: %w", f, err, rechist.ErrInvalidArgument)
		}
		if slices.Contains(filters[:i], f) {
			return nil, fmt.Errorf("topic filter %q given twice: %w", f, rechist.ErrInvalidArgument)
		}
	}
	r.filters = slices.Clone(filters)
	r.cfg = config{workers: 8, maxBackoff: 30 * time.Second, connTimeout: 30 * time.Second, set: map[string]bool{}}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("nil option: %w", rechist.ErrInvalidArgument)
		}
		if err := o(&r.cfg); err != nil {
			return nil, err
		}
	}
	if r.cfg.tls != nil && r.server.Scheme != "ssl" {
		return nil, fmt.Errorf("a TLS configuration is for an mqtts:// broker, not %s: %w", r.shown, rechist.ErrInvalidArgument)
	}
	r.log = r.cfg.logger
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// DefaultClientID is the client id a Recorder uses without WithClientID:
// "rechist-" and 12 hex digits of a hash of the database (a file's
// absolute path, or the URL) and the filters (in any order). The host
// name is left out, so that a container recreated with the same volume
// and command finds its session again; another database or other filters
// get a session of their own. Two recorders on two machines with the same
// path and filters on one broker would share it: give each its own
// WithClientID.
func DefaultClientID(dbPath string, filters []string) string {
	if !strings.Contains(dbPath, "://") {
		if abs, err := filepath.Abs(dbPath); err == nil {
			dbPath = abs
		}
	}
	fs := slices.Clone(filters)
	slices.Sort(fs)
	h := sha256.New()
	for _, s := range append([]string{dbPath}, fs...) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "rechist-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// parseURL reads the broker's URL.
func (r *Recorder) parseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("broker URL: %v: %w", redactErr(err, raw), rechist.ErrInvalidArgument)
	}
	var scheme, port string
	switch u.Scheme {
	case "mqtt", "tcp":
		scheme, port = "tcp", "1883"
	case "mqtts", "ssl", "tls":
		scheme, port = "ssl", "8883"
	default:
		return fmt.Errorf("broker URL %s: want mqtt:// or mqtts://: %w", redactURL(u), rechist.ErrInvalidArgument)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("broker URL %s has no host: %w", redactURL(u), rechist.ErrInvalidArgument)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("broker URL %s: want no path, query or fragment: %w", redactURL(u), rechist.ErrInvalidArgument)
	}
	if u.Port() != "" {
		port = u.Port()
	}
	if u.User != nil {
		r.user = u.User.Username()
		r.pass, r.hasPass = u.User.Password()
	}
	r.server = &url.URL{Scheme: scheme, Host: net.JoinHostPort(u.Hostname(), port)}
	r.shown = redactURL(u)
	return nil
}

// redactURL is u without its password.
func redactURL(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = url.User(u.User.Username())
	return c.String()
}

// redactErr is a URL parse error without the URL (which may hold a
// password).
func redactErr(err error, raw string) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return strings.ReplaceAll(err.Error(), raw, "URL")
}

// checkFilter says what is wrong with an MQTT topic filter (MQTT 3.1.1,
// section 4.7: '#' alone in the last level, '+' alone in a level).
func checkFilter(f string) error {
	if f == "" {
		return errors.New("empty")
	}
	if strings.IndexByte(f, 0) >= 0 {
		return errors.New("holds a NUL byte")
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		switch {
		case strings.Contains(l, "#") && (l != "#" || i != len(levels)-1):
			return errors.New("'#' must be a whole level, the last one")
		case strings.Contains(l, "+") && l != "+":
			return errors.New("'+' must be a whole level")
		}
	}
	return nil
}

// Broker is the broker's URL without its password.
func (r *Recorder) Broker() string { return r.shown }

// ClientID is the MQTT client id the Recorder connects with.
func (r *Recorder) ClientID() string { return r.cfg.clientID }

// Run connects, subscribes (QoS 1, on a persistent session) and stores
// messages until ctx is done, reconnecting with backoff when the
// connection is lost or cannot be made. Each message is acknowledged to
// the broker only after its row is committed, in the order the messages
// arrived, so what is not acknowledged is delivered again on the next
// connection. When ctx is done, Run stops taking messages, commits and
// acknowledges those it took (waiting at most DrainLimit), disconnects and
// returns nil. It returns an error wrapping ErrRefused when the broker
// refuses the connection or a subscription, and the store's error when the
// database fails (that message is not acknowledged).
//
// A committed row survives a power loss only if the database was opened at
// rechist.SyncFull (the default; `rechist record` uses it): at SyncNormal
// the last commits may be lost with the machine while the broker, having
// its PUBACK, has forgotten the message.
func (r *Recorder) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer r.running.Store(false)

	r.mu.Lock()
	r.stopping = false
	r.in = make(chan delivery, 4*maxBatch)
	r.idle = make(chan struct{}, 1)
	r.mu.Unlock()
	fatal := make(chan error, 1)
	// Stores go on after ctx ends so that what was received is committed;
	// the database's batch timeout bounds each.
	storeCtx := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for range r.cfg.workers {
		wg.Go(func() { r.work(storeCtx, fatal) })
	}
	err := r.loop(ctx, fatal)
	r.mu.Lock()
	r.stopping = true
	close(r.in)
	r.mu.Unlock()
	wg.Wait()
	return err
}

// DrainLimit is the longest Run waits for the messages it took to be
// committed and acknowledged, when it stops and when a connection is lost
// (before it connects again). Each store is bounded by the database's own
// timeouts; this bounds the sum.
const DrainLimit = time.Minute

// minBackoff is the first wait between connection attempts; stableAfter
// is how long a connection must last for the wait to start again from
// minBackoff (a broker that accepts and then drops the connection, or a
// second client with the same id taking the session, must not make the
// Recorder reconnect in a tight loop).
const (
	minBackoff  = 250 * time.Millisecond
	stableAfter = 10 * time.Second
)

// loop connects and reconnects until ctx ends or something fatal happens.
func (r *Recorder) loop(ctx context.Context, fatal chan error) error {
	wait := minBackoff
	// pause waits before the next attempt; false when Run must return
	// (err is then what it returns).
	pause := func() (bool, error) {
		t := time.NewTimer(wait)
		defer t.Stop()
		wait = min(2*wait, r.cfg.maxBackoff)
		select {
		case <-ctx.Done():
			return false, nil
		case err := <-fatal:
			return false, err
		case <-t.C:
			return true, nil
		}
	}
	for ctx.Err() == nil {
		lost := make(chan error, 1)
		client, sessionPresent, err := r.connect(ctx, lost)
		if err != nil {
			if errors.Is(err, ErrRefused) {
				return err
			}
			if ctx.Err() != nil {
				return nil
			}
			r.event(Event{Kind: Failed, Broker: r.shown, Err: err, Retry: wait})
			if ok, err := pause(); !ok {
				return err
			}
			continue
		}
		up := time.Now()
		r.c.connects.Add(1)
		r.c.connected.Store(true)
		r.event(Event{Kind: Connected, Broker: r.shown, SessionPresent: sessionPresent})
		select {
		case err := <-lost:
			r.c.connected.Store(false)
			r.c.lost.Add(1)
			// Finish what the lost connection delivered before a new
			// one redelivers what was not acknowledged: a redelivered
			// message then finds the row of its first delivery.
			r.drain(DrainLimit)
			if time.Since(up) >= stableAfter {
				wait = minBackoff
			}
			r.event(Event{Kind: Lost, Broker: r.shown, Err: err, Retry: wait})
			if ok, err := pause(); !ok {
				return err
			}
		case <-ctx.Done():
			r.stop(client)
			return nil
		case err := <-fatal:
			r.stop(client)
			return err
		}
	}
	return nil
}

// stop takes no more messages, waits for those taken to be committed and
// acknowledged, and disconnects.
func (r *Recorder) stop(client paho.Client) {
	r.mu.Lock()
	r.stopping = true
	r.mu.Unlock()
	r.drain(DrainLimit)
	// Each Message.Ack has returned: it hands the PUBACK over an
	// unbuffered channel to the client's one output goroutine, which
	// passes it on to the writer before it takes the DISCONNECT that
	// Disconnect queues (github.com/eclipse/paho.mqtt.golang v1.5.1,
	// router.go, matchAndDispatch's ackChan, and client.go,
	// startCommsWorkers), so the acknowledgements are written first. One
	// the broker does not get (the connection failing) only makes it
	// deliver the message again, with the DUP flag.
	client.Disconnect(250)
	r.c.connected.Store(false)
}

// drain waits until every message received has been handled, at most
// limit; it says whether they were.
func (r *Recorder) drain(limit time.Duration) bool {
	t := time.NewTimer(limit)
	defer t.Stop()
	for r.pending.Load() > 0 {
		select {
		case <-r.idle:
		case <-t.C:
			n := r.pending.Load()
			if n == 0 {
				return true
			}
			r.log.Warn("rechistmqtt: messages still being stored", "messages", n, "waited", limit)
			return false
		}
	}
	return true
}

// done marks n messages handled and wakes drain when none is left.
func (r *Recorder) done(n int) {
	if r.pending.Add(-int64(n)) == 0 {
		select {
		case r.idle <- struct{}{}:
		default:
		}
	}
}

// connect makes one connection and subscribes on it. lost receives why
// the connection ended.
func (r *Recorder) connect(ctx context.Context, lost chan error) (paho.Client, bool, error) {
	o := paho.NewClientOptions()
	o.Servers = []*url.URL{r.server}
	o.SetClientID(r.cfg.clientID)
	o.SetCleanSession(false)
	o.SetAutoReconnect(false)
	o.SetConnectRetry(false)
	o.SetOrderMatters(true) // receive only queues the message
	// Manual acknowledgements: Message.Ack sends the PUBACK, after the
	// commit. An Ack after the connection is lost is dropped
	// (github.com/eclipse/paho.mqtt.golang v1.5.1, net.go, ackFunc): the
	// broker then delivers the message again, with the DUP flag.
	o.SetAutoAckDisabled(true)
	o.SetProtocolVersion(4) // MQTT 3.1.1
	o.SetKeepAlive(30 * time.Second)
	o.SetPingTimeout(10 * time.Second)
	o.SetConnectTimeout(r.cfg.connTimeout)
	o.SetWriteTimeout(10 * time.Second)
	if r.user != "" {
		o.SetUsername(r.user)
	}
	if r.hasPass {
		o.SetPassword(r.pass)
	}
	if r.server.Scheme == "ssl" {
		o.SetTLSConfig(r.tlsConfig())
	}
	// A new sequencer per connection: the broker expects the PUBACKs of
	// each connection in the order of its PUBLISHes.
	acks := newAcker()
	o.SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { r.receive(acks, m) })
	o.SetConnectionLostHandler(func(_ paho.Client, err error) {
		select {
		case lost <- err:
		default:
		}
	})
	client := paho.NewClient(o)
	tok := client.Connect()
	if err := waitToken(ctx, tok, r.cfg.connTimeout+5*time.Second); err != nil {
		client.Disconnect(0)
		if refused(err) {
			return nil, false, fmt.Errorf("%s: %w: %s", r.shown, ErrRefused, refusal(err))
		}
		return nil, false, err
	}
	sessionPresent := tok.(*paho.ConnectToken).SessionPresent()
	// Subscribe on every connection, even when the broker kept a session:
	// it may hold other subscriptions than the filters of this run (the
	// same client id with other --topic, or a session a broker restored
	// without them). A SUBSCRIBE of a filter the session has replaces that
	// subscription (MQTT 3.1.1, section 3.8.4), so repeating it changes
	// nothing but makes the broker send the filter's retained messages
	// again (prepare skips those, or with WithRetained those already
	// stored).
	subs := make(map[string]byte, len(r.filters))
	for _, f := range r.filters {
		subs[f] = 1
	}
	st := client.SubscribeMultiple(subs, nil)
	if err := waitToken(ctx, st, 30*time.Second); err != nil {
		client.Disconnect(0)
		return nil, false, fmt.Errorf("subscribe: %w", err)
	}
	for _, f := range r.filters {
		switch q := st.(*paho.SubscribeToken).Result()[f]; {
		case q == 0x80:
			client.Disconnect(0)
			return nil, false, fmt.Errorf("%s: subscription to %q: %w (not authorized?)", r.shown, f, ErrRefused)
		case q == 0:
			r.log.Warn("rechistmqtt: the broker granted QoS 0 only: messages published while the recorder is down are lost", "filter", f)
		}
	}
	return client, sessionPresent, nil
}

// tlsConfig is the TLS configuration of an mqtts:// connection:
// WithTLSConfig's, or the system's CA pool, with ServerName set to the
// broker's host when it is not set (Paho dials through a proxy with
// tls.Client, which needs it: github.com/eclipse/paho.mqtt.golang v1.5.1,
// netconn.go, openConnection).
func (r *Recorder) tlsConfig() *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if r.cfg.tls != nil {
		cfg = r.cfg.tls.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = r.server.Hostname()
	}
	return cfg
}

// refused says whether a connection error is the broker's refusal.
func refused(err error) bool {
	for _, e := range []error{packets.ErrorRefusedBadUsernameOrPassword, packets.ErrorRefusedNotAuthorised,
		packets.ErrorRefusedIDRejected, packets.ErrorRefusedBadProtocolVersion} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// refusal says why the broker refused a connection, in words a user acts
// on.
func refusal(err error) string {
	switch {
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword):
		return "bad user name or password"
	case errors.Is(err, packets.ErrorRefusedNotAuthorised):
		// mosquitto answers a wrong password with this code too.
		return "not authorized: a wrong user name or password, or a user the broker does not let in"
	case errors.Is(err, packets.ErrorRefusedIDRejected):
		return "client id rejected (--client-id)"
	}
	return err.Error()
}

// waitToken waits for tok, ctx or limit, whichever comes first.
func waitToken(ctx context.Context, tok paho.Token, limit time.Duration) error {
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("no answer from the broker within %v", limit)
	}
}

// event reports e to WithConnectionEvents's function, or else to the
// logger.
func (r *Recorder) event(e Event) {
	if r.cfg.onConnect != nil {
		r.cfg.onConnect(e)
		return
	}
	switch e.Kind {
	case Connected:
		r.log.Info("rechistmqtt: connected", "broker", e.Broker, "client_id", r.cfg.clientID, "session_present", e.SessionPresent)
	case Lost:
		r.log.Warn("rechistmqtt: connection lost", "broker", e.Broker, "err", e.Err)
	case Failed:
		r.log.Warn("rechistmqtt: cannot connect", "broker", e.Broker, "err", e.Err, "retry", e.Retry)
	}
}

// receive is paho's handler: it queues the message for the workers. It is
// not acknowledged here; a message that arrives while the Recorder stops
// is left unacknowledged, for the broker to deliver again.
func (r *Recorder) receive(acks *acker, m paho.Message) {
	at := time.Now()
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.stopping {
		return
	}
	r.c.messages.Add(1)
	r.pending.Add(1)
	r.in <- delivery{msg: m, at: at, seq: acks.take(), acks: acks}
}
