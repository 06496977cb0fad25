package job

import (
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestParseNetrc(t *testing.T) {
	cases := []struct {
		name, text string
		want       netrcCreds
	}{
		{"one machine per line", "machine a.example login u password p\n", netrcCreds{"a.example": "u:p"}},
		{"tokens across lines", "machine a.example\n  login u\n  password p\n", netrcCreds{"a.example": "u:p"}},
		{"host names compare in lower case", "machine A.Example login u password p", netrcCreds{"a.example": "u:p"}},
		{"several machines", "machine a login u1 password p1 machine b login u2 password p2", netrcCreds{"a": "u1:p1", "b": "u2:p2"}},
		{"a default entry is never used", "default login u password p", netrcCreds{}},
		{"default ends the machine before it", "machine a login u password p default login x password y", netrcCreds{"a": "u:p"}},
		{"account is skipped with its value", "machine a login u account acct password p", netrcCreds{"a": "u:p"}},
		{"comments are ignored", "# machine x login y password z\nmachine a login u password p # note", netrcCreds{"a": "u:p"}},
		{"a machine without login gives nothing", "machine a password p", netrcCreds{}},
		{"a macro ends the file", "machine a login u password p\nmacdef init\nmachine b login x password y\n", netrcCreds{"a": "u:p"}},
		{"a value missing at the end", "machine a login", netrcCreds{}},
		{"empty", "", netrcCreds{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := parseNetrc(c.text)
			if len(got) != len(c.want) {
				t.Fatalf("parseNetrc(%q) = %v; want %v", c.text, got, c.want)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("parseNetrc(%q)[%q] = %q; want %q", c.text, k, got[k], v)
				}
			}
		})
	}
}

func TestNetrcAuthorizationAndSecrets(t *testing.T) {
	n := parseNetrc("machine a.example login u password s3cret")
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("u:s3cret"))
	if got := n.authorization("A.EXAMPLE"); got != want {
		t.Errorf("authorization(A.EXAMPLE) = %q; want %q", got, want)
	}
	if got := n.authorization("b.example"); got != "" {
		t.Errorf("authorization of a host not listed = %q; want none", got)
	}
	secrets := strings.Join(n.secrets(), " ")
	if !strings.Contains(secrets, "s3cret") || !strings.Contains(secrets, want[len("Basic "):]) {
		t.Errorf("secrets = %q; want the password and its Basic encoding, for redaction", secrets)
	}
}

func TestLoadNetrc(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "netrc")
	t.Setenv("NETRC", name)
	if _, err := loadNetrc(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("loadNetrc of a missing file = %v; want fs.ErrNotExist", err)
	}
	os.WriteFile(name, []byte("machine a login u password p\n"), 0o600)
	if n, err := loadNetrc(); err != nil || n["a"] != "u:p" {
		t.Errorf("loadNetrc = %v, %v; want a's entry", n, err)
	}
	if runtime.GOOS == "windows" {
		return // no Unix permission bits
	}
	os.Chmod(name, 0o644)
	if _, err := loadNetrc(); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("loadNetrc of a file others can read = %v; want a refusal that says chmod 600", err)
	}
}

func FuzzParseNetrc(f *testing.F) {
	f.Add("machine a login u password p")
	f.Add("default login u password p macdef x\n")
	f.Fuzz(func(t *testing.T, text string) {
		for host, cred := range parseNetrc(text) {
			if host != strings.ToLower(host) || !strings.Contains(cred, ":") {
				t.Errorf("entry %q = %q; want a lower-case host and login:password", host, cred)
			}
		}
	})
}
