package job

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/segdl"
)

// Each file's host is what segdl.HostPort says of its own URL, while URLs
// that share a scheme://authority cost one parse between them.
func TestHostsOfParsesOneURLPerAuthority(t *testing.T) {
	urls := []string{
		"http://example.com/a",
		"http://example.com/b?x=1",
		"http://Example.COM/c",
		"http://example.com:80/d",
		"https://example.com/e",
		"https://example.com:8443/f",
		"http://user:pw@example.com/g",
		"http://user:pw@example.com/h",
		"http://example.com?q=/x",
		"http://example.com#frag/x",
		"http://example.com",
		"http://[::1]:8080/i",
		"http://[::1]:8080/j",
		"http://127.0.0.1:9/k",
		"http://example.com/l",
		"http://example.com/m",
		"http://[::1]:8080/n",
	}
	files := make([]manifest.File, len(urls))
	for i, u := range urls {
		files[i].URL = u
	}
	parsed := map[string]int{}
	got := hostsOf(files, func(u string) string {
		parsed[u]++
		return segdl.HostPort(u)
	})
	for i, u := range urls {
		if want := segdl.HostPort(u); got[i] != want {
			t.Errorf("host of %q = %q; want %q", u, got[i], want)
		}
	}
	// One parse per distinct scheme://authority: example.com, Example.COM,
	// example.com:80, https example.com, https example.com:8443,
	// user:pw@example.com, [::1]:8080, 127.0.0.1:9.
	if n := len(parsed); n != 8 {
		t.Errorf("parsed %d URLs: %v; want one per authority, 8", n, parsed)
	}
}

// The property hostsOf relies on: two URLs with the same authority key
// have the same host.
func FuzzAuthorityDecidesHost(f *testing.F) {
	for _, s := range [][2]string{
		{"http://example.com/a", "http://example.com?b"},
		{"http://h:1/x", "http://h:1#y"},
		{"http://u@h/", "http://u@h/z"},
		{"https://[::1]/", "https://[::1]/%41"},
		{"http://a/b", "HTTP://a/b"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ka, oka := authority(a)
		kb, okb := authority(b)
		if !oka || !okb || ka != kb {
			return
		}
		if _, err := url.Parse(a); err != nil {
			return
		}
		if _, err := url.Parse(b); err != nil {
			return
		}
		if ha, hb := segdl.HostPort(a), segdl.HostPort(b); ha != hb {
			t.Errorf("%q and %q share authority %q but have hosts %q and %q", a, b, ka, ha, hb)
		}
	})
}

func BenchmarkHostsOf(b *testing.B) {
	files := make([]manifest.File, 100000)
	for i := range files {
		files[i].URL = fmt.Sprintf("http://127.0.0.1:8080/file-%06d.bin", i)
	}
	b.ReportAllocs()
	for b.Loop() {
		hostsOf(files, segdl.HostPort)
	}
}

// A URL that does not parse gives no host, and leaves none behind for a
// later URL of the same scheme://authority that does.
func TestHostsOfRemembersNoFailedParse(t *testing.T) {
	files := []manifest.File{{URL: "http://h/%zz"}, {URL: "http://h/a"}}
	got := hostsOf(files, segdl.HostPort)
	if got[0] != "" || got[1] != "h:80" {
		t.Errorf("hosts = %q; want [\"\" \"h:80\"]", got)
	}
}
