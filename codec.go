package rechist

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"sync"

	"github.com/seed178a96f3/rechist/internal/core"
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer is the largest encode buffer kept for reuse: one large
// value must not pin its buffer for the life of the process.
const maxPooledBuffer = 64 << 10

// encodeValue returns v as compact JSON text. HTML characters are kept as
// they are (no \u003c escapes), as the Rust crate's serde_json writes them.
func encodeValue(op, name string, v any) (string, error) {
	buf := bufPool.Get().(*bytes.Buffer)
	defer putBuffer(buf)
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", core.Invalidf(op, "value of record %s cannot be encoded as JSON: %v", quote(name), err)
	}
	js := bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
	// What the Rust crate or encoding/json cannot read back is refused here,
	// for every engine (see core.ValueProblem).
	if problem := core.ValueProblem(js); problem != "" {
		return "", core.Invalidf(op, "record %s: %s", quote(name), problem)
	}
	return string(js), nil
}

// putBuffer returns buf to the pool unless it grew past maxPooledBuffer.
func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBuffer {
		bufPool.Put(buf)
	}
}

// quote quotes a record name for an error message, shortened if long.
func quote(name string) string {
	const most = 64
	if len(name) > most {
		return strconv.Quote(name[:most]) + "…"
	}
	return strconv.Quote(name)
}

// typeName names T for log messages.
func typeName[T any]() string {
	return reflect.TypeFor[T]().String()
}
