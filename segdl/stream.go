package segdl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

var bufPool sync.Pool

// getBuf returns a buffer of size bytes from bufPool; put it back after use.
func getBuf(size int) *[]byte {
	bp, _ := bufPool.Get().(*[]byte)
	if bp == nil || len(*bp) != size {
		b := make([]byte, size)
		bp = &b
	}
	return bp
}

// smallBufs pool the buffers of responses shorter than a chunk, by size:
// 4 KiB, 8 KiB, ... 128 KiB. A 4 KiB file is read through a 4 KiB buffer,
// not a 256 KiB one: sixteen connections of small files then hold 64 KiB,
// not 4 MiB that every GC, which empties the pools, has the heap grow for
// again.
var smallBufs [6]sync.Pool

// smallClass returns the index in smallBufs of the smallest buffer that
// holds want bytes and is shorter than chunk, or -1 for none.
func smallClass(want int64, chunk int) int {
	if want < 0 {
		return -1
	}
	for c, size := 0, 4<<10; c < len(smallBufs) && size < chunk; c, size = c+1, size*2 {
		if want <= int64(size) {
			return c
		}
	}
	return -1
}

// streamBuf returns a buffer for a response of want body bytes (-1 if
// unknown): a chunk, or the smallest class that holds a short response.
// putStreamBuf gives it back.
func streamBuf(want int64, chunk int) *[]byte {
	c := smallClass(want, chunk)
	if c < 0 {
		return getBuf(chunk)
	}
	bp, _ := smallBufs[c].Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 4<<10<<c)
		bp = &b
	}
	return bp
}

func putStreamBuf(bp *[]byte, chunk int) {
	if n := len(*bp); n < chunk {
		if c := smallClass(int64(n), chunk); c >= 0 && 4<<10<<c == n {
			smallBufs[c].Put(bp)
		}
		return
	}
	bufPool.Put(bp)
}

// stream writes a response body that starts at file offset pos. limit is
// the offset past the last byte the response carries (-1 if unknown) and
// want the number of body bytes expected (-1 if unknown). It returns the
// bytes written and nil once the task's segment is complete.
func (t *Task) stream(ctx context.Context, body io.Reader, pos, limit, want int64, hostport string, stall *stall) (int64, error) {
	d := t.d
	var lim Limiter
	if d.cfg.Limiter != nil {
		lim = d.cfg.Limiter(hostport)
	}
	bp := streamBuf(want, d.cfg.ChunkSize)
	defer putStreamBuf(bp, d.cfg.ChunkSize)
	b := *bp
	start, got := pos, int64(0)
	d.mu.Lock()
	t.startedLocked(time.Now())
	end := t.seg.end
	d.mu.Unlock()
	lb := int64(-1) // the most bytes a response of unknown length may bring
	if limit < 0 {
		lb = d.limitBytes()
	}
	for {
		n := int64(len(b))
		if limit >= 0 {
			n = min(n, limit-pos)
		}
		if end >= 0 {
			n = min(n, end-pos)
		}
		if n <= 0 {
			if end >= 0 && pos >= end {
				return pos - start, nil
			}
			break
		}
		if lim != nil {
			stall.pause()
			if err := lim.WaitN(ctx, int(n)); err != nil {
				return pos - start, err
			}
			stall.resume()
		}
		k, rerr := readSome(body, b[:n], stall)
		if lb >= 0 && pos+int64(k) > lb {
			return pos - start, &fatalError{fmt.Errorf("%w: the server sent more than %d bytes", ErrSize, lb)}
		}
		got += int64(k)
		t.consumed = errors.Is(rerr, io.EOF) || want >= 0 && got >= want
		d.received.Add(int64(k))
		if k > 0 {
			if _, err := d.writeAt(b[:k], pos); err != nil {
				return pos - start, &fatalError{fmt.Errorf("writing %s: %w", d.spec.Path, err)}
			}
			var stop bool
			pos, end, stop = t.commit(pos, int64(k))
			if stop {
				if d.cfg.OnSuccess != nil {
					d.cfg.OnSuccess(hostport)
				}
				return pos - start, nil
			}
		}
		if errors.Is(rerr, io.EOF) {
			if limit < 0 && want < 0 {
				// One stream of unknown length: its end is the file's end.
				t.endOfStream(pos)
				return pos - start, nil
			}
			if want >= 0 && got < want {
				return pos - start, fmt.Errorf("server closed the connection after %s of %s", fmtBytes(got), fmtBytes(want))
			}
			break
		}
		if rerr != nil {
			return pos - start, stall.explain(rerr, fmt.Sprintf("after %s of %s", fmtBytes(got), fmtBytes(want)))
		}
	}
	if d.cfg.OnSuccess != nil {
		d.cfg.OnSuccess(hostport)
	}
	if end >= 0 && pos < end {
		if limit >= 0 && pos >= limit {
			return pos - start, fmt.Errorf("%w: it ended at byte %d, before %d", errShort, pos, end)
		}
		return pos - start, fmt.Errorf("response ended at byte %d, before %d", pos, end)
	}
	return pos - start, nil
}

// errShort means a response carried all it announced, less than asked.
var errShort = errors.New("segdl: short range")

// readSome reads until b is full, EOF or an error, resetting the stall
// timer whenever bytes arrive.
func readSome(r io.Reader, b []byte, st *stall) (int, error) {
	n := 0
	for n < len(b) {
		k, err := r.Read(b[n:])
		if k > 0 {
			st.progress()
		}
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func fmtBytes(n int64) string {
	switch {
	case n < 0:
		return "an unknown length"
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}

// explain turns the error of a request the stall watch cut into one that
// says so.
func (s *stall) explain(err error, when string) error {
	if s.fired.Load() == s.req {
		return fmt.Errorf("no data for %v %s", s.d, when)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("timed out %s: %w", when, err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("server closed the connection %s", when)
	}
	if errors.Is(err, syscall.ECONNRESET) {
		return fmt.Errorf("server reset the connection %s", when)
	}
	return err
}
