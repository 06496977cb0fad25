package segdl

import (
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// syncFiles makes the data and inodes of files durable with one syncfs(2)
// per file system they are on (stats, from fstat, tell which): one flush
// for a whole batch instead of one per file (5000 x 4 KiB: 0.68 s instead
// of 1.1 s, and a third less CPU). Where syncfs fails it fsyncs each file,
// which also tells which one failed.
//
// syncfs also waits for every other process's dirty data on the file
// system (measured: a second, beside a busy writer), so a batch of a few
// files, such as large files finishing alone, is fsynced file by file.
func syncFiles(files []*os.File, stats []fs.FileInfo, sync func(*os.File) error) []error {
	if len(files) < syncfsMin {
		return syncEach(files, sync)
	}
	errs := make([]error, len(files))
	groups := map[uint64][]int{}
	for i := range files {
		dev := uint64(0)
		if st, ok := stats[i].Sys().(*syscall.Stat_t); ok {
			dev = uint64(st.Dev)
		}
		groups[dev] = append(groups[dev], i)
	}
	for dev, idx := range groups {
		if dev != 0 && syncfs(files[idx[0]]) == nil {
			continue
		}
		sub := make([]*os.File, len(idx))
		for k, i := range idx {
			sub[k] = files[i]
		}
		for k, err := range syncEach(sub, sync) {
			errs[idx[k]] = err
		}
	}
	return errs
}

// syncfsMin is the smallest batch flushed with syncfs.
const syncfsMin = 8

func syncfs(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Syncfs(int(fd)) }); err != nil {
		return err
	}
	return serr
}
