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
			cfg.Header = http.Header{"Authorization": {"Bearer global"}, "Cookie": {"c=1"}, "X-Team": {"data"},
				"PRIVATE-TOKEN": {"glpat-1"}, "x-api-key": {"k-2"}, "X-Auth-Token": {"t-3"}, "Job-Token": {"j-4"}}
			cfg.Credentials = http.Header{"X-From-Env": {"env-5"}}
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
				for _, h := range []string{"Authorization", "Cookie", "X-Host-Token", "X-File", "X-Team", "Private-Token", "X-Api-Key", "X-Auth-Token", "Job-Token", "X-From-Env"} {
					if q.Header.Get(h) == "" {
						t.Errorf("listed origin did not get %s", h)
					}
				}
			}
			if len(b.Requests()) < 2 {
				t.Errorf("the redirect target saw %d requests; want the ranges sent straight to it", len(b.Requests()))
			}
			for _, q := range b.Requests() {
				for _, h := range []string{"Authorization", "Cookie", "X-Host-Token", "X-File", "Referer", "Private-Token", "X-Api-Key", "X-Auth-Token", "Job-Token", "X-From-Env"} {
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

func TestCredentialHeader(t *testing.T) {
	for _, c := range []struct {
		name string
		want bool
	}{
		{"Authorization", true}, {"cookie", true}, {"PROXY-AUTHORIZATION", true},
		{"PRIVATE-TOKEN", true}, {"Job-Token", true}, {"X-API-Key", true}, {"x-auth-token", true},
		{"X-Goog-Api-Key", true}, {"X-Session-Id", true}, {"X-Upload-Signature", true}, {"Ocp-Apim-Subscription-Key", true},
		{"X-Team", false}, {"Accept", false}, {"X-Request-Id", false},
	} {
		if got := CredentialHeader(c.name); got != c.want {
			t.Errorf("CredentialHeader(%q) = %v; want %v", c.name, got, c.want)
		}
	}
}

// TestUnparsableLocationHidesItsQuery: a Location net/url refuses is named
// in the error without its signed query or userinfo.
func TestUnparsableLocationHidesItsQuery(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.Fault = func(*http.Request, int64) segdltest.Fault {
		return segdltest.Fault{Kind: segdltest.Redirect, Location: "http://u:pw-77@bad host/x?X-Amz-Signature=sig-78"}
	}
	r := fetch(t, "", Spec{URLs: []string{srv.URLOf("/f")}}, testConfig(), 1)
	if r.err == nil || !strings.Contains(r.err.Error(), "bad Location") {
		t.Fatalf("err = %v; want a bad Location", r.err)
	}
	for _, secret := range []string{"sig-78", "pw-77"} {
		if strings.Contains(r.err.Error(), secret) {
			t.Errorf("error %q shows %s", r.err, secret)
		}
	}
}

// TestOutsideCredentialsNeverReplaceTheURLs: credentials from netrc are not
// sent when the URL carries its own userinfo or an Authorization is set.
func TestOutsideCredentialsNeverReplaceTheURLs(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	data := segdltest.Content(6, 1000)
	srv.PutBytes("/f", data)
	withUser := strings.Replace(srv.URLOf("/f"), "http://", "http://own:own-pw@", 1)
	cases := []struct {
		name   string
		url    string
		header http.Header
		want   string
	}{
		{"the URL's user:password", withUser, nil, "Basic b3duOm93bi1wdw=="},
		{"an Authorization configured", srv.URLOf("/f"), http.Header{"Authorization": {"Bearer conf"}}, "Bearer conf"},
		{"neither: netrc's", srv.URLOf("/f"), nil, "Basic netrc"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := len(srv.Requests())
			cfg := testConfig()
			cfg.Header = c.header
			cfg.Authorization = func(string) string { return "Basic netrc" }
			r := fetch(t, "", withSum(Spec{URLs: []string{c.url}}, data), cfg, 1)
			if r.err != nil {
				t.Fatal(r.err)
			}
			for _, q := range srv.Requests()[n:] {
				if got := q.Header.Get("Authorization"); got != c.want {
					t.Errorf("server got Authorization %q; want %q", got, c.want)
				}
			}
		})
	}
}
