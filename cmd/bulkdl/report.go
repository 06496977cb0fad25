package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/bulkdl/bulkdl/redact"
)

// Report is the JSON report -report writes. Its schema is documented in
// docs/report.md; fields are only ever added.
type Report struct {
	Version     int          `json:"version"`
	Command     string       `json:"command"` // run or verify
	Manifest    string       `json:"manifest"`
	Shard       string       `json:"shard,omitempty"` // K/N, with -shard
	Dest        string       `json:"dest"`
	Started     time.Time    `json:"started"`
	Duration    float64      `json:"duration_seconds"`
	Interrupted bool         `json:"interrupted"`
	ExitCode    int          `json:"exit_code"`
	Error       string       `json:"error,omitempty"`  // why the run could not start
	Merged      *ReportMerge `json:"merged,omitempty"` // bulkdl report merge
	Totals      ReportTotals `json:"totals"`
	Hosts       []ReportHost `json:"hosts"`
	Files       []ReportFile `json:"files"`
}

// ReportTotals sums the files.
type ReportTotals struct {
	Files        int   `json:"files"`
	Downloaded   int   `json:"downloaded"`
	Skipped      int   `json:"skipped"`
	Failed       int   `json:"failed"`
	Pending      int   `json:"pending"`
	Verified     int   `json:"verified"`   // verify: checksum matched
	Unverified   int   `json:"unverified"` // verify: present, size ok, no checksum
	Missing      int   `json:"missing"`    // verify: not in dest
	Mismatched   int   `json:"mismatched"` // verify: size or checksum differs
	Bytes        int64 `json:"bytes"`
	BytesFetched int64 `json:"bytes_fetched"`
}

// ReportHost says whether a host pushed back.
type ReportHost struct {
	Host      string `json:"host"`
	Cap       int    `json:"cap"`
	MinCap    int    `json:"min_cap"`
	Throttled bool   `json:"throttled"`
	Down      bool   `json:"down,omitempty"` // found down: its files were failed without more tries
}

// ReportFile is one file's outcome.
type ReportFile struct {
	URL          string  `json:"url"`
	Path         string  `json:"path"`
	Size         int64   `json:"size"`
	Checksum     string  `json:"checksum,omitempty"`
	Status       string  `json:"status"`
	Shard        string  `json:"shard,omitempty"` // merged reports: the shard that wrote this entry
	Attempts     int64   `json:"attempts"`
	BytesFetched int64   `json:"bytes_fetched"`
	Duration     float64 `json:"duration_seconds"`
	Error        string  `json:"error,omitempty"`
}

// writeReport writes the report atomically: a temporary file beside it,
// then a rename.
func writeReport(name string, r *runner, interrupted bool) error {
	r.mu.Lock()
	rep := Report{Version: 1, Command: r.command, Manifest: r.m.Name, Shard: r.shard.String(), Dest: r.m.Dest, Started: r.started.UTC().Round(time.Millisecond),
		Duration: time.Since(r.started).Seconds(), Interrupted: interrupted, ExitCode: r.exitCode, Error: r.setupErr,
		Hosts: []ReportHost{}, Files: make([]ReportFile, 0, r.inShard)}
	for i := range r.m.Files {
		f, res := &r.m.Files[i], &r.results[i]
		if res.status == "other-shard" {
			continue
		}
		rf := ReportFile{URL: redact.URL(f.URL), Path: f.Path, Size: res.size, Status: res.status,
			Attempts: res.attempts, BytesFetched: res.fetched, Duration: res.duration.Seconds(), Error: res.err}
		if res.sum != nil {
			algo := "sha256"
			if !f.Checksum.IsZero() {
				algo = f.Checksum.Algo
			}
			rf.Checksum = algo + ":" + hex.EncodeToString(res.sum)
		}
		rep.Files = append(rep.Files, rf)
		t := &rep.Totals
		t.Files++
		t.BytesFetched += res.fetched
		switch res.status {
		case "downloaded":
			t.Downloaded++
			t.Bytes += res.size
		case "skipped":
			t.Skipped++
			t.Bytes += res.size
		case "verified":
			t.Verified++
			t.Bytes += res.size
		case "unverified":
			t.Unverified++
			t.Bytes += res.size
		case "missing":
			t.Missing++
			t.Failed++
		case "mismatch":
			t.Mismatched++
			t.Failed++
		case "failed":
			t.Failed++
		default:
			t.Pending++
		}
	}
	down := map[string]bool{}
	for _, h := range r.downHosts {
		down[h] = true
	}
	r.mu.Unlock()
	if r.sched != nil {
		for _, h := range r.sched.Hosts() {
			rep.Hosts = append(rep.Hosts, ReportHost{Host: redact.Escape(h.Host), Cap: h.ConfigCap, MinCap: h.MinCap, Throttled: h.MinCap < h.ConfigCap, Down: down[h.Host]})
		}
	}
	return saveReport(name, &rep)
}

// bareReport writes the report of a run that could not start: no
// manifest to describe (a usage or manifest error), only why.
func bareReport(name, command, manifestName, shard string, code int, msg string) error {
	return saveReport(name, &Report{Version: 1, Command: command, Manifest: manifestName, Shard: shard, Started: time.Now().UTC().Round(time.Millisecond),
		ExitCode: code, Error: msg, Hosts: []ReportHost{}, Files: []ReportFile{}})
}

// checkReportPath finds out before anything is downloaded whether the
// report can be written at name: its directory exists and takes a new
// file, and name is not a directory.
func checkReportPath(name string) error {
	if fi, err := os.Stat(name); err == nil && fi.IsDir() {
		return fmt.Errorf("-report %s is a directory; give a file name such as %s", name, filepath.Join(name, "bulkdl-report.json"))
	}
	dir := filepath.Dir(name)
	tmp, err := os.CreateTemp(dir, ".bulkdl-report-*")
	if err != nil {
		return reportPathError(name, err)
	}
	tmp.Close()
	os.Remove(tmp.Name())
	return nil
}

// reportPathError explains err, met creating a file beside the report,
// with the user's path rather than the temporary file's name.
func reportPathError(name string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	dir := filepath.Dir(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("-report %s: directory %s does not exist; create it or write the report elsewhere", name, dir)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("-report %s: directory %s is not writable; write the report elsewhere", name, dir)
	}
	return fmt.Errorf("-report %s: %w", name, err)
}

// saveReport writes rep to name atomically: a temporary file beside it,
// then a rename.
func saveReport(name string, rep *Report) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), ".bulkdl-report-*")
	if err != nil {
		return reportPathError(name, err)
	}
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return reportPathError(name, err)
	}
	return nil
}
