package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/bulkdl/bulkdl/segdl"
)

// floorOK: the floor runs here (it creates files without a name, as
// bulkdl does on Linux).
const floorOK = true

// errFloorBytes is a file whose size or sha256 is not the list's.
var errFloorBytes = errors.New("wrong bytes")

// runFloor fetches files into dir with conns connections and returns how
// many failed, each said with logf; err is for what stops it (dir cannot
// be opened).
func runFloor(files []floorFile, dir string, conns int, logf func(string, ...any)) (failed int, err error) {
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(dfd)
	// As bulkdl run does for a large manifest: no stall on the growth
	// of the descriptor table mid-run.
	segdl.ReserveDescriptors(1024)
	var nfailed atomic.Int64
	fail := func(f floorFile, err error) {
		nfailed.Add(1)
		logf("%s: %v", f.name, err)
	}
	pub := &floorPublisher{publish: func(batch []floorVerified) {
		// Their bytes and inodes durable, then their names, then the
		// directory's entries.
		syncErr := unix.Syncfs(dfd)
		for _, v := range batch {
			err := syncErr
			if err == nil {
				err = floorLink(v.fd, dfd, v.f.name)
			}
			unix.Close(v.fd)
			if err != nil {
				fail(v.f, err)
			}
		}
		if err := unix.Fsync(dfd); err != nil {
			for _, v := range batch {
				fail(v.f, err)
			}
		}
	}}
	client := floorClient(conns)
	jobs := make(chan floorFile)
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			buf := make([]byte, 64<<10)
			for f := range jobs {
				fd, err := floorFetch(client, dfd, f, buf)
				if err != nil {
					fail(f, err)
					continue
				}
				pub.add(floorVerified{fd, f})
			}
		})
	}
	for _, f := range files {
		jobs <- f
	}
	close(jobs)
	wg.Wait()
	pub.wait()
	return int(nfailed.Load()), nil
}

// floorVerified is a file whose bytes were checked, open and without a
// name until its batch is published.
type floorVerified struct {
	fd int
	f  floorFile
}

// floorPublisher names verified files in batches: one batch at a time,
// the next gathering while one is made durable.
type floorPublisher struct {
	mu      sync.Mutex
	queue   []floorVerified
	publish func([]floorVerified) // makes a batch durable and names it
	running bool
	wg      sync.WaitGroup
}

// add queues f, and starts a batch if none is running.
func (p *floorPublisher) add(f floorVerified) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queue = append(p.queue, f)
	if !p.running {
		p.running = true
		p.wg.Add(1)
		go p.loop()
	}
}

func (p *floorPublisher) loop() {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		batch := p.queue
		p.queue = nil
		if len(batch) == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		p.publish(batch)
	}
}

// wait returns once every queued file was published.
func (p *floorPublisher) wait() { p.wg.Wait() }

// floorFetch downloads f into a new file without a name in dfd and checks
// its bytes on disk; it returns the file's descriptor.
func floorFetch(client *http.Client, dfd int, f floorFile, buf []byte) (fd int, err error) {
	resp, err := client.Get(f.url)
	if err != nil {
		return -1, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return -1, fmt.Errorf("HTTP %s", resp.Status)
	}
	fd, err = unix.Openat(dfd, ".", unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOATIME, 0o644)
	if err != nil {
		return -1, err
	}
	defer func() {
		if err != nil {
			unix.Close(fd)
		}
	}()
	var off int64
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, err := unix.Pwrite(fd, buf[:n], off); err != nil {
				return fd, err
			}
			off += int64(n)
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return fd, rerr
		}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fd, err
	}
	if st.Size != off {
		return fd, fmt.Errorf("%w: %d bytes on disk, %d received", errFloorBytes, st.Size, off)
	}
	h := sha256.New()
	for pos := int64(0); pos < off; {
		n, err := unix.Pread(fd, buf, pos)
		if err != nil {
			return fd, err
		}
		if n == 0 {
			return fd, fmt.Errorf("%w: short read back", errFloorBytes)
		}
		h.Write(buf[:n])
		pos += int64(n)
	}
	if !bytes.Equal(h.Sum(nil), f.sum[:]) {
		return fd, fmt.Errorf("%w: sha256 mismatch", errFloorBytes)
	}
	return fd, nil
}

// floorLink names the file fd in dfd, as segdl's linkat does: by its
// descriptor, else (no CAP_DAC_READ_SEARCH) through /proc/self/fd.
func floorLink(fd, dfd int, name string) error {
	err := unix.Linkat(fd, "", dfd, name, unix.AT_EMPTY_PATH)
	if err == unix.ENOENT {
		err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), dfd, name, unix.AT_SYMLINK_FOLLOW)
	}
	return err
}
