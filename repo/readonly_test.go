package repo

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A file opened immutable fails its Close when it changed meanwhile: its
// size, its time, or a WAL beside it (a writer started).
func TestImmutableOpenNoticesAChange(t *testing.T) {
	for _, change := range []struct {
		name string
		do   func(path string) error
	}{
		{"appended", func(p string) error {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err == nil {
				_, err = f.WriteString("x")
				f.Close()
			}
			return err
		}},
		{"touched", func(p string) error { return os.Chtimes(p, time.Now(), time.Now().Add(time.Hour)) }},
		{"a WAL", func(p string) error { return os.WriteFile(p+"-wal", nil, 0o644) }},
	} {
		path := filepath.Join(t.TempDir(), "h.db")
		if err := os.WriteFile(path, []byte("data"), 0o644); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		imm := &immutableState{path: path, size: fi.Size(), modified: fi.ModTime()}
		if err := closeImmutable(imm, path); err != nil {
			t.Fatalf("unchanged: %v", err)
		}
		if err := change.do(path); err != nil {
			t.Fatal(err)
		}
		if err := closeImmutable(imm, path); !errors.Is(err, errChangedWhileImmutable) {
			t.Errorf("%s: Close gave %v, want errChangedWhileImmutable", change.name, err)
		}
	}
}
