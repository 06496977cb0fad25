package manifest

import (
	"errors"
	"strings"
	"testing"
)

// TestErrorsNeverEchoSecrets: an error's echoed line and message never
// show a URL's userinfo, its query, or a header's value.
func TestErrorsNeverEchoSecrets(t *testing.T) {
	t.Setenv("BULKDL_T_SECRET", "env-value-1")
	cases := []struct {
		name, text string
		secrets    []string
	}{
		{"a syntax error on a URL line with user:password and a signature", "[[file]]\nurl = \"https://user:pw-2@h/a?X-Amz-Signature=sig-3\" x\n", []string{"pw-2", "sig-3"}},
		{"a token as the user name", "[[file]]\nurl = \"https://tok-4@h/a\"\nsize = -1\n", nil},
		{"a bare query token on a bad url", "[[file]]\nurl = \"ftp://h/a?tok-5\"\n", []string{"tok-5"}},
		{"a bad mirror", "[[file]]\nurl = \"https://u:pw-6@h/a?sig=s-7\"\nmirrors = [\"https://u:pw-6@h/a?sig=s-7\"]\n", []string{"pw-6", "s-7"}},
		{"an unknown key beside a literal token", "[settings]\nheaders = { PRIVATE-TOKEN = \"glpat-8\" }\ntypo = 1\n[[file]]\nurl = \"https://h/a\"\n", []string{"glpat-8"}},
		{"a bad header in an inline table", "[settings]\nheaders = { Authorization = \"Bearer lit-9\", \"bad name\" = \"${BULKDL_T_SECRET}\" }\n[[file]]\nurl = \"https://h/a\"\n", []string{"lit-9", "env-value-1"}},
		{"a bad header in a headers table", "[[file]]\nurl = \"https://h/a\"\n[file.headers]\nX-Api-Key = \"lit-10\" x\n", []string{"lit-10"}},
		{"a syntax error inside a multi-line header value", "[settings.headers]\nAuthorization = \"\"\"\nBearer lit-12\x01\"\"\"\n[[file]]\nurl = \"https://h/a\"\n", []string{"lit-12"}},
		{"a syntax error inside a multi-line value of an inline table", "[[file]]\nurl = \"https://h/a\"\nheaders = { X-Key = \"\"\"\nlit-13\x01\"\"\" }\n", []string{"lit-13"}},
		{"a host key with userinfo", "[hosts.\"tok-11@h\"]\nconnections = 1\n[[file]]\nurl = \"https://h/a\"\n", []string{"tok-11"}},
		// A ',' or a space ends a URL outside a string, not inside one.
		{"a password with a comma", "[[file]]\nurl = \"http://user:ab,cd-14@h/dir/\"\n", []string{"cd-14"}},
		{"a query value with a comma", "[[file]]\nurl = \"http://h/dir/?a=1,2&token=q-15\"\n", []string{"q-15"}},
		{"a password with a space", "[[file]]\nurl = \"http://user:p w-16@h/x?tok=q-17\"\n", []string{"w-16", "q-17"}},
		{"a mirror's password with a quote", "[[file]]\nurl = \"https://h/a\"\nmirrors = [\"http://user:ab'cd-22@h/a\"] x\n", []string{"cd-22"}},
		// The decoder's message quotes the value it stopped in.
		{"a bad escape in a header value", "[settings]\nheaders = { Authorization = \"Bearer lit-18 \\u00zz\" }\n[[file]]\nurl = \"https://h/a\"\n", []string{"lit-18"}},
		{"a header value without quotes", "[settings]\nheaders = { Authorization = Bearer lit-19 }\n[[file]]\nurl = \"https://h/a\"\n", []string{"lit-19"}},
		{"a multi-line header value on one line", "[settings.headers]\nAuthorization = \"\"\"Bearer lit-20\"\"\" x\n[[file]]\nurl = \"https://h/a\"\n", []string{"lit-20"}},
		{"a host key that is a URL with a token", "[hosts.\"https://example.net/x?token=hk-21\"]\nconnections = 1\n[[file]]\nurl = \"https://h/a\"\n", []string{"hk-21"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("m.toml", []byte(c.text))
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("Parse = %v; want errors", err)
			}
			var out strings.Builder
			for _, e := range es {
				out.WriteString(e.Error() + "\n" + e.Text + "\n")
			}
			for _, s := range append(c.secrets, "tok-4") {
				if strings.Contains(out.String(), s) {
					t.Errorf("errors show %q:\n%s", s, out.String())
				}
			}
		})
	}
}

func TestPathsThatDisguiseNamesAreRefused(t *testing.T) {
	for _, p := range []string{"rtl-\u202egnp.exe", "csi-\u009b2J", "iso-\u2066x", "lrm\u200e", "alm\u061c", "del\x7f", "esc\x1b[2J"} {
		text := "[[file]]\nurl = \"https://h/a\"\npath = \"" + strings.NewReplacer("\x1b", `\u001b`, "\x7f", `\u007f`).Replace(p) + "\"\n"
		_, err := Parse("m.toml", []byte(text))
		var es Errors
		if !errors.As(err, &es) || es[0].Line != 3 || !strings.Contains(es[0].Msg, "character") {
			t.Errorf("path %q: Parse = %v; want a refusal at line 3", p, err)
			continue
		}
		for _, e := range es {
			for _, r := range e.Error() + e.Text {
				if r == 0x202e || r == 0x9b || r == 0x1b || r == 0x2066 {
					t.Errorf("the error prints %U as it is: %q", r, e.Error()+e.Text)
				}
			}
		}
	}
	// From the URL, percent-encoded.
	for _, u := range []string{"https://h/rtl-%E2%80%AEgnp.exe", "https://h/c1-%C2%9B", "https://h/bad-%FF", "https://h/a%2Fb", "https://h/a%5Cb"} {
		if _, err := Parse("m.toml", []byte("[[file]]\nurl = \""+u+"\"\n")); err == nil {
			t.Errorf("url %s: a name derived from it was accepted", u)
		}
	}
}

func TestHostKeys(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Example.COM", "example.com"},
		{"example.com:8443", "example.com:8443"},
		{"::1", "[::1]"},
		{"[::1]", "[::1]"},
		{"[::1]:8080", "[::1]:8080"},
		{"FE80::1", "[fe80::1]"},
		{"127.0.0.1:80", "127.0.0.1:80"},
	}
	for _, c := range cases {
		if got, err := HostKey(c.in); err != nil || got != c.want {
			t.Errorf("HostKey(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "https://h", "u@h", "h:x", "[h]", "[::1", "[::1]x", "h:99999", "a b"} {
		if got, err := HostKey(bad); err == nil {
			t.Errorf("HostKey(%q) = %q; want an error", bad, got)
		}
	}
}

// TestIPv6HostEntriesApply: [hosts."::1"], [hosts."[::1]"] and
// [hosts."[::1]:8080"] all match the URLs they name.
func TestIPv6HostEntriesApply(t *testing.T) {
	cases := []struct {
		key, hostport, want string
	}{
		{"::1", "[::1]:80", "[::1]"},
		{"[::1]", "[::1]:8080", "[::1]"},
		{"[::1]:8080", "[::1]:8080", "[::1]:8080"},
		{"[::1]:8080", "[::1]:80", ""},
		{"example.com", "EXAMPLE.com:443", "example.com"},
	}
	for _, c := range cases {
		m, err := Parse("m.toml", []byte("[hosts.\""+c.key+"\"]\nconnections = 2\n[[file]]\nurl = \"http://"+strings.TrimSuffix(c.hostport, ":80")+"/a\"\n"))
		if err != nil {
			t.Fatalf("key %q: %v", c.key, err)
		}
		key, h := m.HostEntry(c.hostport)
		if key != c.want || (h != nil) != (c.want != "") || (h != nil && h.Connections != 2) {
			t.Errorf("key %q: HostEntry(%q) = %q, %+v; want %q", c.key, c.hostport, key, h, c.want)
		}
		if c.want != "" && len(m.Warnings) > 0 {
			t.Errorf("key %q: warnings %v", c.key, m.Warnings)
		}
	}
	if _, err := Parse("m.toml", []byte("[hosts.\"::1\"]\n[hosts.\"[::1]\"]\n[[file]]\nurl = \"http://[::1]/a\"\n")); err == nil || !strings.Contains(err.Error(), "same host") {
		t.Errorf("two keys for one host: %v", err)
	}
}

// FuzzHostKey: a key is either refused or normalised to a form that
// normalises to itself, never with a character a terminal would act on.
func FuzzHostKey(f *testing.F) {
	for _, s := range []string{"example.com", "::1", "[::1]:80", "H:8443", "[fe80::1%eth0]", "a@b", "[::1]x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := HostKey(s)
		if err != nil {
			return
		}
		if k2, err := HostKey(k); err != nil || k2 != k {
			t.Fatalf("HostKey(%q) = %q, but HostKey(%q) = %q, %v", s, k, k, k2, err)
		}
		if strings.ContainsAny(k, "/@ ?#\x00\x1b") {
			t.Fatalf("HostKey(%q) = %q", s, k)
		}
	})
}
