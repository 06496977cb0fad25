package segdl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
	dest "github.com/bulkdl/bulkdl/state"
)

// order records the file operations of a download and what each one may
// rely on: bytes written are durable only after a sync that started after
// the write returned.
type order struct {
	mu               sync.Mutex
	pending, durable rangeSet
	journals         int
	renames          int // renames, and links of a file without a name
	links            int
	violations       []string
}

// ops are the real file operations, watched. Files without a name are
// not used; see anonOps.
func (o *order) ops() *fileOps {
	return withOSDefaults(&fileOps{
		open: dest.OpenRegular,
		writeAt: func(f *os.File, b []byte, off int64) (int, error) {
			n, err := f.WriteAt(b, off)
			o.mu.Lock()
			o.pending.add(off, off+int64(n))
			o.mu.Unlock()
			return n, err
		},
		sync: func(f *os.File) error {
			o.mu.Lock()
			now := o.pending.clone()
			o.mu.Unlock()
			err := f.Sync()
			if err == nil {
				o.mu.Lock()
				for _, r := range now {
					o.durable.add(r[0], r[1])
				}
				o.mu.Unlock()
			}
			return err
		},
		writeJournal: func(root *os.Root, name string, j *journal) error {
			o.mu.Lock()
			o.journals++
			for _, r := range j.Done {
				if !covers(o.durable, r) {
					o.violations = append(o.violations, fmt.Sprintf("journal claims %d-%d before they were synced", r[0], r[1]))
				}
			}
			o.mu.Unlock()
			return writeJournal(root, name, j)
		},
		rename: func(root *os.Root, from, to string) error {
			o.mu.Lock()
			o.renames++
			for _, r := range o.pending {
				if !covers(o.durable, r) {
					o.violations = append(o.violations, fmt.Sprintf("renamed with bytes %d-%d not synced", r[0], r[1]))
				}
			}
			o.mu.Unlock()
			return root.Rename(from, to)
		},
	})
}

// anonOps are ops with files without a name where the platform has them
// (Linux): a link names the file, as PATH.bulkdl.part for a journal or as
// PATH when it is published, and may rely only on synced bytes.
func (o *order) anonOps() *fileOps {
	ops := o.ops()
	ops.openAnon = openAnon
	ops.link = func(dir, f *os.File, name string) error {
		o.mu.Lock()
		o.renames++
		o.links++
		// Named PATH.bulkdl.part, the file claims nothing (its journal
		// does); named PATH, it is published.
		for _, r := range o.pending {
			if !covers(o.durable, r) && !strings.HasSuffix(name, PartSuffix) {
				o.violations = append(o.violations, fmt.Sprintf("linked as %s with bytes %d-%d not synced", name, r[0], r[1]))
			}
		}
		o.mu.Unlock()
		return linkAnon(dir, f, name)
	}
	return ops
}

// covers reports whether rs holds all of r.
func covers(rs rangeSet, r [2]int64) bool {
	for _, x := range rs {
		if x[0] <= r[0] && r[1] <= x[1] {
			return true
		}
	}
	return false
}

// TestDataIsSyncedBeforeTheJournalAndTheRename: no journal claims, and no
// rename or link names, bytes that are not synced; with a named temporary
// file and with a file without a name (Linux), journaled (a large file) or
// named once when published (a small one).
func TestDataIsSyncedBeforeTheJournalAndTheRename(t *testing.T) {
	cases := []struct {
		name     string
		anon     bool
		size     int
		journals int // at least
		names    int // renames and links, at least
	}{
		{"named temporary file, journaled", false, 3 << 20, 3, 1},
		{"file without a name, journaled", true, 3 << 20, 3, 2}, // linked as .part, renamed
		{"named temporary file, small", false, 32 << 10, 0, 1},
		{"file without a name, small", true, 32 << 10, 0, 1}, // linked at its path
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.anon && !anonUsable() {
				t.Skip("no files without a name here")
			}
			srv := segdltest.NewServer()
			defer srv.Close()
			srv.RatePerConn.Store(8 << 20)
			data := segdltest.Content(9, c.size)
			srv.PutBytes("/f", data)
			cfg := testConfig()
			cfg.SyncBytes = 64 << 10
			o := &order{}
			ops := o.ops()
			if c.anon {
				ops = o.anonOps()
			}
			r := fetchOps(t, "", Spec{URLs: []string{srv.URLOf("/f")}}, cfg, 4, ops)
			if r.err != nil || sha(r.data) != sha(data) {
				t.Fatalf("download: %v", r.err)
			}
			if o.journals < c.journals || o.renames < c.names {
				t.Fatalf("saw %d journal writes and %d renames or links; want at least %d and %d: the test shows nothing", o.journals, o.renames, c.journals, c.names)
			}
			if c.anon && o.links == 0 {
				t.Fatalf("no file was linked: the test shows nothing about files without a name")
			}
			for _, v := range o.violations {
				t.Error(v)
			}
		})
	}
}

// TestCompleteTemporaryFileIsPublished leaves what a kill between the last
// journal write and the rename leaves: a temporary file the journal claims
// whole. The next run publishes it without fetching it again.
func TestCompleteTemporaryFileIsPublished(t *testing.T) {
	for _, sum := range []bool{false, true} {
		t.Run(fmt.Sprintf("checksum %v", sum), func(t *testing.T) {
			srv := segdltest.NewServer()
			defer srv.Close()
			data := segdltest.Content(4, 1<<20)
			srv.PutBytes("/f", data)
			dir := t.TempDir()
			cfg := testConfig()
			cfg.SyncInterval = time.Nanosecond // every chunk is journaled
			crash := osOps
			crash.rename = func(*os.Root, string, string) error { return errors.New("killed") }
			spec := Spec{URLs: []string{srv.URLOf("/f")}}
			if r := fetchOps(t, dir, spec, cfg, 1, &crash); r.err == nil {
				t.Fatal("the first run published")
			}
			if _, err := os.Stat(filepath.Join(dir, "out.bin"+JournalSuffix)); err != nil {
				t.Fatalf("no journal after the crash: %v", err)
			}
			if sum {
				spec = withSum(spec, data)
			}
			before := srv.Stats().Requests
			r := fetch(t, dir, spec, testConfig(), 4)
			if r.err != nil || sha(r.data) != sha(data) {
				t.Fatalf("second run: %v", r.err)
			}
			if n := srv.Stats().Requests - before; n != 0 {
				t.Errorf("second run sent %d requests; want the complete temporary file published", n)
			}
			assertNoLitter(t, dir)
		})
	}
}

// TestResumeNeedsTheSameURL resumes a journal of /f for /other, a
// different file with the same size and validators: only the URL tells
// them apart.
func TestResumeNeedsTheSameURL(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.RatePerConn.Store(1 << 20)
	f := srv.PutBytes("/f", segdltest.Content(3, 2<<20))
	other := segdltest.Content(4, 2<<20)
	srv.Put("/other", &segdltest.File{Data: other, ETag: f.ETag, LastModified: f.LastModified})
	dir := t.TempDir()
	interrupted(t, dir, srv, 400*time.Millisecond)
	srv.RatePerConn.Store(0)
	r := fetch(t, dir, Spec{URLs: []string{srv.URLOf("/other")}}, testConfig(), 4)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if sha(r.data) != sha(other) {
		t.Fatalf("published file is not /other whole: %s", describe(r.data, f.Data, other))
	}
}

func TestJournalKeepsNoURL(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.RatePerConn.Store(1 << 20)
	srv.PutBytes("/f", segdltest.Content(3, 2<<20))
	dir := t.TempDir()
	root, _ := os.OpenRoot(dir)
	defer root.Close()
	cfg := testConfig()
	cfg.SyncBytes = 64 << 10
	u := strings.Replace(srv.URLOf("/f"), "http://", "http://user:hunter2@", 1) + "?X-Amz-Signature=s3cr3t"
	wake := make(chan struct{}, 1)
	d := New(root, Spec{URLs: []string{u}, Path: "out.bin", Size: -1}, cfg, func() { poke(wake) })
	ctx, cancel := context.WithTimeout(t.Context(), 400*time.Millisecond)
	defer cancel()
	drive(ctx, d, wake, 4)
	raw, err := os.ReadFile(filepath.Join(dir, "out.bin"+JournalSuffix))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"hunter2", "s3cr3t", "user", "127.0.0.1"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("journal holds %q: %s", secret, raw)
		}
	}
	srv.RatePerConn.Store(0)
	r := fetch(t, dir, Spec{URLs: []string{u}}, testConfig(), 4)
	if r.err != nil || r.d.Progress().Resumed == 0 {
		t.Errorf("no resume from the digest journal: err %v, resumed %d", r.err, r.d.Progress().Resumed)
	}
}

func TestLongNamesDownloadAndResume(t *testing.T) {
	for _, n := range []int{239, 243, 244, 250, 255} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			srv := segdltest.NewServer()
			defer srv.Close()
			srv.RatePerConn.Store(1 << 20)
			data := segdltest.Content(3, 2<<20)
			srv.PutBytes("/f", data)
			dir := t.TempDir()
			name := "d/" + strings.Repeat("é", n/2) + strings.Repeat("x", n%2)
			root, _ := os.OpenRoot(dir)
			defer root.Close()
			cfg := testConfig()
			cfg.SyncBytes = 64 << 10
			wake := make(chan struct{}, 1)
			d := New(root, Spec{URLs: []string{srv.URLOf("/f")}, Path: name, Size: -1}, cfg, func() { poke(wake) })
			ctx, cancel := context.WithTimeout(t.Context(), 400*time.Millisecond)
			drive(ctx, d, wake, 4)
			cancel()
			if _, err := os.Stat(filepath.Join(dir, dest.TempStem(name)+JournalSuffix)); err != nil {
				t.Fatalf("no journal for a %d-byte name: %v", n, err)
			}
			srv.RatePerConn.Store(0)
			r := fetch(t, dir, Spec{URLs: []string{srv.URLOf("/f")}, Path: name}, testConfig(), 4)
			if r.err != nil || sha(r.data) != sha(data) {
				t.Fatalf("a %d-byte name: %v", n, r.err)
			}
			if r.d.Progress().Resumed == 0 {
				t.Errorf("a %d-byte name did not resume", n)
			}
			assertNoLitter(t, dir)
		})
	}
}

func TestFIFOAtTheJournalIsNotWaitedOn(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	data := segdltest.Content(3, 200<<10)
	srv.PutBytes("/f", data)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "out.bin"+PartSuffix), []byte("old"), 0o600)
	if err := mkfifo(filepath.Join(dir, "out.bin"+JournalSuffix), 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	r := fetch(t, dir, Spec{URLs: []string{srv.URLOf("/f")}}, testConfig(), 2)
	if r.err != nil || sha(r.data) != sha(data) {
		t.Fatalf("download beside a FIFO journal: %v", r.err)
	}
}

func TestOutOfFileDescriptorsIsWaitedOut(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	data := segdltest.Content(3, 200<<10)
	srv.PutBytes("/f", data)
	var fails atomic.Int64
	ops := osOps
	ops.open = func(root *os.Root, name string, flag int, perm fs.FileMode) (*os.File, error) {
		if fails.Add(1) <= 4 {
			return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.EMFILE}
		}
		return dest.OpenRegular(root, name, flag, perm)
	}
	cfg := testConfig()
	cfg.Retries = 1
	r := fetchOps(t, "", Spec{URLs: []string{srv.URLOf("/f")}}, cfg, 2, &ops)
	if r.err != nil || sha(r.data) != sha(data) {
		t.Fatalf("download after EMFILE: %v", r.err)
	}
}

func TestUnparsableLocationFailsAtOnce(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Location", "http://[::1%zz/x?sig=s3cr3t")
		w.WriteHeader(http.StatusFound)
	}))
	defer srv.Close()
	r := fetch(t, "", Spec{URLs: []string{srv.URL + "/f"}}, testConfig(), 1)
	if !errors.Is(r.err, ErrRedirect) {
		t.Errorf("err = %v; want ErrRedirect", r.err)
	}
	if strings.Contains(fmt.Sprint(r.err), "s3cr3t") {
		t.Errorf("error shows the Location's query: %v", r.err)
	}
	if n.Load() != 1 {
		t.Errorf("server saw %d requests; want 1", n.Load())
	}
}

// emfileDoer fails its first n requests as a dial does when the process
// is out of file descriptors.
type emfileDoer struct {
	Doer
	n atomic.Int64
}

func (e *emfileDoer) Do(r *http.Request) (*http.Response, error) {
	if e.n.Add(-1) >= 0 {
		return nil, &url.Error{Op: "Get", URL: r.URL.String(), Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("socket", syscall.EMFILE)}}
	}
	return e.Doer.Do(r)
}

func TestOutOfSocketsIsNotAFailedAttempt(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	data := segdltest.Content(3, 200<<10)
	srv.PutBytes("/f", data)
	cfg := testConfig()
	cfg.Retries = 1
	doer := &emfileDoer{Doer: cfg.Client}
	doer.n.Store(5)
	cfg.Client = doer
	r := fetch(t, "", Spec{URLs: []string{srv.URLOf("/f")}}, cfg, 2)
	if r.err != nil || sha(r.data) != sha(data) {
		t.Fatalf("download after EMFILE on dial: %v", r.err)
	}
}

// A download waiting for a socket holds no file open meanwhile: with more
// downloads started than descriptors, parked ones holding their temporary
// files would leave none for the sockets every one of them waits for.
func TestWaitingForASocketHoldsNoFile(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("needs /proc/self/fd to see which files the process holds")
	}
	srv := segdltest.NewServer()
	defer srv.Close()
	data := segdltest.Content(4, 100<<10)
	srv.PutBytes("/f", data)
	dir := t.TempDir()
	root := openRoot(t, dir)
	cfg := testConfig()
	doer := &emfileDoer{Doer: cfg.Client}
	doer.n.Store(1)
	cfg.Client = doer
	wake := make(chan struct{}, 1)
	d := New(root, Spec{URLs: []string{srv.URLOf("/f")}, Path: "out.bin", Size: -1}, cfg, func() { poke(wake) })
	task := d.Claim()
	if task == nil {
		t.Fatal("no probe to claim")
	}
	task.Run(t.Context()) // no socket: the task parks and returns
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, dir+string(os.PathSeparator)) {
			t.Errorf("while waiting for a socket, %s is held open", l)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	drive(ctx, d, wake, 1)
	if err := d.Err(); err != nil {
		t.Fatalf("download after waiting for a socket: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "out.bin")); sha(got) != sha(data) {
		t.Fatal("published file differs from the served one")
	}
	assertNoLitter(t, dir)
}
