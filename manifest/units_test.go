package manifest

import (
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want Size
		err  string
	}{
		{"0", 0, ""},
		{"1048576", 1 << 20, ""},
		{"2MiB", 2 << 20, ""},
		{"2 MiB", 2 << 20, ""},
		{"1.5GB", 1.5e9, ""},
		{"5kB", 5000, ""},
		{"5KB", 5000, ""},
		{"7B", 7, ""},
		{"1TiB", 1 << 40, ""},
		{"", 0, "empty size"},
		{"-1", 0, "negative"},
		{"+1", 0, "bad size"},
		{"1.5B", 0, "not a whole number"},
		{"MiB", 0, "bad size"},
		{"1e3", 0, "bad size"},
		{"0x10", 0, "bad size"},
		{"9223372036854775807", 1<<63 - 1, ""},
		{"9223372036854775808", 0, "too large"},
		{"9000000TiB", 0, "too large"},
		{"NaNMiB", 0, "bad size"},
		{"2 MiBs", 0, "bad size"},
		{"50M", 50 << 20, ""},
		{"50m", 50 << 20, ""},
		{"2mib", 2 << 20, ""},
		{"5kb", 5000, ""},
		{"1g", 1 << 30, ""},
		{"3 T", 3 << 40, ""},
		{"1.5k", 1536, ""},
		{"M", 0, "bad size"},
		{"5x", 0, "bad size"},
	}
	for _, c := range cases {
		got, err := ParseSize(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseSize(%q) = %v, %v; want error containing %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v", c.in, int64(got), err, int64(c.want))
		}
	}
}

func TestParseRate(t *testing.T) {
	cases := []struct {
		in   string
		want Rate
		ok   bool
	}{
		{"0", 0, true},
		{"50MB/s", 50e6, true},
		{"512KiB/s", 512 << 10, true},
		{"50MB", 50e6, true},
		{"50M", 50 << 20, true},
		{"50m", 50 << 20, true},
		{"50mb/s", 50e6, true},
		{"512kib/s", 512 << 10, true},
		{"fast", 0, false},
		{"/s", 0, false},
		{"-1MB/s", 0, false},
	}
	for _, c := range cases {
		got, err := ParseRate(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v (ok=%v)", c.in, int64(got), err, int64(c.want), c.ok)
		}
	}
}

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true}, {"30s", 30 * time.Second, true}, {"1m30s", 90 * time.Second, true},
		{"-1s", 0, false}, {"30", 0, false}, {"soon", 0, false},
	}
	for _, c := range cases {
		got, err := ParseDuration(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v (ok=%v)", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestParseChecksum(t *testing.T) {
	zero64 := strings.Repeat("0", 64)
	cases := []struct {
		in  string
		err string
	}{
		{"sha256:" + zero64, ""},
		{"SHA256:" + zero64, ""},
		{"md5:d41d8cd98f00b204e9800998ecf8427e", ""},
		{"sha1:" + strings.Repeat("a", 40), ""},
		{"sha512:" + strings.Repeat("a", 128), ""},
		{zero64, "bad checksum"},
		{"crc32:00000000", "unknown checksum algorithm"},
		{"sha256:abc", "has 3 hex digits, want 64"},
		{"sha1:0123456789ABCDEFabcdef0123456789abcdef01", ""},
		{"sha256:" + strings.Repeat("z", 64), "not hex"},
		{"sha256:" + strings.Repeat("0", 63) + "g", "not hex"},
	}
	for _, c := range cases {
		got, err := ParseChecksum(c.in)
		if c.err == "" {
			if err != nil || got.String() != strings.ToLower(c.in) {
				t.Errorf("ParseChecksum(%q) = %v, %v", c.in, got, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("ParseChecksum(%q) error = %v; want %q", c.in, err, c.err)
		}
	}
}

func TestSizeString(t *testing.T) {
	cases := []struct {
		in   Size
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1536, "1.5 KiB"}, {64 << 20, "64.0 MiB"}, {3 << 30, "3.0 GiB"}}
	for _, c := range cases {
		if got := c.in.String(); got != c.want {
			t.Errorf("Size(%d).String() = %q; want %q", int64(c.in), got, c.want)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"1", "2MiB", "1.5GB", "-1", "9223372036854775807", "1e309MiB", " 3 kB "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && n < 0 {
			t.Errorf("ParseSize(%q) = %d; want non-negative", s, n)
		}
		if r, err := ParseRate(s + "/s"); err == nil && r < 0 {
			t.Errorf("ParseRate(%q) = %d; want non-negative", s+"/s", r)
		}
	})
}
