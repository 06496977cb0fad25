package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/redact"
)

// A URL list is what wget -i and aria2c -i read: one URL per line; blank
// lines and lines starting with # are ignored. bulkdl runs one as a
// manifest with default settings (-i), and "bulkdl init" turns one into a
// manifest to grow from.

// urlEntry is one URL of a list and the line it is on.
type urlEntry struct {
	url  string
	line int
}

// urlArgsName names URLs given as arguments in messages; "arguments:2:"
// is the second.
const urlArgsName = "arguments"

// isURLArg reports whether a command-line argument is meant as a URL
// rather than a manifest's file name.
func isURLArg(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// maxURLLine bounds one line of a URL list.
const maxURLLine = 64 << 10

// readURLList reads a URL list. name is used in errors. Every bad line is
// reported, as manifest errors are, with its line and text.
func readURLList(name string, r io.Reader) ([]urlEntry, error) {
	var out []urlEntry
	var errs manifest.Errors
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxURLLine)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		line := strings.TrimSpace(strings.TrimPrefix(text, "\ufeff"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if msg := badListURL(line); msg != "" {
			errs = append(errs, &manifest.Error{File: name, Line: n, Text: redact.URL(text), Msg: msg})
			continue
		}
		out = append(out, urlEntry{url: line, line: n})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s: a line is longer than %d bytes; is this a URL list?", name, maxURLLine)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if len(out) == 0 {
		return nil, manifest.Errors{{File: name, Msg: "no URLs; write one URL per line (# starts a comment)"}}
	}
	return out, nil
}

// badListURL says what is wrong with one line of a URL list, or "".
func badListURL(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return "a line holds one URL, without spaces or control characters"
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Sprintf("%q is not an http or https URL", redact.URL(s))
	}
	return ""
}

// listManifest writes a manifest for urls with dest and returns it, and
// for each of its lines that belongs to a file, the list line it came from.
func listManifest(from string, urls []urlEntry, dest string) ([]byte, map[int]int) {
	var b strings.Builder
	fmt.Fprintf(&b, "# Made by bulkdl init from %s.\n", from)
	b.WriteString("# Add checksum = \"sha256:...\" to a file to have it verified, and reruns then\n")
	b.WriteString("# skip it without a request; size = N lets progress show a total at once.\n")
	b.WriteString("version = 1\n\n[settings]\n")
	fmt.Fprintf(&b, "dest = %q     # relative to this file's directory\n", dest)
	lines := make(map[int]int, 2*len(urls))
	n := strings.Count(b.String(), "\n")
	for _, e := range urls {
		// "\n[[file]]\nurl = ..." puts the header on line n+2, the url on n+3.
		fmt.Fprintf(&b, "\n[[file]]\nurl = %q\n", e.url)
		lines[n+2], lines[n+3] = e.line, e.line
		n += 3
	}
	return []byte(b.String()), lines
}

// parseURLList loads a URL list as a manifest whose dest is the working
// directory, as wget -i puts files. Errors name the list's lines.
func parseURLList(name string, r io.Reader, opts manifest.Options) (*manifest.Manifest, error) {
	urls, err := readURLList(name, r)
	if err != nil {
		return nil, err
	}
	m, _, err := parseList(name, urls, ".", opts)
	if err != nil {
		return nil, err
	}
	m.Dest = "."
	return m, nil
}

var lineRef = regexp.MustCompile(`line [0-9]+`)

// parseList makes the manifest for urls and validates it; its errors name
// the lines of the list (or the URL, for URLs from the command line).
func parseList(name string, urls []urlEntry, dest string, opts manifest.Options) (*manifest.Manifest, []byte, error) {
	text, lines := listManifest(name, urls, dest)
	m, err := opts.Parse(name, text)
	var es manifest.Errors
	if errors.As(err, &es) {
		src := map[int]string{}
		for _, e := range urls {
			src[e.line] = e.url
		}
		for _, e := range es {
			// "also written by the file at line N": N of the list too.
			e.Msg = lineRef.ReplaceAllStringFunc(e.Msg, func(ref string) string {
				n, _ := strconv.Atoi(strings.TrimPrefix(ref, "line "))
				return fmt.Sprintf("line %d", lines[n])
			})
			l, ok := lines[e.Line]
			e.Line, e.Col, e.Text = l, 0, ""
			if ok {
				e.Text = redact.URL(src[l])
			}
		}
	}
	return m, text, err
}

// init prints a manifest made from a URL list or URLs on the command line.
func (c *cli) init(args []string) int {
	fs := c.flagSet("init")
	input := fs.String("i", "", "read URLs from this file, one per line (# comments); - for stdin")
	dest := fs.String("dest", "downloads", "the manifest's dest, relative to where you save the manifest")
	if code, ok := c.parseArgs(fs, args, 0, -1); !ok {
		return code
	}
	var urls []urlEntry
	from := "the command line"
	if *input != "" {
		from = *input
		r, closeIn, err := c.open(*input)
		if err != nil {
			fmt.Fprintf(c.stderr, "bulkdl init: %v\n", err)
			return exitUsage
		}
		urls, err = readURLList(*input, r)
		closeIn()
		if err != nil {
			c.printManifestError(err)
			return exitUsage
		}
	}
	for k, a := range fs.Args() {
		if msg := badListURL(a); msg != "" {
			c.usageError(fs, "argument %d: %s", k+1, msg)
			return exitUsage
		}
		urls = append(urls, urlEntry{url: a})
	}
	if len(urls) == 0 {
		c.usageError(fs, "want URLs: -i FILE, or URLs as arguments")
		return exitUsage
	}
	// What init prints must load: duplicate names and the like are
	// reported now, with the list's lines, not when it is first run.
	_, text, err := parseList(from, urls, *dest, manifest.Options{UnsetEnv: true})
	if err != nil {
		c.printManifestError(err)
		return exitUsage
	}
	c.stdout.Write(text)
	return exitOK
}

// open opens name for reading, or stdin for "-".
func (c *cli) open(name string) (io.Reader, func(), error) {
	if name == "-" {
		return c.stdin, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}
