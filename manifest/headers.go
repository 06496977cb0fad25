package manifest

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
)

// reservedHeaders are set by bulkdl itself; a manifest may not override them.
var reservedHeaders = map[string]bool{
	"host": true, "range": true, "if-range": true, "accept-encoding": true, "content-length": true,
	"transfer-encoding": true, "connection": true, "te": true, "upgrade": true, "if-none-match": true,
	"if-modified-since": true, "user-agent": true,
}

// headers validates header names and values and expands ${VAR} references;
// env names the headers whose value came from one.
func (v *validator) headers(hdr int, val any) (out map[string]string, env map[string]bool) {
	if val == nil {
		return nil, nil
	}
	h, ok := val.(map[string]any)
	if !ok {
		v.at(hdr, "headers", "headers must be a table, as in headers = { \"X-Team\" = \"data\" }")
		return nil, nil
	}
	if len(h) == 0 {
		return nil, nil
	}
	out = make(map[string]string, len(h))
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	sort.Strings(names) // problems in the order of their names, every time
	for _, name := range names {
		raw := h[name]
		val, ok := raw.(string)
		switch {
		case !ok:
			v.at(hdr, "headers", "header %q must be a string, not %s", name, tomlType(raw))
			continue
		case !validHeaderName(name):
			v.at(hdr, "headers", "header name %q is not a valid HTTP token", name)
			continue
		case reservedHeaders[strings.ToLower(name)]:
			v.at(hdr, "headers", "header %q is set by bulkdl itself and cannot be configured (user_agent has its own key)", name)
			continue
		}
		exp, err := v.expand(val)
		var unset *unsetEnvError
		if errors.As(err, &unset) && v.opts.UnsetEnv {
			v.warn(hdr, "headers", fmt.Sprintf("header %q: %v (a run needs it; check does not)", name, err))
			out[strings.Clone(name)] = strings.Clone(val)
			continue
		}
		if err != nil {
			v.at(hdr, "headers", "header %q: %v", name, err)
			continue
		}
		if what := badHeaderByte(exp); what != "" {
			from := ""
			if exp != val {
				from = " (as expanded from the environment)"
			}
			v.at(hdr, "headers", "header %q: value%s contains %s; a header value may hold no control character but a tab", name, from, what)
			continue
		}
		out[strings.Clone(name)] = strings.Clone(exp) // not the decoder's batch text
		if strings.Contains(val, "${") {
			if env == nil {
				env = map[string]bool{}
			}
			env[name] = true
		}
	}
	return out, env
}

// expand replaces ${NAME} with the environment variable NAME. An unset or
// empty variable is an error: in CI an empty secret is the usual sign of a
// job that was not given it.
func (v *validator) expand(s string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", errors.New(`unterminated "${"; write ${NAME}`)
		}
		key := s[i+2 : i+end]
		if !validEnvName(key) {
			return "", fmt.Errorf("%q is not a valid environment variable name", key)
		}
		val, ok := os.LookupEnv(key)
		if !ok || val == "" {
			return "", &unsetEnvError{name: key, empty: ok}
		}
		v.addSecret(val)
		b.WriteString(val)
		s = s[i+end+1:]
	}
}

// unsetEnvError is a ${NAME} reference whose variable is unset or empty.
type unsetEnvError struct {
	name  string
	empty bool
}

func (e *unsetEnvError) Error() string {
	if e.empty {
		return fmt.Sprintf("environment variable %s is empty; a secret that was not passed to this job?", e.name)
	}
	return fmt.Sprintf("environment variable %s is not set; export it before running bulkdl", e.name)
}

func (v *validator) addSecret(s string) {
	for _, x := range v.m.secrets {
		if x == s {
			return
		}
	}
	v.m.secrets = append(v.m.secrets, s)
}

func validEnvName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// badHeaderByte names the first byte of s that net/http refuses in a
// header value (httpguts.ValidHeaderFieldValue: a control character other
// than tab, or DEL), or returns "" if there is none. The value itself is
// never named: it may be a secret.
func badHeaderByte(s string) string {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\r' || c == '\n':
			return "a line break"
		case c == '\t':
		case c < 0x20 || c == 0x7f:
			return fmt.Sprintf("control character %U", rune(c))
		}
	}
	return ""
}
