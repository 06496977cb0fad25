package state

import "testing"

// URLDigest's text is at rest in state logs and journals of earlier runs:
// it must stay the lower-case hex SHA-256 of the URL's bytes.
func TestURLDigestIsHexSHA256(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"https://user:pw@example.com/a?sig=x", "ce93af4d9c03be488e08d8a35a2f39ff30a8460c1a20231188da0563a67f01a3"},
	} {
		if got := URLDigest(c.url); got != c.want {
			t.Errorf("URLDigest(%q) = %s; want %s", c.url, got, c.want)
		}
	}
}
