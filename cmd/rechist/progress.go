package main

import (
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// newProgress returns a progress bar on stderr when it is a terminal, and a
// silent one otherwise. total counts bytes (when bytes is set) or rows; -1
// makes a spinner.
func newProgress(e *env, total int64, what string, bytes bool) *progressbar.ProgressBar {
	w := io.Discard
	if e.interactive {
		w = e.stderr
	}
	unit := "rows"
	if bytes {
		unit = "B"
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetVisibility(e.interactive),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(bytes),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}
