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
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetVisibility(e.interactive),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionClearOnFinish(),
	}
	if bytes {
		// It shows the rate in bytes per second by itself.
		opts = append(opts, progressbar.OptionShowBytes(true))
	} else {
		opts = append(opts, progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"))
	}
	return progressbar.NewOptions64(total, opts...)
}
