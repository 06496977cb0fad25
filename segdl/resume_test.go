package segdl

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
	dest "github.com/bulkdl/bulkdl/state"
)

// TestMain lets the test binary act as a downloader child that a test can
// kill with SIGKILL.
func TestMain(m *testing.M) {
	if url := os.Getenv("SEGDL_CHILD_URL"); url != "" {
		childDownload(url, os.Getenv("SEGDL_CHILD_DIR"))
		return
	}
	os.Exit(m.Run())
}

func childDownload(url, dir string) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		os.Exit(3)
	}
	cfg := testConfig()
	cfg.SyncBytes = 128 << 10
	wake := make(chan struct{}, 1)
	d := New(root, Spec{URLs: []string{url}, Path: "out.bin", Size: -1}, cfg, func() { poke(wake) })
	drive(context.Background(), d, wake, 4)
	os.Exit(0)
}

func TestResumeAfterSIGKILL(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.RatePerConn.Store(1 << 20)
	data := segdltest.Content(7, 4<<20)
	srv.PutBytes("/f", data)
	dir := t.TempDir()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SEGDL_CHILD_URL="+srv.URLOf("/f"), "SEGDL_CHILD_DIR="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	journalPath := filepath.Join(dir, "out.bin"+JournalSuffix)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, err := os.Stat(journalPath); err == nil && st.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("child wrote no journal")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	if _, err := os.Stat(filepath.Join(dir, "out.bin")); err == nil {
		t.Fatal("a file is at the final path after the kill")
	}
	// Every byte the journal claims must be on disk and right.
	raw, err := os.ReadFile(journalPath)
	if err != nil {
		t.Fatal(err)
	}
	var j journal
	if err := json.Unmarshal(raw, &j); err != nil {
		t.Fatalf("journal after SIGKILL is not valid JSON: %v", err)
	}
	part, err := os.ReadFile(filepath.Join(dir, "out.bin"+PartSuffix))
	if err != nil {
		t.Fatal(err)
	}
	var claimed int64
	for _, r := range j.Done {
		if !bytes.Equal(part[r[0]:r[1]], data[r[0]:r[1]]) {
			t.Fatalf("journal claims bytes %d-%d that are not on disk", r[0], r[1])
		}
		claimed += r[1] - r[0]
	}
	if claimed == 0 {
		t.Fatal("journal claims nothing; the test shows no resume")
	}
	before := srv.Stats().BytesSent
	killedRequests := len(srv.Requests())

	r := fetch(t, dir, withSum(Spec{URLs: []string{srv.URLOf("/f")}}, data), testConfig(), 4)
	if r.err != nil {
		t.Fatalf("resume failed: %v", r.err)
	}
	if sha(r.data) != sha(data) {
		t.Fatal("resumed file differs from the served one")
	}
	again := srv.Stats().BytesSent - before
	if again > int64(len(data))-claimed+4<<20 {
		t.Errorf("resume fetched %d bytes; %d were kept, %d remained", again, claimed, int64(len(data))-claimed)
	}
	if p := r.d.Progress(); p.Resumed != claimed {
		t.Errorf("Progress().Resumed = %d; want %d", p.Resumed, claimed)
	}
	for _, q := range srv.Requests()[killedRequests:] {
		if q.Header.Get("If-Range") == "" || q.Header.Get("Range") == "bytes=0-" {
			t.Errorf("resumed run sent Range %q If-Range %q; want ranges after the kept bytes, with If-Range", q.Header.Get("Range"), q.Header.Get("If-Range"))
		}
	}
	assertNoLitter(t, dir)
}

// interrupted runs a download of srv's /f into dir and cancels it after d.
func interrupted(t *testing.T, dir string, srv *segdltest.Server, after time.Duration) {
	t.Helper()
	root := openRoot(t, dir)
	cfg := testConfig()
	cfg.SyncBytes = 64 << 10
	wake := make(chan struct{}, 1)
	d := New(root, Spec{URLs: []string{srv.URLOf("/f")}, Path: "out.bin", Size: -1}, cfg, func() { poke(wake) })
	ctx, cancel := context.WithTimeout(context.Background(), after)
	defer cancel()
	drive(ctx, d, wake, 4)
	if _, err := os.Stat(filepath.Join(dir, "out.bin"+JournalSuffix)); err != nil {
		t.Fatalf("no journal after an interrupted download: %v", err)
	}
}

func TestResumeStartsOverWhen(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(t *testing.T, dir string, srv *segdltest.Server) []byte // returns the expected content
		kept   bool                                                         // some bytes may be resumed
	}{
		{"the file changed on the server", func(t *testing.T, dir string, srv *segdltest.Server) []byte {
			data := segdltest.Content(42, 2<<20)
			srv.Put("/f", &segdltest.File{Data: data, ETag: `"new"`})
			return data
		}, false},
		{"the journal is corrupt", func(t *testing.T, dir string, srv *segdltest.Server) []byte {
			os.WriteFile(filepath.Join(dir, "out.bin"+JournalSuffix), []byte(`{"version":1,"url":`), 0o600)
			return srv.Files("/f").Data
		}, false},
		{"the journal belongs to another url", func(t *testing.T, dir string, srv *segdltest.Server) []byte {
			p := filepath.Join(dir, "out.bin"+JournalSuffix)
			b, _ := os.ReadFile(p)
			var j journal
			if err := json.Unmarshal(b, &j); err != nil || j.URL != dest.URLDigest(srv.URLOf("/f")) {
				t.Fatalf("journal %s does not name /f by its digest", b)
			}
			j.URL = dest.URLDigest(srv.URLOf("/other"))
			b, _ = json.Marshal(j)
			os.WriteFile(p, b, 0o600)
			return srv.Files("/f").Data
		}, false},
		{"the temporary file does not match its journal", func(t *testing.T, dir string, srv *segdltest.Server) []byte {
			os.Truncate(filepath.Join(dir, "out.bin"+PartSuffix), 1000)
			return srv.Files("/f").Data
		}, false},
		{"a kill left the journal's temporary copy", func(t *testing.T, dir string, srv *segdltest.Server) []byte {
			// SIGKILL between writing PATH.bulkdl.json.tmp and renaming
			// it: the journal stays valid, the copy is litter to remove.
			p := filepath.Join(dir, "out.bin"+JournalSuffix)
			b, _ := os.ReadFile(p)
			os.WriteFile(p+dest.TmpSuffix, b[:len(b)/2], 0o600)
			return srv.Files("/f").Data
		}, true},
		{"the temporary file was overwritten with garbage", func(t *testing.T, dir string, srv *segdltest.Server) []byte {
			// Same size, wrong bytes: only the checksum can tell, and the
			// retry from scratch after a mismatch repairs it.
			p := filepath.Join(dir, "out.bin"+PartSuffix)
			st, _ := os.Stat(p)
			os.WriteFile(p, make([]byte, st.Size()), 0o600)
			return srv.Files("/f").Data
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := segdltest.NewServer()
			defer srv.Close()
			srv.RatePerConn.Store(1 << 20)
			srv.PutBytes("/f", segdltest.Content(3, 2<<20))
			dir := t.TempDir()
			interrupted(t, dir, srv, 400*time.Millisecond)
			want := c.tamper(t, dir, srv)
			srv.RatePerConn.Store(0)
			r := fetch(t, dir, withSum(Spec{URLs: []string{srv.URLOf("/f")}}, want), testConfig(), 4)
			if r.err != nil {
				t.Fatalf("download failed: %v", r.err)
			}
			if sha(r.data) != sha(want) {
				t.Fatal("published file is not the server's current file")
			}
			if p := r.d.Progress(); !c.kept && p.Resumed != 0 {
				t.Errorf("resumed %d bytes; want a fresh start", p.Resumed)
			}
			assertNoLitter(t, dir)
		})
	}
}

func TestOldFileStaysUntilReplaced(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	dir := t.TempDir()
	old := []byte("the previous version\n")
	os.WriteFile(filepath.Join(dir, "out.bin"), old, 0o644)
	srv.Fault = always(segdltest.Fault{Kind: segdltest.Status, Code: http.StatusNotFound})
	srv.PutBytes("/f", segdltest.Content(1, 1000))
	r := fetch(t, dir, Spec{URLs: []string{srv.URLOf("/f")}}, testConfig(), 2)
	if r.err == nil {
		t.Fatal("download succeeded against a 404")
	}
	if !bytes.Equal(r.data, old) {
		t.Fatalf("old file changed after a failed download: %q", r.data)
	}
	assertNoLitter(t, dir)
}

func TestFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no mode bits: a file gets the access its directory's ACL passes on (doc.go)")
	}
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.RatePerConn.Store(512 << 10)
	data := segdltest.Content(1, 1<<20)
	srv.PutBytes("/f", data)
	dir := t.TempDir()
	interrupted(t, dir, srv, 300*time.Millisecond)
	st, err := os.Stat(filepath.Join(dir, "out.bin"+PartSuffix))
	if err != nil {
		t.Fatal(err)
	}
	want := 0o644 &^ umask()
	if m := st.Mode().Perm(); m != want {
		t.Errorf("temporary file mode = %o; want %o, the published file's", m, want)
	}
	// An earlier bulkdl created its temporary files 0600: resuming one
	// publishes it with the right mode all the same.
	os.Chmod(filepath.Join(dir, "out.bin"+PartSuffix), 0o600)
	srv.RatePerConn.Store(0)
	r := fetch(t, dir, Spec{URLs: []string{srv.URLOf("/f")}}, testConfig(), 2)
	if r.err != nil {
		t.Fatal(r.err)
	}
	st, _ = os.Stat(filepath.Join(dir, "out.bin"))
	if m := st.Mode().Perm(); m != want {
		t.Errorf("published file mode = %o; want %o", m, want)
	}
	if r.d.Progress().Resumed == 0 {
		t.Error("the second run did not resume; the test checks nothing")
	}
}

// TestResumeFileNotPreallocated: a file below two MinSegments is not
// preallocated, so a journal written part-way must not describe a file
// shorter than its size, or the next run could not resume it.
func TestResumeFileNotPreallocated(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.RatePerConn.Store(512 << 10)
	data := segdltest.Content(3, 1<<20)
	srv.PutBytes("/f", data)
	dir := t.TempDir()
	root := openRoot(t, dir)
	cfg := testConfig()
	cfg.MinSegment = 4 << 20 // 1 MiB is below two of them: one stream, no fallocate
	cfg.SyncBytes = 64 << 10
	wake := make(chan struct{}, 1)
	d := New(root, Spec{URLs: []string{srv.URLOf("/f")}, Path: "out.bin", Size: -1}, cfg, func() { poke(wake) })
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	drive(ctx, d, wake, 1)
	cancel()
	if _, err := os.Stat(filepath.Join(dir, "out.bin"+JournalSuffix)); err != nil {
		t.Fatalf("no journal after an interrupted download: %v", err)
	}
	srv.RatePerConn.Store(0)
	r := fetch(t, dir, withSum(Spec{URLs: []string{srv.URLOf("/f")}}, data), cfg, 1)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if sha(r.data) != sha(data) {
		t.Fatal("wrong bytes at the path")
	}
	if r.d.Progress().Resumed == 0 {
		t.Error("the second run started over; want it to resume from the journal")
	}
}
