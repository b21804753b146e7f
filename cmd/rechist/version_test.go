package main

import (
	"debug/buildinfo"
	"runtime/debug"
	"strings"
	"testing"
)

// --version prints what the binary's build information holds.
func TestVersionFlag(t *testing.T) {
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	out := ok(t, t.TempDir(), "", "--version")
	if out != versionOf(info)+"\n" {
		t.Errorf("--version printed %q, want %q", out, versionOf(info)+"\n")
	}
	if !strings.HasPrefix(out, "rechist (devel) (revision ") && !strings.HasPrefix(out, "rechist v") {
		t.Errorf("--version: %q", out)
	}
}

func TestVersionOf(t *testing.T) {
	for _, tc := range []struct {
		info debug.BuildInfo
		want string
	}{
		{debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"rechist v0.1.0-dev (built without version control information), go1.26.8"}, // was "rechist (devel)"
		{debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}}},
			"rechist (devel) (revision abc), go1.26.8"},
		{debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261126050432-0f1be490c3ca+dirty"},
			Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0f1be490c3caf26847b93d6a0c01ba4be08d6cd1"},
				{Key: "vcs.time", Value: "2026-11-26T05:04:32Z"}, {Key: "vcs.modified", Value: "true"}}},
			"rechist v0.0.0-20261126050432-0f1be490c3ca+dirty (revision 0f1be490c3caf26847b93d6a0c01ba4be08d6cd1, modified, 2026-11-26T05:04:32Z), go1.26.8"},
		{debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"}}},
			"rechist v1.2.0 (revision abc), go1.26.8"},
	} {
		if got := versionOf(&tc.info); got != tc.want {
			t.Errorf("versionOf(%+v)\n = %q\nwant %q", tc.info, got, tc.want)
		}
	}
}
