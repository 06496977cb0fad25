package segdl

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Errors callers branch on.
var (
	// ErrChanged means the file changed on the server during the download
	// more often than a download restarts for.
	ErrChanged = errors.New("segdl: file changed on the server during download")
	// ErrChecksum means the bytes did not match the expected checksum, also
	// after one fresh download.
	ErrChecksum = errors.New("segdl: checksum mismatch")
	// ErrSize means the server's size disagrees with the expected size.
	ErrSize = errors.New("segdl: size mismatch")
	// ErrRedirect means a redirect could not be followed.
	ErrRedirect = errors.New("segdl: bad redirect")
	// ErrHostDown, wrapped in an error a Doer returns, says that the host
	// is known to be unreachable (bulkdl's dead-host breaker): the request
	// is not retried, and the file goes on to its next mirror, if any.
	ErrHostDown = errors.New("segdl: host is down")
	// ErrInterrupted means the caller's context ended the download before
	// it finished; resume state is kept. It is not a failure of the file.
	ErrInterrupted = errors.New("interrupted")
)

// StatusError is an HTTP status the download could not use.
type StatusError struct {
	Code int
	URL  string // redacted
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s answered %d %s", e.URL, e.Code, http.StatusText(e.Code))
}

// retryable reports whether a request that failed with code may be retried.
func retryable(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500 || code == http.StatusRequestTimeout
}

// retryAfter parses a Retry-After value (seconds or an HTTP date), capped
// at limit; 0 if absent or unusable.
func retryAfter(v string, now time.Time, limit time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if allDigits(v) {
		// Delay-seconds; one too large for an integer is very long, not 0.
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > int64(limit/time.Second) {
			return limit
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return max(0, min(d, limit))
}

// ParseContentRange parses a Content-Range value "bytes FIRST-LAST/TOTAL".
// An unknown total ("bytes FIRST-LAST/*") gives total -1. It rejects the
// unsatisfied form ("bytes */TOTAL"), signs, overflow and ranges that do
// not fit inside the total.
func ParseContentRange(v string) (first, last, total int64, err error) {
	bad := badContentRange{v}
	spec, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, 0, 0, bad
	}
	rng, tot, ok := strings.Cut(spec, "/")
	if !ok {
		return 0, 0, 0, bad
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, 0, bad
	}
	if first, ok = parseDigits(a); !ok {
		return 0, 0, 0, bad
	}
	if last, ok = parseDigits(b); !ok {
		return 0, 0, 0, bad
	}
	if tot == "*" {
		total = -1
	} else if total, ok = parseDigits(tot); !ok {
		return 0, 0, 0, bad
	}
	if first > last || total >= 0 && last >= total {
		return 0, 0, 0, bad
	}
	return first, last, total, nil
}

// badContentRange is ParseContentRange's error, formatted only when a
// message needs it: every 206 is parsed.
type badContentRange struct{ v string }

func (e badContentRange) Error() string { return fmt.Sprintf("segdl: bad Content-Range %q", e.v) }

func allDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// parseDigits parses a non-negative decimal integer made of digits only:
// no sign, no spaces, no overflow.
func parseDigits(s string) (int64, bool) {
	if len(s) > 19 || !allDigits(s) {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
