package manifest

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"path"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// platform says which rules about file names are errors where a manifest
// is loaded; elsewhere they are warnings, because a manifest written on
// one system is often run on another.
type platform struct {
	windowsNames bool // a name Windows cannot hold is an error
	foldCase     bool // two paths equal but for case are one file
}

// maxComponent is the longest name NTFS, APFS and ext4 hold: 255 UTF-16
// code units on Windows and macOS, 255 bytes on Linux.
const maxComponent = 255

// windowsName returns why Windows cannot hold a file at the slash-separated
// path p, or "" if it can. The names are checked as Windows 10 checks
// them: device names are reserved with any extension there.
func windowsName(p string) string {
	for rest := p; rest != ""; {
		var c string
		c, rest, _ = strings.Cut(rest, "/")
		if i := strings.IndexAny(c, `<>:"|?*\`); i >= 0 {
			return fmt.Sprintf("%q contains %q", c, c[i])
		}
		if strings.HasSuffix(c, ".") || strings.HasSuffix(c, " ") {
			return fmt.Sprintf("%q ends with a dot or a space, which Windows drops", c)
		}
		if reservedOnWindows(c) {
			return fmt.Sprintf("%q is a device name on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with any extension)", c)
		}
		if len(c) <= maxComponent {
			continue // a UTF-16 code unit takes at least a byte of UTF-8
		}
		n := 0
		for _, r := range c {
			n += utf16.RuneLen(r)
		}
		if n > maxComponent {
			return fmt.Sprintf("a name of %d characters is longer than the %d Windows allows", n, maxComponent)
		}
	}
	return ""
}

// reservedOnWindows reports whether name, or the part of it before the
// first dot less trailing spaces, is a DOS device name.
func reservedOnWindows(name string) bool {
	base, _, _ := strings.Cut(name, ".")
	base = strings.TrimRight(base, " ")
	if !isASCII(base) {
		base = strings.ToUpper(base) // upper case, as NTFS compares
	}
	// Compared in ASCII upper case: an ASCII name, the usual one, is not
	// copied.
	switch {
	case asciiUpperEq(base, "CON"), asciiUpperEq(base, "PRN"), asciiUpperEq(base, "AUX"),
		asciiUpperEq(base, "NUL"), asciiUpperEq(base, "CONIN$"), asciiUpperEq(base, "CONOUT$"):
		return true
	}
	if len(base) > 3 && (asciiUpperEq(base[:3], "COM") || asciiUpperEq(base[:3], "LPT")) {
		d, size := utf8.DecodeRuneInString(base[3:])
		return size == len(base)-3 && (d >= '1' && d <= '9' || d == '¹' || d == '²' || d == '³')
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// asciiUpperEq reports whether s, upper-cased in ASCII, is upper.
func asciiUpperEq(s, upper string) bool {
	if len(s) != len(upper) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != upper[i] {
			return false
		}
	}
	return true
}

// maxNameWarnings bounds the warnings checkNames prints: a manifest of
// timestamped names (with colons) is valid here and should not print one
// line per file.
const maxNameWarnings = 5

// appendFold appends what a case-insensitive filesystem compares of p:
// NTFS upper-cases each character by itself, as strings.ToUpper does.
// (APFS also ignores Unicode normalization, which is not checked here.)
func appendFold(b []byte, p string) []byte {
	for i := 0; i < len(p); {
		if c := p[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			b = append(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(p[i:])
		b = utf8.AppendRune(b, unicode.ToUpper(r))
		i += size
	}
	return b
}

// foldIndex finds the files whose paths fold (appendFold) alike. It keys
// them by a hash of the folded path rather than by a folded copy of each,
// and folds again only to compare on a matching hash.
type foldIndex struct {
	files  []File
	seed   maphash.Seed
	byHash map[uint64]int // hash of a folded path: the first file with it
	// other holds the folded paths whose hash a different folded path
	// took first (64-bit hashes: in practice never).
	other     map[string]int
	buf, buf2 []byte
}

func newFoldIndex(files []File) *foldIndex {
	return &foldIndex{files: files, seed: maphash.MakeSeed(), byHash: make(map[uint64]int, len(files))}
}

// add adds file i and returns the first file whose path folds as its does,
// or -1.
func (x *foldIndex) add(i int) int {
	if j, ok := x.find(x.files[i].Path); ok {
		return j
	}
	h := maphash.Bytes(x.seed, x.buf)
	if _, taken := x.byHash[h]; !taken {
		x.byHash[h] = i
		return -1
	}
	if x.other == nil {
		x.other = map[string]int{}
	}
	x.other[string(x.buf)] = i
	return -1
}

// find returns the first file added whose path folds as p does. It leaves
// p folded in x.buf.
func (x *foldIndex) find(p string) (int, bool) {
	x.buf = appendFold(x.buf[:0], p)
	if j, ok := x.byHash[maphash.Bytes(x.seed, x.buf)]; ok {
		if q := x.files[j].Path; q == p {
			return j, true
		} else if x.buf2 = appendFold(x.buf2[:0], q); bytes.Equal(x.buf, x.buf2) {
			return j, true
		}
	}
	if j, ok := x.other[string(x.buf)]; ok {
		return j, true
	}
	return 0, false
}

// checkNames reports, for every file, a name Windows cannot hold (an error
// where v.plat.windowsNames, else a warning), and paths that differ only
// in case: one file on Windows and macOS (an error where v.plat.foldCase).
// Paths that are equal, not only in case, are crossFiles' to report.
func (v *validator) checkNames() {
	files := v.m.Files
	warned := 0
	report := func(i int, isErr bool, msg string) {
		switch {
		case isErr:
			v.errs = append(v.errs, v.fileErr(i, msg))
		case warned < maxNameWarnings:
			v.warns = append(v.warns, v.fileErr(i, msg))
		}
		if !isErr {
			warned++
		}
	}
	defer func() {
		if warned > maxNameWarnings {
			v.warns = append(v.warns, &Error{File: v.name, Msg: fmt.Sprintf("%d more paths that Windows or macOS would refuse or merge (only the first %d are listed)", warned-maxNameWarnings, maxNameWarnings)})
		}
	}()
	for i := range files {
		if why := windowsName(files[i].Path); why != "" {
			msg := fmt.Sprintf("path %q: %s; choose another path", files[i].Path, why)
			if !v.plat.windowsNames {
				msg = fmt.Sprintf("path %q: %s, so this manifest fails on Windows", files[i].Path, why)
			}
			report(i, v.plat.windowsNames, msg)
		}
	}
	suffix := " on Windows and macOS"
	if v.plat.foldCase {
		suffix = "; give one of them another path"
	}
	folded := newFoldIndex(files)
	for i := range files {
		p := files[i].Path
		if p == "" {
			continue
		}
		if j := folded.add(i); j >= 0 && files[j].Path != p {
			report(i, v.plat.foldCase, fmt.Sprintf("path %q and %q (the file at line %d) differ only in case: they are one file%s", p, files[j].Path, files[j].Line, suffix))
		}
	}
	for i := range files {
		for dir := path.Dir(files[i].Path); dir != "." && dir != "/"; dir = path.Dir(dir) {
			if j, ok := folded.find(dir); ok && files[j].Path != dir {
				report(i, v.plat.foldCase, fmt.Sprintf("path %q needs %q to be a directory, but the file at line %d is written at %q, which differs only in case%s", files[i].Path, dir, files[j].Line, files[j].Path, suffix))
				break
			}
		}
	}
}
