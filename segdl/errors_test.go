package segdl

import (
	"fmt"
	"testing"
	"time"
)

func TestParseContentRange(t *testing.T) {
	cases := []struct {
		in                 string
		first, last, total int64
		ok                 bool
	}{
		{"bytes 0-99/100", 0, 99, 100, true},
		{"bytes 5-5/6", 5, 5, 6, true},
		{"bytes 0-99/*", 0, 99, -1, true},
		{"bytes */100", 0, 0, 0, false},
		{"bytes -1-99/100", 0, 0, 0, false},
		{"bytes +0-99/100", 0, 0, 0, false},
		{"bytes 0-100/100", 0, 0, 0, false},
		{"bytes 9-8/100", 0, 0, 0, false},
		{"bytes 0-9223372036854775807/9223372036854775808", 0, 0, 0, false},
		{"bytes 0 - 99/100", 0, 0, 0, false},
		{"items 0-99/100", 0, 0, 0, false},
		{"", 0, 0, 0, false},
	}
	for _, c := range cases {
		f, l, tot, err := ParseContentRange(c.in)
		if (err == nil) != c.ok || f != c.first || l != c.last || tot != c.total {
			t.Errorf("ParseContentRange(%q) = %d, %d, %d, %v; want %d, %d, %d (ok=%v)", c.in, f, l, tot, err, c.first, c.last, c.total, c.ok)
		}
	}
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-99/100", "bytes */100", "bytes 1-2/*", "bytes 99999999999999999999-1/2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		first, last, total, err := ParseContentRange(s)
		if err != nil {
			return
		}
		if first < 0 || first > last || total >= 0 && last >= total || total < -1 {
			t.Fatalf("ParseContentRange(%q) = %d, %d, %d: not a range inside its total", s, first, last, total)
		}
		back := fmt.Sprintf("bytes %d-%d/%d", first, last, total)
		if total < 0 {
			back = fmt.Sprintf("bytes %d-%d/*", first, last)
		}
		if back != s {
			t.Fatalf("ParseContentRange(%q) accepted a non-canonical form (%q)", s, back)
		}
	})
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	limit := 5 * time.Minute
	cases := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"3", 3 * time.Second}, {"-5", 0}, {"99999999999999", limit},
		{"99999999999999999999", limit}, {"18446744073709551616", limit},
		{now.Add(10 * time.Second).Format("Mon, 02 Jan 2006 15:04:05 GMT"), 10 * time.Second},
		{now.Add(-time.Hour).Format("Mon, 02 Jan 2006 15:04:05 GMT"), 0},
		{"soon", 0},
	}
	for _, c := range cases {
		if got := retryAfter(c.in, now, limit); got != c.want {
			t.Errorf("retryAfter(%q) = %v; want %v", c.in, got, c.want)
		}
	}
}

func TestRangeSet(t *testing.T) {
	var rs rangeSet
	for _, r := range [][2]int64{{10, 20}, {30, 40}, {20, 30}, {0, 5}, {50, 60}, {55, 70}} {
		rs.add(r[0], r[1])
	}
	if got := fmt.Sprint(rs); got != "[[0 5] [10 40] [50 70]]" {
		t.Errorf("ranges = %s", got)
	}
	if got := fmt.Sprint(rs.holes(100)); got != "[[5 10] [40 50] [70 100]]" {
		t.Errorf("holes = %s", got)
	}
	if rs.total() != 55 {
		t.Errorf("total = %d; want 55", rs.total())
	}
}
