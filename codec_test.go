package rechist

import (
	"bytes"
	"strings"
	"testing"
)

// One large value must not pin a large encode buffer for the life of the
// process: buffers that grew past maxPooledBuffer are not pooled.
func TestEncodePoolDropsLargeBuffers(t *testing.T) {
	big := strings.Repeat("x", 16<<20)
	if _, err := encodeValue("store", "big", big); err != nil {
		t.Fatal(err)
	}
	for range 4 { // whatever the pool hands out now is small
		buf := bufPool.Get().(*bytes.Buffer)
		if buf.Cap() > maxPooledBuffer {
			t.Fatalf("the pool kept a %d-byte buffer", buf.Cap())
		}
		defer bufPool.Put(buf)
	}
}
