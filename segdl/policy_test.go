package segdl

import (
	"net/http"
	"strings"
	"testing"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

// TestCredentialsStayWithTheirOrigin redirects a download to other origins
// and checks, from each server's log, which headers reached it.
func TestCredentialsStayWithTheirOrigin(t *testing.T) {
	cases := []struct {
		name string
		// hop returns where /f on the first server redirects, given the
		// second server (another port: another origin).
		hop func(a, b *segdltest.Server) string
	}{
		{"to another port", func(a, b *segdltest.Server) string { return b.URLOf("/f") }},
		{"to another port, then on it again (a->b->b)", func(a, b *segdltest.Server) string { return b.URLOf("/hop") }},
		{"to another host name", func(a, b *segdltest.Server) string {
			return strings.Replace(b.URLOf("/f"), "127.0.0.1", "localhost", 1)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := segdltest.NewServer(), segdltest.NewServer()
			defer a.Close()
			defer b.Close()
			data := segdltest.Content(5, 1<<20)
			b.PutBytes("/f", data)
			b.RatePerConn.Store(4 << 20)
			target := c.hop(a, b)
			a.Fault = func(r *http.Request, _ int64) segdltest.Fault {
				return segdltest.Fault{Kind: segdltest.Redirect, Location: target}
			}
			b.Fault = func(r *http.Request, _ int64) segdltest.Fault {
				if r.URL.Path == "/hop" {
					return segdltest.Fault{Kind: segdltest.Redirect, Location: "/f"}
				}
				return segdltest.Fault{}
			}
			cfg := testConfig()
			cfg.Header = http.Header{"Authorization": {"Bearer global"}, "Cookie": {"c=1"}, "X-Team": {"data"}}
			aHost := strings.TrimPrefix(a.URL, "http://")
			cfg.HostHeader = func(hp string) http.Header {
				if hp == aHost {
					return http.Header{"X-Host-Token": {"for-a-only"}}
				}
				return nil
			}
			spec := withSum(Spec{URLs: []string{a.URLOf("/f")}, Header: http.Header{"X-File": {"secret-file"}}}, data)
			r := fetch(t, "", spec, cfg, 4)
			if r.err != nil {
				t.Fatalf("download failed: %v", r.err)
			}
			if sha(r.data) != sha(data) {
				t.Fatal("bytes differ")
			}
			for _, q := range a.Requests() {
				for _, h := range []string{"Authorization", "Cookie", "X-Host-Token", "X-File", "X-Team"} {
					if q.Header.Get(h) == "" {
						t.Errorf("listed origin did not get %s", h)
					}
				}
			}
			if len(b.Requests()) < 2 {
				t.Errorf("the redirect target saw %d requests; want the ranges sent straight to it", len(b.Requests()))
			}
			for _, q := range b.Requests() {
				for _, h := range []string{"Authorization", "Cookie", "X-Host-Token", "X-File", "Referer"} {
					if v := q.Header.Get(h); v != "" {
						t.Errorf("%s %s got %s: %q", q.Method, q.Path, h, v)
					}
				}
				if q.Header.Get("X-Team") != "data" {
					t.Errorf("a non-credential global header was not sent to the redirect target")
				}
			}
		})
	}
}

func TestHTTPSToHTTPRedirectRefused(t *testing.T) {
	plain := segdltest.NewServer()
	defer plain.Close()
	plain.PutBytes("/f", []byte("downgraded"))
	tls := segdltest.NewUnstartedServer()
	tls.StartTLS()
	defer tls.Close()
	tls.Fault = func(*http.Request, int64) segdltest.Fault {
		return segdltest.Fault{Kind: segdltest.Redirect, Location: plain.URLOf("/f")}
	}
	cfg := testConfig()
	cfg.Client = NewClient(tls.Client().Transport)
	r := fetch(t, "", Spec{URLs: []string{tls.URLOf("/f")}}, cfg, 1)
	if r.err == nil || !strings.Contains(r.err.Error(), "from https to http refused") {
		t.Fatalf("err = %v; want the downgrade refused", r.err)
	}
	if n := len(plain.Requests()); n != 0 {
		t.Errorf("the http server saw %d requests", n)
	}
}

// TestRedirectErrorsHideSignedQueries: the chain a redirect error names
// must not print the query values of signed URLs.
func TestRedirectErrorsHideSignedQueries(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.Fault = func(r *http.Request, _ int64) segdltest.Fault {
		if r.URL.Path == "/f" {
			return segdltest.Fault{Kind: segdltest.Redirect, Location: "/g?X-Amz-Signature=sig-123"}
		}
		return segdltest.Fault{Kind: segdltest.Redirect, Location: "/f?token=tok-456"}
	}
	r := fetch(t, "", Spec{URLs: []string{srv.URLOf("/f?token=tok-456")}}, testConfig(), 1)
	if r.err == nil || !strings.Contains(r.err.Error(), "loop") {
		t.Fatalf("err = %v; want a redirect loop", r.err)
	}
	for _, secret := range []string{"sig-123", "tok-456"} {
		if strings.Contains(r.err.Error(), secret) {
			t.Errorf("error %q shows %s", r.err, secret)
		}
	}
}
