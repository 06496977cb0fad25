package manifest

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// Checksum is an expected digest: an algorithm and its raw bytes. The zero
// value means "no checksum".
type Checksum struct {
	Algo string // "sha256", "sha512", "sha1" or "md5"
	Sum  []byte
}

var algos = map[string]struct {
	name string // the one shared copy of the name, not the manifest's
	size int
	new  func() hash.Hash
}{
	"sha256": {"sha256", sha256.Size, sha256.New},
	"sha512": {"sha512", sha512.Size, sha512.New},
	"sha1":   {"sha1", sha1.Size, sha1.New},
	"md5":    {"md5", md5.Size, md5.New},
}

// ParseChecksum parses "algo:hex", as in "sha256:9f86d0…".
func ParseChecksum(s string) (Checksum, error) {
	algo, hx, ok := strings.Cut(s, ":")
	if !ok {
		return Checksum{}, fmt.Errorf("bad checksum %q; write \"sha256:<hex>\" (sha256, sha512, sha1 or md5)", s)
	}
	algo = strings.ToLower(algo)
	a, ok := algos[algo]
	if !ok {
		return Checksum{}, fmt.Errorf("unknown checksum algorithm %q; use sha256, sha512, sha1 or md5", algo)
	}
	if len(hx) != 2*a.size {
		return Checksum{}, fmt.Errorf("%s checksum has %d hex digits, want %d", algo, len(hx), 2*a.size)
	}
	sum, err := hex.DecodeString(hx)
	if err != nil {
		return Checksum{}, fmt.Errorf("%s checksum is not hex: %q", algo, hx)
	}
	return Checksum{Algo: a.name, Sum: sum}, nil
}

// IsZero reports whether no checksum is set.
func (c Checksum) IsZero() bool { return c.Algo == "" }

// New returns a new hash for c's algorithm, or nil if c is zero.
func (c Checksum) New() hash.Hash {
	if a, ok := algos[c.Algo]; ok {
		return a.new()
	}
	return nil
}

// String returns "algo:hex", or "" for the zero value.
func (c Checksum) String() string {
	if c.IsZero() {
		return ""
	}
	// Built in one allocation: a run writes one per published file.
	var b [160]byte // "sha512:" and 128 hex digits fit
	return string(hex.AppendEncode(append(append(b[:0], c.Algo...), ':'), c.Sum))
}
