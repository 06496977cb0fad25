package segdl

// writeAt writes b at off in the download's file, one write of the file at
// a time. Buffered writes to one file are serialised by the kernel anyway
// (ext4 and XFS take the inode's lock for each), but a writer waiting
// there spins while the holder copies: with eight connections on one file
// and page-cache pages slow to fill (freshly freed memory on a VM), seven
// threads burned CPU waiting for the eighth. Measured in `make bench`
// one-large: 3.8-4.1 CPU-s for 1 GiB without this lock, 1.1 with it. A
// goroutine waiting here parks, and its thread reads the network or
// hashes instead.
func (d *Download) writeAt(b []byte, off int64) (int, error) {
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	return d.ops.writeAt(d.file, b, off)
}
