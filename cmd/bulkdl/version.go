package main

import (
	"fmt"
	"io"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Set by a release build (GoReleaser, make dist) with
//
//	-ldflags "-X main.version=1.2.0 -X main.commit=<hash> -X main.date=<RFC 3339>"
//
// A source build leaves them empty and the build info stamped by the go
// command fills what it can.
var (
	version string
	commit  string
	date    string
)

// buildVersion is what "bulkdl version" prints.
type buildVersion struct {
	Version  string // "1.2.0" for a release or a tagged module, else "devel"
	Commit   string // the full commit hash, or "" when unknown
	Date     string // the commit's date, RFC 3339 in UTC, or ""
	Modified bool   // built from a tree with uncommitted changes
	Go       string // the toolchain, such as "go1.26.8"
	Platform string // GOOS/GOARCH
}

// pseudoVersion matches the tail of a Go pseudo-version
// (v0.0.0-20261124133000-14b2713abcde, v1.2.1-0.20261124133000-14b2713abcde)
// that go build and go install stamp on an untagged commit.
var pseudoVersion = regexp.MustCompile(`[-.](\d{14})-([0-9a-f]{12})$`)

// readBuildVersion describes the running binary.
func readBuildVersion() buildVersion {
	bi, _ := debug.ReadBuildInfo()
	return newBuildVersion(bi, version, commit, date)
}

// newBuildVersion combines the values a release sets with -ldflags (ld*)
// and the build info: the former win, since a release is built with
// -buildvcs=false from a clean tag.
func newBuildVersion(bi *debug.BuildInfo, ldVersion, ldCommit, ldDate string) buildVersion {
	v := buildVersion{Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	var goos, goarch, modVersion string
	if bi != nil {
		if bi.GoVersion != "" {
			v.Go = bi.GoVersion
		}
		modVersion = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.time":
				v.Date = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			case "GOOS":
				goos = s.Value
			case "GOARCH":
				goarch = s.Value
			}
		}
	}
	if goos != "" && goarch != "" {
		v.Platform = goos + "/" + goarch
	}
	// Go 1.24+ stamps "+dirty" on the module version of a modified tree.
	if base, ok := strings.CutSuffix(modVersion, "+dirty"); ok {
		modVersion, v.Modified = base, true
	}
	switch m := pseudoVersion.FindStringSubmatch(modVersion); {
	case m != nil:
		// An untagged commit: the version names it, and go install
		// from the module proxy leaves no vcs settings.
		if v.Commit == "" {
			v.Commit = m[2]
		}
		if t, err := time.Parse("20060102150405", m[1]); err == nil && v.Date == "" {
			v.Date = t.Format(time.RFC3339)
		}
		v.Version = "devel"
	case modVersion == "" || modVersion == "(devel)" || v.Modified:
		v.Version = "devel"
	default:
		v.Version = strings.TrimPrefix(modVersion, "v")
	}
	if ldVersion != "" {
		v.Version = strings.TrimPrefix(ldVersion, "v")
	}
	if ldCommit != "" {
		v.Commit = ldCommit
	}
	if ldDate != "" {
		v.Date = ldDate
	}
	return v
}

// write prints the version as "bulkdl version" shows it: the version alone
// on the first line (with the short commit for a source build), then one
// "key value" line each.
func (v buildVersion) write(w io.Writer) {
	first := v.Version
	if v.Version == "devel" && v.Commit != "" {
		first += " " + short(v.Commit)
	}
	if v.Modified {
		first += " (modified)"
	}
	fmt.Fprintf(w, "bulkdl %s\n", first)
	fmt.Fprintf(w, "commit   %s\n", orUnknown(v.Commit))
	fmt.Fprintf(w, "date     %s\n", orUnknown(v.Date))
	fmt.Fprintf(w, "go       %s\n", v.Go)
	fmt.Fprintf(w, "platform %s\n", v.Platform)
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func (c *cli) version(args []string) int {
	fs := c.flagSet("version")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	readBuildVersion().write(c.stdout)
	return exitOK
}

// moduleVersion is the version for the User-Agent: "1.2.0" or "devel".
func moduleVersion() string { return readBuildVersion().Version }
