package main

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionSaysWhatWasBuilt(t *testing.T) {
	const hash = "14b2713abcdef0123456789abcdef0123456789a"
	settings := func(kv ...string) []debug.BuildSetting {
		s := []debug.BuildSetting{{Key: "GOOS", Value: "windows"}, {Key: "GOARCH", Value: "arm64"}}
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	info := func(version string, kv ...string) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/bulkdl/bulkdl", Version: version}, Settings: settings(kv...)}
	}
	vcs := []string{"vcs.revision", hash, "vcs.time", "2026-11-24T13:30:00Z", "vcs.modified", "false"}
	cases := []struct {
		name                string
		bi                  *debug.BuildInfo
		ldVersion, ldCommit string
		ldDate              string
		want                string
	}{
		{"a release build takes what -ldflags set", info("(devel)"), "v1.2.0", hash, "2026-11-24T13:30:00Z",
			"bulkdl 1.2.0\ncommit   " + hash + "\ndate     2026-11-24T13:30:00Z\ngo       go1.26.8\nplatform windows/arm64\n"},
		{"a go build in a checkout says devel and its commit", info("v0.0.0-20261124133000-14b2713abcde", vcs...), "", "", "",
			"bulkdl devel 14b2713abcde\ncommit   " + hash + "\ndate     2026-11-24T13:30:00Z\ngo       go1.26.8\nplatform windows/arm64\n"},
		{"a modified tree says so", info("v0.0.0-20261124133000-14b2713abcde+dirty", "vcs.revision", hash, "vcs.modified", "true"), "", "", "",
			"bulkdl devel 14b2713abcde (modified)\ncommit   " + hash + "\ndate     2026-11-24T13:30:00Z\ngo       go1.26.8\nplatform windows/arm64\n"},
		{"a modified tree at a tag is not that release", info("v1.2.0+dirty", vcs...), "", "", "",
			"bulkdl devel 14b2713abcde (modified)\ncommit   " + hash + "\ndate     2026-11-24T13:30:00Z\ngo       go1.26.8\nplatform windows/arm64\n"},
		{"go install at a tag has no vcs settings", info("v1.2.0"), "", "", "",
			"bulkdl 1.2.0\ncommit   unknown\ndate     unknown\ngo       go1.26.8\nplatform windows/arm64\n"},
		{"go install at a commit takes it from the pseudo-version", info("v1.2.1-0.20261124133000-14b2713abcde"), "", "", "",
			"bulkdl devel 14b2713abcde\ncommit   14b2713abcde\ndate     2026-11-24T13:30:00Z\ngo       go1.26.8\nplatform windows/arm64\n"},
		{"a build without vcs info is devel", info("(devel)"), "", "", "",
			"bulkdl devel\ncommit   unknown\ndate     unknown\ngo       go1.26.8\nplatform windows/arm64\n"},
		{"no build info at all", nil, "", "", "",
			"bulkdl devel\ncommit   unknown\ndate     unknown\ngo       " + runtime.Version() + "\nplatform " + runtime.GOOS + "/" + runtime.GOARCH + "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			newBuildVersion(c.bi, c.ldVersion, c.ldCommit, c.ldDate).write(&b)
			if got := b.String(); got != c.want {
				t.Errorf("version =\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

func TestVersionFlags(t *testing.T) {
	_, want, _ := bulkdl("version")
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		code, out, stderr := bulkdl(args...)
		if code != 0 || out != want || stderr != "" || !strings.HasPrefix(out, "bulkdl ") || !strings.Contains(out, "platform "+runtime.GOOS+"/"+runtime.GOARCH) {
			t.Errorf("bulkdl %q = %d, %q, %q; want 0 and %q on stdout", args, code, out, stderr, want)
		}
	}
}
