package segdl

import (
	"math"
	"time"
)

// rangeSet is a sorted list of disjoint, non-adjacent byte ranges
// [start, end). A file has few of them, so a slice is the right structure.
type rangeSet [][2]int64

// add inserts [a, b), merging what it touches.
func (rs *rangeSet) add(a, b int64) {
	if a >= b {
		return
	}
	s := *rs
	i := 0
	for i < len(s) && s[i][1] < a {
		i++
	}
	j := i
	for j < len(s) && s[j][0] <= b {
		a, b = min(a, s[j][0]), max(b, s[j][1])
		j++
	}
	if i == j {
		s = append(s, [2]int64{})
		copy(s[i+1:], s[i:])
		s[i] = [2]int64{a, b}
	} else {
		s[i] = [2]int64{a, b}
		s = append(s[:i+1], s[j:]...)
	}
	*rs = s
}

func (rs rangeSet) total() int64 {
	var n int64
	for _, r := range rs {
		n += r[1] - r[0]
	}
	return n
}

// holes returns the ranges of [0, size) not in rs.
func (rs rangeSet) holes(size int64) [][2]int64 {
	var out [][2]int64
	at := int64(0)
	for _, r := range rs {
		if r[0] > at {
			out = append(out, [2]int64{at, r[0]})
		}
		at = max(at, r[1])
	}
	if at < size {
		out = append(out, [2]int64{at, size})
	}
	return out
}

func (rs rangeSet) clone() rangeSet { return append(rangeSet(nil), rs...) }

// Ranges in file order. Without a checksum, connections share a file as N
// ranges split from the one that would end last (ClaimFrom). With one, a
// file of at least hashMin bytes is handed out in pieces, in file order,
// as aria2 does: the complete prefix then grows at the speed of all
// connections, not of the first range's alone, and hashing it (hash.go)
// keeps up with the download. Once every piece is taken, the tail is
// split early as before.
//
// Each piece costs a request, and a request costs its time to the first
// byte (reqCost: a round trip, the server's latency, the wait for a CPU),
// while its connection carries nothing; longer pieces cost fewer requests
// but leave more of the file to hash at the end, about a piece per
// connection. For a file of S bytes, N connections, a request cost c and
// hashing at H bytes/s, the requests cost each connection S/(N P) c and
// the end N P / H, least at P = sqrt(S c H) / N (N at least 8: a file
// gets its connections within its first pieces, and a few large pieces
// taken first would stay the last to hash). A piece is that, and at
// least 2 x MinSegment: 4 MiB on loopback (1 GiB in about 260 requests,
// on connections kept alive), 24 MB when the machine is so busy that a
// request waits 20 ms for its first byte. Pieces pay only if they are
// much shorter than the N ranges splitting makes (P < S / 4N, that is
// S > 16 c H: the file takes more than 16 requests' time to hash); a
// smaller file is split as if it had no checksum: 64 MiB at 10 ms to the
// first byte, 1 GB at 80 ms. Until a cost is known (the probe's is known
// when its answer comes, before the first piece is cut), a piece is
// 2 x MinSegment.

// hashRate is the speed H assumed for hashing: SHA-256 on one core with
// the SHA extensions is 1.6 GB/s, without them 0.4.
const hashRate = 1e9

// pieceMin is the smallest file handed out in pieces. Below it the hash
// of what is left after the last byte takes a few tens of milliseconds
// at hashRate, which pieces cannot win back: each costs a request, and at
// an origin that limits requests in flight, one more admission (6 files
// of 8 MB in pieces took 3.8 s instead of 3.2 s in make bench's pushback).
const pieceMin = 64 << 20

// pieceConns is the fewest connections a file's pieces are sized for.
const pieceConns = 8

// pieceSizeLocked returns the size of the pieces the file is handed out
// in, or 0 if it is not.
func (d *Download) pieceSizeLocked() int64 {
	if d.spec.Hash == nil || !d.splittable || d.noRange || d.size < max(d.hashMinLocked(), pieceMin) {
		return 0
	}
	if d.cfg.MaxConns == 1 && len(d.spec.URLs) == 1 {
		return 0
	}
	p := 2 * d.cfg.MinSegment
	if c := d.reqCost.Seconds(); c > 0 {
		if float64(d.size) <= 16*c*hashRate {
			return 0
		}
		const align = 64 << 10
		best := math.Sqrt(float64(d.size)*c*hashRate) / float64(max(d.active, pieceConns))
		p = max(p, (int64(best)+align-1)/align*align)
	}
	return p
}

// requestCostLocked folds the time a request took to its first byte into
// reqCost.
func (d *Download) requestCostLocked(c time.Duration) {
	if d.reqCost == 0 {
		d.reqCost = c
	} else {
		d.reqCost = (7*d.reqCost + 3*c) / 10
	}
}

// pieceLocked cuts the piece at the start of s off it, queueing the rest,
// and returns s, now that piece. A rest shorter than half a piece stays
// with it.
func (d *Download) pieceLocked(s *segment) *segment {
	p := d.pieceSizeLocked()
	if p == 0 || s.end < 0 || s.end-s.pos <= p+p/2 {
		return s
	}
	d.segs = append(d.segs, &segment{pos: s.pos + p, end: s.end})
	s.end = s.pos + p
	return s
}
