package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/segdl"
	"github.com/bulkdl/bulkdl/state"
)

// verify checks, offline, every file of the manifest at its path: present,
// of the manifest's size, and matching its checksum. It reads every file
// (the state store is not trusted here) and takes no lock: it writes
// nothing but the report.
func (c *cli) verify(args []string) int {
	fs := c.flagSet("verify", "")
	var sf settingsFlags
	sf.register(fs)
	report := fs.String("report", "", "write a JSON report (statuses verified, missing, mismatch, unverified)")
	var shard shardFlag
	fs.Var(&shard, "shard", "K/N: verify only this shard's files, as run -shard takes them")
	if code, ok := c.parseArgs(fs, args, 0, -1); !ok {
		return code
	}
	names := fs.Args()
	if sf.input != "" {
		names = append(names, "")
	}
	switch {
	case len(names) == 0:
		c.usageError(fs, "want a manifest (or -i with a URL list)")
		return exitUsage
	case len(names) > 1 && *report != "":
		c.usageError(fs, "-report describes one manifest; give one, or run verify once per manifest")
		return exitUsage
	}
	code := exitOK
	for _, name := range names {
		in := sf
		if name != "" {
			in.input = ""
		}
		m, ok := c.load(fs, &in, name)
		if !ok {
			code = max(code, exitUsage)
			continue
		}
		code = max(code, c.verifyManifest(m, shard, *report))
	}
	return code
}

// verifyManifest verifies one manifest's files and writes its report.
func (c *cli) verifyManifest(m *manifest.Manifest, shard shardFlag, report string) int {
	r := newRunner(m, c)
	r.command, r.started, r.shard = "verify", time.Now(), shard
	if report != "" {
		if err := checkReportPath(report); err != nil {
			fmt.Fprintf(c.stderr, "bulkdl verify: %v\n", err)
			return exitSetup
		}
	}
	root, err := os.OpenRoot(m.Dest)
	if err != nil {
		fmt.Fprintf(c.stderr, "bulkdl verify: dest %s: %v\n", m.Dest, err)
		if report != "" {
			r.setupErr = err.Error()
			writeReport(report, r, false)
		}
		return exitFailed
	}
	defer root.Close()
	r.root = root

	var idx []int
	for i := range m.Files {
		if shard.has(m.Files[i].Path) {
			idx = append(idx, i)
			r.inShard++
		} else {
			r.results[i].status = "other-shard"
		}
	}
	eachParallel(context.Background(), idx, r.verifyOne)

	bad := 0
	counts := map[string]int{}
	for _, i := range idx {
		res := &r.results[i]
		counts[res.status]++
		if res.status == "missing" || res.status == "mismatch" {
			bad++
			fmt.Fprintf(c.stdout, "%s: %s\n", res.status, res.err)
		}
	}
	fmt.Fprintf(c.stderr, "verify: %s: %d file(s): %d verified, %d unverified (no checksum, size ok), %d missing, %d mismatched\n",
		m.Name, len(idx), counts["verified"], counts["unverified"], counts["missing"], counts["mismatch"])
	if report != "" {
		if bad > 0 {
			r.exitCode = exitFailed
		}
		if err := writeReport(report, r, false); err != nil {
			fmt.Fprintf(c.stderr, "bulkdl verify: %v\n", err)
			return exitSetup
		}
	}
	if bad > 0 {
		return exitFailed
	}
	return exitOK
}

func (r *runner) verifyOne(i int) {
	f := &r.m.Files[i]
	res := &r.results[i]
	size, _, err := state.Stat(r.root, f.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		res.status, res.err = "missing", f.Path+": not in dest"
		return
	case err != nil:
		res.status, res.err = "missing", fmt.Sprintf("%s: %v", f.Path, err)
		return
	}
	res.size = size
	if f.Size >= 0 && size != f.Size {
		res.status, res.err = "mismatch", fmt.Sprintf("%s: %d bytes, manifest says %d", f.Path, size, f.Size)
		return
	}
	if f.Checksum.IsZero() {
		res.status = "unverified"
		return
	}
	ok, err := segdl.Complete(r.root, r.spec(i))
	switch {
	case err != nil:
		res.status, res.err = "mismatch", fmt.Sprintf("%s: %v", f.Path, err)
	case !ok:
		res.status, res.err = "mismatch", fmt.Sprintf("%s: %s checksum differs from the manifest", f.Path, f.Checksum.Algo)
	default:
		res.status, res.sum = "verified", f.Checksum.Sum
	}
}
