package job

import (
	"strings"
	"testing"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/segdl"
)

// testRunner is a runner with n files of the given manifest sizes.
func testRunner(sizes ...int64) *runner {
	m := &manifest.Manifest{}
	for i, sz := range sizes {
		m.Files = append(m.Files, manifest.File{URL: "http://h/f", Path: strings.Repeat("f", i+1), Size: sz})
	}
	return newRunner(m, "run", Options{})
}

func TestSnapshotSizes(t *testing.T) {
	t.Run("sizes the server gave are known", func(t *testing.T) {
		r := testRunner(-1, -1, -1)
		r.res.Files[0].Outcome, r.res.Files[0].Size = Downloaded, 1000
		r.res.Files[1].Outcome = Failed // arrives no more
		r.done = 2
		s := r.snapshotLocked(map[int]segdl.Progress{2: {Size: 1000, Written: 500}})
		if s.Unknown != 0 || s.TotalBytes != 2000 || s.DoneBytes != 1500 || s.Failed != 1 || s.Done != 2 || s.Files != 3 {
			t.Fatalf("snapshot = %+v; want every size known, 1500 of 2000, 2 of 3 done, 1 failed", s)
		}
	})
	t.Run("the manifest's size shows before the server's", func(t *testing.T) {
		r := testRunner(64 << 20)
		s := r.snapshotLocked(map[int]segdl.Progress{0: {Size: -1, Written: 0, Active: 1}})
		if len(s.Active) != 1 || s.Active[0].Size != 64<<20 {
			t.Fatalf("active = %+v; want the manifest's size", s.Active)
		}
	})
	t.Run("a file not started, of unknown size, is counted unknown", func(t *testing.T) {
		r := testRunner(1000, -1)
		s := r.snapshotLocked(map[int]segdl.Progress{0: {Size: 1000, Written: 999}})
		if s.Unknown != 1 || s.TotalBytes != 1000 || s.DoneBytes != 999 {
			t.Errorf("snapshot = %+v; want 999 of 1000 and 1 unknown", s)
		}
	})
}
