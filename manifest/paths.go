package manifest

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/bulkdl/bulkdl/redact"
	"github.com/bulkdl/bulkdl/state"
)

// cleanPath validates a manifest path and returns it cleaned.
func cleanPath(p string) (string, error) {
	if !printableASCII(p) { // the usual name passes none of these checks
		switch {
		case p == "":
			return "", errors.New("is empty")
		case strings.ContainsRune(p, 0):
			return "", errors.New("contains a NUL byte")
		case strings.IndexFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
			return "", errors.New("contains a control character")
		case !utf8.ValidString(p):
			return "", errors.New("is not valid UTF-8")
		case strings.IndexFunc(p, redact.Unsafe) >= 0:
			return "", errors.New("contains a C1 control or bidirectional formatting character (such as U+202E), which can disguise a name on screen")
		}
	}
	if path.IsAbs(p) || filepath.IsAbs(p) {
		return "", errors.New("is absolute; paths are relative to dest")
	}
	c := path.Clean(p)
	switch {
	case c == "." || strings.HasSuffix(p, "/"):
		return "", errors.New("names a directory, not a file")
	case c == ".." || strings.HasPrefix(c, "../"):
		return "", errors.New("leaves dest; remove the \"..\"")
	}
	if why, reserved := state.Reserved(c); reserved {
		return "", errors.New(why)
	}
	return c, nil
}

// pathFromURL derives a file name from the last segment of the path of
// u, parsed from s.
func pathFromURL(u *url.URL, s string) (string, error) {
	var name string
	var err error
	if u.RawPath == "" {
		// The path as written is the default escaping of u.Path (no
		// escaped slash in it): its last segment, unescaped, is u.Path's.
		name = u.Path[strings.LastIndexByte(u.Path, '/')+1:]
	} else {
		esc := u.EscapedPath()
		name, err = url.PathUnescape(esc[strings.LastIndexByte(esc, '/')+1:])
	}
	if err != nil || name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\") {
		return "", fmt.Errorf("cannot derive a file name from url %q", redact.URL(s))
	}
	return cleanPath(name)
}

// printableASCII reports whether s is non-empty and all of it printable
// ASCII (0x20 to 0x7e).
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return s != ""
}
