package main

// Security tests, run by make test: each asserts what the servers saw, what
// was written where, and what was printed. See also segdl/policy_test.go.

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/bulkdl/bulkdl/internal/winetest"
	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

func writeManifest(t *testing.T, dir, text string) string {
	t.Helper()
	m := filepath.Join(dir, "m.toml")
	if err := os.WriteFile(m, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return m
}

func hostOf(srv *segdltest.Server) string {
	return strings.TrimPrefix(strings.TrimPrefix(srv.URL, "http://"), "https://")
}

// TestCredentialsNeverReachAnotherOrigin redirects every kind of credential
// bulkdl can send to other origins and reads the other servers' logs.
func TestCredentialsNeverReachAnotherOrigin(t *testing.T) {
	const token, cookie, fileSecret, userPass = "tok-host-1", "c=sess-2", "file-3", "pw-4"
	t.Setenv("BULKDL_T_TOKEN", token)
	t.Setenv("BULKDL_T_BUILD", "build-secret-9")
	netrc := filepath.Join(t.TempDir(), "netrc")
	cases := []struct {
		name string
		// chain sets up redirects from a to the others and returns the
		// servers that must see no credential.
		chain func(a, b *segdltest.Server) []*segdltest.Server
	}{
		{"same host, other port", func(a, b *segdltest.Server) []*segdltest.Server {
			a.Fault = redirectTo(b.URLOf("/f"))
			return []*segdltest.Server{b}
		}},
		{"other host name", func(a, b *segdltest.Server) []*segdltest.Server {
			a.Fault = redirectTo(strings.Replace(b.URLOf("/f"), "127.0.0.1", "localhost", 1))
			return []*segdltest.Server{b}
		}},
		{"a -> b -> b", func(a, b *segdltest.Server) []*segdltest.Server {
			a.Fault = redirectTo(b.URLOf("/hop"))
			b.Fault = func(r *http.Request, _ int64) segdltest.Fault {
				if r.URL.Path == "/hop" {
					return segdltest.Fault{Kind: segdltest.Redirect, Location: "/f"}
				}
				return segdltest.Fault{}
			}
			return []*segdltest.Server{b}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := segdltest.NewServer(), segdltest.NewServer()
			defer a.Close()
			defer b.Close()
			data := segdltest.Content(1, 3<<20)
			b.PutBytes("/f", data)
			b.RatePerConn.Store(8 << 20)
			others := c.chain(a, b)
			os.WriteFile(netrc, []byte("machine 127.0.0.1 login u password netrc-5\n"), 0o600)
			t.Setenv("NETRC", netrc)
			dir := t.TempDir()
			u := strings.Replace(a.URLOf("/f"), "http://", "http://user:"+userPass+"@", 1)
			m := writeManifest(t, dir, fmt.Sprintf(`[settings]
dest = "out"
min_segment = "256KiB"
headers = { Cookie = %q, PRIVATE-TOKEN = "glpat-lit-7", x-api-key = "key-lit-8", X-Build = "${BULKDL_T_BUILD}", X-Team = "data" }
netrc = true
[hosts.%q]
headers = { Authorization = "Bearer ${BULKDL_T_TOKEN}" }
[[file]]
url = %q
path = "f.bin"
headers = { X-File = %q }
`, cookie, hostOf(a), u, fileSecret))
			report := filepath.Join(dir, "r.json")
			code, stdout, stderr := bulkdl("run", "-report", report, m)
			if code != 0 {
				t.Fatalf("run = %d: %s", code, stderr)
			}
			noSecrets(t, filepath.Join(dir, "out"), []string{stdout, stderr, readFile(report)}, token, userPass, "netrc-5", "build-secret-9", "glpat-lit-7", "key-lit-8")
			if got, _ := os.ReadFile(filepath.Join(dir, "out", "f.bin")); !bytes.Equal(got, data) {
				t.Fatal("bytes differ")
			}
			if q := a.Requests()[0]; q.Header.Get("Authorization") != "Bearer "+token || q.Header.Get("Cookie") != cookie || q.Header.Get("X-File") != fileSecret ||
				q.Header.Get("Private-Token") != "glpat-lit-7" || q.Header.Get("X-Api-Key") != "key-lit-8" || q.Header.Get("X-Build") != "build-secret-9" {
				t.Errorf("the listed origin did not get its credentials: %v", q.Header)
			}
			ranged := 0
			for _, o := range others {
				for _, q := range o.Requests() {
					if q.Header.Get("Range") != "bytes=0-" {
						ranged++
					}
					for _, h := range []string{"Authorization", "Cookie", "X-File", "Referer", "Proxy-Authorization", "Private-Token", "X-Api-Key", "X-Build"} {
						if v := q.Header.Get(h); v != "" {
							t.Errorf("%s %s got %s: %q", o.URL, q.Path, h, v)
						}
					}
					if q.Header.Get("X-Team") != "data" {
						t.Errorf("%s %s did not get X-Team, which is no credential", o.URL, q.Path)
					}
				}
			}
			if ranged == 0 {
				t.Error("no range went straight to the redirect target; the test shows less than it should")
			}
			for _, s := range []string{token, userPass, "netrc-5", "build-secret-9"} {
				if strings.Contains(stdout+stderr, s) {
					t.Errorf("output contains a secret %q", s)
				}
			}
		})
	}
}

func redirectTo(loc string) func(*http.Request, int64) segdltest.Fault {
	return func(*http.Request, int64) segdltest.Fault {
		return segdltest.Fault{Kind: segdltest.Redirect, Location: loc}
	}
}

func TestHTTPSNeverRedirectsToHTTP(t *testing.T) {
	plain := segdltest.NewServer()
	defer plain.Close()
	plain.PutBytes("/f", []byte("downgraded"))
	tls := segdltest.NewUnstartedServer()
	tls.StartTLS()
	defer tls.Close()
	tls.Fault = redirectTo(plain.URLOf("/f"))
	dir := t.TempDir()
	ca := writeCA(t, dir, tls)
	m := writeManifest(t, dir, fmt.Sprintf("[settings]\ndest = \"out\"\nca_file = %q\n[[file]]\nurl = %q\n", ca, tls.URLOf("/f")))
	code, _, stderr := bulkdl("run", m)
	if code != 1 || !strings.Contains(stderr, "from https to http refused") {
		t.Errorf("run = %d: %s", code, stderr)
	}
	if n := len(plain.Requests()); n != 0 {
		t.Errorf("the http server saw %d requests", n)
	}
}

func writeCA(t *testing.T, dir string, srv *segdltest.Server) string {
	t.Helper()
	p := filepath.Join(dir, "ca.pem")
	writeCAFile(p, srv)
	return p
}

func writeCAFile(p string, srv *segdltest.Server) {
	os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
}

func TestTLSVerification(t *testing.T) {
	srv := segdltest.NewUnstartedServer()
	srv.StartTLS()
	defer srv.Close()
	data := segdltest.Content(2, 10<<10)
	srv.PutBytes("/f", data)
	host := hostOf(srv)
	cases := []struct {
		name     string
		settings string
		hosts    string
		code     int
		stderr   string
	}{
		{"a private CA is refused by default", "", "", 1, host + `: tls: failed to verify certificate: x509: certificate signed by unknown authority; set ca_file in [hosts.`},
		{"ca_file for the host", "", "ca_file = \"ca.pem\"", 0, ""},
		{"ca_file in settings", "ca_file = \"ca.pem\"", "", 0, ""},
		{"insecure is allowed with a warning", "", "insecure = true", 0, "insecure = true: the TLS certificate of " + host + " is not verified"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeCA(t, dir, srv)
			before := srv.Stats().Requests
			m := writeManifest(t, dir, fmt.Sprintf("[settings]\ndest = \"out\"\nretries = 3\n%s\n[hosts.%q]\n%s\n[[file]]\nurl = %q\n", c.settings, host, c.hosts, srv.URLOf("/f")))
			code, _, stderr := bulkdl("run", m)
			if code != c.code || !strings.Contains(stderr, c.stderr) {
				t.Errorf("run = %d: %s\nwant %d and %q", code, stderr, c.code, c.stderr)
			}
			if c.code != 0 && srv.Stats().Requests != before {
				t.Errorf("a request reached the server over an unverified connection")
			}
			if c.code == 0 {
				if got, _ := os.ReadFile(filepath.Join(dir, "out", "f")); !bytes.Equal(got, data) {
					t.Error("bytes differ")
				}
			}
		})
	}
}

func TestNetrc(t *testing.T) {
	srv, dir, _ := origin(t, 1, 1000, "netrc = true")
	netrc := filepath.Join(dir, "netrc")
	t.Setenv("NETRC", netrc)
	os.WriteFile(netrc, []byte("machine other.example login x password y\nmachine 127.0.0.1\n  login alice\n  password s3cret-netrc\ndefault login anon password default-pw\n"), 0o644)
	code, _, stderr := bulkdl("run", filepath.Join(dir, "m.toml"))
	// Windows has no mode bits to refuse (netrc_windows.go).
	if runtime.GOOS != "windows" && (code != 2 || !strings.Contains(stderr, "can be read by other users") || !strings.Contains(stderr, "chmod 600")) {
		t.Errorf("world-readable netrc: run = %d: %s", code, stderr)
	}
	os.Chmod(netrc, 0o600)
	code, _, stderr = bulkdl("run", filepath.Join(dir, "m.toml"))
	if code != 0 {
		t.Fatalf("run = %d: %s", code, stderr)
	}
	if got := srv.Requests()[0].Header.Get("Authorization"); got != "Basic YWxpY2U6czNjcmV0LW5ldHJj" {
		t.Errorf("Authorization = %q; want alice's Basic credentials", got)
	}
}

// TestProxy runs bulkdl in a child process (net/http reads the proxy
// environment once per process) through a loopback CONNECT proxy.
func TestProxy(t *testing.T) {
	srv := segdltest.NewUnstartedServer()
	srv.StartTLS()
	defer srv.Close()
	data := segdltest.Content(3, 2<<20)
	srv.PutBytes("/f", data)
	var mu sync.Mutex
	var connects []string
	var proxyAuth []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		mu.Lock()
		connects = append(connects, r.Host)
		proxyAuth = append(proxyAuth, r.Header.Get("Proxy-Authorization"))
		mu.Unlock()
		// example.com is in httptest's certificate; reach the origin on
		// loopback whatever name was asked.
		_, port, _ := net.SplitHostPort(r.Host)
		up, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		conn, buf, _ := w.(http.Hijacker).Hijack()
		go func() { io.Copy(up, buf); up.Close() }()
		io.Copy(conn, up)
		conn.Close()
	}))
	defer proxy.Close()
	dir := t.TempDir()
	writeCA(t, dir, srv)
	_, port, _ := net.SplitHostPort(hostOf(srv))
	m := writeManifest(t, dir, fmt.Sprintf("[settings]\ndest = \"out\"\nca_file = \"ca.pem\"\n[[file]]\nurl = \"https://example.com:%s/f\"\n", port))
	cmd := exec.Command(os.Args[0], "run", m)
	cmd.Env = append(os.Environ(), "BULKDL_TEST_MAIN=1", "NO_PROXY=", "no_proxy=",
		"HTTPS_PROXY="+strings.Replace(proxy.URL, "http://", "http://pu:proxy-pw-6@", 1))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run through the proxy: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "out", "f")); !bytes.Equal(got, data) {
		t.Fatal("bytes differ")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(connects) == 0 || connects[0] != "example.com:"+port || !strings.HasPrefix(proxyAuth[0], "Basic ") {
		t.Errorf("proxy saw CONNECT %v with Proxy-Authorization %v", connects, proxyAuth)
	}
	if strings.Contains(string(out), "proxy-pw-6") {
		t.Error("the proxy password was printed")
	}
}

func TestPlantedSymlinksDoNotLeadOutside(t *testing.T) {
	if winetest.Enabled {
		t.Skip("Wine fakes symlinks with host symlinks that Windows path resolution never sees; a Windows runner tests them")
	}
	srv, dir, _ := origin(t, 0, 0, "")
	outside := t.TempDir()
	target := filepath.Join(outside, "target")
	os.WriteFile(target, []byte("outside, untouched"), 0o644)
	dest := filepath.Join(dir, "out")
	os.MkdirAll(dest, 0o755)
	os.Symlink(outside, filepath.Join(dest, "dirlink"))             // a directory link
	os.Symlink(target, filepath.Join(dest, "file.bin"))             // a link at a final path
	os.Symlink(target, filepath.Join(dest, "part.bin.bulkdl.part")) // a link at a temporary path
	for _, p := range []string{"/a", "/b", "/c"} {
		srv.PutBytes(p, []byte("from the server "+p))
	}
	m := writeManifest(t, dir, fmt.Sprintf(`[settings]
dest = "out"
[[file]]
url = %q
path = "dirlink/escaped.bin"
[[file]]
url = %q
path = "file.bin"
[[file]]
url = %q
path = "part.bin"
`, srv.URLOf("/a"), srv.URLOf("/b"), srv.URLOf("/c")))
	code, _, stderr := bulkdl("run", m)
	if code != 1 {
		t.Errorf("run = %d; want 1 (the file behind a directory link fails): %s", code, stderr)
	}
	if got, _ := os.ReadFile(target); string(got) != "outside, untouched" {
		t.Errorf("a file outside dest was written: %q", got)
	}
	if _, err := os.Stat(filepath.Join(outside, "escaped.bin")); err == nil {
		t.Error("a file was created outside dest through a directory link")
	}
	if st, err := os.Lstat(filepath.Join(dest, "file.bin")); err != nil || !st.Mode().IsRegular() {
		t.Errorf("file.bin should now be a regular file in dest: %v", err)
	}
}

func TestURLDerivedNamesNeverEscape(t *testing.T) {
	for _, u := range []string{"http://h/%2e%2e", "http://h/a%2F..%2F..%2Fx", "http://h/x%00y", "http://h/x%0Ay", "http://h/..%5Cx", "http://h/dir/"} {
		dir := t.TempDir()
		m := writeManifest(t, dir, fmt.Sprintf("[[file]]\nurl = %q\n", u))
		if code, _, stderr := bulkdl("check", m); code != 2 || !strings.Contains(stderr, "set path") && !strings.Contains(stderr, "control character") && !strings.Contains(stderr, "NUL") {
			t.Errorf("check %s = %d: %s", u, code, stderr)
		}
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	const secret = "env-secret-77"
	t.Setenv("BULKDL_T_SECRET", secret)
	srv, dir, _ := origin(t, 0, 0, "")
	srv.Fault = func(*http.Request, int64) segdltest.Fault {
		return segdltest.Fault{Kind: segdltest.Status, Code: 500}
	}
	u := strings.Replace(srv.URLOf("/f"), "http://", "http://user:url-pw-88@", 1)
	// A closed port: net/http's own error names the URL.
	closed := "http://127.0.0.1:9/h?token=signed-100"
	m := writeManifest(t, dir, fmt.Sprintf("[settings]\ndest = \"out\"\nretries = 1\nheaders = { X-Key = \"${BULKDL_T_SECRET}\" }\n[[file]]\nurl = %q\npath = \"f\"\n[[file]]\nurl = \"%s?token=signed-99\"\npath = \"g\"\n[[file]]\nurl = %q\npath = \"h\"\n", u, srv.URLOf("/g"), closed))
	report := filepath.Join(dir, "r.json")
	code, stdout, stderr := bulkdl("run", "-report", report, m)
	if code != 1 {
		t.Fatalf("run = %d: %s", code, stderr)
	}
	rep, _ := os.ReadFile(report)
	_, checkOut, checkErr := bulkdl("check", m)
	all := stdout + stderr + string(rep) + checkOut + checkErr
	for _, s := range []string{secret, "url-pw-88", "signed-99", "signed-100"} {
		if strings.Contains(all, s) {
			t.Errorf("%q appears in output or the report", s)
		}
	}
	if !strings.Contains(stderr, "failed: f:") || !strings.Contains(stderr, "failed: h:") {
		t.Errorf("no failure line: %s", stderr)
	}
}

func TestHTTP2IsOptIn(t *testing.T) {
	srv := segdltest.NewUnstartedServer()
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	srv.PutBytes("/f", segdltest.Content(4, 100<<10))
	for _, h2 := range []bool{false, true} {
		dir := t.TempDir()
		writeCA(t, dir, srv)
		n := len(srv.Requests())
		m := writeManifest(t, dir, fmt.Sprintf("[settings]\ndest = \"out\"\nca_file = \"ca.pem\"\n[hosts.%q]\nhttp2 = %v\n[[file]]\nurl = %q\n", hostOf(srv), h2, srv.URLOf("/f")))
		if code, _, stderr := bulkdl("run", m); code != 0 {
			t.Fatalf("run (http2 = %v) = %d: %s", h2, code, stderr)
		}
		want := "HTTP/1.1"
		if h2 {
			want = "HTTP/2.0"
		}
		if got := srv.Requests()[n].Proto; got != want {
			t.Errorf("http2 = %v: server saw %s; want %s", h2, got, want)
		}
	}
}

// TestNetrcNeverReplacesCredentialsGiven: netrc fills in only where the
// manifest gives no credentials: not over a URL's user:password, not over
// an Authorization header.
func TestNetrcNeverReplacesCredentialsGiven(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	for _, p := range []string{"/own", "/conf", "/plain"} {
		srv.PutBytes(p, []byte("data "+p))
	}
	dir := t.TempDir()
	netrc := filepath.Join(dir, "netrc")
	os.WriteFile(netrc, []byte("machine 127.0.0.1 login n password netrc-pw\n"), 0o600)
	t.Setenv("NETRC", netrc)
	own := strings.Replace(srv.URLOf("/own"), "http://", "http://own:own-pw@", 1)
	m := writeManifest(t, dir, fmt.Sprintf(`[settings]
dest = "out"
netrc = true
[[file]]
url = %q
[[file]]
url = %q
headers = { Authorization = "Bearer conf" }
[[file]]
url = %q
`, own, srv.URLOf("/conf"), srv.URLOf("/plain")))
	if code, _, stderr := bulkdl("run", m); code != 0 {
		t.Fatalf("run = %d: %s", code, stderr)
	}
	want := map[string]string{"/own": "Basic b3duOm93bi1wdw==", "/conf": "Bearer conf", "/plain": "Basic bjpuZXRyYy1wdw=="}
	for _, q := range srv.Requests() {
		if got := q.Header.Get("Authorization"); got != want[q.Path] {
			t.Errorf("%s got Authorization %q; want %q", q.Path, got, want[q.Path])
		}
	}
}

// TestTokensInURLsNeverPrinted: a token as the URL's user name, a bare
// ?TOKEN and a signed query in an unparsable Location reach neither
// -dry-run, check, the failure lines, the report nor the files in dest.
func TestTokensInURLsNeverPrinted(t *testing.T) {
	srv, dir, _ := origin(t, 0, 0, "")
	srv.Fault = func(r *http.Request, _ int64) segdltest.Fault {
		if r.URL.Path == "/r" {
			return segdltest.Fault{Kind: segdltest.Redirect, Location: "http://u:locpw-4@bad host/x?X-Amz-Signature=locsig-3"}
		}
		return segdltest.Fault{Kind: segdltest.Status, Code: 500}
	}
	defer func() {
		noSecrets(t, filepath.Join(dir, "out"), nil, "ghp_tokuser1", "baretok2", "locsig-3", "locpw-4")
	}()
	tokUser := strings.Replace(srv.URLOf("/f"), "http://", "http://ghp_tokuser1@", 1)
	m := writeManifest(t, dir, fmt.Sprintf(`[settings]
dest = "out"
retries = 0
[[file]]
url = %q
path = "f"
[[file]]
url = "%s?baretok2"
path = "g"
[[file]]
url = %q
path = "r"
`, tokUser, srv.URLOf("/g"), srv.URLOf("/r")))
	report := filepath.Join(dir, "r.json")
	code, stdout, stderr := bulkdl("run", "-report", report, m)
	if code != 1 || !strings.Contains(stderr, "failed: f:") || !strings.Contains(stderr, "failed: r:") || !strings.Contains(stderr, "bad Location") {
		t.Fatalf("run = %d: %s", code, stderr)
	}
	rep, _ := os.ReadFile(report)
	_, dryOut, dryErr := bulkdl("run", "-dry-run", m)
	_, checkOut, checkErr := bulkdl("check", m)
	all := stdout + stderr + string(rep) + dryOut + dryErr + checkOut + checkErr
	for _, s := range []string{"ghp_tokuser1", "baretok2", "locsig-3", "locpw-4"} {
		if strings.Contains(all, s) {
			t.Errorf("%q appears in output or the report:\n%s", s, all)
		}
	}
	if !strings.Contains(dryOut, "xxxxx@") || !strings.Contains(dryOut, "?xxxxx") {
		t.Errorf("-dry-run does not show the redacted URLs:\n%s", dryOut)
	}
}

// TestManifestErrorsNeverEchoSecrets: the line an error shows has its
// URL's credentials and its header values hidden.
func TestManifestErrorsNeverEchoSecrets(t *testing.T) {
	t.Setenv("BULKDL_T_SECRET", "env-secret-12")
	for _, text := range []string{
		"[[file]]\nurl = \"https://user:pw-10@h/a?X-Amz-Signature=sig-11\" oops\n",
		"[[file]]\nurl = \"https://tok-13@h/\"\n",
		"[settings]\nheaders = { PRIVATE-TOKEN = \"glpat-14\", \"bad name\" = \"${BULKDL_T_SECRET}\" }\n[[file]]\nurl = \"https://h/a\"\n",
		"[[file]]\nurl = \"ftp://h/a?bare-15\"\n",
		"[[file]]\nurl = \"https://u:pw-16%zz@h/a?sig-17\"\n",
	} {
		m := writeManifest(t, t.TempDir(), text)
		code, stdout, stderr := bulkdl("check", m)
		if code != 2 || !strings.Contains(stderr, "m.toml:2:") || !strings.Contains(stderr, "    2 | ") {
			t.Errorf("check = %d; want 2 and the line shown:\n%s", code, stderr)
		}
		for _, s := range []string{"pw-10", "sig-11", "env-secret-12", "tok-13", "glpat-14", "bare-15", "pw-16", "sig-17"} {
			if strings.Contains(stdout+stderr, s) {
				t.Errorf("%q printed:\n%s", s, stderr)
			}
		}
	}
}

// TestIPv6HostEntries: [hosts."::1"] applies to http://[::1]:port/, and
// check says which entry each origin uses.
func TestIPv6HostEntries(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	srv := segdltest.NewUnstartedServer()
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	srv.PutBytes("/f", []byte("over v6"))
	for _, key := range []string{"::1", "[::1]", hostOf(srv)} {
		dir := t.TempDir()
		m := writeManifest(t, dir, fmt.Sprintf("[settings]\ndest = \"out\"\n[hosts.%q]\nheaders = { X-V6 = \"applied\" }\n[[file]]\nurl = %q\n", key, srv.URLOf("/f")))
		n := len(srv.Requests())
		code, stdout, stderr := bulkdl("run", m)
		if code != 0 || strings.Contains(stderr, "warning") {
			t.Fatalf("[hosts.%q]: run = %d: %s", key, code, stderr)
		}
		if got := srv.Requests()[n].Header.Get("X-V6"); got != "applied" {
			t.Errorf("[hosts.%q]: the server got X-V6 %q; the entry was not applied", key, got)
		}
		_, stdout, _ = bulkdl("check", m)
		want, _ := manifest.HostKey(key)
		if !strings.Contains(stdout, fmt.Sprintf("from [hosts.%q]", want)) {
			t.Errorf("[hosts.%q]: check does not name the entry:\n%s", key, stdout)
		}
	}
}

// TestIPv6HostEntryTLS: the ca_file of [hosts."::1"] is the one used for
// https://[::1]:port/.
func TestIPv6HostEntryTLS(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	srv := segdltest.NewUnstartedServer()
	srv.Listener.Close()
	srv.Listener = ln
	srv.StartTLS()
	defer srv.Close()
	data := segdltest.Content(7, 10<<10)
	srv.PutBytes("/f", data)
	dir := t.TempDir()
	writeCA(t, dir, srv)
	m := writeManifest(t, dir, fmt.Sprintf("[settings]\ndest = \"out\"\n[hosts.\"::1\"]\nca_file = \"ca.pem\"\n[[file]]\nurl = %q\n", srv.URLOf("/f")))
	if code, _, stderr := bulkdl("run", m); code != 0 {
		t.Fatalf("run = %d: %s", code, stderr)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "out", "f")); !bytes.Equal(got, data) {
		t.Error("bytes differ")
	}
}

// TestNamesThatDisguiseThemselves: a path with a bidi override or a C1
// control is refused before anything is fetched, and never printed raw.
func TestNamesThatDisguiseThemselves(t *testing.T) {
	srv, _, _ := origin(t, 0, 0, "")
	srv.PutBytes("/x", []byte("payload"))
	for _, entry := range []string{
		`path = "rtl-\u202Egnp.exe"`,
		`path = "csi-\u009B2J"`,
		`path = "iso-\u2067x"`,
		`url = "` + srv.URLOf("/rtl-%E2%80%AEgnp.exe") + `"`,
	} {
		dir := t.TempDir()
		text := fmt.Sprintf("[settings]\ndest = \"out\"\n[[file]]\n%s\n", entry)
		if !strings.HasPrefix(entry, "url") {
			text += fmt.Sprintf("url = %q\n", srv.URLOf("/x"))
		}
		m := writeManifest(t, dir, text)
		for _, cmd := range []string{"check", "run"} {
			n := len(srv.Requests())
			code, stdout, stderr := bulkdl(cmd, m)
			if code != 2 || !strings.Contains(stderr, "m.toml:4:") {
				t.Errorf("%s with %s = %d: %s", cmd, entry, code, stderr)
			}
			if strings.ContainsAny(stdout+stderr, "\u202e\u009b\u2067\x1b") {
				t.Errorf("%s with %s printed a raw control or bidi character: %q", cmd, entry, stderr)
			}
			if len(srv.Requests()) != n {
				t.Errorf("%s with %s reached the server", cmd, entry)
			}
		}
		if ents, _ := os.ReadDir(filepath.Join(dir, "out")); len(ents) != 0 {
			t.Errorf("%s: dest holds %v", entry, ents)
		}
	}
}

// TestServerTextIsEscaped: what a server sends (a Location whose query,
// or whose host, holds a bidi override) reaches the failure line and the
// report escaped.
func TestServerTextIsEscaped(t *testing.T) {
	for _, loc := range []string{
		"/loop?\u202ekey=v",                // a redirect loop names it
		"http://evil\u202egnp.invalid:1/x", // net/http's dial error names the host
	} {
		// http.Redirect would percent-encode the Location; a server need not.
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", loc)
			w.WriteHeader(http.StatusFound)
		}))
		defer srv.Close()
		dir := t.TempDir()
		m := writeManifest(t, dir, fmt.Sprintf("[settings]\ndest = \"out\"\nretries = 0\n[[file]]\nurl = %q\npath = \"f\"\n", srv.URL+"/f"))
		report := filepath.Join(dir, "r.json")
		code, stdout, stderr := bulkdl("run", "-report", report, m)
		rep, _ := os.ReadFile(report)
		if code != 1 || !strings.Contains(stderr, "failed: f:") {
			t.Fatalf("Location %q: run = %d: %s", loc, code, stderr)
		}
		if strings.Contains(stdout+stderr+string(rep), "\u202e") {
			t.Errorf("Location %q: a raw U+202E was printed or reported:\n%s\n%s", loc, stderr, rep)
		}
		if !strings.Contains(stderr, `\u202e`) {
			t.Errorf("Location %q: the failure line does not show the escaped character:\n%s", loc, stderr)
		}
	}
}

// TestURLsArePrintedEscaped: a URL the manifest lists with a bidi override
// in its query is printed escaped by -dry-run and check.
func TestURLsArePrintedEscaped(t *testing.T) {
	dir := t.TempDir()
	m := writeManifest(t, dir, "[settings]\ndest = \"out\"\n[[file]]\nurl = \"http://h.example/a?\u202ekey=v\"\npath = \"a\"\n")
	code, stdout, stderr := bulkdl("run", "-dry-run", m)
	if code != 0 || !strings.Contains(stdout, `?\u202ekey=xxxxx`) {
		t.Errorf("run -dry-run = %d: %q %s", code, stdout, stderr)
	}
	_, checkOut, _ := bulkdl("check", m)
	if strings.Contains(stdout+stderr+checkOut, "\u202e") {
		t.Errorf("a raw U+202E was printed: %q", stdout+checkOut)
	}
}

// noSecrets fails t if any of texts, or any file under dest other than
// the downloaded data itself, holds one of secrets.
func noSecrets(t *testing.T, dest string, texts []string, secrets ...string) {
	t.Helper()
	filepath.WalkDir(dest, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			texts = append(texts, p+": "+readFile(p))
		}
		return nil
	})
	for _, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%q appears in output, the report or dest: %.300s", s, text)
			}
		}
	}
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}
