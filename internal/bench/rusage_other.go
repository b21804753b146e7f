//go:build !unix

package bench

import (
	"errors"
	"os"
)

// maxRSSKiB needs wait4's rusage, which only Unix systems have.
func maxRSSKiB(*os.ProcessState) (int64, error) {
	return 0, errors.New("bench child: peak RSS is measured on Unix systems only")
}
