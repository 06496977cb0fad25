package manifest

import (
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
)

var knownKeys = map[string][]string{
	"":         {"version", "settings", "hosts", "file"},
	"settings": {"dest", "connections", "per_host", "per_file", "min_segment", "rate", "retries", "timeout", "user_agent", "headers", "skip_existing", "ca_file", "max_size", "netrc"},
	"hosts":    {"connections", "rate", "headers", "ca_file", "insecure", "http2"},
	"file":     fileKeys[:],
}

func (v *validator) undecoded(md toml.MetaData) {
	for _, k := range md.Undecoded() {
		if s := k.String(); !v.seen[s] {
			v.seen[s] = true
			v.unknownKey(k)
		}
	}
}

func (v *validator) unknownKey(k toml.Key) {
	if strings.EqualFold(k[0], "file") {
		return // files are decoded as tables, whose keys file() checks
	}
	for _, part := range k[:len(k)-1] {
		if part == "headers" {
			return // header tables are decoded whole; their names are checked later
		}
	}
	table, hdr, key := "", 0, k[len(k)-1]
	switch {
	case len(k) == 1:
	case k[0] == "settings" && len(k) == 2:
		table, hdr = "settings", v.ix.table("settings")
	case k[0] == "hosts" && len(k) == 3:
		table, hdr = "hosts", v.ix.table("hosts", k[1])
	default:
		v.errs = append(v.errs, &Error{File: v.name, Msg: fmt.Sprintf("unknown key %s", k)})
		return
	}
	e := v.pos(hdr, key, unknownMsg(table, key))
	if e.Line > 0 {
		e.Col = indent(v.ix.lineText(e.Line)) + 1
	}
	v.errs = append(v.errs, e)
}

func indent(s string) int { return len(s) - len(strings.TrimLeft(s, " \t")) }

func unknownMsg(table, key string) string {
	where := "at the top level"
	if table != "" {
		where = "in [" + table + "]"
		if table == "file" {
			where = "in [[file]]"
		}
	}
	msg := fmt.Sprintf("unknown key %q %s", key, where)
	if s := suggest(key, knownKeys[table]); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	} else {
		msg += "; known keys: " + strings.Join(knownKeys[table], ", ")
	}
	return msg
}

// suggest returns the candidate closest to key, if it is close enough to be
// a likely typo.
func suggest(key string, candidates []string) string {
	best, bestD := "", len(key)/3+2
	for _, c := range candidates {
		if d := editDistance(key, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
