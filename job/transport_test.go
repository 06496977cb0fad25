package job

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/manifest"
)

func parseManifest(t *testing.T, text string) *manifest.Manifest {
	t.Helper()
	m, err := manifest.Parse("m.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The policy of every transport: HTTP/1.1 unless a host opts into HTTP/2,
// certificates verified unless a host opts out, TLS 1.2 at least, bytes as
// the server sent them (no transparent gzip), bounded headers.
func TestTransportPolicy(t *testing.T) {
	m := parseManifest(t, `
[settings]
dest = "out"
connections = 9
per_host = 3
[hosts."h2.example"]
http2 = true
[hosts."self.example"]
insecure = true
[[file]]
url = "https://a.example/f"
`)
	rt, err := newTransport(m)
	if err != nil {
		t.Fatal(err)
	}
	r := rt.(*hostRouter)
	def := r.def.(*http.Transport)
	if def.TLSNextProto == nil || def.ForceAttemptHTTP2 {
		t.Error("the default transport may use HTTP/2; want HTTP/1.1, one request per connection")
	}
	if c := def.TLSClientConfig; c.InsecureSkipVerify || c.MinVersion < tls.VersionTLS12 {
		t.Errorf("default TLS config = insecure %v, min version %x; want verified, TLS 1.2+", c.InsecureSkipVerify, c.MinVersion)
	}
	if !def.DisableCompression || def.MaxResponseHeaderBytes <= 0 || def.Proxy == nil {
		t.Errorf("default transport: compression disabled %v, header limit %d, proxy %v; want no gzip, a limit, the environment's proxy",
			def.DisableCompression, def.MaxResponseHeaderBytes, def.Proxy != nil)
	}
	if def.TLSClientConfig.RootCAs != nil {
		t.Error("without ca_file the system roots were loaded up front; want nil RootCAs, loaded by the first handshake (a plain-HTTP run must not pay ~15 ms for them)")
	}
	if def.MaxIdleConns != 9 || def.MaxIdleConnsPerHost != 3 {
		t.Errorf("idle connections %d, per host %d; want the budget's 9 and 3", def.MaxIdleConns, def.MaxIdleConnsPerHost)
	}
	for key, want := range map[string]struct{ h2, insecure bool }{"h2.example": {true, false}, "self.example": {false, true}} {
		_, h := m.HostEntry("" + key + ":443")
		tr, ok := r.hosts[h].(*http.Transport)
		if !ok {
			t.Fatalf("[hosts.%q] has no transport of its own", key)
		}
		if tr.ForceAttemptHTTP2 != want.h2 || tr.TLSClientConfig.InsecureSkipVerify != want.insecure {
			t.Errorf("[hosts.%q]: http2 %v, insecure %v; want %v, %v", key, tr.ForceAttemptHTTP2, tr.TLSClientConfig.InsecureSkipVerify, want.h2, want.insecure)
		}
	}
}

func TestTransportCAFile(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "https://")
	get := func(m *manifest.Manifest) error {
		rt, err := newTransport(m)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", srv.URL, nil)
		resp, err := rt.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	plain := parseManifest(t, "[settings]\ndest = \"out\"\n[[file]]\nurl = \""+srv.URL+"/f\"\n")
	if err := get(plain); err == nil || !strings.Contains(err.Error(), "set ca_file in [hosts.") {
		t.Errorf("a private CA without ca_file = %v; want a refusal that says to set ca_file", err)
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	writeCert(t, ca, srv)
	withCA := parseManifest(t, "[settings]\ndest = \"out\"\n[hosts.\""+host+"\"]\nca_file = \""+filepath.ToSlash(ca)+"\"\n[[file]]\nurl = \""+srv.URL+"/f\"\n")
	if err := get(withCA); err != nil {
		t.Errorf("with the host's ca_file = %v; want verified", err)
	}
	os.WriteFile(ca, []byte("not PEM"), 0o644)
	if _, err := newTransport(withCA); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Errorf("a ca_file without certificates = %v; want an error that says so", err)
	}
}

func TestHostname(t *testing.T) {
	for in, want := range map[string]string{"Example.COM:443": "example.com", "[::1]:80": "::1", "h": "h"} {
		if got := hostname(in); got != want {
			t.Errorf("hostname(%q) = %q; want %q", in, got, want)
		}
	}
}

func writeCert(t *testing.T, name string, srv *httptest.Server) {
	t.Helper()
	var b strings.Builder
	b.WriteString("-----BEGIN CERTIFICATE-----\n")
	enc := base64.StdEncoding.EncodeToString(srv.Certificate().Raw)
	for len(enc) > 64 {
		b.WriteString(enc[:64] + "\n")
		enc = enc[64:]
	}
	b.WriteString(enc + "\n-----END CERTIFICATE-----\n")
	if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Each request goes to its own host's transport, whatever the requests
// before it: a host set insecure is fetched from, another with the same
// kind of self-signed certificate is refused, however they alternate.
func TestTransportRoutesEachHost(t *testing.T) {
	ok := func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }
	trusted, other := httptest.NewTLSServer(http.HandlerFunc(ok)), httptest.NewTLSServer(http.HandlerFunc(ok))
	defer trusted.Close()
	defer other.Close()
	m := parseManifest(t, `
[settings]
dest = "out"
[hosts."`+strings.TrimPrefix(trusted.URL, "https://")+`"]
insecure = true
[[file]]
url = "`+trusted.URL+`/f"
`)
	rt, err := newTransport(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{trusted.URL, other.URL, trusted.URL, other.URL} {
		req, err := http.NewRequest(http.MethodGet, url+"/f", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if want := url == trusted.URL; (err == nil) != want {
			t.Errorf("GET %s: error %v; want one only for the host not set insecure", url, err)
		}
	}
}

// A host's own rate reaches the scheduler; without any, the scheduler is
// given none, so that it answers Limiter without its lock.
func TestHostRates(t *testing.T) {
	if f := hostRates(parseManifest(t, "[settings]\ndest = \"out\"\n[hosts.\"a.example\"]\nconnections = 2\n[[file]]\nurl = \"http://a.example/f\"\n")); f != nil {
		t.Error("no [hosts] rate, yet a HostRate function: every response would take the scheduler's lock")
	}
	f := hostRates(parseManifest(t, "[settings]\ndest = \"out\"\n[hosts.\"a.example\"]\nrate = \"1MB/s\"\n[[file]]\nurl = \"http://a.example/f\"\n[[file]]\nurl = \"http://b.example/g\"\n"))
	if f == nil {
		t.Fatal("a [hosts] rate, but no HostRate function: the cap is lost")
	}
	if got, other := f("a.example:80"), f("b.example:80"); got != 1e6 || other != 0 {
		t.Errorf("HostRate(a.example:80) = %d, (b.example:80) = %d; want 1000000 and 0", got, other)
	}
}

// A host's rate holds from the first byte: the limiter's burst (the read
// size) follows the lowest rate set, a host's included, or the first
// quarter MiB of a 100 kB/s host would come at full speed.
func TestHostRateHoldsFromTheStart(t *testing.T) {
	const size, rate = 300_000, 100_000
	body := strings.Repeat("x", size)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "a", time.Time{}, strings.NewReader(body))
	}))
	defer srv.Close()
	dir := t.TempDir()
	m, err := manifest.Parse(filepath.Join(dir, "m.toml"), []byte(fmt.Sprintf(
		"[settings]\ndest = \"out\"\nconnections = 1\n[hosts.%q]\nrate = \"%dB/s\"\n[[file]]\nurl = \"%s/a\"\n",
		strings.TrimPrefix(srv.URL, "http://"), rate, srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := Run(context.Background(), m, Options{})
	if err != nil || res.Bad() != 0 {
		t.Fatalf("Run = %v, %d bad", err, res.Bad())
	}
	// At most one burst of 16 KiB (rate/20, floored) ahead of the rate;
	// a slower machine only takes longer.
	if el, least := time.Since(start), time.Duration(float64(size-16<<10)/rate*float64(time.Second)); el < least {
		t.Errorf("%d bytes at a host rate of %d B/s took %v; want at least %v", size, rate, el, least)
	}
}
