package manifest

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Size is a number of bytes.
type Size int64

// Rate is a bandwidth in bytes per second. 0 means unlimited.
type Rate int64

// sizeUnits are matched without regard to case, longest first so that
// "KiB" is not read as "B". A bare K, M, G or T is binary, as curl, wget
// and aria2c read "-rate 50M".
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// ParseSize parses a byte count: a plain integer ("1048576") or a number with
// a unit, decimal (kB MB GB TB = 1000^n) or binary (KiB MiB GiB TiB = 1024^n,
// and K M G T alone, as curl and wget read them), as in "2MiB", "1.5 GB",
// "50M". Units are read without regard to case. The result must be a whole
// number of bytes that fits in an int64.
func ParseSize(s string) (Size, error) {
	orig := s
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New(`empty size; write bytes ("1048576") or a unit ("1MiB", "5GB")`)
	}
	mult := int64(1)
	lower := strings.ToLower(s)
	for _, u := range sizeUnits {
		if strings.HasSuffix(lower, u.suffix) {
			mult = u.mult
			s = strings.TrimSpace(s[:len(s)-len(u.suffix)])
			break
		}
	}
	bad := fmt.Errorf("bad size %q; write bytes (\"1048576\") or a number with a unit: kB MB GB TB (1000^n) or KiB MiB GiB TiB, K M G T (1024^n)", orig)
	if s == "" || s[0] == '+' || s[0] == '-' {
		if s != "" && s[0] == '-' {
			return 0, fmt.Errorf("negative size %q", orig)
		}
		return 0, bad
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > math.MaxInt64/mult {
			return 0, fmt.Errorf("size %q is too large", orig)
		}
		return Size(n * mult), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || strings.ContainsAny(s, "xXpPeE_") {
		return 0, bad
	}
	v := f * float64(mult)
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q is too large", orig)
	}
	if v != math.Trunc(v) {
		return 0, fmt.Errorf("size %q is not a whole number of bytes", orig)
	}
	return Size(v), nil
}

// ParseRate parses a bandwidth: a size per second, with or without "/s"
// ("50MB/s", "512KiB/s", "50M" as curl --limit-rate takes it), or "0" for
// unlimited.
func ParseRate(s string) (Rate, error) {
	t := strings.TrimSpace(s)
	if t == "0" {
		return 0, nil
	}
	body, _ := strings.CutSuffix(t, "/s")
	if body == "" {
		return 0, fmt.Errorf("bad rate %q; write a size per second (\"50MB/s\", \"512KiB/s\", \"50M\") or \"0\" for unlimited", s)
	}
	n, err := ParseSize(body)
	if err != nil {
		return 0, fmt.Errorf("bad rate %q: %v", s, err)
	}
	return Rate(n), nil
}

// ParseDuration parses a Go duration ("30s", "1m30s") or "0". Negative
// durations are rejected.
func ParseDuration(s string) (time.Duration, error) {
	if strings.TrimSpace(s) == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("bad duration %q; write Go syntax such as \"30s\", \"2m\" or \"0\" to disable", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	return d, nil
}

// String formats n with binary units ("1.5 MiB").
func (n Size) String() string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", int64(n))
	}
	div, exp := int64(unit), 0
	for m := int64(n) / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// String formats r with decimal units ("50.0 MB/s"), as rates are usually
// written, or "unlimited".
func (r Rate) String() string {
	switch {
	case r == 0:
		return "unlimited"
	case r < 1e3:
		return fmt.Sprintf("%d B/s", int64(r))
	case r < 1e6:
		return fmt.Sprintf("%.1f kB/s", float64(r)/1e3)
	case r < 1e9:
		return fmt.Sprintf("%.1f MB/s", float64(r)/1e6)
	}
	return fmt.Sprintf("%.1f GB/s", float64(r)/1e9)
}
