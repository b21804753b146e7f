package main

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// sourceVersion is the version of this source tree: what --version says
// when the build recorded neither a module version nor a revision. Raise
// it with each release.
const sourceVersion = "v0.1.0-dev"

// version says which rechist this is; see versionOf.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "rechist (no build information), " + runtime.Version()
	}
	return versionOf(info)
}

// versionOf says which rechist info describes: the module version
// ("(devel)" when built from a checkout rather than a tagged module;
// sourceVersion when the build recorded no revision either), the
// source revision it was built from, whether that had uncommitted changes
// and its commit time, when the go command recorded them (go build does in
// a git clone unless -buildvcs=false; go run and git worktrees do not),
// and the Go version:
//
//	rechist v0.0.0-20261126050432-0f1be490c3ca+dirty (revision 0f1be490c3ca…, modified, 2026-11-26T05:04:32Z), go1.26.8
//	rechist v0.1.0-dev (built without version control information), go1.26.8
func versionOf(info *debug.BuildInfo) string {
	v := info.Main.Version
	stamped := false
	for _, s := range info.Settings {
		stamped = stamped || s.Key == "vcs.revision"
	}
	if (v == "" || v == "(devel)") && !stamped {
		// go run, a worktree, -buildvcs=false: the source's own version.
		v = sourceVersion + " (built without version control information)"
	} else if v == "" {
		v = "(devel)"
	}
	var rev, modified, at string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = "revision " + s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "modified"
			}
		case "vcs.time":
			at = s.Value
		}
	}
	out := "rechist " + v
	if rev != "" {
		var vcs []string
		for _, s := range []string{rev, modified, at} {
			if s != "" {
				vcs = append(vcs, s)
			}
		}
		out += " (" + strings.Join(vcs, ", ") + ")"
	}
	return out + ", " + info.GoVersion
}
