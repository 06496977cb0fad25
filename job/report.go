package job

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/bulkdl/bulkdl/redact"
	"github.com/bulkdl/bulkdl/state"
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

// ReportMerge says what a merged report (bulkdl report merge) was made of.
type ReportMerge struct {
	Reports int      `json:"reports"` // reports merged
	Split   uint64   `json:"split"`   // N of the shards' -shard K/N; 1 for runs of the whole manifest
	Missing []string `json:"missing"` // shards of the split without a report, as K/N: their files are in no total
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
	Status       string  `json:"status"`          // an Outcome
	Shard        string  `json:"shard,omitempty"` // merged reports: the shard that wrote this entry
	Attempts     int64   `json:"attempts"`
	BytesFetched int64   `json:"bytes_fetched"`
	Duration     float64 `json:"duration_seconds"`
	Error        string  `json:"error,omitempty"`
}

// NewReport describes res, a run's or a verification's result, which
// ended with exitCode.
func NewReport(res *Result, exitCode int) *Report {
	m := res.Manifest
	rep := &Report{Version: 1, Command: res.Command, Manifest: m.Name, Shard: res.Shard.String(), Dest: m.Dest, Started: res.Started.UTC().Round(time.Millisecond),
		Duration: res.Duration.Seconds(), Interrupted: res.Interrupted, ExitCode: exitCode, Error: res.SetupErr,
		Hosts: []ReportHost{}, Files: make([]ReportFile, 0, res.InShard)}
	for i := range m.Files {
		f, fr := &m.Files[i], &res.Files[i]
		if fr.Outcome == OtherShard {
			continue
		}
		rf := ReportFile{URL: redact.URL(f.URL), Path: f.Path, Size: fr.Size, Status: fr.Outcome.String(),
			Attempts: fr.Attempts, BytesFetched: fr.Fetched, Duration: fr.Duration.Seconds(), Error: fr.Err}
		if fr.Sum != nil {
			rf.Checksum = sumText(f, fr.Sum)
		}
		rep.Files = append(rep.Files, rf)
		t := &rep.Totals
		t.Files++
		t.BytesFetched += fr.Fetched
		switch fr.Outcome {
		case Downloaded:
			t.Downloaded++
		case Skipped:
			t.Skipped++
		case Verified:
			t.Verified++
		case Unverified:
			t.Unverified++
		case Missing:
			t.Missing++
		case Mismatch:
			t.Mismatched++
		case Failed:
		default:
			t.Pending++
		}
		if fr.Outcome.Present() {
			t.Bytes += fr.Size
		}
		if fr.Outcome.Bad() {
			t.Failed++
		}
	}
	for _, h := range res.Hosts {
		rep.Hosts = append(rep.Hosts, ReportHost{Host: redact.Escape(h.Host), Cap: h.ConfigCap, MinCap: h.MinCap, Throttled: h.MinCap < h.ConfigCap, Down: h.Down})
	}
	return rep
}

// BareReport is the report of a run that could not start: no manifest to
// describe (a usage or manifest error), only why.
func BareReport(command, manifestName, shard string, code int, msg string) *Report {
	return &Report{Version: 1, Command: command, Manifest: manifestName, Shard: shard, Started: time.Now().UTC().Round(time.Millisecond),
		ExitCode: code, Error: msg, Hosts: []ReportHost{}, Files: []ReportFile{}}
}

// CheckReportPath finds out before anything is downloaded whether a report
// can be written at name: its directory exists and takes a new file, and
// name is not a directory. Its error starts with name; the caller says
// which flag gave it.
func CheckReportPath(name string) error {
	if fi, err := os.Stat(name); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory; give a file name such as %s", name, filepath.Join(name, "bulkdl-report.json"))
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
		return fmt.Errorf("%s: directory %s does not exist; create it or write the report elsewhere", name, dir)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s: directory %s is not writable; write the report elsewhere", name, dir)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// Write writes the report to name atomically and durably (state.WriteFile).
func (rep *Report) Write(name string) error {
	root, err := os.OpenRoot(filepath.Dir(name))
	if err != nil {
		return reportPathError(name, err)
	}
	defer root.Close()
	var encErr error
	err = state.WriteFile(root, filepath.Base(name), 0o644, func(w io.Writer) error {
		encErr = rep.encode(w)
		return encErr
	})
	if encErr != nil {
		return encErr
	}
	if err != nil {
		return reportPathError(name, err)
	}
	return nil
}

// encode writes the report as json.MarshalIndent(rep, "", "  ") and a
// newline would, one file's entry at a time: a report of 100,000 files is
// some 30 MB of JSON, which MarshalIndent built twice over in memory
// (marshalled, then indented: 150 MB allocated, the heap at 290 MB) at the
// end of the run, when its heap is largest.
func (rep *Report) encode(w io.Writer) error {
	head := *rep
	head.Files = rep.Files[:0]
	b, err := json.MarshalIndent(&head, "", "  ")
	if err != nil {
		return err
	}
	// files is the last field: its entries go between "[" and "]".
	const tail = "[]\n}"
	cut, ok := bytes.CutSuffix(b, []byte(tail))
	if len(rep.Files) == 0 || !ok {
		if b, err = json.MarshalIndent(rep, "", "  "); err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	bw, ok := w.(*bufio.Writer) // state.WriteFile's; its errors stick till Flush
	if !ok {
		bw = bufio.NewWriterSize(w, 64<<10)
	}
	bw.Write(cut)
	bw.WriteByte('[')
	for i := range rep.Files {
		e, err := json.MarshalIndent(&rep.Files[i], "    ", "  ")
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n    ")
		bw.Write(e)
	}
	bw.WriteString("\n  ]\n}\n")
	return bw.Flush()
}
