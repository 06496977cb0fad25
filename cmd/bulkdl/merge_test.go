package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkdl/bulkdl/job"
	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

func TestReportMerge(t *testing.T) {
	srv, dir, data := origin(t, 12, 4000, "")
	srv.Fault = func(r *http.Request, _ int64) segdltest.Fault {
		if r.URL.Path == "/f5.bin" {
			return segdltest.Fault{Kind: segdltest.Status, Code: 404}
		}
		return segdltest.Fault{}
	}
	m := filepath.Join(dir, "m.toml")
	rep := func(name string) string { return filepath.Join(dir, name+".json") }
	for k := range 4 {
		bulkdl("run", "-q", "-shard", fmt.Sprintf("%d/4", k), "-report", rep(fmt.Sprint(k)), m)
	}
	bulkdl("run", "-q", "-shard", "0/2", "-report", rep("other-split"), m)
	bulkdl("run", "-q", "-report", rep("plain"), m)

	code, out, stderr := bulkdl("report", "merge", rep("3"), rep("1"), rep("0"), rep("2"))
	if code != exitFailed {
		t.Errorf("merge of a split with a failed file = %d; want %d: %s", code, exitFailed, stderr)
	}
	var got job.Report
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("merged report is not JSON: %v\n%s", err, out)
	}
	want := job.ReportTotals{Files: 12, Downloaded: 11, Failed: 1, Bytes: 11 * 4000, BytesFetched: 11 * 4000}
	if got.Totals != want || got.ExitCode != exitFailed || got.Merged == nil || got.Merged.Split != 4 || len(got.Merged.Missing) != 0 || got.Merged.Reports != 4 {
		t.Errorf("merged totals %+v, exit_code %d, merged %+v; want %+v, 1, 4 reports of a 4-way split, none missing", got.Totals, got.ExitCode, got.Merged, want)
	}
	if len(got.Files) != len(data) {
		t.Fatalf("merged report lists %d files; want %d", len(got.Files), len(data))
	}
	for _, f := range got.Files {
		if s, err := job.ParseShard(f.Shard); err != nil || !s.Has(f.Path) {
			t.Errorf("%s: shard %q is not the shard that owns it", f.Path, f.Shard)
		}
	}

	cases := []struct {
		name    string
		reports []string
		code    int
		want    string // in stderr
	}{
		{"a shard given twice is refused", []string{"0", "1", "0"}, exitUsage, "shard 0/4 is in both"},
		{"shards of another split are refused", []string{"0", "other-split"}, exitUsage, "of a 4-way split"},
		{"a run of the whole manifest is another split", []string{"plain", "1"}, exitUsage, "of a 1-way split"},
		{"a file that is not a report is refused", []string{"0", "missing-file"}, exitUsage, "missing-file.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"report", "merge"}
			for _, r := range c.reports {
				args = append(args, rep(r))
			}
			if code, _, stderr := bulkdl(args...); code != c.code || !strings.Contains(stderr, c.want) {
				t.Errorf("%s = %d, %q; want %d and %q", c.reports, code, stderr, c.code, c.want)
			}
		})
	}

	// One clean split merges to exit 0, to a file with -o.
	srv.Fault = nil
	for k := range 4 {
		bulkdl("run", "-q", "-shard", fmt.Sprintf("%d/4", k), "-report", rep(fmt.Sprint(k)), m)
	}
	if code, _, stderr := bulkdl("report", "merge", "-o", rep("all"), rep("0"), rep("1"), rep("2"), rep("3")); code != exitOK {
		t.Fatalf("merge of a clean split = %d: %s", code, stderr)
	}
	if all := readReport(t, rep("all")); all.Totals.Files != 12 || all.Totals.Downloaded != 1 || all.Totals.Skipped != 11 || all.ExitCode != 0 {
		t.Errorf("merged totals after the rerun: %+v, exit_code %d", all.Totals, all.ExitCode)
	}
	// -o into a directory that does not exist is refused before anything
	// is read, naming the flag the user gave.
	missing := filepath.Join(t.TempDir(), "no-such-dir", "all.json")
	if code, _, stderr := bulkdl("report", "merge", "-o", missing, rep("0")); code != exitSetup || !strings.Contains(stderr, "-o "+missing+": directory") || strings.Contains(stderr, "-report") {
		t.Errorf("merge -o %s = %d, %q; want %d, naming -o and the missing directory", missing, code, stderr, exitSetup)
	}
	// A shard whose report is missing (its pod never ran) fails the merge.
	code, out, stderr = bulkdl("report", "merge", rep("0"), rep("1"), rep("3"))
	if code != exitFailed || !strings.Contains(stderr, "shards without a report: 2/4") || !strings.Contains(out, `"exit_code": 1`) {
		t.Errorf("merge without shard 2/4 = %d, %q; want %d, naming it, exit_code 1", code, stderr, exitFailed)
	}
}

// TestReportMergeGolden merges two fixed shard reports: sums, the earliest
// start to the latest end, hosts folded, files sorted with their shard.
func TestReportMergeGolden(t *testing.T) {
	dir := filepath.Join("testdata", "merge")
	code, out, stderr := bulkdl("report", "merge", filepath.Join(dir, "shard-1.json"), filepath.Join(dir, "shard-0.json"))
	if code != exitFailed {
		t.Errorf("merge = %d; want %d (a shard failed, one was interrupted): %s", code, exitFailed, stderr)
	}
	golden(t, "merge.golden", []byte(out))
}
