package rechisthttp

import (
	"encoding/json"
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
// codec refuses (AimxCodec::decode): not a JSON object of the right member
// types, an unknown "t", or a "req" without id or method, a "sub" without
// id or topic, an "unsub" without sub, a "write" without topic.
func decodeAIMX(b []byte) (f aimxIn, ok bool) {
	if err := json.Unmarshal(b, &f); err != nil {
		return f, false
	}
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
	b = append(b, `{"t":"reply","id":`...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, `,"ok":`...)
	b = append(b, ok...)
	return append(b, '}')
}

// appendReplyErr appends {"t":"reply","id":N,"err":CODE}.
func appendReplyErr(b []byte, id uint64, code string) []byte {
	b = append(b, `{"t":"reply","id":`...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, `,"err":`...)
	b = appendAIMXString(b, code)
	return append(b, '}')
}

// appendEvent appends {"t":"event","seq":N,"topic":T,"sub":S,"data":V}.
func appendEvent(b []byte, sub string, seq uint64, topic string, data []byte) []byte {
	b = append(b, `{"t":"event","seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"topic":`...)
	b = appendAIMXString(b, topic)
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
