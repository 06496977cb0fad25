package main

import (
	"strings"
	"testing"
)

// yamlNode is a node of the small subset of YAML the recipes are written
// in (block mappings and sequences, "|" and ">" scalars, one-level flow {} and []),
// enough to test them without a YAML dependency. A node is a scalar, a
// mapping or a sequence.
type yamlNode struct {
	value string
	keys  []string
	m     map[string]*yamlNode
	list  []*yamlNode
}

// get follows a path of mapping keys; nil when absent.
func (n *yamlNode) get(path ...string) *yamlNode {
	for _, k := range path {
		if n == nil || n.m == nil {
			return nil
		}
		n = n.m[k]
	}
	return n
}

// str is the scalar at path, or "".
func (n *yamlNode) str(path ...string) string {
	if v := n.get(path...); v != nil {
		return v.value
	}
	return ""
}

// strs are the scalars of the sequence at path.
func (n *yamlNode) strs(path ...string) []string {
	var s []string
	if v := n.get(path...); v != nil {
		for _, it := range v.list {
			s = append(s, it.value)
		}
	}
	return s
}

// parseYAMLDocs parses a file of "---"-separated documents.
func parseYAMLDocs(t *testing.T, text string) []*yamlNode {
	t.Helper()
	var docs []*yamlNode
	text = strings.ReplaceAll(text, "\r\n", "\n")
	for _, doc := range strings.Split(text, "\n---\n") {
		p := &yamlParser{t: t, lines: strings.Split(doc, "\n")}
		p.skip()
		if p.i < len(p.lines) {
			docs = append(docs, p.block(0))
		}
	}
	return docs
}

type yamlParser struct {
	t     *testing.T
	lines []string
	i     int
}

func indentOf(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

// skip moves past blank and comment lines.
func (p *yamlParser) skip() {
	for p.i < len(p.lines) {
		s := strings.TrimSpace(p.lines[p.i])
		if s != "" && !strings.HasPrefix(s, "#") {
			return
		}
		p.i++
	}
}

// block parses the mapping or sequence whose lines are indented min or more.
func (p *yamlParser) block(min int) *yamlNode {
	p.skip()
	if p.i >= len(p.lines) || indentOf(p.lines[p.i]) < min {
		return &yamlNode{}
	}
	ind := indentOf(p.lines[p.i])
	if strings.HasPrefix(strings.TrimSpace(p.lines[p.i]), "-") {
		n := &yamlNode{}
		for p.skip(); p.i < len(p.lines) && indentOf(p.lines[p.i]) == ind && strings.HasPrefix(strings.TrimSpace(p.lines[p.i]), "-"); p.skip() {
			rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(p.lines[p.i]), "-"))
			switch {
			case rest == "":
				p.i++
				n.list = append(n.list, p.block(ind+1))
			case isMappingEntry(rest):
				// "- key: value" starts a mapping indented past the dash.
				p.lines[p.i] = strings.Repeat(" ", ind+2) + rest
				n.list = append(n.list, p.block(ind+2))
			default:
				p.i++
				n.list = append(n.list, flowValue(rest))
			}
		}
		return n
	}
	n := &yamlNode{m: map[string]*yamlNode{}}
	for p.skip(); p.i < len(p.lines) && indentOf(p.lines[p.i]) == ind; p.skip() {
		line := stripComment(strings.TrimSpace(p.lines[p.i]))
		key, rest, ok := strings.Cut(line, ":")
		if !ok {
			p.t.Fatalf("yaml: line %q is not key: value", line)
		}
		key, rest = unquote(strings.TrimSpace(key)), strings.TrimSpace(rest)
		p.i++
		var v *yamlNode
		switch {
		case rest == "|" || rest == "|-":
			v = &yamlNode{value: p.blockScalar(ind)}
			if rest == "|-" {
				v.value = strings.TrimSuffix(v.value, "\n")
			}
		case rest == ">" || rest == ">-":
			v = &yamlNode{value: strings.Join(strings.Fields(p.blockScalar(ind)), " ")}
			if rest == ">" {
				v.value += "\n"
			}
		case rest == "":
			p.skip()
			if p.i < len(p.lines) && (indentOf(p.lines[p.i]) > ind || strings.HasPrefix(strings.TrimSpace(p.lines[p.i]), "- ")) {
				v = p.block(ind)
			} else {
				v = &yamlNode{}
			}
		default:
			v = flowValue(rest)
		}
		n.keys = append(n.keys, key)
		n.m[key] = v
	}
	return n
}

// blockScalar reads the lines of a "|" scalar under a key indented ind.
func (p *yamlParser) blockScalar(ind int) string {
	var out []string
	strip := -1
	for ; p.i < len(p.lines); p.i++ {
		l := p.lines[p.i]
		if strings.TrimSpace(l) == "" {
			out = append(out, "")
			continue
		}
		if indentOf(l) <= ind {
			break
		}
		if strip < 0 {
			strip = indentOf(l)
		}
		out = append(out, l[min(strip, indentOf(l)):])
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
}

func isMappingEntry(s string) bool {
	if strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") || strings.HasPrefix(s, `"`) || strings.HasPrefix(s, "'") {
		return false
	}
	k, _, ok := strings.Cut(s, ":")
	return ok && !strings.ContainsAny(k, " ${") && (strings.Contains(s, ": ") || strings.HasSuffix(s, ":"))
}

// flowValue parses a scalar, or a one-level { k: v, ... } or [a, b].
func flowValue(s string) *yamlNode {
	s = stripComment(s)
	switch {
	case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
		n := &yamlNode{m: map[string]*yamlNode{}}
		for _, kv := range splitFlow(s[1 : len(s)-1]) {
			k, v, _ := strings.Cut(kv, ":")
			k = unquote(strings.TrimSpace(k))
			n.keys = append(n.keys, k)
			n.m[k] = flowValue(strings.TrimSpace(v))
		}
		return n
	case strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]"):
		n := &yamlNode{}
		for _, it := range splitFlow(s[1 : len(s)-1]) {
			n.list = append(n.list, flowValue(it))
		}
		return n
	}
	return &yamlNode{value: unquote(s)}
}

// splitFlow splits on commas outside brackets and quotes.
func splitFlow(s string) []string {
	var parts []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		case c == ',' && depth == 0:
			parts = append(parts, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if last := strings.TrimSpace(s[start:]); last != "" {
		parts = append(parts, last)
	}
	return parts
}

// stripComment removes a " # comment" outside quotes.
func stripComment(s string) string {
	var quote byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return strings.TrimSpace(s[:i])
		}
	}
	return s
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		return s[1 : len(s)-1]
	}
	return s
}

func TestYAMLSubset(t *testing.T) {
	docs := parseYAMLDocs(t, `# a comment
a: 1   # trailing
b:
  - x
  - { k: v, n: "q # not a comment" }
  - key: one
    more: two
c:
  d: |
    line 1

    line 2
  e: [p, "q"]
  folded: >-
    one
    two
f:
- same indent
---
g: h
`)
	if len(docs) != 2 {
		t.Fatalf("%d documents; want 2", len(docs))
	}
	d := docs[0]
	b := d.get("b")
	checks := []struct{ got, want string }{
		{d.str("a"), "1"},
		{b.list[0].value, "x"},
		{b.list[1].str("n"), "q # not a comment"},
		{b.list[2].str("more"), "two"},
		{d.str("c", "d"), "line 1\n\nline 2\n"},
		{strings.Join(d.strs("c", "e"), ","), "p,q"},
		{d.str("c", "folded"), "one two"},
		{strings.Join(d.strs("f"), ","), "same indent"},
		{docs[1].str("g"), "h"},
	}
	for i, c := range checks {
		if c.got != c.want {
			t.Errorf("check %d: got %q; want %q", i, c.got, c.want)
		}
	}
}
