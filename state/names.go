package state

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// The names bulkdl writes into a destination, besides the files a manifest
// lists. They are defined here, once: segdl writes them, state keeps its
// log under Dir, and manifest refuses paths that would collide with them.
const (
	// PartSuffix ends the temporary file a download writes into.
	PartSuffix = ".bulkdl.part"
	// JournalSuffix ends the resume journal kept beside it.
	JournalSuffix = ".bulkdl.json"
	// TmpSuffix ends the file a journal is written to before its rename.
	TmpSuffix = ".tmp"
)

// maxName is the longest file name (one path element) that Linux, macOS
// and Windows filesystems accept, in bytes.
const maxName = 255

// longestSuffix is the longest suffix bulkdl adds to a name.
var longestSuffix = len(JournalSuffix + TmpSuffix)

// Reserved reports whether p (clean, slash-separated, relative to dest)
// is a name bulkdl writes for itself, and if so says why in a phrase that
// completes "path ...".
func Reserved(p string) (why string, reserved bool) {
	switch {
	case p == Dir || strings.HasPrefix(p, Dir+"/"):
		return fmt.Sprintf("is inside %s/, which bulkdl reserves for its state", Dir), true
	case strings.HasSuffix(p, PartSuffix), strings.HasSuffix(p, JournalSuffix),
		strings.HasSuffix(p, JournalSuffix+TmpSuffix):
		return fmt.Sprintf("ends with %s, %s or %s, which bulkdl uses for its temporary files",
			PartSuffix, JournalSuffix, JournalSuffix+TmpSuffix), true
	}
	return "", false
}

// TempStem returns the name the temporary files of the file at p are
// formed from by adding PartSuffix or JournalSuffix: p itself, or, when
// p's last element is too long to take a suffix within the 255-byte limit
// on names, that element shortened and made unique with a hash of it.
func TempStem(p string) string {
	dir, base := path.Split(p)
	if len(base)+longestSuffix <= maxName {
		return p
	}
	sum := sha256.Sum256([]byte(base))
	tag := "~" + hex.EncodeToString(sum[:8])
	keep := maxName - longestSuffix - len(tag)
	for keep > 0 && !utf8.RuneStart(base[keep]) {
		keep--
	}
	return dir + base[:keep] + tag
}

// URLDigest returns what bulkdl keeps of a URL in files at rest: a hex
// SHA-256 of it, enough to tell whether a record belongs to the same URL,
// and nothing of a password or signed query it may carry.
func URLDigest(rawurl string) string {
	sum := sha256.Sum256([]byte(rawurl))
	var b [2 * sha256.Size]byte // the text, built on the stack: one allocation
	hex.Encode(b[:], sum[:])
	return string(b[:])
}
