package rechisthttp

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"unicode/utf8"
)

// AimX frames, byte for byte as upstream's codec writes them:
// aimdb-core/src/session/aimx/codec.rs at aimdb-dev/aimdb commit
// 0348e9f85b1188b32a2d040c35544fa39dcec2d5. One JSON object a frame,
// tagged by "t", its members in the codec's order (t, id, seq, last,
// method, topic, sub, params, payload, data, ok, err) and no others.

// aimxIn is one frame from a client. A frame that does not decode into it
// (not JSON, a member of the wrong type) is skipped, as upstream's
// run_session skips a frame its codec calls malformed.
type aimxIn struct {
	T       string          `json:"t"`
	ID      *uint64         `json:"id"`
	Method  *string         `json:"method"`
	Topic   *string         `json:"topic"`
	Sub     *string         `json:"sub"`
	Params  json.RawMessage `json:"params"`
	Payload json.RawMessage `json:"payload"`
}

// decodeAIMX reads one client frame; ok is false for a frame upstream's
// codec refuses (AimxCodec::decode, serde's derived Deserialize of its
// Frame): not a JSON object, a member of the codec's (t, id, seq, last,
// method, topic, sub, params, payload, data, ok, err) twice or of the
// wrong type, a string member holding an escape (the codec borrows them
// as &str, which serde_json cannot do for an escaped string), an unknown
// "t", or a "req" without id or method, a "sub" without id or topic, an
// "unsub" without sub, a "write" without topic. Member names are exact
// ("T" is not "t", as encoding/json would take it); other members are
// ignored, as serde ignores unknown fields.
func decodeAIMX(b []byte) (f aimxIn, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return f, false
	}
	var seen uint16
	var t *string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return f, false
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return f, false
		}
		bit := aimxMembers[key]
		if bit == 0 {
			continue
		}
		if seen&bit != 0 {
			return f, false // serde: duplicate field
		}
		seen |= bit
		var dst any
		switch key {
		case "t":
			dst = &t
		case "id":
			dst = &f.ID
		case "seq":
			dst = new(*uint64)
		case "last":
			dst = new(*bool)
		case "method":
			dst = &f.Method
		case "topic":
			dst = &f.Topic
		case "sub":
			dst = &f.Sub
		case "err":
			dst = new(*string)
		case "params":
			f.Params = raw
		case "payload":
			f.Payload = raw
		}
		if dst == nil {
			continue // params, payload, data, ok: any JSON value
		}
		if raw[0] == '"' && bytes.IndexByte(raw, '\\') >= 0 {
			return f, false // an escaped string cannot be borrowed
		}
		if json.Unmarshal(raw, dst) != nil {
			return f, false
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return f, false
	}
	if _, err := dec.Token(); err != io.EOF { // nothing after the object
		return f, false
	}
	if t == nil {
		return f, false
	}
	f.T = *t
	switch f.T {
	case "req":
		return f, f.ID != nil && f.Method != nil
	case "sub":
		return f, f.ID != nil && f.Topic != nil
	case "unsub":
		return f, f.Sub != nil
	case "write":
		return f, f.Topic != nil
	case "ping":
		return f, true
	}
	return f, false
}

// aimxMembers are the members of upstream's Frame, each a bit of decodeAIMX's
// seen set.
var aimxMembers = map[string]uint16{
	"t": 1 << 0, "id": 1 << 1, "seq": 1 << 2, "last": 1 << 3, "method": 1 << 4, "topic": 1 << 5,
	"sub": 1 << 6, "params": 1 << 7, "payload": 1 << 8, "data": 1 << 9, "ok": 1 << 10, "err": 1 << 11,
}

// The error codes of a reply: upstream's RpcError, every failure collapsed
// into these (design 047 §3.5).
const (
	aimxNotFound        = "not_found"
	aimxDenied          = "denied"
	aimxInternal        = "internal"
	aimxVersionMismatch = "version_mismatch"
)

// appendReplyOK appends {"t":"reply","id":N,"ok":V}.
func appendReplyOK(b []byte, id uint64, ok []byte) []byte {
	b = appendReplyHead(b, id)
	b = append(b, ok...)
	return append(b, '}')
}

// appendReplyHead appends a reply's envelope up to its result:
// {"t":"reply","id":N,"ok":
func appendReplyHead(b []byte, id uint64) []byte {
	b = append(b, `{"t":"reply","id":`...)
	b = strconv.AppendUint(b, id, 10)
	return append(b, `,"ok":`...)
}

// replyHeadroom is the room a result built with it leaves in front of
// itself for the longest envelope (appendReplyHead), which the reply then
// takes in place (replyInPlace) instead of copying the result behind one.
const replyHeadroom = len(`{"t":"reply","id":18446744073709551615,"ok":`)

// replyInPlace makes b, a result after replyHeadroom bytes of room, the
// reply with id: the envelope written into the end of the room, then '}'.
func replyInPlace(b []byte, id uint64) []byte {
	var head [replyHeadroom]byte
	h := appendReplyHead(head[:0], id)
	start := replyHeadroom - len(h)
	copy(b[start:], h)
	return append(b[start:], '}')
}

// appendReplyErr appends {"t":"reply","id":N,"err":CODE}.
func appendReplyErr(b []byte, id uint64, code string) []byte {
	b = append(b, `{"t":"reply","id":`...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, `,"err":`...)
	b = appendAIMXString(b, code)
	return append(b, '}')
}

// appendEvent appends {"t":"event","seq":N[,"topic":T],"sub":S,"data":V}:
// without "topic" when topic is empty (no record is named "").
func appendEvent(b []byte, sub string, seq uint64, topic string, data []byte) []byte {
	b = append(b, `{"t":"event","seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	if topic != "" {
		b = append(b, `,"topic":`...)
		b = appendAIMXString(b, topic)
	}
	b = append(b, `,"sub":`...)
	b = appendAIMXString(b, sub)
	b = append(b, `,"data":`...)
	b = append(b, data...)
	return append(b, '}')
}

// appendSnap appends {"t":"snap","seq":N[,"last":true],"topic":T,"sub":S,"data":V}.
func appendSnap(b []byte, sub string, seq uint64, last bool, topic string, data []byte) []byte {
	b = append(b, `{"t":"snap","seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	if last {
		b = append(b, `,"last":true`...)
	}
	b = append(b, `,"topic":`...)
	b = appendAIMXString(b, topic)
	b = append(b, `,"sub":`...)
	b = appendAIMXString(b, sub)
	b = append(b, `,"data":`...)
	b = append(b, data...)
	return append(b, '}')
}

// appendSubscribed appends {"t":"subscribed","sub":S}.
func appendSubscribed(b []byte, sub string) []byte {
	b = append(b, `{"t":"subscribed","sub":`...)
	b = appendAIMXString(b, sub)
	return append(b, '}')
}

var aimxPong = []byte(`{"t":"pong"}`)

// appendAIMXString appends s as a JSON string as serde_json writes it:
// '"', '\\' and control characters escaped, nothing else; ASCII without
// them is copied, anything else goes through appendJSONString.
func appendAIMXString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return appendJSONString(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
