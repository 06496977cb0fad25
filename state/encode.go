package state

import (
	"encoding/json"
	"strconv"
)

// appendRecord appends r as one JSON line (with its newline) to buf, the
// same bytes json.Marshal writes: records are written once per published
// file, and reflection cost more than the write did. A string with a byte
// that JSON escapes otherwise than `\"` and `\\` (control bytes, <, >, &,
// non-ASCII) is rare in a record: that record goes through json.Marshal.
func appendRecord(buf []byte, r Record) ([]byte, error) {
	if !plain(r.Path) || !plain(r.Checksum) || !plain(r.ETag) || !plain(r.LastModified) || !plain(r.URL) {
		b, err := json.Marshal(r)
		if err != nil {
			return buf, err
		}
		return append(append(buf, b...), '\n'), nil
	}
	buf = append(buf, `{"p":`...)
	buf = appendString(buf, r.Path)
	buf = append(buf, `,"s":`...)
	buf = strconv.AppendInt(buf, r.Size, 10)
	buf = append(buf, `,"m":`...)
	buf = strconv.AppendInt(buf, r.ModTime, 10)
	for _, f := range [...]struct{ key, v string }{
		{`,"c":`, r.Checksum}, {`,"e":`, r.ETag}, {`,"l":`, r.LastModified}, {`,"u":`, r.URL},
	} {
		if f.v != "" {
			buf = appendString(append(buf, f.key...), f.v)
		}
	}
	if r.Deleted {
		buf = append(buf, `,"d":true`...)
	}
	if r.Found {
		buf = append(buf, `,"f":true`...)
	}
	return append(buf, "}\n"...), nil
}

// recordSize is at least the length of r's line when its strings are
// plain (each byte escaped at most once), so one allocation holds a batch.
func recordSize(r Record) int {
	return 96 + 2*(len(r.Path)+len(r.Checksum)+len(r.ETag)+len(r.LastModified)+len(r.URL))
}

// plain reports whether s has only printable ASCII that json.Marshal
// writes as it is, or escapes as `\"` or `\\`.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// appendString appends s, plain, as a JSON string.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			buf = append(append(buf, s[start:i]...), '\\', c)
			start = i + 1
		}
	}
	return append(append(buf, s[start:]...), '"')
}
