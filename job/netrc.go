package job

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"
)

// netrcCreds maps a host name to its "login:password" from a .netrc file.
type netrcCreds map[string]string

// loadNetrc reads $NETRC, else ~/.netrc (on Windows: the first of .netrc
// and _netrc in %HOME%, then %USERPROFILE%). Like curl, it refuses a file
// that other users can read or write, where mode bits say so. Only
// "machine" entries are used: a "default" entry would send credentials to
// hosts the file does not name.
func loadNetrc() (netrcCreds, error) {
	name := os.Getenv("NETRC")
	if name == "" {
		var err error
		if name, err = defaultNetrc(); err != nil {
			return nil, err
		}
	}
	st, err := os.Stat(name)
	if err != nil {
		return nil, fmt.Errorf("netrc = true, but %w", err)
	}
	if err := netrcPrivate(name, st); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("netrc: %w", err)
	}
	return parseNetrc(string(data)), nil
}

func parseNetrc(text string) netrcCreds {
	creds := netrcCreds{}
	var tokens []string
	for _, line := range strings.Split(text, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		tokens = append(tokens, strings.Fields(line)...)
	}
	var machine, login, password string
	flush := func() {
		if machine != "" && login != "" {
			creds[strings.ToLower(machine)] = login + ":" + password
		}
		machine, login, password = "", "", ""
	}
	for i := 0; i < len(tokens); i++ {
		next := func() string {
			if i+1 < len(tokens) {
				i++
				return tokens[i]
			}
			return ""
		}
		switch tokens[i] {
		case "machine":
			flush()
			machine = next()
		case "default":
			flush()
		case "login":
			login = next()
		case "password":
			password = next()
		case "account":
			next()
		case "macdef":
			flush()
			return creds // a macro runs to the end of its paragraph; nothing useful follows
		}
	}
	flush()
	return creds
}

// authorization returns the Basic Authorization value for host, or "".
func (n netrcCreds) authorization(host string) string {
	if c, ok := n[strings.ToLower(host)]; ok {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(c))
	}
	return ""
}

// secrets returns the passwords, for redaction.
func (n netrcCreds) secrets() []string {
	var out []string
	for _, c := range n {
		if _, pw, ok := strings.Cut(c, ":"); ok && pw != "" {
			out = append(out, pw, base64.StdEncoding.EncodeToString([]byte(c)))
		}
	}
	return out
}
