package segdl

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

func TestKernelAtLeast(t *testing.T) {
	for _, tc := range []struct {
		release string
		want    bool
	}{
		{"5.8.0", true},
		{"5.8", true},
		{"5.8-rc1", true},
		{"5.7.19", false},
		{"5.10.0-26-amd64", true},
		{"5.80", true},
		{"6.1.55", true},
		{"10.0", true},
		{"4.18.0-513.el8.x86_64", false},
		{"4.99", false},
		{"3.10.0-1160.el7.x86_64", false},
		{"5", false},
		{"5.", false},
		{"5.x", false},
		{"x.9", false},
		{"", false},
	} {
		if got := kernelAtLeast(tc.release, 5, 8); got != tc.want {
			t.Errorf("kernelAtLeast(%q, 5, 8) = %v, want %v", tc.release, got, tc.want)
		}
	}
}

func FuzzKernelAtLeast(f *testing.F) {
	f.Add("5.15.0-91-generic", uint8(5), uint8(8), "")
	f.Add("4.18.0-513.el8.x86_64", uint8(4), uint8(18), "-1")
	f.Add("", uint8(0), uint8(0), ".7")
	f.Fuzz(func(t *testing.T, release string, x, y uint8, suffix string) {
		kernelAtLeast(release, 5, 8) // never panics
		// A release that starts with x.y compares as x.y, whatever follows
		// that is not a digit.
		if suffix != "" && suffix[0] >= '0' && suffix[0] <= '9' {
			return
		}
		r := fmt.Sprintf("%d.%d%s", x, y, suffix)
		want := x > 5 || x == 5 && y >= 8
		if got := kernelAtLeast(r, 5, 8); got != want {
			t.Errorf("kernelAtLeast(%q, 5, 8) = %v, want %v", r, got, want)
		}
	})
}

// syncFiles flushes a batch with syncfs through the file opened first, so
// that a write-back error of any file in the batch, which came after that
// open, is reported; on a kernel whose syncfs reports none it fsyncs every
// file; where syncfs fails, every file, which tells which failed.
func TestSyncFilesThroughFirstOpened(t *testing.T) {
	dir := t.TempDir()
	// The batch's order is not the order its files were opened in.
	opened := []uint64{41, 17, 99, 12, 58, 30, 77, 64, 23}
	first := slices.Index(opened, slices.Min(opened))
	files := make([]*os.File, len(opened))
	stats := make([]fs.FileInfo, len(opened))
	for i := range files {
		f, err := os.Create(filepath.Join(dir, fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		files[i], stats[i] = f, st
	}
	errBad := errors.New("write-back failed")
	for _, tc := range []struct {
		name      string
		reports   bool  // the kernel's syncfs reports write-back errors
		syncfsErr error // what syncfs returns
		wantFS    []string
		wantEach  bool
	}{
		{"syncfs reports", true, nil, []string{files[first].Name()}, false},
		{"syncfs reports an error", true, errBad, []string{files[first].Name()}, true},
		{"syncfs reports nothing", false, nil, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var viaFS, each []string
			syncfs := func(f *os.File) error { viaFS = append(viaFS, f.Name()); return tc.syncfsErr }
			bad := files[5]
			fsync := func(f *os.File) error {
				each = append(each, f.Name())
				if f == bad {
					return errBad
				}
				return nil
			}
			// syncEach runs fsyncs at once: one at a time here.
			errs := syncFilesWith(files, stats, opened, serial(fsync), syncfs, tc.reports)
			if !slices.Equal(viaFS, tc.wantFS) {
				t.Errorf("syncfs through %q, want %q", viaFS, tc.wantFS)
			}
			if tc.wantEach != (len(each) == len(files)) || !tc.wantEach && len(each) > 0 {
				t.Errorf("fsynced %d of %d files; want all: %v", len(each), len(files), tc.wantEach)
			}
			for i, err := range errs {
				want := tc.wantEach && files[i] == bad
				if (err != nil) != want {
					t.Errorf("file %d: error %v, want one: %v", i, err, want)
				}
			}
		})
	}
}

// serial makes f safe to call from several goroutines: one call at a time.
func serial(f func(*os.File) error) func(*os.File) error {
	var mu sync.Mutex
	return func(x *os.File) error {
		mu.Lock()
		defer mu.Unlock()
		return f(x)
	}
}
