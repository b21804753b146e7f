//go:build unix

package bench

import (
	"errors"
	"os"
	"runtime"
	"syscall"
)

// maxRSSKiB is a finished process's peak resident set size in KiB, from
// the rusage wait4 returned.
func maxRSSKiB(ps *os.ProcessState) (int64, error) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, errors.New("bench child: no rusage")
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss) / 1024, nil // bytes there
	}
	return int64(ru.Maxrss), nil // KiB on Linux and the BSDs
}
