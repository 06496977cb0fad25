//go:build unix

// This test is unix-only: it relies on what SIGKILL does to a process
// (no handler runs; the kernel releases its flocks at once), which is
// what an evicted pod's bulkdl meets; Windows has no such signal, and its
// lock primitive is issue 12's.

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
	"github.com/bulkdl/bulkdl/state"
)

// TestShardsUnderChaos runs a manifest as a Kubernetes Indexed Job does on
// one ReadWriteMany volume: 16 shard processes start at once; some are
// SIGKILLed at random moments (evicted) and restarted, at most
// backoffLimit times; then N changes to 8 and the manifest grows, and the
// new split runs. Set BULKDL_CHAOS_SEED to replay a run's kills.
func TestShardsUnderChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 24+ processes and takes ~20 s")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("BULKDL_CHAOS_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("BULKDL_CHAOS_SEED=%d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	const (
		rate       = 128 << 10 // bytes per second per response: slow enough to be killed mid-file
		perFile    = 2
		oldFiles   = 40
		newFiles   = 8
		maxKills   = 2         // per shard
		backoffLim = 4         // restarts per shard, as a Job's backoffLimit
		chunk      = 256 << 10 // the size of one read from a response
	)
	sizes := []int{1536 << 10, 192 << 10, 768 << 10, 100 << 10}
	type file struct {
		path string
		data []byte
		sum  bool // the manifest gives its checksum
	}
	var files []file
	served := map[string]*atomic.Int64{}
	srv := segdltest.NewUnstartedServer()
	for i := range oldFiles + newFiles {
		f := file{path: fmt.Sprintf("d%d/f%02d.bin", i%4, i), data: segdltest.Content(uint64(i+1), sizes[i%len(sizes)]), sum: i%2 == 0}
		srv.PutBytes("/"+f.path, f.data)
		served["/"+f.path] = new(atomic.Int64)
		files = append(files, f)
	}
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.ServeHTTP(countingWriter{w, served[r.URL.Path]}, r)
	})
	srv.Start()
	defer srv.Close()
	srv.RatePerConn.Store(rate)

	dir := t.TempDir()
	dest := filepath.Join(dir, "volume")
	m := filepath.Join(dir, "m.toml")
	writeManifest := func(n int) {
		var b strings.Builder
		fmt.Fprintf(&b, "[settings]\ndest = %q\nconnections = 4\nper_file = %d\nmin_segment = \"128KiB\"\nretries = 3\n", dest, perFile)
		for _, f := range files[:n] {
			fmt.Fprintf(&b, "[[file]]\nurl = %q\npath = %q\n", srv.URLOf("/"+f.path), f.path)
			if f.sum {
				fmt.Fprintf(&b, "checksum = \"sha256:%x\"\n", sha256.Sum256(f.data))
			}
		}
		if err := os.WriteFile(m, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	snapshot := func() map[string]int64 {
		out := map[string]int64{}
		for p, n := range served {
			out[p] = n.Load()
		}
		return out
	}

	// Phase 1: 16 shards at once, with evictions.
	writeManifest(oldFiles)
	// At each kill: what the journal of each file of the shard in flight
	// claims (checkpointed, and so never to be fetched again), and the
	// bytes served for it so far.
	type kill struct{ done, served, attempt int64 }
	var killMu sync.Mutex
	atKill := map[string][]kill{}
	mark := map[string]int64{} // bytes served for the file when its shard's attempt started
	onKilled := func(k uint64) {
		killMu.Lock()
		defer killMu.Unlock()
		for _, f := range files[:oldFiles] {
			if shardOf(f.path, 16) != k {
				continue
			}
			n := served["/"+f.path].Load()
			attempt := n - mark[f.path]
			mark[f.path] = n
			if _, err := os.Stat(filepath.Join(dest, f.path)); err == nil || attempt == 0 {
				continue // complete, or not started
			}
			var j struct{ Done [][2]int64 }
			if raw, err := os.ReadFile(filepath.Join(dest, f.path+state.JournalSuffix)); err == nil {
				json.Unmarshal(raw, &j)
			}
			var done int64
			for _, r := range j.Done {
				done += r[1] - r[0]
			}
			atKill[f.path] = append(atKill[f.path], kill{done, n, attempt})
		}
	}
	// Kills at random moments, and kills of random big files when a
	// random part of them has come in (so that some progress must have
	// been checkpointed).
	var plan []killer
	at := make([]time.Duration, 3)
	for i := range at {
		at[i] = 300*time.Millisecond + time.Duration(rng.Int64N(int64(3*time.Second)))
	}
	sort.Slice(at, func(i, j int) bool { return at[i] < at[j] })
	for _, d := range at {
		k := rng.Uint64N(16)
		plan = append(plan, func(t0 time.Time) (uint64, bool) {
			time.Sleep(time.Until(t0.Add(d)))
			return k, true
		})
	}
	for range 3 {
		f := files[4*rng.IntN(oldFiles/4)] // a 1.5 MiB file
		part := int64(len(f.data)) * (40 + rng.Int64N(40)) / 100
		plan = append(plan, func(time.Time) (uint64, bool) {
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if _, err := os.Stat(filepath.Join(dest, f.path)); err == nil {
					return 0, false // complete before its moment came
				}
				killMu.Lock()
				got := served["/"+f.path].Load() - mark[f.path]
				killMu.Unlock()
				if got >= part {
					return shardOf(f.path, 16), true
				}
			}
			return 0, false
		})
	}
	kills := runSplit(t, 16, m, dir, plan, maxKills, backoffLim, onKilled)
	phase1 := snapshot()
	// Resume, exactly: after a file's last kill, the rerun fetches what
	// its journal did not claim, plus what a split point can overshoot;
	// and a kill of an attempt that had received 3 chunks of a file finds
	// them checkpointed in part (a chunk is checkpointed once it is
	// written, and the last second's may not be).
	checkpointed := 0
	for p, ks := range atKill {
		size := int64(len(files[0].data))
		for _, f := range files {
			if f.path == p {
				size = int64(len(f.data))
			}
		}
		last := ks[len(ks)-1]
		if after := phase1["/"+p] - last.served; after > size-last.done+chunk+80<<10 {
			t.Errorf("%s: %d bytes served after its shard's last kill, for %d its journal had not claimed: a rerun fetched again what was checkpointed", p, after, size-last.done)
		}
		for _, k := range ks {
			if k.done > 0 {
				checkpointed++
			}
			if k.attempt >= 3*chunk+64<<10 && k.done == 0 {
				t.Errorf("%s: killed after %d bytes of an attempt, its journal claimed none: progress is not checkpointed", p, k.attempt)
			}
		}
	}
	t.Logf("phase 1: %d kill(s) caught %d file(s) in flight, %d with checkpointed progress", len(kills), len(atKill), checkpointed)
	killed := map[uint64]int{}
	for _, k := range kills {
		killed[k]++
	}
	var total, totalServed int64
	for _, f := range files[:oldFiles] {
		got, err := os.ReadFile(filepath.Join(dest, f.path))
		if err != nil || sha256.Sum256(got) != sha256.Sum256(f.data) {
			t.Errorf("%s: not the origin's bytes after the shards finished (%v)", f.path, err)
		}
		size, n := int64(len(f.data)), phase1["/"+f.path]
		total, totalServed = total+size, totalServed+n
		// A kill loses, per connection, the read chunk being filled and
		// what the server had sent into the socket, and per file at most
		// one chunk committed but not yet checkpointed (at this rate a
		// chunk takes 2 s to fill, longer than the checkpoint interval, so
		// only a chunk another connection committed within that second can
		// be). Unkilled, a file is served once, plus what a connection
		// reads past a split point before it sees it: up to a read chunk.
		// Without resume, a kill would cost everything fetched.
		k := int64(killed[shardOf(f.path, 16)])
		allowed := size + k*(perFile*(chunk+64<<10)+chunk) + chunk + 16<<10
		if n != size {
			t.Logf("%s: %d bytes served for %d (%.2fx), %d kill(s) of its shard", f.path, n, size, float64(n)/float64(size), k)
		}
		if n > allowed {
			t.Errorf("%s: %d bytes served for %d (%.2fx) after %d kill(s) of its shard; resume allows %d", f.path, n, size, float64(n)/float64(size), k, allowed)
		}
	}
	t.Logf("phase 1: %d kills; bytes served / bytes in the manifest = %d / %d = %.3f", len(kills), totalServed, total, float64(totalServed)/float64(total))
	leftovers(t, dest)
	if code, _, e := bulkdl("verify", m); code != 0 {
		t.Errorf("verify of the union after phase 1 = %d: %s", code, e)
	}
	checkMerged(t, dir, 16, oldFiles, 0, 0)

	// Phase 2: N changes and the manifest grows: the complete files cost
	// no byte (a request only for those without a checksum, answered 304).
	writeManifest(oldFiles + newFiles)
	requests := len(srv.Requests())
	runSplit(t, 8, m, dir, nil, 0, 0, nil)
	phase2 := snapshot()
	for i, f := range files {
		n := phase2["/"+f.path] - phase1["/"+f.path]
		switch {
		case i < oldFiles && n != 0:
			t.Errorf("%s, complete before N changed, was served %d bytes again", f.path, n)
		case i >= oldFiles && n < int64(len(f.data)):
			t.Errorf("%s, new, was served %d bytes of %d", f.path, n, len(f.data))
		}
	}
	for _, q := range srv.Requests()[requests:] {
		var i int
		fmt.Sscanf(q.Path[strings.LastIndexByte(q.Path, 'f')+1:], "%d.bin", &i)
		if i < oldFiles && (files[i].sum || q.Header.Get("If-None-Match") == "") {
			t.Errorf("after N changed, %s was requested (If-None-Match %q); want no request for a file with a checksum, a conditional one otherwise", q.Path, q.Header.Get("If-None-Match"))
		}
	}
	for _, f := range files {
		if got, err := os.ReadFile(filepath.Join(dest, f.path)); err != nil || sha256.Sum256(got) != sha256.Sum256(f.data) {
			t.Errorf("%s: not the origin's bytes after N changed (%v)", f.path, err)
		}
	}
	leftovers(t, dest)
	report := filepath.Join(dir, "verify.json")
	if code, _, e := bulkdl("verify", "-report", report, m); code != 0 {
		t.Errorf("verify of the union after N changed = %d: %s", code, e)
	}
	if r := readReport(t, report); r.Totals.Verified != (oldFiles+newFiles)/2 || r.Totals.Unverified != (oldFiles+newFiles)/2 {
		t.Errorf("verify report: %+v", r.Totals)
	}
	checkMerged(t, dir, 8, oldFiles+newFiles, newFiles, oldFiles)
	var newBytes, servedNew int64
	for _, f := range files[oldFiles:] {
		newBytes += int64(len(f.data))
	}
	for p, n := range phase2 {
		servedNew += n - phase1[p]
	}
	if got := readReport(t, filepath.Join(dir, "all.json")).Totals.BytesFetched; got < newBytes || got > servedNew {
		t.Errorf("merged bytes_fetched after N changed = %d; want between the new files' %d and the %d bytes served", got, newBytes, servedNew)
	}
	t.Logf("phase 2: bytes served / bytes of new files = %d / %d", servedNew, newBytes)
}

// killer waits for the moment of a kill, t0 being the start of the
// split, and names the shard to kill (ok false: none).
type killer func(t0 time.Time) (k uint64, ok bool)

// runSplit runs the n shards of a split at once, each a bulkdl process
// with its own report, kills shards when kills say (at most maxKills
// times each) and restarts a killed shard at most backoff times,
// calling onKilled, if set, between a kill and the restart.
// It fails the test unless every shard ends with exit 0 and none was ever
// refused the dest (exit 75). It returns the shards killed, once a kill.
func runSplit(t *testing.T, n uint64, m, dir string, kills []killer, maxKills, backoff int, onKilled func(k uint64)) []uint64 {
	t.Helper()
	type shard struct {
		mu      sync.Mutex
		cmd     *exec.Cmd
		kills   int
		stderr  bytes.Buffer
		codes   []int
		running bool
	}
	shards := make([]*shard, n)
	start := func(k uint64, s *shard) {
		cmd := exec.Command(os.Args[0], "run", "-progress", "plain", "-shard", fmt.Sprintf("%d/%d", k, n),
			"-report", filepath.Join(dir, fmt.Sprintf("report-%d-of-%d.json", k, n)), m)
		cmd.Env = append(os.Environ(), "BULKDL_TEST_MAIN=1")
		cmd.Stderr = &s.stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		s.cmd, s.running = cmd, true
	}
	t0 := time.Now()
	var wg sync.WaitGroup
	for k := range n {
		s := &shard{}
		shards[k] = s
		s.mu.Lock()
		start(k, s)
		s.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				s.mu.Lock()
				cmd := s.cmd
				s.mu.Unlock()
				err := cmd.Wait()
				s.mu.Lock()
				code := cmd.ProcessState.ExitCode()
				s.codes = append(s.codes, code)
				s.running = false
				var ee *exec.ExitError
				if errors.As(err, &ee) && code == -1 && len(s.codes) <= backoff {
					if onKilled != nil {
						onKilled(k) // the process is gone; its rerun not started
					}
					start(k, s) // the Job controller reruns the evicted pod
					s.mu.Unlock()
					continue
				}
				s.mu.Unlock()
				return
			}
		}()
	}
	t.Cleanup(func() {
		for _, s := range shards {
			s.mu.Lock()
			if s.running {
				s.cmd.Process.Kill()
			}
			s.mu.Unlock()
		}
	})
	var killed []uint64
	for _, next := range kills {
		k, ok := next(t0)
		if !ok {
			continue
		}
		s := shards[k]
		s.mu.Lock()
		if s.running && s.kills < maxKills {
			s.cmd.Process.Signal(syscall.SIGKILL)
			s.kills++
			killed = append(killed, k)
			t.Logf("%v: SIGKILL shard %d/%d (pid %d, attempt %d)", time.Since(t0).Round(time.Millisecond), k, n, s.cmd.Process.Pid, len(s.codes)+1)
		}
		s.mu.Unlock()
	}
	wg.Wait()
	t.Logf("split %d: done in %v", n, time.Since(t0).Round(time.Millisecond))
	for k, s := range shards {
		for _, c := range s.codes {
			if c == exitLocked {
				t.Errorf("shard %d/%d was refused the dest (exit 75) by another shard of its split:\n%s", k, n, s.stderr.String())
			}
		}
		if last := s.codes[len(s.codes)-1]; last != 0 {
			t.Errorf("shard %d/%d: exit codes %v; want a last 0:\n%s", k, n, s.codes, s.stderr.String())
		}
	}
	return killed
}

// checkMerged merges the n shards' reports and checks its totals.
func checkMerged(t *testing.T, dir string, n, files, downloaded, skipped int) {
	t.Helper()
	args := []string{"report", "merge", "-o", filepath.Join(dir, "all.json")}
	for k := range n {
		args = append(args, filepath.Join(dir, fmt.Sprintf("report-%d-of-%d.json", k, n)))
	}
	if code, _, e := bulkdl(args...); code != 0 {
		t.Errorf("report merge of the %d shards = %d: %s", n, code, e)
		return
	}
	r := readReport(t, filepath.Join(dir, "all.json"))
	tt := r.Totals
	// A shard killed and rerun finds the files it completed before the
	// kill recorded: downloaded in one report, skipped in the last.
	if tt.Files != files || tt.Downloaded+tt.Skipped != files || tt.Downloaded < downloaded || tt.Failed != 0 || tt.Pending != 0 || r.ExitCode != 0 || len(r.Merged.Missing) != 0 ||
		skipped > 0 && (tt.Skipped != skipped || tt.Downloaded != downloaded) {
		t.Errorf("merged report of %d shards: totals %+v, exit_code %d, missing %v; want %d files, %d downloaded, %d skipped", n, tt, r.ExitCode, r.Merged.Missing, files, downloaded, skipped)
	}
}

// leftovers fails the test if any temporary file of a download is left
// in dest once every file is complete.
func leftovers(t *testing.T, dest string) {
	t.Helper()
	filepath.Walk(dest, func(p string, fi os.FileInfo, err error) error {
		if err == nil && (strings.HasSuffix(p, state.PartSuffix) || strings.HasSuffix(p, state.JournalSuffix)) {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

// countingWriter counts the body bytes a response carries.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	if w.n != nil {
		w.n.Add(int64(n))
	}
	return n, err
}

func (w countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
