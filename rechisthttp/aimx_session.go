package rechisthttp

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/seed178a96f3/rechist"
)

// aimxSession is one AimX connection: the frames it reads are handled one
// at a time, in order (upstream's run_session, aimdb-core
// src/session/server.rs); each subscription's events are written by a
// goroutine of its own, whole frames under the write lock.
type aimxSession struct {
	h    *Handler
	conn aimxConn
	// ws is true on the WebSocket, which acknowledges each subscription
	// with a "subscribed" frame and sends snapshots for an exact topic as
	// well: upstream's WebSocket connector (acks_subscribe: true, its
	// SnapshotProvider); the socket transports follow upstream's
	// AimxDispatch (no acknowledgement, snapshots for wildcards only).
	ws bool
	// authed is true once the token rule is met: at the upgrade on the
	// WebSocket, by hello's auth_token on a socket.
	authed bool
	// refused is set when hello carried a wrong auth_token: the session
	// ends once the denial is sent.
	refused bool

	ctx    context.Context
	cancel context.CancelFunc

	wmu    sync.Mutex
	broken bool

	smu  sync.Mutex
	subs map[string]*aimxSub
	wg   sync.WaitGroup

	// reply is the buffer the request being answered builds its reply
	// in, kept for the next (requests are answered one at a time);
	// inPlace says the method built its result in it, after
	// replyHeadroom bytes of room.
	reply   []byte
	inPlace bool
}

// aimxKeepReply is the largest reply buffer a session keeps between
// requests: 128 MiB for the aimxMaxConns WebSocket sessions the handler
// serves at once if each last asked for a large reply. (A sync.Pool
// shared by the sessions lost its buffers to the garbage collector
// between most queries of 5,000 rows and gave back a third of the gain.)
const aimxKeepReply = 512 << 10

// runAIMX serves one connection until the client leaves, ctx ends, the
// server shuts down (CloseStreams) or the database closes.
func (h *Handler) runAIMX(ctx context.Context, conn aimxConn, ws, authed bool) {
	ctx, cancel := context.WithCancel(ctx)
	s := &aimxSession{h: h, conn: conn, ws: ws, authed: authed || h.cfg.token == "", ctx: ctx, cancel: cancel, subs: map[string]*aimxSub{}}
	go func() {
		select {
		case <-ctx.Done():
		case <-h.streams.done:
			s.end("the server is shutting down")
		}
	}()
	defer func() {
		cancel()
		s.wg.Wait()
		conn.close("")
	}()
	if sc, ok := conn.(*streamConn); ok && !s.authed {
		sc.guard(aimxHelloTimeout)
	}
	for {
		b, err := conn.read(ctx)
		if err != nil {
			if errors.Is(err, errFrameTooLarge) {
				h.cfg.logger.Warn("rechisthttp: aimx connection cut", slog.Any("error", err))
			}
			return
		}
		f, ok := decodeAIMX(b)
		if !ok {
			continue // upstream skips a malformed frame and keeps the session
		}
		switch f.T {
		case "req":
			s.request(*f.ID, *f.Method, f.Params)
			if s.refused {
				return // a wrong auth_token: no second guess on this connection
			}
		case "sub":
			s.subscribe(*f.ID, *f.Topic)
		case "unsub":
			s.unsubscribe(*f.Sub)
		case "write":
			s.write(*f.Topic, f.Payload)
		case "ping":
			s.send(aimxPong)
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// send writes one frame; false when the connection is broken (a write
// failed or stayed blocked for the write timeout), which ends the session.
func (s *aimxSession) send(frame []byte) bool {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.broken {
		return false
	}
	if err := s.conn.write(frame, s.h.cfg.writeTimeout); err != nil {
		s.broken = true
		if s.ctx.Err() == nil {
			s.h.cfg.logger.Warn("rechisthttp: aimx connection cut: a write failed or stayed blocked", slog.Any("error", err))
		}
		s.cancel()
		s.conn.close("")
		return false
	}
	return true
}

// end closes the connection, saying why where the transport can. The
// close comes first: cancelling first would let the session's own bare
// close (once its read fails) cut the close frame.
func (s *aimxSession) end(reason string) {
	s.conn.close(reason)
	s.cancel()
}

// request answers one "req" frame with one reply.
func (s *aimxSession) request(id uint64, method string, params json.RawMessage) {
	var out []byte
	s.inPlace = false
	ok, code := s.call(method, params)
	switch {
	case code != "":
		out = appendReplyErr(nil, id, code)
	case s.inPlace:
		out = replyInPlace(ok, id)
	default:
		out = appendReplyOK(make([]byte, 0, len(ok)+32), id, ok)
	}
	s.send(out)
	if s.inPlace && cap(ok) <= aimxKeepReply {
		s.reply = ok[:0]
	}
}

// replyBuffer returns the session's reply buffer, empty but for
// replyHeadroom bytes of room, with room for at least size more bytes;
// a method that builds its result in it sets inPlace when it returns it.
func (s *aimxSession) replyBuffer(size int) []byte {
	b := s.reply
	s.reply = nil // whoever has it now gives it back (request)
	return slices.Grow(b[:0], replyHeadroom+size)[:replyHeadroom]
}

// call runs one method within the query timeout: its result, or one of
// the error codes. The methods a history store cannot serve (graph.*,
// record.drain, profiling.reset, buffer_metrics.reset) answer as upstream
// answers any method it does not know: not_found.
func (s *aimxSession) call(method string, raw json.RawMessage) ([]byte, string) {
	var p aimxParams
	if len(raw) > 0 {
		// Upstream reads params as a JSON value and looks each member up,
		// ignoring one of the wrong type; so does aimxParams.
		_ = json.Unmarshal(raw, &p)
	}
	if method == "hello" {
		return s.hello(p)
	}
	if !s.authed {
		return nil, aimxDenied
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.h.cfg.queryTimeout)
	defer cancel()
	switch method {
	case "record.list":
		b, err := s.recordList(ctx, p)
		if errors.Is(err, rechist.ErrInvalidArgument) {
			return []byte(`[]`), "" // a pattern no record can match
		}
		return s.result(b, err)
	case "record.get":
		return s.result(s.recordGet(ctx, p))
	case "record.query":
		// A pattern no record can match (empty, not UTF-8, with NUL, too
		// long) matches nothing, as upstream's query answers an unknown
		// name: an empty result, nothing logged.
		b, err := s.recordQuery(ctx, p)
		if errors.Is(err, rechist.ErrInvalidArgument) {
			return []byte(`{"records":[],"total":0}`), ""
		}
		return s.result(b, err)
	case "record.set":
		return s.result(s.recordSet(ctx, p))
	}
	return nil, aimxNotFound
}

// result turns a method's outcome into a reply's: errors collapse into
// not_found, denied and internal as upstream's map_db_err does; internal
// ones are logged.
func (s *aimxSession) result(b []byte, err error) ([]byte, string) {
	var ae aimxError
	switch {
	case err == nil:
		return b, ""
	case errors.As(err, &ae):
		return nil, string(ae)
	case errors.Is(err, rechist.ErrNotFound):
		return nil, aimxNotFound
	case errors.Is(err, rechist.ErrReadOnly):
		return nil, aimxDenied
	}
	if s.ctx.Err() == nil {
		s.h.cfg.logger.Error("rechisthttp: aimx request failed", slog.Any("error", err))
	}
	return nil, aimxInternal
}

// aimxError is a failure whose reply code is decided already.
type aimxError string

func (e aimxError) Error() string { return "aimx: " + string(e) }

// aimxParams are the members of a request's params the methods read.
// Each is a json.RawMessage so that one of the wrong type is as absent,
// as upstream's params.get(..).and_then(as_str / as_u64) makes it.
type aimxParams struct {
	Version   json.RawMessage `json:"version"`
	AuthToken json.RawMessage `json:"auth_token"`
	Name      json.RawMessage `json:"name"`
	Value     json.RawMessage `json:"value"`
	Limit     json.RawMessage `json:"limit"`
	Start     json.RawMessage `json:"start"`
	End       json.RawMessage `json:"end"`
}

// str is a member as a string; ok is false when absent or not a string.
func str(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// u64 is a member as an unsigned integer (serde_json's as_u64: a number
// without fraction or exponent that fits); ok is false otherwise.
func u64(raw json.RawMessage) (uint64, bool) {
	n, err := strconv.ParseUint(string(raw), 10, 64)
	return n, err == nil
}

// aimxVersion is the AimX version this server speaks (upstream's
// PROTOCOL_VERSION, aimdb-core src/remote/protocol.rs).
const aimxVersion = "3.0"

// aimxMaxSubs is how many subscriptions one connection may hold open, as
// upstream's AimxConfig defaults max_subs_per_connection.
const aimxMaxSubs = 32

// versionCompatible is upstream's version_compatible: the major versions
// (the text before the first '.') are equal and not empty.
func versionCompatible(v string) bool {
	major, _, _ := strings.Cut(v, ".")
	return major != "" && major == strings.SplitN(aimxVersion, ".", 2)[0]
}

// hello is upstream's version-gated handshake (AimxDispatch::hello): a
// client that declares no version or another major one is refused with
// version_mismatch. On a socket with a token, hello's auth_token (a field
// of upstream's HelloMessage) must carry it; until then every other
// request is denied.
func (s *aimxSession) hello(p aimxParams) ([]byte, string) {
	v, _ := str(p.Version)
	if !versionCompatible(v) {
		return nil, aimxVersionMismatch
	}
	authenticated := s.h.cfg.token != ""
	if !s.authed {
		tok, _ := str(p.AuthToken)
		if subtle.ConstantTimeCompare([]byte(tok), []byte(s.h.cfg.token)) != 1 {
			s.refused = true
			return nil, aimxDenied
		}
		s.authed = true
		if sc, ok := s.conn.(*streamConn); ok {
			sc.admit()
		}
	}
	perms := []string{"read"}
	if s.h.cfg.writable {
		perms = append(perms, "write")
	}
	b, _ := json.Marshal(struct {
		Version          string   `json:"version"`
		Server           string   `json:"server"`
		Permissions      []string `json:"permissions"`
		WritableRecords  []string `json:"writable_records"`
		MaxSubscriptions int      `json:"max_subscriptions"`
		Authenticated    bool     `json:"authenticated"`
	}{aimxVersion, "rechist", perms, []string{}, aimxMaxSubs, authenticated})
	return b, ""
}

// dbPattern is the pattern, in the DB's own language, whose records
// include every one the topic pattern matches: the topic pattern itself
// on a DB opened with topic patterns, else its literal prefix and '*'.
// Names it selects are then tested with topicMatches.
func (h *Handler) dbPattern(topic string) string {
	if h.cfg.topics {
		return topic
	}
	prefix, exact := topicPrefix(topic)
	if exact {
		return topic // without '*' one name; with one, more names, tested after
	}
	return prefix + "*"
}

// slot takes one of the heavy requests' slots (WithMaxConcurrentQueries)
// within ctx.
func (h *Handler) slot(ctx context.Context) (release func(), err error) {
	select {
	case h.slots <- struct{}{}:
		return func() { <-h.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// recordList answers record.list: a row per record in the shape of
// upstream's RecordMetadata (aimdb-core src/remote/metadata.rs), so
// AimDB's clients read it, with what a history adds: rows, and the times
// of the oldest and newest row (first_ts, last_ts, Unix ms). params.name,
// a topic pattern, narrows the list ("#" when absent; upstream takes no
// params).
func (s *aimxSession) recordList(ctx context.Context, p aimxParams) ([]byte, error) {
	pattern, ok := str(p.Name)
	if !ok {
		pattern = "#"
	}
	release, err := s.h.slot(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	dbPat, allPat := s.h.dbPattern(pattern), s.h.dbPattern("#")
	infos, err := s.h.db.Records(ctx, dbPat)
	if err != nil {
		return nil, err
	}
	// record_id is a record's place among all records by name, whatever
	// the pattern, so that it names the same record in every answer (as
	// upstream's does, an index into the database's records) until
	// records are added or deleted.
	all := infos
	if dbPat != allPat {
		if all, err = s.h.db.Records(ctx, allPat); err != nil {
			return nil, err
		}
	}
	ids := make(map[string]int, len(all))
	for i, in := range all {
		ids[in.Name] = i
	}
	type meta struct {
		RecordID               int    `json:"record_id"`
		RecordKey              string `json:"record_key"`
		Name                   string `json:"name"`
		TypeID                 string `json:"type_id"`
		Origin                 string `json:"origin"`
		BufferType             string `json:"buffer_type"`
		ProducerCount          int    `json:"producer_count"`
		ConsumerCount          int    `json:"consumer_count"`
		Writable               bool   `json:"writable"`
		OutboundConnectorCount int    `json:"outbound_connector_count"`
		Entity                 string `json:"entity"`
		Rows                   int64  `json:"rows"`
		FirstTS                int64  `json:"first_ts"`
		LastTS                 int64  `json:"last_ts"`
	}
	rows := make([]meta, 0, len(infos))
	for _, in := range infos {
		if !topicMatches(pattern, in.Name) {
			continue
		}
		rows = append(rows, meta{
			RecordID: ids[in.Name], RecordKey: in.Name, Name: in.Name, TypeID: "json", Origin: "passive",
			BufferType: "history", Writable: s.h.cfg.writable, Entity: in.Name[strings.LastIndexAny(in.Name, "./")+1:],
			Rows: in.Rows, FirstTS: in.First.UnixMilli(), LastTS: in.Last.UnixMilli(),
		})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rows); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// recordGet answers record.get {name}: the record's newest value.
func (s *aimxSession) recordGet(ctx context.Context, p aimxParams) ([]byte, error) {
	name, ok := str(p.Name)
	if !ok {
		return nil, aimxError(aimxNotFound)
	}
	rec, err := s.h.raw.Latest(ctx, name)
	if errors.Is(err, rechist.ErrInvalidArgument) {
		return nil, aimxError(aimxNotFound) // no record can have that name
	}
	if err != nil {
		return nil, err
	}
	return rec.Value, nil
}

// recordSet answers record.set {name, value} on a writable handler: the
// value is stored now and echoed ({"status":"success","value":V}), as
// upstream's AimxDispatch::record_set does. A missing name or value is
// internal and a read-only handler denied, in upstream's order.
func (s *aimxSession) recordSet(ctx context.Context, p aimxParams) ([]byte, error) {
	name, ok := str(p.Name)
	if !ok || len(p.Value) == 0 {
		return nil, aimxError(aimxInternal)
	}
	if !s.h.cfg.writable {
		return nil, aimxError(aimxDenied)
	}
	if err := s.store(ctx, name, p.Value); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString(`{"status":"success","value":`)
	if err := json.Compact(&buf, p.Value); err != nil {
		return nil, err
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// store stores one value now and wakes the subscriptions.
func (s *aimxSession) store(ctx context.Context, name string, v json.RawMessage) error {
	if err := s.h.raw.Store(ctx, name, v); err != nil {
		return err
	}
	s.h.aimx.notify()
	return nil
}

// write handles a "write" frame: fire and forget, as upstream's
// Session::write, storing payload.value (or the whole payload when it has
// no "value" member); nothing is answered, a failure only logged, and a
// read-only handler drops it.
func (s *aimxSession) write(topic string, payload json.RawMessage) {
	if !s.authed || !s.h.cfg.writable {
		return
	}
	v := payload
	if len(v) == 0 {
		v = json.RawMessage("null")
	}
	var wrapped struct {
		Value json.RawMessage `json:"value"`
	}
	if len(v) > 0 && v[0] == '{' && json.Unmarshal(v, &wrapped) == nil && len(wrapped.Value) > 0 {
		v = wrapped.Value
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.h.cfg.queryTimeout)
	defer cancel()
	if err := s.store(ctx, topic, v); err != nil && s.ctx.Err() == nil {
		s.h.cfg.logger.Warn("rechisthttp: aimx write failed", slog.String("topic", topic), slog.Any("error", err))
	}
}

// subscribe opens a subscription to topic, keyed by the request's id (its
// "sub" is the id in decimal): on the WebSocket a "subscribed" frame
// first, then one "snap" per matched record with its newest value (the
// last flagged "last":true), numbered 1..N, then an "event" for each row
// stored afterwards, numbered on from N+1. A refusal is a reply carrying
// the id: denied past aimxMaxSubs or before the token, not_found for a
// topic no record can have.
func (s *aimxSession) subscribe(id uint64, topic string) {
	subID := strconv.FormatUint(id, 10)
	s.smu.Lock()
	_, replacing := s.subs[subID]
	n := len(s.subs)
	s.smu.Unlock()
	if !s.authed || n >= aimxMaxSubs && !replacing {
		s.send(appendReplyErr(nil, id, aimxDenied))
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.h.cfg.queryTimeout)
	defer cancel()
	dbPat := s.h.dbPattern(topic)
	after, err := s.h.db.LastID(ctx)
	if err == nil {
		_, _, err = s.h.db.Changes(ctx, dbPat, after, 1) // checks the pattern
	}
	if err != nil {
		code := aimxInternal
		if errors.Is(err, rechist.ErrInvalidArgument) {
			code = aimxNotFound
		} else if s.ctx.Err() == nil {
			s.h.cfg.logger.Error("rechisthttp: aimx subscribe failed", slog.Any("error", err))
		}
		s.send(appendReplyErr(nil, id, code))
		return
	}
	s.unsubscribe(subID) // upstream replaces a subscription of the same id
	var snaps []rechist.Record[json.RawMessage]
	if s.ws || isWildcard(topic) {
		// The newest value of every matched record. A row committed
		// between LastID and this read is in a snapshot and also an
		// event: at least once, never lost. The read takes one of the
		// handler's query slots (WithMaxConcurrentQueries), released
		// before the snapshots are sent.
		var latest []rechist.Record[json.RawMessage]
		release, err := s.h.slot(ctx)
		if err == nil {
			latest, err = s.h.raw.QueryLatest(ctx, dbPat, 1)
			release()
		}
		if err != nil {
			if s.ctx.Err() == nil {
				s.h.cfg.logger.Error("rechisthttp: aimx snapshot failed", slog.Any("error", err))
			}
			s.send(appendReplyErr(nil, id, aimxInternal))
			return
		}
		for _, r := range latest {
			if topicMatches(topic, r.Name) {
				snaps = append(snaps, r)
			}
		}
	}
	if s.ws && !s.send(appendSubscribed(nil, subID)) {
		return
	}
	var frame []byte
	for i, r := range snaps {
		frame = appendSnap(frame[:0], subID, uint64(i+1), i == len(snaps)-1, r.Name, r.Value)
		if !s.send(frame) {
			return
		}
	}
	sctx, scancel := context.WithCancel(s.ctx)
	sub := &aimxSub{cancel: scancel, done: make(chan struct{})}
	s.smu.Lock()
	s.subs[subID] = sub
	s.smu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(sub.done)
		s.follow(sctx, id, topic, dbPat, after, uint64(len(snaps)))
		s.smu.Lock()
		if s.subs[subID] == sub { // ended on its own: no longer counts
			delete(s.subs, subID)
		}
		s.smu.Unlock()
	}()
}

// unsubscribe ends the subscription sub, if open, and waits until it
// sends nothing more. Nothing is answered, as upstream answers nothing.
func (s *aimxSession) unsubscribe(subID string) {
	s.smu.Lock()
	sub, ok := s.subs[subID]
	delete(s.subs, subID)
	s.smu.Unlock()
	if ok {
		sub.cancel()
		<-sub.done
	}
}
