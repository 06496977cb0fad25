package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/job"
	"github.com/bulkdl/bulkdl/segdl/segdltest"
	"github.com/bulkdl/bulkdl/state"
)

// TestChangingNCostsNoDownload runs a manifest as 4 shards, then as 8:
// the shards of the new split find the files the old one completed in
// its logs, and neither fetch nor hash them.
func TestChangingNCostsNoDownload(t *testing.T) {
	srv, dir, _ := origin(t, 24, 20<<10, "")
	m := filepath.Join(dir, "m.toml")
	for k := range 4 {
		if code, _, e := bulkdl("run", "-shard", fmt.Sprintf("%d/4", k), m); code != 0 {
			t.Fatalf("shard %d/4 = %d: %s", k, code, e)
		}
	}
	before := srv.Stats()
	for k := range 8 {
		shard := fmt.Sprintf("%d/8", k)
		code, out, _ := bulkdl("run", "-dry-run", "-shard", shard, m)
		if code != 0 || !strings.Contains(out, "0 to fetch, 0 to fetch if changed, 0 to hash") {
			t.Errorf("dry run -shard %s = %d:\n%s", shard, code, out)
		}
		if code, _, e := bulkdl("run", "-shard", shard, m); code != 0 || !strings.Contains(e, "0 fetched") {
			t.Errorf("shard %s = %d: %s", shard, code, e)
		}
	}
	if after := srv.Stats(); after.Requests != before.Requests || after.BytesSent != before.BytesSent {
		t.Errorf("after N changed: %d requests, %d bytes; want none", after.Requests-before.Requests, after.BytesSent-before.BytesSent)
	}
	// Adopted: the new shards' own logs now vouch, so their next run
	// reads no other log.
	root, _ := os.OpenRoot(filepath.Join(dir, "out"))
	defer root.Close()
	n := 0
	for k := range 8 {
		st, err := state.Read(root, fmt.Sprintf("shard-%d-of-8", k))
		if err != nil {
			t.Fatal(err)
		}
		n += len(st.Paths())
	}
	if n != 24 {
		t.Errorf("the new shards' logs hold %d records; want 24 (every file adopted)", n)
	}
}

// TestWhatAnotherShardsRecordVouchesFor plants one record in the log of a
// shard of another split and asks a dry run what it would do.
func TestWhatAnotherShardsRecordVouchesFor(t *testing.T) {
	data := segdltest.Content(7, 5000)
	sum := fmt.Sprintf("sha256:%x", sha256.Sum256(data))
	const url = "http://127.0.0.1:9/f.bin"
	// The old split: shard K of 2 is the one that owns f.bin.
	old := fmt.Sprintf("shard-%d-of-2", shardOf("f.bin", 2))
	cases := []struct {
		name     string
		checksum bool   // the manifest gives one
		log      string // the old shard's log name
		rec      func(r *state.Record)
		raw      func(line []byte) []byte // what is written of the record
		want     string
	}{
		{"a matching record spares the hash", true, old, nil, nil, "skip (recorded complete"},
		{"the plain run's log counts too", true, "", nil, nil, "skip (recorded complete"},
		{"a file changed since is hashed", true, old, func(r *state.Record) { r.ModTime++ }, nil, "verify (hash it)"},
		{"a record of another checksum is hashed", true, old, func(r *state.Record) { r.Checksum = "sha256:" + strings.Repeat("0", 64) }, nil, "verify (hash it)"},
		{"a torn last line is not trusted", true, old, nil, func(l []byte) []byte { return l[:len(l)-2] }, "verify (hash it)"},
		{"validators of this url allow a conditional request", false, old, func(r *state.Record) { r.Checksum, r.ETag, r.URL = "", `"v1"`, state.URLDigest(url) }, nil, "fetch if changed"},
		{"validators of another url do not", false, old, func(r *state.Record) { r.Checksum, r.ETag, r.URL = "", `"v1"`, state.URLDigest(url+"?v=2") }, nil, "fetch (exists"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			os.MkdirAll(filepath.Join(out, state.Dir), 0o755)
			os.WriteFile(filepath.Join(out, "f.bin"), data, 0o644)
			fi, _ := os.Stat(filepath.Join(out, "f.bin"))
			rec := state.Record{Path: "f.bin", Size: fi.Size(), ModTime: fi.ModTime().UnixNano(), Checksum: sum}
			if c.rec != nil {
				c.rec(&rec)
			}
			line, _ := json.Marshal(rec)
			line = append(line, '\n')
			if c.raw != nil {
				line = c.raw(line)
			}
			logName := "state.jsonl"
			if c.log != "" {
				logName = "state-" + c.log + ".jsonl"
			}
			os.WriteFile(filepath.Join(out, state.Dir, logName), line, 0o644)
			text := fmt.Sprintf("[settings]\ndest = \"out\"\n[[file]]\nurl = %q\npath = \"f.bin\"\n", url)
			if c.checksum {
				text += fmt.Sprintf("checksum = %q\n", sum)
			}
			m := filepath.Join(dir, "m.toml")
			os.WriteFile(m, []byte(text), 0o644)
			// A shard of the new split, and a plain run (N = 1).
			for _, args := range [][]string{{"-shard", fmt.Sprintf("%d/3", shardOf("f.bin", 3))}, nil} {
				if c.log == "" && args == nil {
					continue // the plain run's own log
				}
				code, got, _ := bulkdl(append(append([]string{"run", "-dry-run"}, args...), m)...)
				if code != 0 || !strings.Contains(got, c.want) {
					t.Errorf("dry run %q = %d:\n%s\nwant %q", args, code, got, c.want)
				}
			}
		})
	}
}

// TestAnotherShardsRecordIsUsedByARun checks a run, not only its plan:
// the file is skipped without a request, and a no-checksum file is asked
// for conditionally with the validator the other shard recorded.
func TestAnotherShardsRecordIsUsedByARun(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	a, b := segdltest.Content(1, 30<<10), segdltest.Content(2, 30<<10)
	srv.Put("/a.bin", &segdltest.File{Data: a, ETag: `"a1"`, LastModified: time.Unix(1700000000, 0)})
	srv.Put("/b.bin", &segdltest.File{Data: b, ETag: `"b1"`, LastModified: time.Unix(1700000000, 0)})
	dir := t.TempDir()
	m := filepath.Join(dir, "m.toml")
	os.WriteFile(m, []byte(fmt.Sprintf("[settings]\ndest = \"out\"\n[[file]]\nurl = %q\nchecksum = \"sha256:%x\"\n[[file]]\nurl = %q\n",
		srv.URLOf("/a.bin"), sha256.Sum256(a), srv.URLOf("/b.bin"))), 0o644)
	for k := range 2 {
		if code, _, e := bulkdl("run", "-shard", fmt.Sprintf("%d/2", k), m); code != 0 {
			t.Fatalf("shard %d/2 = %d: %s", k, code, e)
		}
	}
	before := len(srv.Requests())
	for k := range 5 {
		if code, _, e := bulkdl("run", "-shard", fmt.Sprintf("%d/5", k), m); code != 0 {
			t.Fatalf("shard %d/5 = %d: %s", k, code, e)
		}
	}
	reqs := srv.Requests()[before:]
	if len(reqs) != 1 || reqs[0].Path != "/b.bin" || reqs[0].Header.Get("If-None-Match") != `"b1"` {
		t.Errorf("requests after N changed: %+v; want one conditional request for b.bin", reqs)
	}
}

// shardOf returns the shard of n that path belongs to.
func shardOf(path string, n uint64) uint64 {
	for k := range n {
		if (job.Shard{K: k, N: n}).Has(path) {
			return k
		}
	}
	panic("no shard")
}

// TestPruneAfterNChanges drops two files from a manifest run as 2 shards,
// changes one of them by hand, and prunes as 3 shards: the shard that now
// owns a dropped file deletes it if bulkdl's record (another shard's)
// still describes it, and keeps it otherwise.
func TestPruneAfterNChanges(t *testing.T) {
	srv, dir, _ := origin(t, 8, 1000, "")
	m := filepath.Join(dir, "m.toml")
	for k := range 2 {
		if code, _, e := bulkdl("run", "-shard", fmt.Sprintf("%d/2", k), m); code != 0 {
			t.Fatalf("shard %d/2 = %d: %s", k, code, e)
		}
	}
	text, _ := os.ReadFile(m)
	cut := strings.Index(string(text), "[[file]]\nurl = \""+srv.URLOf("/f6.bin"))
	os.WriteFile(m, text[:cut], 0o644)
	mine := filepath.Join(dir, "out", "f7.bin")
	os.WriteFile(mine, []byte("the user's own now"), 0o644)

	var plan string
	for k := range 3 {
		_, out, _ := bulkdl("run", "-dry-run", "-prune", "-shard", fmt.Sprintf("%d/3", k), m)
		plan += out
	}
	if !strings.Contains(plan, "prune\tf6.bin") || strings.Contains(plan, "prune\tf7.bin") {
		t.Errorf("dry runs -prune after N changed:\n%s\nwant f6.bin pruned, f7.bin kept", plan)
	}
	for k := range 3 {
		if code, _, e := bulkdl("run", "-prune", "-shard", fmt.Sprintf("%d/3", k), m); code != 0 {
			t.Fatalf("shard %d/3 -prune = %d: %s", k, code, e)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "f6.bin")); err == nil {
		t.Error("f6.bin, no longer listed, was not pruned after N changed")
	}
	if got, _ := os.ReadFile(mine); string(got) != "the user's own now" {
		t.Error("-prune deleted a file changed since bulkdl wrote it")
	}
	for i := range 6 {
		if _, err := os.Stat(filepath.Join(dir, "out", fmt.Sprintf("f%d.bin", i))); err != nil {
			t.Errorf("f%d.bin, listed, is gone: %v", i, err)
		}
	}
	// A second pass prunes nothing more and says nothing.
	for k := range 3 {
		if code, _, e := bulkdl("run", "-prune", "-shard", fmt.Sprintf("%d/3", k), m); code != 0 || strings.Contains(e, "pruned") && !strings.Contains(e, "0 pruned") {
			t.Errorf("second -prune pass, shard %d/3 = %d: %s", k, code, e)
		}
	}
}
