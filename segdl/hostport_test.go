package segdl

import (
	"net"
	"net/url"
	"strings"
	"testing"
)

// hostPortSlow is hostPort as it was before it reused u.Host: the
// definition the fast path must agree with.
func hostPortSlow(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

func TestHostPort(t *testing.T) {
	cases := []struct{ url, want string }{
		{"http://example.com/f", "example.com:80"},
		{"https://example.com/f", "example.com:443"},
		{"http://127.0.0.1:8080/f", "127.0.0.1:8080"},
		{"http://Example.COM:8080/f", "example.com:8080"},
		{"http://[::1]:9000/f", "[::1]:9000"},
		{"https://[::1]/f", "[::1]:443"},
		{"http://example.com:/f", "example.com:80"},
		{"http://ÉXAMPLE.com:81/f", "éxample.com:81"},
		{"http://[fe80::1%25eth0]:81/f", "[fe80::1%eth0]:81"},
	}
	for _, c := range cases {
		u, err := url.Parse(c.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := hostPort(u); got != c.want {
			t.Errorf("hostPort(%s) = %q; want %q", c.url, got, c.want)
		}
	}
}

// hostPort, which returns u.Host itself when it is already host:port in
// lower case, agrees with building the string for every URL that parses.
func FuzzHostPort(f *testing.F) {
	for _, s := range []string{"http://a.example:1/x", "http://A.example:1/", "https://[::1]:2/", "http://[::1]/", "http://h:/",
		"http://user:pw@h.example:8080/p?q", "http://ÄÖ:3/", "http://[fe80::1%25en0]:4/", "http://1.2.3.4:5", "http://h:0065/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		if got, want := hostPort(u), hostPortSlow(u); got != want {
			t.Errorf("hostPort(%q) = %q; want %q", s, got, want)
		}
	})
}
