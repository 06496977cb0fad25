package job

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard is shard K of N of a manifest: the files whose path hashes to K
// modulo N. The hash (FNV-1a, 64 bits, of the manifest path) is the same on
// every machine, run and version (testdata/shards.golden holds it to that),
// so N jobs of a Kubernetes Indexed Job or a CI matrix split a manifest
// with no coordinator: the shards are disjoint and together complete. The
// zero value, like any N <= 1, takes every file.
type Shard struct{ K, N uint64 }

// ErrShard is the error of a shard that is not K/N with 0 <= K < N.
var ErrShard = errors.New("want K/N with 0 <= K < N, as in 0/4 (with a Kubernetes Indexed Job: $JOB_COMPLETION_INDEX/N)")

// ParseShard parses "K/N".
func ParseShard(v string) (Shard, error) {
	a, b, ok := strings.Cut(v, "/")
	k, err1 := strconv.ParseUint(a, 10, 32)
	n, err2 := strconv.ParseUint(b, 10, 32)
	if !ok || err1 != nil || err2 != nil || n == 0 || k >= n {
		return Shard{}, ErrShard
	}
	return Shard{K: k, N: n}, nil
}

// String returns "K/N", or "" for the whole manifest.
func (s Shard) String() string {
	if s.N == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.K, s.N)
}

// Has reports whether path belongs to the shard.
func (s Shard) Has(path string) bool {
	if s.N <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(path))
	return h.Sum64()%s.N == s.K
}

// Name names the shard's own state in dest ("shard-2-of-4"), or "" for a
// run of the whole manifest.
func (s Shard) Name() string {
	if s.N <= 1 {
		return ""
	}
	return fmt.Sprintf("shard-%d-of-%d", s.K, s.N)
}
