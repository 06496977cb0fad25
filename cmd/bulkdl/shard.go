package main

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// shardFlag is -shard K/N: the files whose path hashes to K modulo N. The
// hash (FNV-1a, 64 bits, of the manifest path) is the same on every machine
// and run, so N jobs of a Kubernetes Indexed Job or a CI matrix split a
// manifest with no coordinator: the shards are disjoint and together
// complete. The zero value takes every file.
type shardFlag struct{ k, n uint64 }

func (s *shardFlag) String() string {
	if s.n == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.k, s.n)
}

func (s *shardFlag) Set(v string) error {
	a, b, ok := strings.Cut(v, "/")
	k, err1 := strconv.ParseUint(a, 10, 32)
	n, err2 := strconv.ParseUint(b, 10, 32)
	if !ok || err1 != nil || err2 != nil || n == 0 || k >= n {
		return fmt.Errorf("want K/N with 0 <= K < N, as in 0/4 (with a Kubernetes Indexed Job: $JOB_COMPLETION_INDEX/N)")
	}
	s.k, s.n = k, n
	return nil
}

// has reports whether path belongs to the shard.
func (s shardFlag) has(path string) bool {
	if s.n <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(path))
	return h.Sum64()%s.n == s.k
}

// name names the shard's own state in dest ("shard-2-of-4"), or "" for a
// run of the whole manifest.
func (s shardFlag) name() string {
	if s.n <= 1 {
		return ""
	}
	return fmt.Sprintf("shard-%d-of-%d", s.k, s.n)
}
