package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
	"github.com/bulkdl/bulkdl/state"
)

func TestRecordedFilesAreNotReadAgain(t *testing.T) {
	srv, dir, data := origin(t, 3, 100<<10, "")
	m := filepath.Join(dir, "m.toml")
	if code, _, e := bulkdl("run", m); code != 0 {
		t.Fatalf("run = %d: %s", code, e)
	}
	// Corrupt a file but keep its size and mtime: only reading it could
	// tell, and a rerun must not read it.
	p := filepath.Join(dir, "out", "f1.bin")
	st, _ := os.Stat(p)
	os.WriteFile(p, make([]byte, len(data[1])), 0o644)
	os.Chtimes(p, st.ModTime(), st.ModTime())
	before := srv.Stats().Requests
	if code, _, e := bulkdl("run", m); code != 0 || !strings.Contains(e, "0 fetched, 3 skipped") {
		t.Fatalf("rerun = %d: %s", code, e)
	}
	if n := srv.Stats().Requests - before; n != 0 {
		t.Errorf("rerun sent %d requests; want none", n)
	}
	code, _, e := bulkdl("run", "-verify", m)
	if code != 0 || !strings.Contains(e, "1 fetched, 2 skipped") {
		t.Fatalf("run -verify = %d: %s", code, e)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, data[1]) {
		t.Error("run -verify did not repair the corrupted file")
	}
}

func TestFilesBulkdlDidNotWriteAreHashed(t *testing.T) {
	srv, dir, data := origin(t, 2, 50<<10, "")
	out := filepath.Join(dir, "out")
	os.MkdirAll(out, 0o755)
	os.WriteFile(filepath.Join(out, "f0.bin"), data[0], 0o644)                  // right bytes
	os.WriteFile(filepath.Join(out, "f1.bin"), []byte("someone else's"), 0o644) // wrong bytes
	code, _, e := bulkdl("run", filepath.Join(dir, "m.toml"))
	if code != 0 || !strings.Contains(e, "1 fetched, 1 skipped") {
		t.Fatalf("run = %d: %s", code, e)
	}
	for _, q := range srv.Requests() {
		if q.Path == "/f0.bin" {
			t.Error("a file already right on disk was fetched")
		}
	}
	if got, _ := os.ReadFile(filepath.Join(out, "f1.bin")); !bytes.Equal(got, data[1]) {
		t.Error("a wrong file at the path was not replaced")
	}
}

func TestWithoutChecksumRerunsAreConditional(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	dir := t.TempDir()
	f := srv.PutBytes("/a.bin", segdltest.Content(1, 40<<10))
	m := filepath.Join(dir, "m.toml")
	os.WriteFile(m, []byte(fmt.Sprintf("[settings]\ndest = \"out\"\n[[file]]\nurl = %q\n", srv.URLOf("/a.bin"))), 0o644)
	if code, _, e := bulkdl("run", m); code != 0 {
		t.Fatalf("run = %d: %s", code, e)
	}
	n := len(srv.Requests())
	if code, _, e := bulkdl("run", m); code != 0 || !strings.Contains(e, "0 fetched, 1 skipped") {
		t.Fatalf("rerun = %d: %s", code, e)
	}
	q := srv.Requests()[n]
	if q.Header.Get("If-None-Match") != f.ETag {
		t.Errorf("rerun sent If-None-Match %q; want the recorded %q", q.Header.Get("If-None-Match"), f.ETag)
	}
	newer := segdltest.Content(2, 40<<10)
	srv.Put("/a.bin", &segdltest.File{Data: newer, ETag: `"v2"`, LastModified: time.Now()})
	if code, _, e := bulkdl("run", m); code != 0 || !strings.Contains(e, "1 fetched") {
		t.Fatalf("run after a change = %d: %s", code, e)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "out", "a.bin")); !bytes.Equal(got, newer) {
		t.Error("the changed file was not replaced")
	}
}

func TestSkipExistingTrustsPresence(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	dir := t.TempDir()
	srv.PutBytes("/a.bin", []byte("server"))
	os.MkdirAll(filepath.Join(dir, "out"), 0o755)
	os.WriteFile(filepath.Join(dir, "out", "a.bin"), []byte("local"), 0o644)
	m := filepath.Join(dir, "m.toml")
	os.WriteFile(m, []byte(fmt.Sprintf("[settings]\ndest = \"out\"\n[[file]]\nurl = %q\n", srv.URLOf("/a.bin"))), 0o644)
	if code, _, e := bulkdl("run", "-skip-existing", m); code != 0 || !strings.Contains(e, "1 skipped") {
		t.Fatalf("run -skip-existing = %d: %s", code, e)
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("-skip-existing sent %d requests", n)
	}
	if code, _, _ := bulkdl("run", m); code != 0 {
		t.Fatal("run without -skip-existing failed")
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "out", "a.bin")); string(got) != "server" {
		t.Errorf("without skip_existing and without a checksum the file must be fetched again; got %q", got)
	}
}

func TestSecondRunOnTheSameDestIsRefused(t *testing.T) {
	srv, dir, _ := origin(t, 1, 1000, "")
	out := filepath.Join(dir, "out")
	os.MkdirAll(out, 0o755)
	root, _ := os.OpenRoot(out)
	defer root.Close()
	held, err := state.Open(root, "")
	if err != nil {
		t.Fatal(err)
	}
	code, _, e := bulkdl("run", filepath.Join(dir, "m.toml"))
	held.Close()
	if code != 75 || !strings.Contains(e, "another bulkdl run is using") {
		t.Errorf("run while locked = %d: %s; want 75", code, e)
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("a locked-out run sent %d requests", n)
	}
}

func TestVerifyCommand(t *testing.T) {
	_, dir, _ := origin(t, 3, 10<<10, "")
	m := filepath.Join(dir, "m.toml")
	if code, _, e := bulkdl("run", m); code != 0 {
		t.Fatalf("run = %d: %s", code, e)
	}
	if code, _, e := bulkdl("verify", m); code != 0 || !strings.Contains(e, "3 verified") {
		t.Errorf("verify = %d: %s", code, e)
	}
	os.Remove(filepath.Join(dir, "out", "f0.bin"))
	os.WriteFile(filepath.Join(dir, "out", "f2.bin"), make([]byte, 10<<10), 0o644)
	report := filepath.Join(dir, "v.json")
	code, out, _ := bulkdl("verify", "-report", report, m)
	if code != 1 || !strings.Contains(out, "missing: f0.bin") || !strings.Contains(out, "mismatch: f2.bin") {
		t.Errorf("verify after damage = %d:\n%s", code, out)
	}
	if rep := readReport(t, report); rep.Totals.Failed != 2 || rep.Files[1].Status != "verified" {
		t.Errorf("verify report = %+v", rep.Totals)
	}
}

func TestShardsAreDisjointAndComplete(t *testing.T) {
	srv, dir, data := origin(t, 30, 1000, "")
	m := filepath.Join(dir, "m.toml")
	// The shards run at once into one dest, as the jobs of an Indexed Job
	// do on a shared volume.
	var wg sync.WaitGroup
	for k := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, _, e := bulkdl("run", "-shard", fmt.Sprintf("%d/3", k), m); code != 0 {
				t.Errorf("shard %d/3 = %d: %s", k, code, e)
			}
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for _, q := range srv.Requests() {
		seen[q.Path]++
	}
	for i := range data {
		if n := seen[fmt.Sprintf("/f%d.bin", i)]; n != 1 {
			t.Errorf("f%d.bin fetched %d times across shards; want exactly once", i, n)
		}
	}
	if code, _, e := bulkdl("verify", m); code != 0 {
		t.Errorf("verify after all shards = %d: %s", code, e)
	}
	for _, bad := range []string{"3/3", "1/0", "x/2", "-1/2"} {
		if code, _, _ := bulkdl("run", "-shard", bad, m); code != 2 {
			t.Errorf("-shard %s = %d; want 2", bad, code)
		}
	}
}

func TestPruneDeletesOnlyWhatBulkdlCreated(t *testing.T) {
	srv, dir, _ := origin(t, 3, 1000, "")
	m := filepath.Join(dir, "m.toml")
	if code, _, e := bulkdl("run", m); code != 0 {
		t.Fatalf("run = %d: %s", code, e)
	}
	mine := filepath.Join(dir, "out", "notes.txt")
	os.WriteFile(mine, []byte("keep me"), 0o644)
	text, _ := os.ReadFile(m)
	cut := strings.Index(string(text), "[[file]]\nurl = \""+srv.URLOf("/f2.bin"))
	os.WriteFile(m, text[:cut], 0o644)
	code, _, e := bulkdl("run", "-prune", m)
	if code != 0 || !strings.Contains(e, "1 pruned") {
		t.Fatalf("run -prune = %d: %s", code, e)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "f2.bin")); err == nil {
		t.Error("a file the manifest no longer lists was not pruned")
	}
	if _, err := os.Stat(mine); err != nil {
		t.Error("-prune deleted a file bulkdl did not create")
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "f1.bin")); err != nil {
		t.Error("-prune deleted a listed file")
	}
}

// TestPruneKeepsFilesBulkdlFound: a file that was at its path before
// bulkdl ran, with the manifest's checksum, is skipped and recorded, but
// bulkdl did not create it: -prune keeps it. Files bulkdl wrote stay its
// own after -verify hashes them again.
func TestPruneKeepsFilesBulkdlFound(t *testing.T) {
	srv, dir, data := origin(t, 4, 1000, "")
	m := filepath.Join(dir, "m.toml")
	os.MkdirAll(filepath.Join(dir, "out"), 0o755)
	users := filepath.Join(dir, "out", "f0.bin")
	if err := os.WriteFile(users, data[0], 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, e := bulkdl("run", m); code != 0 || !strings.Contains(e, "1 skipped") {
		t.Fatalf("run = %d: %s", code, e)
	}
	if code, _, e := bulkdl("run", "-verify", m); code != 0 {
		t.Fatalf("run -verify = %d: %s", code, e)
	}
	text, _ := os.ReadFile(m)
	head := string(text[:strings.Index(string(text), "[[file]]")])
	rest := string(text[strings.Index(string(text), "[[file]]\nurl = \""+srv.URLOf("/f3.bin")):])
	os.WriteFile(m, []byte(head+rest), 0o644)
	_, out, _ := bulkdl("run", "-dry-run", "-prune", m)
	if strings.Contains(out, "f0.bin") || !strings.Contains(out, "f1.bin") || !strings.Contains(out, "f2.bin") {
		t.Errorf("run -dry-run -prune lists:\n%s\nwant f1.bin and f2.bin, never f0.bin", out)
	}
	if code, _, e := bulkdl("run", "-prune", m); code != 0 || !strings.Contains(e, "2 pruned") {
		t.Fatalf("run -prune = %d: %s", code, e)
	}
	if got, err := os.ReadFile(users); err != nil || !bytes.Equal(got, data[0]) {
		t.Errorf("-prune deleted or changed the file bulkdl found there: %v", err)
	}
	for _, p := range []string{"f1.bin", "f2.bin"} {
		if _, err := os.Stat(filepath.Join(dir, "out", p)); err == nil {
			t.Errorf("%s, which bulkdl wrote and the manifest no longer lists, was not pruned", p)
		}
	}
}

// TestPruneRemovesTheDirectoriesItEmptied: a manifest whose file moves
// from data/sub/f1 to data itself. -prune deletes data/sub/f1 and the
// directories it leaves empty; the file is then published at data (at
// the latest by the next run: an unattended job recovers on its own).
func TestPruneRemovesTheDirectoriesItEmptied(t *testing.T) {
	srv, dir, data := origin(t, 1, 1000, "")
	m := filepath.Join(dir, "m.toml")
	text, _ := os.ReadFile(m)
	url := fmt.Sprintf("url = %q\n", srv.URLOf("/f0.bin"))
	os.WriteFile(m, []byte(strings.Replace(string(text), url, url+"path = \"data/sub/f1\"\n", 1)), 0o644)
	if code, _, e := bulkdl("run", m); code != 0 {
		t.Fatalf("run = %d: %s", code, e)
	}
	os.WriteFile(m, []byte(strings.Replace(string(text), url, url+"path = \"data\"\n", 1)), 0o644)
	if _, _, e := bulkdl("run", "-prune", m); !strings.Contains(e, "1 pruned") {
		t.Fatalf("run -prune did not prune data/sub/f1: %s", e)
	}
	if code, _, e := bulkdl("run", "-prune", m); code != 0 {
		t.Fatalf("the next run = %d: %s", code, e)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "out", "data")); err != nil || !bytes.Equal(got, data[0]) {
		t.Errorf("data is not the file: %v", err)
	}
}
