package job

import (
	"fmt"
	"testing"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/segdl"
)

// walk computes what the display showed before totals existed, by
// walking every file: the reference the running totals must agree with.
func walk(results []FileResult) (done, total int64) {
	unknown := false
	for _, res := range results {
		switch {
		case res.Outcome == OtherShard, res.Outcome == Failed:
		case res.Outcome == Downloaded || res.Outcome == Skipped:
			done += res.Size
			total += res.Size
		case res.Size >= 0:
			total += res.Size
		default:
			unknown = true
		}
	}
	if unknown {
		total = -1
	}
	return done, total
}

func TestRunningTotalsAgreeWithAWalk(t *testing.T) {
	results := []FileResult{
		{Outcome: Pending, Size: 100},
		{Outcome: Pending, Size: -1},
		{Outcome: OtherShard, Size: 7},
		{Outcome: Skipped, Size: 30},
		{Outcome: Pending, Size: 50},
		{Outcome: Pending, Size: -1},
	}
	tot := tally(results)
	steps := []struct {
		i       int
		outcome Outcome
		size    int64
	}{
		{0, Downloaded, 100},
		{1, Downloaded, 4000}, // its size learned from the server
		{4, Failed, 50},
		{5, Pending, -1}, // interrupted
		{5, Downloaded, 12},
	}
	for _, st := range steps {
		res := &results[st.i]
		tot.add(res, -1)
		res.Outcome, res.Size = st.outcome, st.size
		tot.add(res, 1)
		total := tot.known
		if tot.unknown > 0 {
			total = -1
		}
		wd, wt := walk(results)
		if tot.done != wd || total != wt {
			t.Errorf("after file %d became %v: totals say %d of %d bytes; walking every file says %d of %d", st.i, st.outcome, tot.done, total, wd, wt)
		}
	}
	if tot.failed != 1 {
		t.Errorf("totals count %d failed; want 1", tot.failed)
	}
}

// BenchmarkSnapshot: the cost of one snapshot with 16 files in flight
// must not grow with the number of files in the manifest.
func BenchmarkSnapshot(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			m := &manifest.Manifest{Files: make([]manifest.File, n)}
			for i := range m.Files {
				m.Files[i] = manifest.File{URL: fmt.Sprintf("http://127.0.0.1:1/f%d", i), Path: fmt.Sprintf("f%d", i), Size: 4096}
			}
			r := newRunner(m, "run", Options{})
			for i := range n / 2 {
				r.res.Files[i].Outcome = Downloaded
				r.done++
			}
			r.tot, r.totOK = tally(r.res.Files), true
			cfg := &segdl.Config{}
			for i := n / 2; i < n/2+16; i++ {
				r.active[i] = segdl.New(nil, segdl.Spec{URLs: []string{m.Files[i].URL}, Path: m.Files[i].Path, Size: 4096}, cfg, nil)
			}
			st := &Status{r: r}
			b.ReportAllocs()
			for b.Loop() {
				st.Snapshot()
			}
		})
	}
}
