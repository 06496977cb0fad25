package segdl

import "testing"

// A response is read through the smallest pooled buffer that holds it,
// never one longer than a chunk; one of unknown length gets a chunk.
func TestStreamBufSize(t *testing.T) {
	cases := []struct {
		want  int64
		chunk int
		size  int
	}{
		{4096, 256 << 10, 4 << 10},
		{1, 256 << 10, 4 << 10},
		{0, 256 << 10, 4 << 10},
		{4097, 256 << 10, 8 << 10},
		{100 << 10, 256 << 10, 128 << 10},
		{129 << 10, 256 << 10, 256 << 10},
		{10 << 20, 256 << 10, 256 << 10},
		{-1, 256 << 10, 256 << 10},
		{4096, 16 << 10, 4 << 10},
		{10 << 10, 16 << 10, 16 << 10}, // a class as long as the chunk is the chunk
		{3000, 3000, 3000},             // a chunk shorter than every class
	}
	for _, c := range cases {
		for range 2 { // the second from the pool
			bp := streamBuf(c.want, c.chunk)
			if len(*bp) != c.size {
				t.Errorf("streamBuf(%d, %d) is %d bytes; want %d", c.want, c.chunk, len(*bp), c.size)
			}
			putStreamBuf(bp, c.chunk)
		}
	}
}

// A buffer given back goes to the pool of its own size: every pool gives
// out only buffers of its class.
func TestStreamBufPools(t *testing.T) {
	for c := range smallBufs {
		b := make([]byte, 4<<10<<c)
		putStreamBuf(&b, 256<<10)
	}
	for c := range smallBufs {
		for range len(smallBufs) + 1 { // all it holds
			if bp, _ := smallBufs[c].Get().(*[]byte); bp != nil && len(*bp) != 4<<10<<c {
				t.Errorf("pool %d (of %d-byte buffers) gave a %d-byte buffer", c, 4<<10<<c, len(*bp))
			}
		}
	}
}
